"""docker-compose / Compose Specification files -> ComposeDoc, with line ranges per service and field.

Pure: `parse_compose(data, path)` gets bytes. The YAML is composed ONCE into a node tree (libyaml's C composer
when available); plain values and a line map (field path -> (start_line, end_line)) are both built from that tree,
so checks can point at `privileged: true` rather than at the whole service. Merge keys (`<<: *defaults`) are
resolved like YAML 1.1 does (explicit keys win). Trivy has no compose support; the checks are our own (VCOMP-*).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from vigil.analyzers.errors import ParseError
from vigil.yaml_safe import CSafeLoader as _Loader

PathKey = tuple[str | int, ...]
MAX_NODES = 1_000_000  # alias bombs: a compose file is never this big
_SCALAR = yaml.SafeLoader  # used only to resolve scalar tags to Python values


@dataclass(frozen=True)
class Service:
    name: str
    obj: Mapping[str, Any] = field(hash=False, compare=False, repr=False)
    start_line: int = 0
    end_line: int = 0
    lines: Mapping[PathKey, tuple[int, int]] = field(default_factory=dict, hash=False, compare=False, repr=False)

    def line_of(self, *key: str | int) -> tuple[int, int]:
        """Lines of a field (falls back to the nearest enclosing field, then the service)."""
        k: PathKey = tuple(key)
        while k:
            if k in self.lines:
                return self.lines[k]
            k = k[:-1]
        return self.start_line, self.end_line


@dataclass(frozen=True)
class ComposeDoc:
    path: str
    services: tuple[Service, ...]
    version: str = ""


def _end_line(node: yaml.Node) -> int:
    """Last line of a node's own text. Block collections end where their last child ends (their end mark sits on
    the next token, often the next key's line); flow collections and scalars end at their end mark."""
    for _ in range(10_000):
        if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
            node = node.value[-1][1]
        elif isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
            node = node.value[-1]
        else:
            break
    m = node.end_mark
    return m.line + (1 if m.column > 0 else 0)


class _Builder:
    def __init__(self) -> None:
        self.count = 0
        self.lines: dict[PathKey, tuple[int, int]] = {}
        self._ctor = _SCALAR("")

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise ParseError(f"more than {MAX_NODES} YAML nodes (alias bomb?)")
        start = node.start_mark.line + 1
        end = max(start, _end_line(node))
        if path not in self.lines:
            self.lines[path] = (start, end)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            merged: dict[str, Any] = {}
            for k, v in node.value:
                if k.tag == "tag:yaml.org,2002:merge" or (isinstance(k, yaml.ScalarNode) and k.value == "<<"):
                    srcs = v.value if isinstance(v, yaml.SequenceNode) else [v]
                    for src in srcs:
                        val = self.build(src, (*path, "<<"))
                        if isinstance(val, dict):
                            for mk, mv in val.items():
                                merged.setdefault(mk, mv)
                    continue
                key = str(self.build(k, (*path, "<key>")))
                kstart = k.start_mark.line + 1
                out[key] = self.build(v, (*path, key))
                s, e = self.lines[(*path, key)]
                self.lines[(*path, key)] = (min(kstart, s), max(e, kstart))
            for mk, mv in merged.items():
                if mk not in out:
                    out[mk] = mv
                    if (*path, "<<", mk) in self.lines:
                        self.lines.setdefault((*path, mk), self.lines[(*path, "<<", mk)])
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, (*path, n)) for n, v in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            try:
                return self._ctor.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, TypeError, OverflowError):
                return node.value
        raise ParseError(f"unexpected YAML node at line {start}")  # pragma: no cover


def parse_compose(data: bytes, path: str = "docker-compose.yml") -> ComposeDoc:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(f"not UTF-8 text (byte offset {e.start})") from e
    try:
        root = yaml.compose(text, Loader=_Loader)
    except ParseError:  # the loader's alias budget, whose message says it all
        raise
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParseError(f"invalid YAML{where}: {getattr(e, 'problem', None) or type(e).__name__}") from e
    except (ValueError, RecursionError) as e:
        raise ParseError(f"invalid YAML: {type(e).__name__}") from e
    if root is None:
        return ComposeDoc(path=path, services=())
    b = _Builder()
    try:
        top = b.build(root, ())
    except RecursionError:
        raise ParseError("YAML nested too deeply") from None
    if not isinstance(top, dict):
        raise ParseError("a compose file must be a mapping at the top level")
    services = top.get("services")
    if services is None:
        return ComposeDoc(path=path, services=(), version=str(top.get("version") or ""))
    if not isinstance(services, dict):
        raise ParseError("'services' must be a mapping")
    out = []
    for name, svc in services.items():
        if not isinstance(svc, dict):
            svc = {}
        prefix: PathKey = ("services", name)
        start, end = b.lines.get(prefix, (0, 0))
        sub = {k[2:]: v for k, v in b.lines.items() if k[:2] == prefix and len(k) > 2 and "<key>" not in k}
        out.append(Service(name=str(name), obj=svc, start_line=start, end_line=end, lines=sub))
    return ComposeDoc(path=path, services=tuple(out), version=str(top.get("version") or ""))


def to_rego_input(doc: ComposeDoc) -> dict[str, Any]:
    return {"services": {s.name: dict(s.obj) for s in doc.services}}
