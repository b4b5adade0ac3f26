"""pubspec.lock (Dart / Flutter pub) analyzer.

Format facts (https://dart.dev/tools/pub/glossary#lockfile): YAML, `packages: {<name>: {dependency, description,
source, version}}` and `sdks: {dart: <constraint>, flutter: <constraint>}`. `dependency` is "direct main",
"direct dev", "direct overridden" or "transitive"; `source` is hosted, git, path or sdk.

Semantics: "direct main"/"direct overridden" → direct, "direct dev" → direct and dev, "transitive" → indirect (the
lock has no edges, so a transitive package's dev-ness is unknown and it counts as production). Packages with
`source: sdk` (flutter, flutter_test …) ship with the SDK and are locked as "0.0.0": not reported, rather than
guessing an SDK version from the constraint. With `--detection-priority comprehensive` (`min_version`) they are
reported, as in Trivy, at the lowest version of their SDK's constraint in `sdks` (`>=3.0.0 <4.0.0` or `^3.0.0`:
3.0.0); a constraint without a lower bound still leaves them out.
"""

from __future__ import annotations

import re

import msgspec

from vigil.analyzers.lang._common import LineIndex, decode, expect, load_yaml, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import PUB, Application, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "pub"


def _sdk_min(sdks: object, description: object) -> str | None:
    """The lowest version of the SDK constraint a `source: sdk` package names (its description is the SDK's name):
    the first clause when it is `>=V` or `^V` (Dart's only lower bounds), else None."""
    if not isinstance(sdks, dict) or not isinstance(description, str):
        return None
    constraint = sdks.get(description)
    if not isinstance(constraint, str):
        return None
    m = re.match(r"\s*(?:>=|\^)\s*v?(\d+(?:\.\d+){0,2}(?:[-+][0-9A-Za-z.+-]*)?)(?:\s|,|$)", constraint)
    return m.group(1) if m else None


def parse_pubspec_lock(data: bytes, path: str = "", min_version: bool = False) -> Application:
    doc = load_yaml(data)
    if doc is None:
        return Application(type=APP_TYPE, file_path=path)
    expect(isinstance(doc, dict), "pubspec.lock: top level is not a mapping")
    pkgs = doc.get("packages") or {}
    expect(isinstance(pkgs, dict), "pubspec.lock: `packages` is not a mapping")
    text = decode(data)
    index = LineIndex(text)

    packages: list[Package] = []
    for name, spec in pkgs.items():
        if not isinstance(name, str) or not isinstance(spec, dict):
            continue
        version = spec.get("version")
        if spec.get("source") == "sdk":
            if not min_version:
                continue
            if version in ("0.0.0", None, ""):
                version = _sdk_min(doc.get("sdks"), spec.get("description"))
        if not isinstance(version, str) or not version:
            continue
        kind = spec.get("dependency")
        relationship: Relationship = "unknown"
        if isinstance(kind, str):
            relationship = "direct" if kind.startswith("direct") else "indirect"
        # the package's block starts at its 2-space-indented key under `packages:`
        m = re.search(rf"^  {re.escape(name)}:", text, re.M)
        lines = None
        if m is not None:
            start = index.line_of(m.start())
            end_m = re.compile(r"^(?:  \S|\S)", re.M).search(text, m.end())
            end = index.line_of(end_m.start()) - 1 if end_m else index.line_of(len(text.rstrip()))
            lines = (start, max(start, end))
        packages.append(
            package(
                PUB,
                name,
                version,
                file_path=path,
                dev=kind == "direct dev",
                relationship=relationship,
                lines=lines,
            )
        )
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput, min_version: bool = False) -> AnalysisResult:
    app = parse_pubspec_lock(inp.data, inp.path, min_version)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="pubspec-lock", version=1, filenames=("pubspec.lock",), analyze=_analyze)
# --detection-priority comprehensive: SDK packages at their SDK constraint's lowest version
COMPREHENSIVE = msgspec.structs.replace(ANALYZER, analyze=lambda inp: _analyze(inp, min_version=True),
                                    variant="comprehensive")
