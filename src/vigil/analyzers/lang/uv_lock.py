"""uv.lock analyzer.

Format facts (uv.lock is TOML written by uv; https://docs.astral.sh/uv/concepts/projects/layout/#the-lockfile):
- One `[[package]]` per locked distribution: `name`, `version` (absent for projects with a dynamic version), `source`
  (one key: `registry`, `git`, `url`, `path`, `directory`, `editable` or `virtual`), `dependencies` (a list of
  `{name, version?, source?, extra?, marker?}`; `version` is present when the name is locked at several versions),
  `[package.optional-dependencies]` (extra → list) and `[package.dev-dependencies]` (group → list).
- The project itself IS in the lock, as `source = { editable = "." }` or `{ virtual = "." }`; in a workspace every
  member is, and `[manifest] members` lists them by name.

Semantics (as Trivy): the root project(s) are omitted from the output. Direct = what a root depends on (including
its own extras and dev groups); dev = reachable only through the roots' dev-dependency groups. Reachability is
computed per (package, extra), so an extra requested only by a dev dependency does not make its packages production.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from vigil.analyzers.lang._common import (
    app_result,
    package,
    pep503_name,
    sorted_application,
    toml_array_tables,
)
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import PYPI, Application, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "uv"

_SOURCE_KINDS = ("registry", "git", "url", "path", "directory", "editable", "virtual")

# A node of the reachability graph: (entry index, extra name or None for the package itself).
_Node = tuple[int, str | None]


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class _Ref:
    """One dependency specification: target name, optional exact version, requested extras."""

    name: str
    version: str | None
    extras: tuple[str, ...]


@dataclass(slots=True)
class _Entry:
    name: str
    version: str
    source_kind: str | None
    source_value: Any
    deps: list[_Ref]
    optional: dict[str, list[_Ref]]
    dev_groups: dict[str, list[_Ref]]
    lines: tuple[int, int] | None
    targets: dict[_Node, list[_Node]] = field(default_factory=dict)


def _refs(value: Any) -> list[_Ref]:
    out: list[_Ref] = []
    if not isinstance(value, list):
        return out
    for item in value:
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name:
            continue
        version = item.get("version")
        extra = item.get("extra")
        extras = tuple(x for x in extra if isinstance(x, str)) if isinstance(extra, list) else ()
        out.append(_Ref(name, version if isinstance(version, str) else None, extras))
    return out


def _ref_groups(value: Any) -> dict[str, list[_Ref]]:
    return {k: _refs(v) for k, v in _table(value).items()}


def _source(item: dict[str, Any]) -> tuple[str | None, Any]:
    src = item.get("source")
    if isinstance(src, dict):
        for kind in _SOURCE_KINDS:
            if kind in src:
                return kind, src[kind]
    return None, None


def parse_uv_lock(data: bytes, path: str = "") -> Application:
    doc, items, blocks = toml_array_tables(data, "package", "uv.lock")

    entries: list[_Entry] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name, version = item.get("name"), item.get("version")
        if not isinstance(name, str) or not name:
            continue
        kind, value = _source(item)
        if not isinstance(version, str) or not version:
            if kind not in ("editable", "virtual"):  # only a project may have a dynamic version
                log.debug("%s: [[package]] %s has no version, skipped", path, name)
                continue
            version = ""
        if (pep503_name(name), version) in seen:
            continue
        seen.add((pep503_name(name), version))
        entries.append(
            _Entry(
                name=name,
                version=version,
                source_kind=kind,
                source_value=value,
                deps=_refs(item.get("dependencies")),
                optional=_ref_groups(item.get("optional-dependencies")),
                dev_groups=_ref_groups(item.get("dev-dependencies")),
                lines=blocks[i] if blocks else None,
            )
        )

    # Roots: workspace members named in [manifest], plus the project at "."; failing both, any editable/virtual.
    members = _table(doc.get("manifest")).get("members")
    member_names = (
        {pep503_name(m) for m in members if isinstance(m, str)} if isinstance(members, list) else set()
    )
    roots = {
        i
        for i, e in enumerate(entries)
        if pep503_name(e.name) in member_names
        or (e.source_kind in ("editable", "virtual") and e.source_value == ".")
    }
    if not roots:
        roots = {i for i, e in enumerate(entries) if e.source_kind in ("editable", "virtual")}

    by_name: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        by_name.setdefault(pep503_name(e.name), []).append(i)

    def resolve(ref: _Ref) -> list[int]:
        candidates = by_name.get(pep503_name(ref.name), [])
        if ref.version is not None:
            exact = [j for j in candidates if entries[j].version == ref.version]
            return exact or candidates
        return candidates

    def targets(refs: list[_Ref]) -> list[_Node]:
        out: list[_Node] = []
        for ref in refs:
            for j in resolve(ref):
                out.append((j, None))
                out.extend((j, x) for x in ref.extras)
        return out

    def successors(node: _Node) -> list[_Node]:
        i, extra = node
        e = entries[i]
        if node not in e.targets:
            if extra is None:
                e.targets[node] = targets(e.deps)
            else:  # an extra implies the package itself plus that extra's optional dependencies
                e.targets[node] = [(i, None), *targets(e.optional.get(extra, []))]
        return e.targets[node]

    def reach(starts: list[_Node]) -> set[int]:
        seen_nodes = set(starts)
        queue = deque(starts)
        while queue:
            for nxt in successors(queue.popleft()):
                if nxt not in seen_nodes:
                    seen_nodes.add(nxt)
                    queue.append(nxt)
        return {i for i, _ in seen_nodes}

    prod_starts: list[_Node] = []
    dev_starts: list[_Node] = []
    direct: set[int] = set()
    for r in sorted(roots):
        e = entries[r]
        prod_starts.append((r, None))
        prod_starts.extend((r, x) for x in e.optional)  # the project's own extras are production
        for group in e.dev_groups.values():
            dev_starts.extend(targets(group))
        for refs in (e.deps, *e.optional.values(), *e.dev_groups.values()):
            direct.update(j for ref in refs for j in resolve(ref))
    prod_reach = reach(prod_starts)
    dev_reach = reach(dev_starts)

    packages: list[Package] = []
    for i, e in enumerate(entries):
        if i in roots or not e.version:  # the project(s) themselves; a versionless local package cannot match
            continue
        relationship: Relationship = "unknown"
        if roots:
            relationship = "direct" if i in direct else "indirect"
        dev = i in dev_reach and i not in prod_reach
        dep_refs = [*e.deps, *(ref for refs in e.optional.values() for ref in refs)]
        depends_on = [
            f"{entries[j].name}@{entries[j].version}"
            for ref in dep_refs
            for j in resolve(ref)
            if j != i and j not in roots and entries[j].version
        ]
        packages.append(
            package(
                PYPI,
                e.name,
                e.version,
                file_path=path,
                dev=dev,
                relationship=relationship,
                depends_on=depends_on,
                lines=e.lines,
            )
        )
    return sorted_application(APP_TYPE, path, packages)


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return app_result(parse_uv_lock(inp.data, inp.path))


ANALYZER = Analyzer(
    name="uv",
    version=1,
    filenames=("uv.lock",),
    analyze=_analyze,
)
