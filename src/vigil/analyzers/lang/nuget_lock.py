"""packages.lock.json (NuGet lock file, `RestorePackagesWithLockFile`) analyzer.

Format facts (https://learn.microsoft.com/nuget/consume-packages/package-references-in-project-files#locking-dependencies):
- `{"version": 1|2, "dependencies": {<target framework>: {<package id>: entry}}}`; one section per target framework
  (and per runtime identifier, e.g. "net6.0/linux-x64"), so the same package usually appears several times.
- entry `type`: "Direct" (a PackageReference of the project), "Transitive", "CentralTransitive" (pinned through
  central package management but not referenced directly) or "Project" (a referenced project, not a package);
  `resolved` is the locked version, `dependencies` maps a package id to the version range it asked for.

Semantics (as Trivy): every package is production (the lock does not record development-only packages); Direct →
direct, anything else → indirect; project references are not packages. A dependency edge points at the version
locked for that id in the same framework section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vigil.analyzers.lang._common import LineIndex, decode, expect, load_json, package
from vigil.analyzers.lang._jsonlines import json_value_spans
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NUGET, Application
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "nuget"


def parse_nuget_lock(data: bytes, path: str = "") -> Application:
    doc = load_json(data)
    expect(isinstance(doc, dict), "packages.lock.json: top level is not a JSON object")
    frameworks = doc.get("dependencies", {})
    expect(isinstance(frameworks, dict), 'packages.lock.json: "dependencies" is not an object')
    text = decode(data)
    spans = json_value_spans(text, max_depth=3)
    index = LineIndex(text)

    # (lower-cased id, version) → [id, version, direct, edges, lines]; the first framework section fixes the lines
    found: dict[tuple[str, str], _Entry] = {}
    for fw, entries in frameworks.items():
        if not isinstance(entries, dict):
            log.debug("%s: framework %r is not an object, skipped", path, fw)
            continue
        # id (case-insensitive in NuGet) → (id as spelled, locked version) within this framework section
        resolved: dict[str, tuple[str, str]] = {}
        for name, e in entries.items():
            if isinstance(e, dict) and e.get("type") != "Project" and isinstance(e.get("resolved"), str):
                resolved[name.lower()] = (name, e["resolved"])
        for name, e in entries.items():
            if not isinstance(e, dict) or e.get("type") == "Project":
                continue
            version = e.get("resolved")
            if not (isinstance(version, str) and version and name):
                log.debug("%s: %s in %r has no resolved version, skipped", path, name, fw)
                continue
            entry = found.get((name.lower(), version))
            if entry is None:
                span = spans.get(("dependencies", fw, name))
                lines = (index.line_of(span[0]), index.line_of(span[1] - 1)) if span else None
                entry = found[(name.lower(), version)] = _Entry(name, version, lines=lines)
            # the same package in several framework sections: direct anywhere wins, edges are the union
            entry.direct = entry.direct or e.get("type") == "Direct"
            raw_deps: Any = e.get("dependencies")
            if isinstance(raw_deps, dict):
                for d in raw_deps:
                    target = resolved.get(d.lower()) if isinstance(d, str) else None
                    if target is not None:
                        entry.deps.add(f"{target[0]}@{target[1]}")
    packages = [
        package(
            NUGET,
            e.name,
            e.version,
            file_path=path,
            relationship="direct" if e.direct else "indirect",
            depends_on=sorted(e.deps),
            lines=e.lines,
        )
        for e in found.values()
    ]
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


@dataclass(slots=True)
class _Entry:
    name: str
    version: str
    direct: bool = False
    deps: set[str] = field(default_factory=set)
    lines: tuple[int, int] | None = None


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_nuget_lock(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="nuget", version=1, filenames=("packages.lock.json",), analyze=_analyze)
