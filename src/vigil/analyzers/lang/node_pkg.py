"""Installed npm packages: `node_modules/**/package.json` (Trivy's node-pkg analyzer).

Only package.json files inside a node_modules directory are read — the project's own package.json is the
manifest of the thing being scanned, not an installed package. `license` is a string/SPDX expression, or in old
packages an object {"type": ...} or a `licenses` array of such objects. A package.json without name or version
(test fixtures shipped inside packages) is not a package and yields nothing.
"""

from __future__ import annotations

from vigil.analyzers.lang._common import load_json, package
from vigil.analyzers.lang._installed import license_values
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NPM, Application

APP_TYPE = "node-pkg"


def parse_package_json(data: bytes, path: str = "") -> Application:
    doc = load_json(data)
    if not isinstance(doc, dict):
        return Application(type=APP_TYPE, file_path=path)
    name, version = doc.get("name"), doc.get("version")
    if not (isinstance(name, str) and name and isinstance(version, str) and version):
        return Application(type=APP_TYPE, file_path=path)
    lic = license_values(doc.get("license")) or license_values(doc.get("licenses"))
    pkg = package(NPM, name, version, file_path=path, licenses=lic)
    return Application(type=APP_TYPE, file_path=path, packages=(pkg,))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_package_json(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="node-pkg",
    version=1,
    kind="installed",
    path_globs=("*/node_modules/*/package.json",),
    analyze=_analyze,
)
