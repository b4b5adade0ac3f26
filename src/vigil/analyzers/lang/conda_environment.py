"""Conda environment file (environment.yml / environment.yaml) analyzer.

Format facts (https://docs.conda.io/projects/conda/en/latest/user-guide/tasks/manage-environments.html):
- YAML: `name`, `channels`, `dependencies` — a list of conda MatchSpec strings ("numpy", "numpy=1.21.2",
  "numpy=1.21.2=py39h20f2e39_0" as written by `conda env export`, "numpy==1.21.2" (also with "=build"),
  "numpy>=1.20",
  "conda-forge::numpy=1.21"), and at most one mapping `{pip: [requirement, …]}` for packages pip installs.

Semantics: a conda package's version is the exact one pinned by `name=version[=build]` or `name==version`; a range or
wildcard ("1.21.*", ">=1.20") pins nothing and the package is reported without a version (never guessed), as are
bare names. pip entries become PyPI packages, with the version only when pinned with `==`. Conda packages are
inventoried only (as in Trivy, there is no conda advisory matching); the pip packages are matched as PyPI.
"""

from __future__ import annotations

import re
from typing import Any

from vigil.analyzers.lang._common import expect, load_yaml, package
from vigil.analyzers.lang.poetry_lock import pep508_name
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import CONDA, PYPI, Application, Package
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "conda-environment"

_EXACT = re.compile(r"^[A-Za-z0-9_.+!-]+$")  # a version with no operator or wildcard


def conda_spec(spec: str) -> tuple[str, str] | None:
    """(name, exact version or "") from a conda MatchSpec string, None if it names nothing."""
    s = spec.strip().split("#", 1)[0].strip()
    if "::" in s:
        s = s.split("::", 1)[1]
    if " " in s:  # "numpy 1.21.2 py39_0"
        parts = s.split()
        name, version = parts[0], parts[1] if len(parts) > 1 else ""
    else:
        m = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", s)
        if m is None:
            return None
        name, rest = m.group(1), m.group(2)
        if rest.startswith("=="):
            version = rest[2:].split("=", 1)[0]  # "name==1.2=build": the build string is no part of the version
        elif rest.startswith("=") and not rest.startswith("=="):
            version = rest[1:].split("=", 1)[0]
        else:
            version = ""
    if not name:
        return None
    return name, version if _EXACT.match(version or "-") and version else ""


def pip_spec(req: str) -> tuple[str, str] | None:
    name = pep508_name(req)
    if not name:
        return None
    m = re.match(r"^\s*[A-Za-z0-9._-]+\s*(?:\[[^\]]*\])?\s*==\s*([A-Za-z0-9_.+!-]+)\s*(?:;.*)?$", req)
    return name, m.group(1) if m else ""


def parse_conda_environment(data: bytes, path: str = "") -> Application:
    doc = load_yaml(data)
    if doc is None:
        return Application(type=APP_TYPE, file_path=path)
    expect(isinstance(doc, dict), "environment.yml: top level is not a mapping")
    deps: Any = doc.get("dependencies") or []
    expect(isinstance(deps, list), "environment.yml: `dependencies` is not a list")
    found: dict[tuple[str, str, str], Package] = {}

    def add(ecosystem: str, nv: tuple[str, str] | None) -> None:
        if nv is None:
            return
        key = (ecosystem, nv[0].lower(), nv[1])
        found.setdefault(key, package(ecosystem, nv[0], nv[1], file_path=path))

    for d in deps:
        if isinstance(d, str):
            add(CONDA, conda_spec(d))
        elif isinstance(d, dict):
            pip = d.get("pip")
            if isinstance(pip, list):
                for req in pip:
                    if isinstance(req, str) and not req.lstrip().startswith("-"):
                        add(PYPI, pip_spec(req))
    packages = sorted(found.values(), key=lambda p: (p.ecosystem, p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_conda_environment(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="conda-environment", version=2, filenames=("environment.yml", "environment.yaml"), analyze=_analyze
)
