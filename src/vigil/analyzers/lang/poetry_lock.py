"""poetry.lock analyzer.

Format facts (poetry.lock is TOML written by Poetry; https://python-poetry.org/docs/basic-usage/):
- One `[[package]]` table per locked distribution: `name`, `version`, optional `source` (git/directory/file/url),
  and a `[package.dependencies]` sub-table mapping a dependency name to a constraint (a string, a table
  `{version, markers, optional, extras}` or a list of such tables for per-marker alternatives).
- Lock format 1.x (Poetry < 1.5) has `category = "main" | "dev"`; Poetry 2 locks have `groups = [...]`, the
  dependency groups that need the package (transitively). Neither is always present.
- The project itself is not in the lock. Its pyproject.toml declares the roots: `[tool.poetry.dependencies]` (minus
  "python") and PEP 621 `[project].dependencies` / `optional-dependencies` are production; the legacy
  `[tool.poetry.dev-dependencies]`, `[tool.poetry.group.<g>.dependencies]` for g != "main" and PEP 735
  `[dependency-groups]` are development.

Semantics (as Trivy): with pyproject.toml, roots are direct and everything else indirect; a package is dev when it is
reachable from the dev roots only (optional dependencies count as edges, so extras never hide a production
package). Without pyproject.toml, relationships are unknown and dev falls back to the lock's own `groups` ("main" not
among them) or `category == "dev"`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
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
from vigil.analyzers.lang._common import (  # re-exported: moved to _common, kept importable from here
    array_table_lines as array_table_lines,
)
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import PYPI, Application, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "poetry"

_PEP508_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def pep508_name(requirement: str) -> str | None:
    m = _PEP508_NAME.match(requirement)
    return m.group(1) if m else None


# --- pyproject.toml roots ----------------------------------------------------------------------------------------


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _requirement_names(value: Any) -> Iterable[str]:
    """Names from a list of PEP 508 strings (tables such as PEP 735 include-group entries are not packages)."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                name = pep508_name(item)
                if name:
                    yield name


def pyproject_roots(pyproject: bytes | None) -> tuple[set[str], set[str]] | None:
    """(production roots, dev roots) as normalised names, or None when there is no usable pyproject.toml."""
    if pyproject is None:
        return None
    try:
        doc = load_toml(pyproject)
    except ParseError as e:
        log.warning("pyproject.toml is unusable, direct and dev dependencies unknown: %s", e)
        return None
    prod: set[str] = set()
    dev: set[str] = set()
    poetry = _table(_table(doc.get("tool")).get("poetry"))
    prod.update(k for k in _table(poetry.get("dependencies")) if k.lower() != "python")
    dev.update(_table(poetry.get("dev-dependencies")))
    for group, spec in _table(poetry.get("group")).items():
        names = [k for k in _table(_table(spec).get("dependencies")) if k.lower() != "python"]
        (prod if group == "main" else dev).update(names)
    project = _table(doc.get("project"))
    prod.update(_requirement_names(project.get("dependencies")))
    for extra in _table(project.get("optional-dependencies")).values():
        prod.update(_requirement_names(extra))
    for group in _table(doc.get("dependency-groups")).values():
        dev.update(_requirement_names(group))
    if not prod and not dev:
        return None
    return {pep503_name(n) for n in prod}, {pep503_name(n) for n in dev}


# --- poetry.lock ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    name: str
    version: str
    deps: list[str]
    lock_dev: bool
    lines: tuple[int, int] | None


def _lock_says_dev(item: dict[str, Any]) -> bool:
    groups = item.get("groups")
    if isinstance(groups, list) and groups:
        return "main" not in groups
    return item.get("category") == "dev"


def reachable(starts: Iterable[int], edges: list[list[int]]) -> set[int]:
    seen = set(starts)
    queue = deque(seen)
    while queue:
        for j in edges[queue.popleft()]:
            if j not in seen:
                seen.add(j)
                queue.append(j)
    return seen


def parse_poetry_lock(data: bytes, path: str = "", pyproject: bytes | None = None) -> Application:
    """Parse poetry.lock bytes; `pyproject` (the sibling pyproject.toml, if any) gives direct and dev roots."""
    _doc, items, blocks = toml_array_tables(data, "package", "poetry.lock")

    entries: list[_Entry] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name, version = item.get("name"), item.get("version")
        if not (isinstance(name, str) and name and isinstance(version, str) and version):
            log.debug("%s: [[package]] #%d lacks a name or version, skipped", path, i + 1)
            continue
        if (
            pep503_name(name),
            version,
        ) in seen:  # same release locked twice (e.g. two sources): keep the first
            continue
        seen.add((pep503_name(name), version))
        deps = list(_table(item.get("dependencies")))
        entries.append(_Entry(name, version, deps, _lock_says_dev(item), blocks[i] if blocks else None))

    by_name: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        by_name.setdefault(pep503_name(e.name), []).append(i)
    # A name locked at several versions (per-marker alternatives) links to all of them.
    edges = [
        [j for d in e.deps for j in by_name.get(pep503_name(d), []) if j != i] for i, e in enumerate(entries)
    ]

    roots = pyproject_roots(pyproject)
    prod_reach: set[int] = set()
    dev_reach: set[int] = set()
    all_roots: set[str] = set()
    if roots is not None:
        prod_roots, dev_roots = roots
        all_roots = prod_roots | dev_roots
        prod_reach = reachable((i for n in prod_roots for i in by_name.get(n, [])), edges)
        dev_reach = reachable((i for n in dev_roots for i in by_name.get(n, [])), edges)

    packages: list[Package] = []
    for i, e in enumerate(entries):
        relationship: Relationship = "unknown"
        if roots is not None:
            relationship = "direct" if pep503_name(e.name) in all_roots else "indirect"
            dev = i in dev_reach and i not in prod_reach
        else:
            dev = e.lock_dev
        depends_on = [f"{entries[j].name}@{entries[j].version}" for j in edges[i]]
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
    return app_result(parse_poetry_lock(inp.data, inp.path, inp.siblings.get("pyproject.toml")))


ANALYZER = Analyzer(
    name="poetry",
    version=1,
    filenames=("poetry.lock",),
    companions=("pyproject.toml",),
    analyze=_analyze,
)
