"""build.sbt.lock (sbt-dependency-lock plugin, https://stringbean.github.io/sbt-dependency-lock/) analyzer.

Format facts: JSON `{lockVersion: 1, timestamp, configurations: [...], dependencies: [{org, name, version,
artifacts: [{name, hash}], configurations: [...]}]}`; every resolved module (direct and transitive) once, with the
sbt configurations it is resolved for.

Semantics (as Trivy's sbt lock parser): Maven coordinates "org:name"; a module resolved for the "test" configuration
only is dev; relationships are unknown (the lock does not record which modules build.sbt declares) and there is no
graph.
"""

from __future__ import annotations

from typing import Any

from vigil.analyzers.lang._common import LineIndex, decode, expect, load_json, package
from vigil.analyzers.lang._jsonlines import json_value_spans
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import MAVEN, Application, Package
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "sbt"


def parse_sbt_lock(data: bytes, path: str = "") -> Application:
    doc = load_json(data)
    expect(isinstance(doc, dict), "build.sbt.lock: top level is not a JSON object")
    deps: Any = doc.get("dependencies", [])
    expect(isinstance(deps, list), 'build.sbt.lock: "dependencies" is not an array')
    text = decode(data)
    spans = json_value_spans(text, max_depth=2)
    index = LineIndex(text)
    found: dict[tuple[str, str], Package] = {}
    for i, d in enumerate(deps):
        if not isinstance(d, dict):
            continue
        org, name, version = d.get("org"), d.get("name"), d.get("version")
        if not all(isinstance(x, str) and x for x in (org, name, version)):
            log.debug("%s: dependencies[%d] lacks org, name or version, skipped", path, i)
            continue
        confs = d.get("configurations")
        confs = [c for c in confs if isinstance(c, str)] if isinstance(confs, list) else []
        dev = bool(confs) and all(c == "test" for c in confs)
        key = (f"{org}:{name}", str(version))
        if key in found:
            continue
        span = spans.get(("dependencies", i))
        lines = (index.line_of(span[0]), index.line_of(span[1] - 1)) if span else None
        found[key] = package(MAVEN, key[0], key[1], file_path=path, dev=dev, lines=lines)
    packages = sorted(found.values(), key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_sbt_lock(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="sbt-lockfile", version=1, filenames=("build.sbt.lock",), analyze=_analyze)
