"""Manifest.toml (Julia Pkg, https://pkgdocs.julialang.org/v1/toml-files/#Manifest.toml) analyzer.

Format facts:
- v1 (Julia < 1.7): top-level keys are package names, each an array of tables `[[Name]]` with `uuid`, `version`
  (absent for standard libraries and unregistered paths), `git-tree-sha1`, and `deps` — a list of names, or a
  table name → uuid when a name is ambiguous.
- v2 (`manifest_format = "2.0"`, Julia >= 1.7): the same entries under `[[deps.Name]]`, plus `julia_version`.

Semantics (as Trivy): packages without a version (stdlibs, path/repo checkouts) are not reported; with
Project.toml beside the manifest its `[deps]` are direct and everything else indirect (unknown without it); edges
follow `deps`, resolved by uuid when given. Julia packages are inventoried only (no Julia advisory feed in the DB).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import decode, expect, load_toml, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import JULIA, Application, Package, Relationship

log = logging.getLogger(__name__)

APP_TYPE = "julia"


def _project_deps(project: bytes | None) -> set[str] | None:
    """uuids of Project.toml's [deps] (name → uuid), or None when unknown."""
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
    return {u for u in deps.values() if isinstance(u, str)}


_HEADER = re.compile(r'^\s*\[\[\s*(?:deps\s*\.\s*)?("(?:[^"\\]|\\.)*"|[^\]\s]+)\s*\]\]\s*(?:#.*)?$')


def _block_lines(text: str, v2: bool) -> dict[str, list[tuple[int, int]]]:
    """Name → (first, last) line of each `[[Name]]` / `[[deps.Name]]` block, in file order. tomllib keeps no
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
    by_uuid: dict[str, tuple[str, str]] = {}
    by_name: dict[str, list[tuple[str, str]]] = {}
    for name, it, _lines in entries:
        uuid, version = it.get("uuid"), it.get("version")
        if isinstance(version, str) and version:
            if isinstance(uuid, str):
                by_uuid[uuid] = (name, version)
            by_name.setdefault(name, []).append((name, version))
    direct = _project_deps(project)
    packages: list[Package] = []
    seen: set[tuple[str, str]] = set()
    for name, it, lines in entries:
        version, uuid = it.get("version"), it.get("uuid")
        if not (isinstance(version, str) and version):
            continue  # a stdlib or an unregistered checkout: no version to report
        if (name, version) in seen:
            continue
        seen.add((name, version))
        deps: list[str] = []
        raw: Any = it.get("deps")
        if isinstance(raw, list):
            for d in raw:
                targets = by_name.get(d, []) if isinstance(d, str) else []
                if len(targets) == 1:
                    deps.append(f"{targets[0][0]}@{targets[0][1]}")
        elif isinstance(raw, dict):
            for d_uuid in raw.values():
                t = by_uuid.get(d_uuid) if isinstance(d_uuid, str) else None
                if t is not None:
                    deps.append(f"{t[0]}@{t[1]}")
        relationship: Relationship = "unknown"
        if direct is not None:
            relationship = "direct" if isinstance(uuid, str) and uuid in direct else "indirect"
        packages.append(
            package(JULIA, name, version, file_path=path, relationship=relationship, depends_on=deps, lines=lines)
        )
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_julia_manifest(inp.data, inp.path, inp.siblings.get("Project.toml"))
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="julia",
    version=1,
    filenames=("Manifest.toml",),
    globs=("Manifest-v*.toml",),
    companions=("Project.toml",),
    analyze=_analyze,
)
