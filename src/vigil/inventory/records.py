"""Inventory records: the output of analyzers, the input of detectors.

All records are frozen msgspec Structs: one schema for disk, cache and wire (ARCHITECTURE.md §6, §7).
JSON field names follow Trivy's PascalCase so that users' jq scripts and dashboards keep working.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Relationship = Literal["root", "workspace", "direct", "indirect", "unknown"]

# Ecosystem identifiers used across analyzers, the DB and matchers. Values are permanent IDs.
PYPI = "pypi"
NPM = "npm"
GO = "go"
CARGO = "cargo"
RUBYGEMS = "rubygems"
COMPOSER = "composer"
MAVEN = "maven"
NUGET = "nuget"
HEX = "hex"
PUB = "pub"
# Ecosystems inventoried but not matched against the DB (no advisory feed / version scheme yet, as in Trivy for
# conda): kept out of LANGUAGE_ECOSYSTEMS so the generic matcher skips them.
CONAN = "conan"
SWIFT = "swift"
COCOAPODS = "cocoapods"
JULIA = "julia"
CONDA = "conda"
LANGUAGE_ECOSYSTEMS = (PYPI, NPM, GO, CARGO, RUBYGEMS, COMPOSER, MAVEN, NUGET, HEX, PUB)

# purl "type" for each ecosystem (https://github.com/package-url/purl-spec).
PURL_TYPES = {
    PYPI: "pypi",
    NPM: "npm",
    GO: "golang",
    CARGO: "cargo",
    RUBYGEMS: "gem",
    COMPOSER: "composer",
    MAVEN: "maven",
    NUGET: "nuget",
    HEX: "hex",
    PUB: "pub",
    CONAN: "conan",
    SWIFT: "swift",
    COCOAPODS: "cocoapods",
    JULIA: "julia",
    CONDA: "conda",
    # swift: purl needs the namespace split (pkg:swift/github.com/apple/swift-log@1.0.0), not in make_purl yet
}


class Record(msgspec.Struct, frozen=True, kw_only=True, rename="pascal", omit_defaults=True):
    """Base for every record: frozen, keyword-only, PascalCase on the wire."""


class Location(Record, frozen=True, kw_only=True):
    start_line: int
    end_line: int


class Package(Record, frozen=True, kw_only=True):
    ecosystem: str
    name: str
    version: str
    id: str = msgspec.field(default="", name="ID")
    purl: str = msgspec.field(default="", name="PURL")
    dev: bool = False
    relationship: Relationship = "unknown"
    depends_on: tuple[str, ...] = ()
    locations: tuple[Location, ...] = ()
    file_path: str = ""
    licenses: tuple[str, ...] = ()


class Application(Record, frozen=True, kw_only=True):
    """One lockfile/manifest (Trivy: Application): its type (npm, yarn, pip, …), path and packages."""

    type: str
    file_path: str
    packages: tuple[Package, ...] = ()


class Unknown(Record, frozen=True, kw_only=True):
    """Input that could not be analysed; kept in the report with the reason (never silently dropped)."""

    file_path: str
    analyzer: str
    reason: str
