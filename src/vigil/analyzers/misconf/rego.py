"""Custom checks written in Rego, compatible with Trivy-style checks (evaluated with regopy, the Python binding of
Microsoft's rego-cpp interpreter; no OPA binary needed).

Pure: `load_checks(sources, data_docs, namespaces)` gets the check files' text (the engine reads them) and
returns `Check`s whose `run(doc)` evaluates the package's `deny` / `deny_*` rules against one parsed document.

A check file:

    # METADATA
    # title: Image should come from our registry
    # description: ...
    # custom:
    #   id: USR-0001            # required (avd_id is added as an alias)
    #   avd_id: AVD-USR-0001
    #   severity: HIGH
    #   recommended_action: Use registry.example.com images
    #   input:
    #     selector:
    #     - type: dockerfile    # dockerfile | kubernetes | rbac | compose | yaml | json
    package user.dockerfile.USR0001
    import rego.v1
    deny contains res if { ...; res := result.new("message", cmd) }   # or a string, or {"msg", "startline", ...}

Only packages under one of `--check-namespaces` (default "user", as Trivy) are evaluated. `data.lib.result.new`
is provided (Trivy's helper): the cause's StartLine/EndLine (Dockerfile commands) or `__defsec_metadata`
startline/endline become the finding's lines. `--config-data` documents are available under `data`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import yaml

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.checks.base import Check, CheckMeta, Failure, InputType
from vigil.errors import UserError
from vigil.log import get_logger
from vigil.yaml_safe import safe_load

log = get_logger(__name__)

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
_RULE = re.compile(r"^\s*(deny(?:_\w+)?)\b", re.MULTILINE)
SELECTOR_TYPES: dict[str, InputType] = {"dockerfile": "dockerfile", "kubernetes": "kubernetes",
                                        "rbac": "kubernetes", "compose": "compose", "yaml": "yaml",
                                        "json": "json", "helm": "kubernetes"}
RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
RESULT_LIB = """package lib.result
import rego.v1

_meta(cause) := m if {
  is_object(cause)
  m := object.get(cause, "__defsec_metadata", {})
} else := {}

_line(cause, key, defkey) := n if {
  is_object(cause)
  n := object.get(cause, key, object.get(_meta(cause), defkey, 0))
} else := 0

new(msg, cause) := {"msg": msg, "startline": _line(cause, "StartLine", "startline"),
                    "endline": _line(cause, "EndLine", "endline")}
