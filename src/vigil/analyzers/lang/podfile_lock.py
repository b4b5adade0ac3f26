"""Podfile.lock (CocoaPods) analyzer.

Format facts (YAML written by `pod install`; https://guides.cocoapods.org/using/using-cocoapods.html):
- `PODS:` a list whose items are "Name (version)" strings, or one-key mappings "Name (version)": [requirements]
  where each requirement is "Dep (constraint)" or "Dep"; subspecs are named "Pod/Subspec".
- `DEPENDENCIES:` the Podfile's own requirements, "Name (constraint)" or "Name".

Semantics: every pod and subspec locked in PODS is a package (as Trivy); edges follow the requirement lists;
relationships come from DEPENDENCIES (direct) when present, everything else indirect.
"""

from __future__ import annotations

import re
from typing import Any

from vigil.analyzers.lang._common import expect, load_yaml, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import COCOAPODS, Application, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "cocoapods"

_SPEC = re.compile(r"^\s*(\S+)(?:\s+\((.*)\))?\s*$")


def _split(spec: str) -> tuple[str, str]:
    m = _SPEC.match(spec)
    return (m.group(1), (m.group(2) or "").strip()) if m else ("", "")


def parse_podfile_lock(data: bytes, path: str = "") -> Application:
    doc = load_yaml(data)
    if doc is None:
        return Application(type=APP_TYPE, file_path=path)
    expect(isinstance(doc, dict), "Podfile.lock: top level is not a mapping")
    pods: Any = doc.get("PODS") or []
    expect(isinstance(pods, list), "Podfile.lock: `PODS` is not a list")
    locked: dict[str, tuple[str, list[str]]] = {}  # name → (version, required names)
    for item in pods:
        reqs: Any = []
        if isinstance(item, dict) and len(item) == 1:
            ((spec, reqs),) = item.items()
        else:
            spec = item
        if not isinstance(spec, str):
            continue
        name, version = _split(spec)
        if not name or not version:
            continue
        names = [_split(r)[0] for r in reqs if isinstance(r, str)] if isinstance(reqs, list) else []
        locked.setdefault(name, (version, [n for n in names if n]))
    direct: set[str] | None = None
    deps = doc.get("DEPENDENCIES")
    if isinstance(deps, list):
        direct = {_split(d)[0] for d in deps if isinstance(d, str)}
    packages = []
    for name, (version, reqs) in locked.items():
        relationship: Relationship = "unknown"
        if direct is not None:
            relationship = "direct" if name in direct else "indirect"
        edges = [f"{r}@{locked[r][0]}" for r in reqs if r in locked and r != name]
        packages.append(
            package(COCOAPODS, name, version, file_path=path, relationship=relationship, depends_on=edges)
        )
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_podfile_lock(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="cocoapods", version=1, filenames=("Podfile.lock",), analyze=_analyze)
