"""Records stored in the DB (JSON blobs inside small indexed tables).

These are produced by the feed ETL modules (vulndb/build/feeds/*), written by the builder and read by the
matchers through vulndb.store. Changing a field here changes the DB schema: bump SCHEMA_VERSION in vulndb/schema.py.
"""

# No `from __future__ import annotations`: msgspec builds a decoder from these classes' annotations, and
# strings would each be compiled then (~10 ms for BlobInfo's tree on every warm scan); evaluated here they cost
# next to nothing.

import msgspec


class Interval(msgspec.Struct, frozen=True, omit_defaults=True):
    """A version interval. lo=None means unbounded below, hi=None unbounded above.
    Examples: ">=1.0, <2.0" -> Interval("1.0", True, "2.0", False); "==1.5" -> Interval("1.5", True, "1.5", True)."""

    lo: str | None = None
    lo_incl: bool = True
    hi: str | None = None
    hi_incl: bool = False

    def describe(self) -> str:
        if self.lo is not None and self.lo == self.hi and self.lo_incl and self.hi_incl:
            return f"={self.lo}"
        parts = []
        if self.lo is not None:
            parts.append((">=" if self.lo_incl else ">") + self.lo)
        if self.hi is not None:
            parts.append(("<=" if self.hi_incl else "<") + self.hi)
        return ", ".join(parts) or "*"


class CvssScore(msgspec.Struct, frozen=True, omit_defaults=True):
    v2_vector: str = ""
    v2_score: float = 0.0
    v3_vector: str = ""
    v3_score: float = 0.0
    v40_vector: str = ""
    v40_score: float = 0.0


class AffectedPackage(msgspec.Struct, frozen=True, omit_defaults=True):
    """One package an advisory affects.

    Semantics (like Trivy's IsVulnerable): a version is vulnerable iff
      (vulnerable is empty or the version lies in some `vulnerable` interval)
      and the version lies in no `safe` interval (patched or unaffected).
    Both empty means every version is affected (e.g. "never patched").
    `fixed` lists the versions the source names as fixes (used for FixedVersion); when empty, the exclusive upper
    bounds of `vulnerable` and the lower bounds of `safe` are used.
    """

    ecosystem: str  # a LANGUAGE_ECOSYSTEMS value, or "<family>:<release>" for OS advisories (os_ecosystem())
    name: str  # as the ecosystem spells it; the builder normalises it (see vulndb.names)
    vulnerable: tuple[Interval, ...] = ()
    safe: tuple[Interval, ...] = ()
    fixed: tuple[str, ...] = ()
    severity: str = ""  # package-specific vendor severity, if the source gives one


class AdvisoryRecord(msgspec.Struct, frozen=True, omit_defaults=True):
    """One advisory as a feed states it."""

    id: str  # the source's own ID (PYSEC-…, GHSA-…, RUSTSEC-…, CVE-… for feeds keyed by CVE)
    source: str  # feed name, e.g. "pypa", "ghsa", "rustsec"
    affected: tuple[AffectedPackage, ...] = ()
    aliases: tuple[str, ...] = ()
    title: str = ""
    description: str = ""
    severity: str = ""  # the source's own rating: LOW/MEDIUM/HIGH/CRITICAL (normalised), "" if none
    cvss: CvssScore | None = None
    cwe_ids: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    published: str = ""
    modified: str = ""
    withdrawn: bool = False


class CveEnrichment(msgspec.Struct, frozen=True, omit_defaults=True):
    """What NVD says of a CVE (not an advisory for any package by itself)."""

    cve_id: str
    cvss: CvssScore | None = None
    severity: str = ""
    cwe_ids: tuple[str, ...] = ()
    description: str = ""
    references: tuple[str, ...] = ()
    published: str = ""
    modified: str = ""


class VulnDetail(msgspec.Struct, frozen=True, omit_defaults=True):
    """Everything known about one vulnerability (canonical ID), merged from every feed that mentions it."""

    id: str
    aliases: tuple[str, ...] = ()
    title: str = ""
    description: str = ""
    vendor_severity: dict[str, str] = {}  # source name -> LOW/MEDIUM/HIGH/CRITICAL
    cvss: dict[str, CvssScore] = {}  # source name -> scores/vectors
    cwe_ids: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    published: str = ""
    modified: str = ""
    known_exploited: bool = False
    sources: tuple[str, ...] = ()


class DeltaRef(msgspec.Struct, frozen=True, omit_defaults=True):
    """An incremental update published next to a DB (metadata.json "deltas"): applying `file` to the DB whose
    logical digest is `base` gives this DB. size/sha256 are of the compressed delta file as published."""

    base: str  # "sha256:…" logical digest of the DB the delta applies to (vulndb.delta.logical_digest)
    file: str  # file name, next to vigil.db
    size: int
    sha256: str  # hex


class DBMetadata(msgspec.Struct, frozen=True, omit_defaults=True):
    """Stored in the DB's metadata table and as metadata.json next to it. logical_digest and deltas exist only in
    metadata.json (they describe the finished file, so they cannot be inside it); both are optional, so clients
    that predate them still read the metadata (unknown fields are ignored)."""

    schema_version: int
    built_at: str
    next_update: str
    vigil_version: str = ""
    feeds: dict[str, dict[str, str | int]] = {}
    logical_digest: str = ""
    deltas: tuple[DeltaRef, ...] = ()
