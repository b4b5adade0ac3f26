"""pubspec.lock (Dart / Flutter pub) analyzer.

Format facts (https://dart.dev/tools/pub/glossary#lockfile): YAML, `packages: {<name>: {dependency, description,
source, version}}` and `sdks: {dart: <constraint>, flutter: <constraint>}`. `dependency` is "direct main",
"direct dev", "direct overridden" or "transitive"; `source` is hosted, git, path or sdk.

Semantics: "direct main"/"direct overridden" → direct, "direct dev" → direct and dev, "transitive" → indirect (the
lock has no edges, so a transitive package's dev-ness is unknown and it counts as production). Packages with
`source: sdk` (flutter, flutter_test …) ship with the SDK and are locked as "0.0.0": not reported, rather than
guessing an SDK version from the constraint.
"""

from __future__ import annotations

import logging
import re

from vigil.analyzers.lang._common import LineIndex, decode, expect, load_yaml, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import PUB, Application, Package, Relationship

log = logging.getLogger(__name__)

APP_TYPE = "pub"


def parse_pubspec_lock(data: bytes, path: str = "") -> Application:
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
        if not isinstance(version, str) or not version or spec.get("source") == "sdk":
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


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_pubspec_lock(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="pubspec-lock", version=1, filenames=("pubspec.lock",), analyze=_analyze)
