"""*.deps.json (.NET Core / .NET 5+ dependency manifest written next to a built app) analyzer.

Format facts (https://github.com/dotnet/sdk/blob/main/documentation/specs/runtime-configuration-file.md):
- `runtimeTarget.name` names the target the host uses at run time (e.g. ".NETCoreApp,Version=v8.0" or
  ".NETCoreApp,Version=v8.0/linux-x64" for a self-contained app).
- `targets[<target>]` maps "Name/Version" to `{dependencies: {name: version}, runtime: {...}, native: {...}, …}`.
- `libraries` maps "Name/Version" to `{type: "project" | "package" | "reference" | "runtimepack", …}`.

Semantics (as Trivy's parser): libraries of type "package" and "runtimepack" are packages — a self-contained app
ships the .NET runtime itself as a runtime pack, keyed "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0",
and reported without the "runtimepack." prefix so the runtime's advisories match. The app's own projects are not
packages (the scanned project is not its own dependency; Trivy lists them — docs/trivy-differences.md), nor are
framework references. When the runtime target is present, a library counts only if its entry there has assets
that load at run time (`runtime`, `runtimeTargets` or `native`): a compile-time facade such as NETStandard.Library
has none and is not deployed. A library missing from the runtime target is kept (not known to be compile-only).
Direct = a dependency of a "project" library in the runtime target; other packages are indirect. Edges are the
runtime target's `dependencies` that resolve to a package.
"""

from __future__ import annotations

from typing import Any

from vigil.analyzers.lang._common import LineIndex, decode, expect, load_json, package
from vigil.analyzers.lang._jsonlines import json_value_spans
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NUGET, Application, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "dotnet-core"


_RUNTIME_PACK_PREFIX = "runtimepack."
_PACKAGE_TYPES = ("package", "runtimepack")


def _split(key: str) -> tuple[str, str] | None:
    name, sep, version = key.rpartition("/")
    return (name.removeprefix(_RUNTIME_PACK_PREFIX), version) if sep and name and version else None


def _id(key: str) -> str:
    """A library or dependency key as one ID space: case-insensitive, without the runtime-pack prefix."""
    return key.lower().removeprefix(_RUNTIME_PACK_PREFIX)


def _loads_at_run_time(entry: object) -> bool:
    return isinstance(entry, dict) and any(entry.get(k) for k in ("runtime", "runtimeTargets", "native"))


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

    kinds = {_id(k): str(v.get("type", "")).lower() for k, v in libraries.items() if isinstance(v, dict)}
    target_entries = {_id(k): v for k, v in runtime_target.items()} if runtime_target is not None else {}
    direct: set[str] | None = None
    if runtime_target is not None:
        direct = set()
        for key, entry in runtime_target.items():
            if kinds.get(_id(key)) == "project" and isinstance(entry, dict):
                deps = entry.get("dependencies")
                if isinstance(deps, dict):
                    direct.update(_id(f"{n}/{v}") for n, v in deps.items() if isinstance(v, str))

    def deployed(lib_id: str) -> bool:
        return kinds.get(lib_id) in _PACKAGE_TYPES and (
            lib_id not in target_entries or _loads_at_run_time(target_entries[lib_id]))

    packages: list[Package] = []
    seen: set[str] = set()
    for key, lib in libraries.items():
        if not isinstance(lib, dict) or str(lib.get("type", "")).lower() not in _PACKAGE_TYPES:
            continue
        nv = _split(key)
        if nv is None or _id(key) in seen:
            log.debug("%s: library %r is not Name/Version or repeated, skipped", path, key)
            continue
        seen.add(_id(key))
        depends_on: list[str] = []
        relationship: Relationship = "unknown"
        if runtime_target is not None and direct is not None:
            if not deployed(_id(key)):
                log.debug("%s: %s has no run-time assets in the runtime target, not deployed", path, key)
                continue
            entry = target_entries.get(_id(key))
            relationship = "direct" if _id(key) in direct else "indirect"
            deps = entry.get("dependencies") if isinstance(entry, dict) else None
            if isinstance(deps, dict):
                for n, v in deps.items():
                    if isinstance(v, str) and deployed(_id(f"{n}/{v}")):
                        depends_on.append(f"{n.removeprefix(_RUNTIME_PACK_PREFIX)}@{v}")
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


ANALYZER = Analyzer(name="dotnet-core", version=2, globs=("*.deps.json",), analyze=_analyze)
