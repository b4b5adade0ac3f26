"""Gemfile.lock (Bundler) analyzer.

Format facts (Bundler's lockfile; https://bundler.io/guides/bundler_lockfile.html … and the format itself):
- Sections start at column 0: `GEM`, `GIT`, `PATH`, `PLUGIN SOURCE` (sources), `PLATFORMS`, `DEPENDENCIES`,
  `CHECKSUMS`, `RUBY VERSION`, `BUNDLED WITH`.
- Inside a source section, after `  specs:`, a 4-space line is a locked gem `name (version)` and the 6-space lines
  under it are its dependencies `name` or `name (constraints)`. `GIT` and `PATH` sources lock gems too (a PATH
  source with `remote: .` is usually the project's own gemspec).
- A platform-specific gem is written `name (version-platform)`, e.g. `nokogiri (1.13.10-x86_64-linux)`; Bundler
  splits at the first '-', and so do we, keeping only the version. The same gem may be locked for several
  platforms: one package, with the union of the variants' dependencies and all their locations.
- `DEPENDENCIES` lists the gems the Gemfile asks for (direct), `name!` marking a gem from a GIT/PATH source.
- Gem groups (development/test) are not recorded in the lock, so nothing is marked dev (Trivy: "not separated").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import msgspec

from vigil.analyzers.lang._common import decode, expect, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import RUBYGEMS, Application, Location, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "bundler"

_SOURCE_SECTIONS = frozenset({"GEM", "GIT", "PATH"})
_KNOWN_SECTIONS = _SOURCE_SECTIONS | {
    "PLUGIN SOURCE",
    "PLATFORMS",
    "DEPENDENCIES",
    "CHECKSUMS",
    "RUBY VERSION",
    "BUNDLED WITH",
}
_SPEC = re.compile(r"^ {4}(?! )(\S+) \(([^()\s]+)\)$")
_DEP = re.compile(r"^ {6}(?! )([^\s(!]+)")
_DIRECT = re.compile(r"^ {2}(?! )([^\s(!]+)")


@dataclass(slots=True)
class _Gem:
    name: str
    version: str
    deps: list[str] = field(default_factory=list)
    locations: list[tuple[int, int]] = field(default_factory=list)


def parse_gemfile_lock(data: bytes, path: str = "") -> Application:
    text = decode(data)
    gems: dict[tuple[str, str], _Gem] = {}
    direct: set[str] = set()
    saw_section = False
    saw_dependencies = False
    section: str | None = None
    in_specs = False
    current: _Gem | None = None

    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r").rstrip(" \t")
        if not line.strip():
            continue
        if not line[0].isspace():
            section = line.strip()
            in_specs = False
            current = None
            if section in _KNOWN_SECTIONS:
                saw_section = True
                saw_dependencies = saw_dependencies or section == "DEPENDENCIES"
            continue
        if section in _SOURCE_SECTIONS:
            if line.startswith("  ") and not line.startswith("   "):  # a 2-space source attribute
                in_specs = line.strip() == "specs:"
                current = None
                continue
            if not in_specs:
                continue
            m = _SPEC.match(line)
            if m is not None:
                name, version = m.group(1), m.group(2).split("-", 1)[0]
                if not version:
                    current = None
                    continue
                current = gems.setdefault((name, version), _Gem(name, version))
                current.locations.append((lineno, lineno))
                continue
            m = _DEP.match(line)
            if m is not None and current is not None:
                current.deps.append(m.group(1))
                first, _ = current.locations[-1]
                current.locations[-1] = (first, lineno)
        elif section == "DEPENDENCIES":
            m = _DIRECT.match(line)
            if m is not None:
                direct.add(m.group(1))

    expect(saw_section or not text.strip(), "not a Gemfile.lock: no GEM, GIT, PATH or DEPENDENCIES section")

    versions: dict[str, str] = {}
    for name, version in gems:
        versions.setdefault(name, version)  # one version per gem in a valid lock; first wins otherwise

    packages: list[Package] = []
    for (name, version), gem in gems.items():
        depends_on = [f"{d}@{versions[d]}" for d in gem.deps if d in versions and d != name]
        relationship: Relationship = "unknown"
        if saw_dependencies:
            relationship = "direct" if name in direct else "indirect"
        pkg = package(
            RUBYGEMS,
            name,
            version,
            file_path=path,
            relationship=relationship,
            depends_on=depends_on,
            lines=gem.locations[0],
        )
        if len(gem.locations) > 1:  # one locked entry per platform variant
            locs = tuple(Location(start_line=a, end_line=b) for a, b in gem.locations)
            pkg = msgspec.structs.replace(pkg, locations=locs)
        packages.append(pkg)
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_gemfile_lock(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="bundler",
    version=1,
    filenames=("Gemfile.lock",),
    analyze=_analyze,
)
