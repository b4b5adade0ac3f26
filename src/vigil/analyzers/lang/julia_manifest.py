"""Manifest.toml (Julia Pkg, https://pkgdocs.julialang.org/v1/toml-files/#Manifest.toml) analyzer.

Format facts:
- v1 (Julia < 1.7): top-level keys are package names, each an array of tables `[[Name]]` with `uuid`, `version`
  (absent for standard libraries and unregistered paths), `git-tree-sha1`, and `deps` — a list of names, or a
  table name → uuid when a name is ambiguous.
- v2 (`manifest_format = "2.0"`, Julia >= 1.7): the same entries under `[[deps.Name]]`, plus `julia_version`.

Semantics (as Trivy): a standard library has no `version` in the manifest because it ships with Julia: it is
reported at the manifest's `julia_version` (a v1 manifest names no Julia version: its stdlibs are not reported,
where Trivy writes "unknown"). A `path` dependency without a version is local code: reported with an empty version
(Trivy gives it the Julia version). With Project.toml beside the manifest its `[deps]` are direct and everything
else indirect (unknown without it); packages reached only from its `[extras]` (test-only dependencies) are dev,
as Trivy marks them. Edges follow `deps`, resolved by uuid when given. Julia packages are inventoried only (no
Julia advisory feed in the DB).
"""

from __future__ import annotations

import re
from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import decode, expect, load_toml, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import JULIA, Application, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "julia"


def _project_deps(project: bytes | None) -> tuple[set[str], set[str]] | None:
    """uuids of Project.toml's [deps] and [extras] (name → uuid), or None when unknown."""
    if project is None:
        return None
    try:
        doc = load_toml(project)
    except ParseError as e:
        log.warning("Project.toml beside Manifest.toml is unusable, direct dependencies unknown: %s", e)
        return None
    deps = doc.get("deps")
    if not isinstance(deps, dict):
        return None
    extras = doc.get("extras")
    extras = extras if isinstance(extras, dict) else {}
    return {u for u in deps.values() if isinstance(u, str)}, {u for u in extras.values() if isinstance(u, str)}


_HEADER = re.compile(r'^\s*\[\[\s*(?:deps\s*\.\s*)?("(?:[^"\\]|\\.)*"|[^\]\s]+)\s*\]\]\s*(?:#.*)?$')


def _block_lines(text: str, v2: bool) -> dict[str, list[tuple[int, int]]]:
    """Name → (first, last) line of each `[[Name]]` / `[[deps.Name]]` block, in file order. tomli keeps no
    positions; a block runs to its last non-blank, non-comment line before the next table header."""
    out: dict[str, list[tuple[int, int]]] = {}
    cur: str | None = None
    start = last = 0
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if cur is not None:
                out.setdefault(cur, []).append((start, last))
            cur = None
            m = _HEADER.match(line)
            if m is not None and (not v2 or line.lstrip("[ ").startswith("deps")):
                cur = m.group(1).strip('"')
                start = last = lineno
            continue
        last = lineno
    if cur is not None:
        out.setdefault(cur, []).append((start, last))
    return out


def parse_julia_manifest(data: bytes, path: str = "", project: bytes | None = None) -> Application:
    doc = load_toml(data)
    if "manifest_format" in doc:
        table = doc.get("deps", {})
        expect(isinstance(table, dict), "Manifest.toml: `deps` is not a table")
    else:
        table = {k: v for k, v in doc.items() if isinstance(v, list)}
    blocks = _block_lines(decode(data), "manifest_format" in doc)
    entries: list[tuple[str, dict[str, Any], tuple[int, int] | None]] = []
    for name, items in table.items():
        if not isinstance(items, list):
            continue
        spans = blocks.get(name, [])
        if len(spans) != len(items):  # written unusually (inline arrays?): no line numbers rather than wrong ones
            spans = []
        entries.extend((name, it, spans[i] if spans else None) for i, it in enumerate(items) if isinstance(it, dict))
    julia_version = doc.get("julia_version") if isinstance(doc.get("julia_version"), str) else ""

    def version_of(it: dict[str, Any]) -> str | None:
        """The version to report, "" for local code, None for a stdlib of an unknown Julia version."""
        v = it.get("version")
        if isinstance(v, str) and v:
            return v
        if it.get("path") or it.get("repo-url"):
            return ""
        return julia_version or None

    by_uuid: dict[str, tuple[str, str]] = {}
    by_name: dict[str, list[tuple[str, str]]] = {}
    for name, it, _lines in entries:
        uuid, version = it.get("uuid"), version_of(it)
        if version is not None:
            if isinstance(uuid, str):
                by_uuid[uuid] = (name, version)
            by_name.setdefault(name, []).append((name, version))

    def dep_ids(it: dict[str, Any]) -> list[tuple[str, str]]:
        raw: Any = it.get("deps")
        out: list[tuple[str, str]] = []
        if isinstance(raw, list):
            for d in raw:
                targets = by_name.get(d, []) if isinstance(d, str) else []
                if len(targets) == 1:
                    out.append(targets[0])
        elif isinstance(raw, dict):
            for d_uuid in raw.values():
                t = by_uuid.get(d_uuid) if isinstance(d_uuid, str) else None
                if t is not None:
                    out.append(t)
        return out

    project_deps = _project_deps(project)
    dev_only: set[tuple[str, str]] = set()
    if project_deps is not None:
        edges = {(name, v): dep_ids(it) for name, it, _l in entries if (v := version_of(it)) is not None}

        def reach(roots: set[str]) -> set[tuple[str, str]]:
            todo = [by_uuid[u] for u in roots if u in by_uuid]
            seen_ids: set[tuple[str, str]] = set()
            while todo:
                cur = todo.pop()
                if cur not in seen_ids:
                    seen_ids.add(cur)
                    todo.extend(edges.get(cur, []))
            return seen_ids

        dev_only = reach(project_deps[1]) - reach(project_deps[0])
    packages: list[Package] = []
    seen: set[tuple[str, str]] = set()
    for name, it, lines in entries:
        uuid, version = it.get("uuid"), version_of(it)
        if version is None:
            continue  # a stdlib of a manifest that does not name its Julia version
        if (name, version) in seen:
            continue
        seen.add((name, version))
        deps = [f"{n}@{v}" for n, v in dep_ids(it)]
        relationship: Relationship = "unknown"
        if project_deps is not None:
            relationship = "direct" if isinstance(uuid, str) and uuid in project_deps[0] else "indirect"
        packages.append(
            package(JULIA, name, version, file_path=path, relationship=relationship, depends_on=deps, lines=lines,
                    dev=(name, version) in dev_only)
        )
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_julia_manifest(inp.data, inp.path, inp.siblings.get("Project.toml"))
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="julia",
    version=2,
    filenames=("Manifest.toml",),
    globs=("Manifest-v*.toml",),
    companions=("Project.toml",),
    analyze=_analyze,
)
