"""Installed conda packages: `conda-meta/*.json` (one JSON object per installed package).

Fields used: `name`, `version`, `license` (free text, often an SPDX id). Conda packages are inventoried and
license-checked only; there is no advisory feed for them (like Trivy).
"""

from __future__ import annotations

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import load_json, package
from vigil.analyzers.lang._installed import license_values
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import CONDA, Application

APP_TYPE = "conda-pkg"


def parse_conda_meta(data: bytes, path: str = "") -> Application:
    doc = load_json(data)
    if not isinstance(doc, dict):
        raise ParseError("conda-meta: top level is not a JSON object")
    name, version = doc.get("name"), doc.get("version")
    if not (isinstance(name, str) and name and isinstance(version, str) and version):
        raise ParseError("conda-meta: no name or version")
    pkg = package(CONDA, name, version, file_path=path, licenses=license_values(doc.get("license")))
    return Application(type=APP_TYPE, file_path=path, packages=(pkg,))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return AnalysisResult(applications=(parse_conda_meta(inp.data, inp.path),))


ANALYZER = Analyzer(
    name="conda-pkg",
    version=1,
    kind="installed",
    path_globs=("*/conda-meta/*.json",),
    analyze=_analyze,
)
