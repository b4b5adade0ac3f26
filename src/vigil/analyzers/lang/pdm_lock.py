"""pdm.lock (PDM, https://pdm-project.org/latest/usage/lockfile/) analyzer.

Format facts (TOML):
- `[metadata]`: `groups` (the dependency groups locked, "default" = the project's own dependencies),
  `lock_version`, `strategy`, `content_hash`.
- One `[[package]]` per locked distribution: `name`, `version`, `requires_python`, `summary`, `dependencies`
  (PEP 508 strings), `files`; lock_version >= 4.4 adds `groups` (the groups that need the package).

Semantics: a package is dev when its `groups` do not include "default" (PDM's dev groups are `[tool.pdm.dev-dependencies]`
and PEP 735 `[dependency-groups]`); with pyproject.toml beside the lock, the project's declared dependencies are direct
and everything else indirect (relationships unknown without it). Edges follow the dependency names.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import decode, expect, load_toml, package
from vigil.analyzers.lang.poetry_lock import array_table_lines, pep508_name, pyproject_roots
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import PYPI, Application, Package, Relationship

log = logging.getLogger(__name__)

APP_TYPE = "pdm"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _direct_names(pyproject: bytes | None) -> set[str] | None:
    roots = pyproject_roots(pyproject)
    names: set[str] = set()
    if roots is not None:
        names = roots[0] | roots[1]
    if pyproject is not None:
        try:
            doc = load_toml(pyproject)
        except ParseError:
            doc = {}
        tool = doc.get("tool")
        pdm = tool.get("pdm") if isinstance(tool, dict) else None
        devdeps = pdm.get("dev-dependencies") if isinstance(pdm, dict) else None
        if isinstance(devdeps, dict):
            for group in devdeps.values():
                if isinstance(group, list):
                    names.update(_normalize(n) for g in group if isinstance(g, str) and (n := pep508_name(g)))
    return names or None


def parse_pdm_lock(data: bytes, path: str = "", pyproject: bytes | None = None) -> Application:
    doc = load_toml(data)
    items = doc.get("package", [])
    expect(isinstance(items, list), "pdm.lock: `package` is not an array of tables")
    blocks = array_table_lines(decode(data), "package")
    if len(blocks) != len(items):
        blocks = []
    locked: dict[str, str] = {}  # normalised name → "name@version" as locked (the first entry for a name)
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("version"), str):
            locked.setdefault(_normalize(item["name"]), f"{item['name']}@{item['version']}")
    direct = _direct_names(pyproject)
    packages: list[Package] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name, version = item.get("name"), item.get("version")
        if not (isinstance(name, str) and name and isinstance(version, str) and version):
            log.debug("%s: [[package]] #%d lacks a name or version, skipped", path, i + 1)
            continue
        if (_normalize(name), version) in seen:
            continue
        seen.add((_normalize(name), version))
        groups: Any = item.get("groups")
        dev = isinstance(groups, list) and bool(groups) and "default" not in groups
        deps: list[str] = []
        raw: Any = item.get("dependencies")
        if isinstance(raw, list):
            for req in raw:
                dn = pep508_name(req) if isinstance(req, str) else None
                if dn and _normalize(dn) in locked and _normalize(dn) != _normalize(name):
                    deps.append(locked[_normalize(dn)])
        relationship: Relationship = "unknown"
        if direct is not None:
            relationship = "direct" if _normalize(name) in direct else "indirect"
        packages.append(
            package(
                PYPI,
                name,
                version,
                file_path=path,
                dev=dev,
                relationship=relationship,
                depends_on=deps,
                lines=blocks[i] if blocks else None,
            )
        )
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_pdm_lock(inp.data, inp.path, inp.siblings.get("pyproject.toml"))
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="pdm", version=1, filenames=("pdm.lock",), companions=("pyproject.toml",), analyze=_analyze
)
