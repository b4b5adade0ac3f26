"""Kubernetes manifests (YAML, multi-document, or JSON) -> K8sResource, with exact line ranges.

Pure: `parse_kubernetes(data, path)` gets bytes and returns resources. Each document is composed ONCE into a node
tree (libyaml's C composer when available); the plain object is constructed from that same tree and a line map
(field path -> (start_line, end_line)) is recorded from the node marks, so checks can point at the offending
container or field instead of the whole object.

`List` kinds (`v1/List`, `PodList`, …) are flattened into their items, each with its own lines. YAML that is not a
Kubernetes object (no `apiVersion`/`kind`, e.g. a values file) yields no resources. Invalid YAML/JSON raises
ParseError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from vigil.analyzers.errors import ParseError
from vigil.yaml_safe import CSafeLoader as _Loader

PathKey = tuple[str | int, ...]
MAX_DOCUMENTS = 10_000  # a manifest stream longer than this is almost certainly not hand-written config
MAX_NODES = 2_000_000  # a manifest this big is not hand-written (aliases are budgeted by the loader)


@dataclass(frozen=True)
class K8sResource:
    kind: str
    name: str
    namespace: str
    api_version: str
    obj: Mapping[str, Any] = field(hash=False, compare=False, repr=False)
    start_line: int = 0
    end_line: int = 0
    path: str = ""  # file (or Helm template) the resource came from
    lines: Mapping[PathKey, tuple[int, int]] = field(default_factory=dict, hash=False, compare=False, repr=False)

    @property
    def ref(self) -> str:
        """"Deployment/my-deployment" — the resource name used in findings."""
        return f"{self.kind}/{self.name}" if self.name else self.kind

    def lines_of(self, path: PathKey) -> tuple[int, int]:
        """Line range of the value at `path`, or of its deepest existing ancestor (the whole object at worst)."""
        p = tuple(path)
        while p:
            hit = self.lines.get(p)
            if hit is not None:
                return hit
            p = p[:-1]
        return (self.start_line, self.end_line)

    def line_of(self, path: PathKey) -> int:
        return self.lines_of(path)[0]


def _mark_end(node: yaml.Node) -> int:
    m = node.end_mark
    # A node whose end mark is at column 0 ended with the line break of the previous line.
    return m.line if m.column == 0 and m.line > node.start_mark.line else m.line + 1


def _end_line(node: yaml.Node) -> int:
    """1-based line of the node's last character. A block collection's end mark sits on the NEXT token (after
    indentation and comments), so follow its last child down to a scalar or flow collection instead."""
    start = node.start_mark.line + 1
    cur = node
    for _ in range(1000):
        if isinstance(cur, yaml.MappingNode) and not cur.flow_style and cur.value:
            cur = cur.value[-1][1]
        elif isinstance(cur, yaml.SequenceNode) and not cur.flow_style and cur.value:
            cur = cur.value[-1]
        else:
            break
    return max(start, _mark_end(cur))


def _record_lines(root: yaml.Node, base: PathKey, out: dict[PathKey, tuple[int, int]]) -> None:
    seen: set[int] = set()
    budget = MAX_NODES
    stack: list[tuple[yaml.Node, PathKey]] = [(root, base)]
    while stack:
        node, path = stack.pop()
        budget -= 1
        if budget <= 0:
            raise ParseError("YAML document too large (too many nodes)")
        out.setdefault(path, (node.start_mark.line + 1, _end_line(node)))
        if id(node) in seen:  # an alias: lines of the anchor, but never walk it twice (alias bombs)
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value != "<<":
                    stack.append((v, (*path, str(k.value))))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                stack.append((v, (*path, i)))


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise ParseError("binary data, not a Kubernetes manifest")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(f"not UTF-8 text (byte {e.start})") from e


def _is_k8s(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("apiVersion"), str)
        and isinstance(obj.get("kind"), str)
        and bool(obj["kind"])
    )


def _make(obj: dict[str, Any], path: str, sub: dict[PathKey, tuple[int, int]],
          fallback: tuple[int, int]) -> K8sResource:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get("name") or meta.get("generateName") or ""
    ns = meta.get("namespace") or ""
    start, end = sub.get((), fallback)
    return K8sResource(
        kind=str(obj["kind"]),
        name=str(name),
        namespace=str(ns),
        api_version=str(obj["apiVersion"]),
        obj=obj,
        start_line=start,
        end_line=end,
        path=path,
        lines=sub,
    )


def _resources_of(obj: Any, path: str, lines: dict[PathKey, tuple[int, int]] | None,
                  fallback: tuple[int, int]) -> list[K8sResource]:
    if not _is_k8s(obj):
        return []
    kind = obj["kind"]
    items = obj.get("items")
    if kind.endswith("List") and isinstance(items, list):
        # Split the line map by item in ONE pass (a per-item filter would be quadratic in big Lists).
        per_item: dict[int, dict[PathKey, tuple[int, int]]] = {}
        for k, v in (lines or {}).items():
            if len(k) >= 2 and k[0] == "items" and isinstance(k[1], int):
                per_item.setdefault(k[1], {})[k[2:]] = v
        out: list[K8sResource] = []
        for i, item in enumerate(items):
            if _is_k8s(item):
                sub = per_item.get(i, {})
                out.append(_make(item, path, sub, sub.get((), fallback)))
        return out
    return [_make(obj, path, lines or {}, fallback)]


def _parse_json(text: str, path: str) -> list[K8sResource]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise ParseError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from e
    except RecursionError:
        raise ParseError("JSON nested too deeply") from None
    n = text.count("\n") + (0 if text.endswith("\n") else 1)
    return _resources_of(obj, path, None, (1, max(n, 1)))


def parse_kubernetes(data: bytes, path: str = "") -> list[K8sResource]:
    """Every Kubernetes object in `data` (YAML stream or JSON), `List` kinds flattened, in document order."""
    text = _decode(data)
    out: list[K8sResource] = []
    try:
        loader = _Loader(text)
        try:
            docs = 0
            while loader.check_node():
                node = loader.get_node()
                docs += 1
                if docs > MAX_DOCUMENTS:
                    raise ParseError(f"more than {MAX_DOCUMENTS} YAML documents")
                if node is None:
                    continue
                obj = loader.construct_document(node)
                if not _is_k8s(obj):
                    continue
                lines: dict[PathKey, tuple[int, int]] = {}
                _record_lines(node, (), lines)
                out.extend(_resources_of(obj, path, lines, lines[()]))
        finally:
            loader.dispose()
    except ParseError:  # the loader's alias budget (a YAMLError too): not a reason to retry as JSON
        raise
    except yaml.YAMLError as e:
        stripped = text.lstrip()
        if stripped.startswith(("{", "[")):  # JSON that YAML 1.1 rejects (tabs, odd escapes): use a JSON parser
            return _parse_json(text, path)
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParseError(f"invalid YAML{where}: {getattr(e, 'problem', None) or type(e).__name__}") from e
    except RecursionError:
        raise ParseError("YAML nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as e:  # constructor edge cases (bad timestamps, unhashable keys)
        raise ParseError(f"invalid YAML value: {type(e).__name__}") from e
    return out
