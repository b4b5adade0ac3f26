"""pylock.toml (PEP 751 lock file, https://packaging.python.org/en/latest/specifications/pylock-toml/) analyzer.

Format facts:
- `lock-version = "1.0"`, `created-by`, optional `environments`, `extras`, `dependency-groups`, `default-groups`.
- One `[[packages]]` per locked distribution: `name`, `version` (optional: absent for source trees and VCS
  checkouts), `marker`, `dependencies` (an array of inline tables `{name, version?, …}` identifying other
  `[[packages]]` entries), and one source (`vcs`, `directory`, `archive`, `sdist`, `wheels`).
- Lockers may name several pylock files (`pylock.<name>.toml`).

Semantics (as Trivy, which reads pylock.toml with pyproject.toml): with a usable pyproject.toml beside it, its
declared dependencies are the direct roots and packages reachable only from dev roots (PEP 735 dependency groups,
legacy Poetry dev groups) are dev; without it relationships are unknown and nothing is dev. A package without a
version is not reported (never guessed).
"""

from __future__ import annotations

from typing import Any

from vigil.analyzers.lang._common import (
    app_result,
    package,
    pep503_name,
    sorted_application,
    toml_array_tables,
)
from vigil.analyzers.lang.poetry_lock import pyproject_roots, reachable
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import PYPI, Application, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "pylock"


def parse_pylock(data: bytes, path: str = "", pyproject: bytes | None = None) -> Application:
    _doc, items, blocks = toml_array_tables(data, "packages", "pylock.toml")
    entries: list[tuple[str, str, list[tuple[str, str | None]], tuple[int, int] | None]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name, version = item.get("name"), item.get("version")
        if not (isinstance(name, str) and name and isinstance(version, str) and version):
            log.debug("%s: [[packages]] #%d lacks a name or version, skipped", path, i + 1)
            continue
        deps: list[tuple[str, str | None]] = []
        raw: Any = item.get("dependencies")
        if isinstance(raw, list):
            for d in raw:
                if isinstance(d, dict) and isinstance(d.get("name"), str):
                    v = d.get("version")
                    deps.append((pep503_name(d["name"]), v if isinstance(v, str) else None))
        entries.append((name, version, deps, blocks[i] if blocks else None))

    by_name: dict[str, list[int]] = {}
    for i, (name, *_rest) in enumerate(entries):
        by_name.setdefault(pep503_name(name), []).append(i)
    edges = [
        [j for n, v in e[2] for j in by_name.get(n, []) if j != i and (v is None or entries[j][1] == v)]
        for i, e in enumerate(entries)
    ]
    roots = pyproject_roots(pyproject)
    packages: list[Package] = []
    prod_reach: set[int] = set()
    dev_reach: set[int] = set()
    if roots is not None:
        prod_reach = reachable((i for n in roots[0] for i in by_name.get(n, [])), edges)
        dev_reach = reachable((i for n in roots[1] for i in by_name.get(n, [])), edges)
    seen: set[tuple[str, str]] = set()
    for i, (name, version, _deps, lines) in enumerate(entries):
        if (pep503_name(name), version) in seen:
            continue
        seen.add((pep503_name(name), version))
        relationship: Relationship = "unknown"
        dev = False
        if roots is not None:
            relationship = "direct" if pep503_name(name) in roots[0] | roots[1] else "indirect"
            dev = i in dev_reach and i not in prod_reach
        packages.append(
            package(
                PYPI,
                name,
                version,
                file_path=path,
                dev=dev,
                relationship=relationship,
                depends_on=[f"{entries[j][0]}@{entries[j][1]}" for j in edges[i]],
                lines=lines,
            )
        )
    return sorted_application(APP_TYPE, path, packages)


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return app_result(parse_pylock(inp.data, inp.path, inp.siblings.get("pyproject.toml")))


ANALYZER = Analyzer(
    name="pylock",
    version=1,
    filenames=("pylock.toml",),
    globs=("pylock.*.toml",),
    companions=("pyproject.toml",),
    analyze=_analyze,
)