"""


class RegoLoadError(UserError):
    """A custom check cannot be loaded (bad Rego, bad metadata). A user error: the scan stops (exit 2)."""


@dataclass(frozen=True)
class RegoCheckInfo:
    package: str
    path: str
    meta: CheckMeta
    selectors: tuple[str, ...]


def _metadata(text: str) -> dict[str, Any]:
    """Merge every `# METADATA` block (package- and rule-scoped) of a file; the first value of a key wins."""
    out: dict[str, Any] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "# METADATA":
            block = []
            i += 1
            while i < len(lines) and lines[i].lstrip().startswith("#"):
                block.append(re.sub(r"^\s*# ?", "", lines[i]))
                i += 1
            try:
                doc = safe_load("\n".join(block)) or {}
            except yaml.YAMLError as e:
                raise RegoLoadError(f"invalid METADATA YAML: {e}") from e
            if isinstance(doc, dict):
                for k, v in doc.items():
                    if k == "custom" and isinstance(v, dict) and isinstance(out.get("custom"), dict):
                        for ck, cv in v.items():
                            out["custom"].setdefault(ck, cv)
                    else:
                        out.setdefault(k, v)
            continue
        i += 1
    return out


def _selectors(md: Mapping[str, Any]) -> tuple[str, ...]:
    custom = md.get("custom") if isinstance(md.get("custom"), dict) else {}
    inp = custom.get("input") if isinstance(custom, dict) else None
    sel = inp.get("selector") if isinstance(inp, dict) else None
    types: list[str] = []
    if isinstance(sel, list):
        types = [str(s.get("type", "")).lower() for s in sel if isinstance(s, dict)]
    if not types:  # fall back to `schemas: - input: schema["dockerfile"]`
        for s in md.get("schemas") or []:
            m = re.search(r'schema\[\s*"(\w+)"\s*\]', str(s.get("input", "")) if isinstance(s, dict) else "")
            if m:
                types.append(m.group(1).lower())
    bad = [t for t in types if t not in SELECTOR_TYPES]
    if bad:
        raise RegoLoadError(f"unsupported input selector type(s) {', '.join(bad)} "
                            f"(supported: {', '.join(sorted(SELECTOR_TYPES))})")
    return tuple(dict.fromkeys(types)) or ("dockerfile", "kubernetes", "compose", "yaml", "json")


def _meta(md: Mapping[str, Any], package: str, input_type: InputType) -> CheckMeta:
    custom = md.get("custom") if isinstance(md.get("custom"), dict) else {}
    assert isinstance(custom, dict)
    cid = str(custom.get("id") or custom.get("avd_id") or package.rsplit(".", 1)[-1])
    aliases = tuple(dict.fromkeys(str(a) for a in (custom.get("avd_id"), custom.get("short_code"),
                                                    *(custom.get("aliases") or ())) if a and str(a) != cid))
    sev = str(custom.get("severity", "UNKNOWN")).upper()
    refs: list[str] = []
    for r in md.get("related_resources") or []:
        refs.append(str(r.get("ref", "")) if isinstance(r, dict) else str(r))
    action = custom.get("recommended_action") or custom.get("recommended_actions") or ""
    return CheckMeta(
        id=cid, title=str(md.get("title") or cid), severity=cast(Any, sev if sev in SEVERITIES else "UNKNOWN"),
        input_type=input_type, aliases=aliases, description=str(md.get("description") or ""),
        resolution=str(action), references=tuple(r for r in refs if r), namespace=package,
        deprecated=bool(custom.get("deprecated", False)),
    )


def in_namespaces(package: str, namespaces: Iterable[str]) -> bool:
    return any(package == ns or package.startswith(ns + ".") for ns in namespaces)


def _to_failures(value: Any, meta: CheckMeta, fallback: tuple[int, int], resource: str) -> Iterator[Failure]:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str):
            yield Failure(message=item, start_line=fallback[0], end_line=fallback[1], resource=resource)
        elif isinstance(item, dict):
            start = _int(item.get("startline", item.get("StartLine", 0))) or fallback[0]
            end = _int(item.get("endline", item.get("EndLine", 0))) or max(start, fallback[1] if start == fallback[0]
                                                                           else start)
            yield Failure(message=str(item.get("msg", meta.title)), start_line=start, end_line=end,
                          resource=str(item.get("resource", resource)), file_path=str(item.get("filepath", "")))
        elif item is True:
            yield Failure(message=meta.title, start_line=fallback[0], end_line=fallback[1], resource=resource)


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


class RegoEngine:
    """One interpreter holding every loaded module and the data documents; checks query their package."""

    def __init__(self, sources: Mapping[str, str], data_docs: Sequence[Any] = ()) -> None:
        try:
            from regopy import Interpreter
        except ImportError as e:  # pragma: no cover - regopy is a declared dependency
            raise RegoLoadError(f"custom Rego checks need the 'regopy' package: {e}") from e
        self._interp = Interpreter()
        self._interp.add_module("vigil_lib_result.rego", RESULT_LIB)
        for path, text in sources.items():
            self._interp.add_module(path, text)
        merged: dict[str, Any] = {}
        for d in data_docs:
            if isinstance(d, dict):
                merged.update(d)
        if merged:
            self._interp.add_data_json(json.dumps(merged))
        self._current: Any = object()

    def query(self, package: str, inp: Any) -> dict[str, Any]:
        if inp is not self._current:
            self._interp.set_input(inp)
            self._current = inp
        out = self._interp.query(f"data.{package}")
        text = str(out)
        if text == "undefined":
            return {}
        try:
            parsed = json.loads(text)
        except ValueError as e:
            raise RegoLoadError(f"cannot read the result of data.{package}: {e}") from e
        exprs = parsed.get("expressions") if isinstance(parsed, dict) else None
        if not exprs or not isinstance(exprs[0], dict):
            return {}
        return cast(dict[str, Any], exprs[0])

    def validate(self) -> None:
        try:
            self._interp.query("data.lib.result")
        except Exception as e:  # regopy raises RegoError with the compiler's messages
            raise RegoLoadError(f"invalid Rego: {_first_error(str(e))}") from e


def _first_error(msg: str) -> str:
    m = re.search(r"\(errormsg \d+:([^)]*)\)", msg)
    return m.group(1) if m else msg.splitlines()[0] if msg else "compile error"


def load_checks(sources: Mapping[str, str], data_docs: Sequence[Any] = (),
                namespaces: Iterable[str] = ("user",),
                input_for: Any = None) -> tuple[Check, ...]:
    """Build Checks from Rego sources (path -> text). `input_for(input_type, doc)` turns a parsed document into
    the Rego input (the engine passes the per-type converters); a check with several selector types yields one
    Check per type (same ID)."""
    ns = tuple(namespaces)
    infos: list[RegoCheckInfo] = []
    for path, text in sources.items():
        m = _PACKAGE.search(text)
        if m is None:
            raise RegoLoadError(f"{path}: no 'package' declaration")
        pkg = m.group(1)
        if not in_namespaces(pkg, ns):
            continue
        if not _RULE.search(text):
            continue  # a library module (helpers), not a check
        try:
            md = _metadata(text)
            sels = _selectors(md)
        except RegoLoadError as e:
            raise RegoLoadError(f"{path}: {e}") from e
        for t in sels:
            infos.append(RegoCheckInfo(package=pkg, path=path, meta=_meta(md, pkg, SELECTOR_TYPES[t]),
                                       selectors=(t,)))
    if not infos:
        return ()
    try:
        engine = RegoEngine(sources, data_docs)
        engine.validate()
        for pkg in {i.package for i in infos}:
            engine.query(pkg, {})
    except RegoLoadError:
        raise
    except Exception as e:
        raise RegoLoadError(f"invalid Rego: {_first_error(str(e))}") from e
    return tuple(_check(engine, info, input_for) for info in infos)


def _check(engine: RegoEngine, info: RegoCheckInfo, input_for: Any) -> Check:
    rbac_only = info.selectors == ("rbac",)

    def run(doc: Any) -> list[Failure]:
        if rbac_only and getattr(doc, "kind", "") not in RBAC_KINDS:
            return []
        inp = input_for(info.meta.input_type, doc) if input_for is not None else doc
        try:
            res = engine.query(info.package, inp)
        except RegoLoadError:
            raise
        except Exception as e:
            raise ParseError(f"check {info.meta.id} failed: {_first_error(str(e))}") from e
        fallback = (int(getattr(doc, "start_line", 0) or 0), int(getattr(doc, "end_line", 0) or 0))
        resource = str(getattr(doc, "ref", "") or "")
        out: list[Failure] = []
        for rule, value in sorted(res.items()):
            if rule == "deny" or rule.startswith("deny_"):
                out.extend(_to_failures(value, info.meta, fallback, resource))
        return out

    return Check(meta=info.meta, run=run)
