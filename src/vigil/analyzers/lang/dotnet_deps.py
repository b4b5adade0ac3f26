"""*.deps.json (.NET Core / .NET 5+ dependency manifest written next to a built app) analyzer.

Format facts (https://github.com/dotnet/sdk/blob/main/documentation/specs/runtime-configuration-file.md):
- `runtimeTarget.name` names the target the host uses at run time (e.g. ".NETCoreApp,Version=v8.0" or
  ".NETCoreApp,Version=v8.0/linux-x64" for a self-contained app).
- `targets[<target>]` maps "Name/Version" to `{dependencies: {name: version}, runtime: {...}, native: {...}, …}`.
- `libraries` maps "Name/Version" to `{type: "project" | "package" | "reference" | "runtimepack", …}`.

Semantics (as Trivy): only libraries of type "package" are packages (the app's own projects, framework references and
runtime packs are not); when the runtime target is present, a package it does not list is not deployed and is
skipped. Direct = a dependency of a "project" library in the runtime target; other packages are indirect. Edges are
the runtime target's `dependencies` that resolve to a package.
"""

from __future__ import annotations

import logging
from typing import Any

from vigil.analyzers.lang._common import LineIndex, decode, expect, load_json, package
from vigil.analyzers.lang._jsonlines import json_value_spans
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NUGET, Application, Package, Relationship

log = logging.getLogger(__name__)

APP_TYPE = "dotnet-core"


def _split(key: str) -> tuple[str, str] | None:
    name, sep, version = key.rpartition("/")
    return (name, version) if sep and name and version else None


def parse_deps_json(data: bytes, path: str = "") -> Application:
    doc = load_json(data)
    expect(isinstance(doc, dict), "deps.json: top level is not a JSON object")
    libraries = doc.get("libraries", {})
    expect(isinstance(libraries, dict), 'deps.json: "libraries" is not an object')
    targets = doc.get("targets")
    runtime_target: dict[str, Any] | None = None
    rt = doc.get("runtimeTarget")
    rt_name = rt.get("name") if isinstance(rt, dict) else None
    if isinstance(targets, dict) and isinstance(rt_name, str) and isinstance(targets.get(rt_name), dict):
        runtime_target = targets[rt_name]
    text = decode(data)
    spans = json_value_spans(text, max_depth=2)
    index = LineIndex(text)

    kinds = {k.lower(): v.get("type") for k, v in libraries.items() if isinstance(v, dict)}
    direct: set[str] | None = None
    if runtime_target is not None:
        direct = set()
        for key, entry in runtime_target.items():
            if kinds.get(key.lower()) == "project" and isinstance(entry, dict):
                deps = entry.get("dependencies")
                if isinstance(deps, dict):
                    direct.update(f"{n}/{v}".lower() for n, v in deps.items() if isinstance(v, str))

    packages: list[Package] = []
    seen: set[str] = set()
    for key, lib in libraries.items():
        if not isinstance(lib, dict) or lib.get("type") != "package":
            continue
        nv = _split(key)
        if nv is None or key.lower() in seen:
            log.debug("%s: library %r is not Name/Version or repeated, skipped", path, key)
            continue
        seen.add(key.lower())
        depends_on: list[str] = []
        relationship: Relationship = "unknown"
        if runtime_target is not None and direct is not None:
            entry = runtime_target.get(key)
            if not isinstance(entry, dict):
                log.debug("%s: %s is not in the runtime target, not deployed", path, key)
                continue
            relationship = "direct" if key.lower() in direct else "indirect"
            deps = entry.get("dependencies")
            if isinstance(deps, dict):
                for n, v in deps.items():
                    if isinstance(v, str) and kinds.get(f"{n}/{v}".lower()) == "package":
                        depends_on.append(f"{n}@{v}")
        span = spans.get(("libraries", key))
        lines = (index.line_of(span[0]), index.line_of(span[1] - 1)) if span else None
        packages.append(
            package(
                NUGET,
                nv[0],
                nv[1],
                file_path=path,
                relationship=relationship,
                depends_on=depends_on,
                lines=lines,
            )
        )
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_deps_json(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="dotnet-core", version=1, globs=("*.deps.json",), analyze=_analyze)
