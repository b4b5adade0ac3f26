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

from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import (
    app_result,
    load_toml,
    package,
    pep503_name,
    sorted_application,
    toml_array_tables,
)
from vigil.analyzers.lang.poetry_lock import pep508_name, pyproject_roots
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import PYPI, Application, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "pdm"


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
                    names.update(
                        pep503_name(n) for g in group if isinstance(g, str) and (n := pep508_name(g))
                    )
    return names or None


def parse_pdm_lock(data: bytes, path: str = "", pyproject: bytes | None = None) -> Application:
    _doc, items, blocks = toml_array_tables(data, "package", "pdm.lock")
    locked: dict[str, str] = {}  # normalised name → "name@version" as locked (the first entry for a name)
    for item in items:
        if (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(item.get("version"), str)
        ):
            locked.setdefault(pep503_name(item["name"]), f"{item['name']}@{item['version']}")
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
        if (pep503_name(name), version) in seen:
            continue
        seen.add((pep503_name(name), version))
        groups: Any = item.get("groups")
        dev = isinstance(groups, list) and bool(groups) and "default" not in groups
        deps: list[str] = []
        raw: Any = item.get("dependencies")
        if isinstance(raw, list):
            for req in raw:
                dn = pep508_name(req) if isinstance(req, str) else None
                if dn and pep503_name(dn) in locked and pep503_name(dn) != pep503_name(name):
                    deps.append(locked[pep503_name(dn)])
        relationship: Relationship = "unknown"
        if direct is not None:
            relationship = "direct" if pep503_name(name) in direct else "indirect"
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
    return sorted_application(APP_TYPE, path, packages)


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return app_result(parse_pdm_lock(inp.data, inp.path, inp.siblings.get("pyproject.toml")))


ANALYZER = Analyzer(
    name="pdm", version=1, filenames=("pdm.lock",), companions=("pyproject.toml",), analyze=_analyze
)
