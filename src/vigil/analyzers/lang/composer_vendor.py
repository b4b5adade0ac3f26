"""Installed PHP packages: `vendor/composer/installed.json`.

Composer 1 writes a JSON array of package objects; Composer 2 writes {"packages": [...], "dev": bool,
"dev-package-names": [...]}. Entries have `name`, `version` (as tagged), `license` (array or string) and
`require`. Packages listed in `dev-package-names` are dev dependencies (excluded unless --include-dev-deps).
"""

from __future__ import annotations

from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import load_json, package
from vigil.analyzers.lang._installed import license_values
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import COMPOSER, Application, Package

APP_TYPE = "composer-vendor"


def parse_installed_json(data: bytes, path: str = "") -> Application:
    doc = load_json(data)
    dev_names: set[str] = set()
    items: Any
    if isinstance(doc, list):
        items = doc
    elif isinstance(doc, dict):
        items = doc.get("packages", [])
        dn = doc.get("dev-package-names")
        if isinstance(dn, list):
            dev_names = {n.lower() for n in dn if isinstance(n, str)}
    else:
        raise ParseError("installed.json: neither an array nor an object")
    if not isinstance(items, list):
        raise ParseError('installed.json: "packages" is not an array')
    entries: list[tuple[str, str, dict[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        name, version = item.get("name"), item.get("version")
        if isinstance(name, str) and name and isinstance(version, str) and version:
            entries.append((name, version, item))
    by_name = {n.lower(): f"{n}@{v}" for n, v, _ in entries}
    pkgs: list[Package] = []
    for name, version, item in entries:
        req = item.get("require")
        deps = [by_name[r.lower()] for r in req if isinstance(r, str) and r.lower() in by_name] if isinstance(
            req, dict) else []
        pkgs.append(package(COMPOSER, name, version, file_path=path, dev=name.lower() in dev_names,
                            depends_on=deps, licenses=license_values(item.get("license"))))
    pkgs.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(pkgs))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_installed_json(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="composer-vendor",
    version=1,
    kind="installed",
    path_globs=("*/vendor/composer/installed.json",),
    analyze=_analyze,
)
