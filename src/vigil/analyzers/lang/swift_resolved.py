"""Package.resolved (Swift Package Manager) analyzer.

Format facts (written by `swift package resolve` / Xcode):
- v1: `{"object": {"pins": [{"package", "repositoryURL", "state": {"branch", "revision", "version"}}]}, "version": 1}`
- v2/v3: `{"pins": [{"identity", "kind", "location", "state": {"revision", "version"?, "branch"?}}], "version": 2|3}`
  (v3 adds `originHash`).

Semantics (as Trivy): the package name is the repository location without scheme, credentials and ".git" suffix
(e.g. "github.com/apple/swift-nio"). A pin on a branch is still a dependency: Trivy reports it at the branch's
name; Vigil does so only when the branch is named like a version ("0.0.1", "v2.1"), else it lists the package
without a version (a branch "main" is no version to match advisories against). A bare revision pin (no version,
no branch) is skipped, as in Trivy. Relationships are unknown: the file lists every resolved package without
saying which are direct.
"""

from __future__ import annotations

import re
from typing import Any

from vigil.analyzers.lang._common import LineIndex, decode, expect, load_json, package
from vigil.analyzers.lang._jsonlines import json_value_spans
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import SWIFT, Application, Package
from vigil.log import get_logger

log = get_logger(__name__)

_VERSION_LIKE = re.compile(r"v?\d+(\.\d+)*([.+-][0-9A-Za-z.+-]*)?$")

APP_TYPE = "swift"


def repo_name(location: str) -> str:
    s = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", location.strip())
    s = re.sub(r"^[^/@]*@", "", s)  # credentials or the git@ of scp-like locations
    s = s.replace(":", "/", 1) if re.match(r"^[^/]+:[^/\d]", s) else s  # git@github.com:owner/repo
    s = s.rstrip("/")
    return s[:-4] if s.endswith(".git") else s


def parse_package_resolved(data: bytes, path: str = "") -> Application:
    doc = load_json(data)
    expect(isinstance(doc, dict), "Package.resolved: top level is not a JSON object")
    pins: Any
    span_prefix: tuple[str, ...]
    if isinstance(doc.get("object"), dict):
        pins, span_prefix = doc["object"].get("pins"), ("object", "pins")
    else:
        pins, span_prefix = doc.get("pins"), ("pins",)
    if pins is None:
        return Application(type=APP_TYPE, file_path=path)
    expect(isinstance(pins, list), "Package.resolved: `pins` is not an array")
    text = decode(data)
    spans = json_value_spans(text, max_depth=len(span_prefix) + 1)
    index = LineIndex(text)
    packages: list[Package] = []
    seen: set[tuple[str, str]] = set()
    for i, pin in enumerate(pins):
        if not isinstance(pin, dict):
            continue
        location = pin.get("location") or pin.get("repositoryURL")
        state = pin.get("state")
        version = state.get("version") if isinstance(state, dict) else None
        branch = state.get("branch") if isinstance(state, dict) else None
        if not (isinstance(version, str) and version) and isinstance(branch, str) and branch:
            version = branch if _VERSION_LIKE.match(branch) else ""
        if not (isinstance(location, str) and location and isinstance(version, str)):
            log.debug("%s: pin #%d has no location, version or branch (revision pin), skipped", path, i + 1)
            continue
        name = repo_name(location)
        if not name or (name, version) in seen:
            continue
        seen.add((name, version))
        span = spans.get((*span_prefix, i))
        lines = (index.line_of(span[0]), index.line_of(span[1] - 1)) if span else None
        packages.append(package(SWIFT, name, version, file_path=path, lines=lines))
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_package_resolved(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="swift", version=2, filenames=("Package.resolved",), analyze=_analyze)
