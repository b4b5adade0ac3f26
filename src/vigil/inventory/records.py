"""Inventory records: the output of analyzers, the input of detectors.

All records are frozen msgspec Structs: one schema for disk, cache and wire.
JSON field names follow Trivy's PascalCase so that users' jq scripts and dashboards keep working.
"""

# No `from __future__ import annotations`: msgspec builds a decoder from these classes' annotations, and
# strings would each be compiled then (~10 ms for BlobInfo's tree on every warm scan); evaluated here they cost
# next to nothing.

from typing import Annotated, Literal

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

# OS families. An OS package's `ecosystem` is its family; the DB keys OS advisories by
# "<family>:<release>" (e.g. "debian:12", "alpine:3.16", "ubuntu:24.04", "rocky:9", "alma:9"), see os_ecosystem().
DEBIAN = "debian"
UBUNTU = "ubuntu"
ALPINE = "alpine"
REDHAT = "redhat"
CENTOS = "centos"
ROCKY = "rocky"
ALMA = "alma"
OS_FAMILIES = (DEBIAN, UBUNTU, ALPINE, REDHAT, CENTOS, ROCKY, ALMA)
# Which package manager (and version scheme) each family uses.
OS_PKG_FORMAT = {DEBIAN: "dpkg", UBUNTU: "dpkg", ALPINE: "apk", REDHAT: "rpm", CENTOS: "rpm", ROCKY: "rpm",
                 ALMA: "rpm"}

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


def os_release_key(family: str, name: str) -> str:
    """The release part of an OS advisory ecosystem: Debian/RPM families by major version ("12.15" -> "12",
    "9.0" -> "9"), Alpine by major.minor ("3.16.2" -> "3.16"), Ubuntu as is ("24.04")."""
    parts = name.split(".")
    if family == ALPINE:
        return ".".join(parts[:2])
    if family == UBUNTU:
        return name
    return parts[0]


def os_ecosystem(family: str, name: str) -> str:
    """The DB ecosystem of an OS's advisories: "debian:12", "alpine:3.16", "ubuntu:24.04", "rocky:9"."""
    return f"{family}:{os_release_key(family, name)}"


class LayerRef(Record, frozen=True, kw_only=True):
    """The image layer that introduced a package or finding (Trivy: Layer)."""

    digest: str = ""
    diff_id: str = msgspec.field(default="", name="DiffID")
    created_by: str = ""


class OSInfo(Record, frozen=True, kw_only=True):
    """The detected operating system (Trivy: Metadata.OS). `name` is the release as the OS spells it
    ("12.15", "3.16.2", "9.0", "24.04"); `eosl` is set by the detector from the DB's end-of-life data."""

    family: str
    name: str
    eosl: bool = msgspec.field(default=False, name="EOSL")


# dpkg and rpm epochs are small non-negative integers (rpm stores an int32)
Epoch = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]


def join_evr(epoch: int, version: str, release: str) -> str:
    """"[epoch:]version[-release]", the form dpkg and rpm compare."""
    vr = f"{version}-{release}" if release else version
    return f"{epoch}:{vr}" if epoch else vr


def split_deb_version(full: str) -> tuple[int, str, str]:
    """(epoch, upstream version, Debian revision) of a dpkg version (deb-version(7)): the epoch is the digits
    before the first colon, the revision what follows the last hyphen."""
    epoch = 0
    head, sep, rest = full.partition(":")
    if sep and head.isdigit():
        epoch, full = int(head), rest
    upstream, sep, revision = full.rpartition("-")
    return (epoch, upstream, revision) if sep and upstream else (epoch, full, "")


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
    # OS packages: dpkg and rpm versions are split as Trivy's JSON splits them: `version` is the upstream part,
    # `release` the Debian revision / rpm release, `epoch` the epoch (0 when absent); `full_version` is what the
    # package manager compares ("1:2.38.1-5+deb12u3"). apk versions ("1.2.3-r0") stay whole. src_* name the
    # source package (Debian matches on it), split the same way.
    release: str = ""
    epoch: Epoch = 0
    arch: str = ""
    src_name: str = ""
    src_version: str = ""
    src_release: str = ""
    src_epoch: Epoch = 0
    maintainer: str = ""
    installed_files: tuple[str, ...] = ()
    layer: LayerRef | None = None

    @property
    def full_version(self) -> str:
        """The version as the package manager compares it: "[epoch:]version[-release]"."""
        return join_evr(self.epoch, self.version, self.release)

    @property
    def src_full_version(self) -> str:
        return join_evr(self.src_epoch, self.src_version, self.src_release) if self.src_version else ""


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
