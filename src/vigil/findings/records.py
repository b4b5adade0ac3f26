"""Findings records and the Report. The JSON form of `Report` is the documented, versioned schema
(docs/report-schema.json, generated from these classes; REPORT_SCHEMA_VERSION bumps on any breaking change)."""

# No `from __future__ import annotations`: msgspec builds a decoder from these classes' annotations, and
# strings would each be compiled then (~10 ms for BlobInfo's tree on every warm scan); evaluated here they cost
# next to nothing.

from typing import Any, Literal

import msgspec

from vigil.inventory.records import LayerRef, OSInfo, Package, Record, Unknown

# 2: Trivy's SchemaVersion (the JSON has Trivy's field set; docs/trivy-differences.md lists what differs)
REPORT_SCHEMA_VERSION = 2

Severity = Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
SEVERITIES: tuple[Severity, ...] = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}

Status = Literal[
    "unknown", "not_affected", "affected", "fixed", "under_investigation", "will_not_fix", "fix_deferred",
    "end_of_life",
]


def severity_from_score(score: float) -> Severity:
    """CVSS v3 qualitative rating (0.1-3.9 LOW, 4-6.9 MEDIUM, 7-8.9 HIGH, 9-10 CRITICAL)."""
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0.0:
        return "LOW"
    return "UNKNOWN"


class CVSS(Record, frozen=True, kw_only=True):
    v2_vector: str = msgspec.field(default="", name="V2Vector")
    v2_score: float = msgspec.field(default=0.0, name="V2Score")
    v3_vector: str = msgspec.field(default="", name="V3Vector")
    v3_score: float = msgspec.field(default=0.0, name="V3Score")
    v40_vector: str = msgspec.field(default="", name="V40Vector")
    v40_score: float = msgspec.field(default=0.0, name="V40Score")


class DataSource(Record, frozen=True, kw_only=True):
    id: str = msgspec.field(name="ID")
    name: str
    url: str = msgspec.field(default="", name="URL")


class MatchDetail(Record, frozen=True, kw_only=True):
    """Why a finding exists: which advisory, from which source, which range, which comparator."""

    source: str
    advisory_id: str = msgspec.field(name="AdvisoryID")
    vulnerable_range: str
    comparator: str


class Vulnerability(Record, frozen=True, kw_only=True):
    vulnerability_id: str = msgspec.field(name="VulnerabilityID")
    aliases: tuple[str, ...] = ()
    pkg_id: str = msgspec.field(default="", name="PkgID")
    pkg_name: str
    pkg_path: str = ""
    purl: str = msgspec.field(default="", name="PURL")
    installed_version: str
    fixed_version: str = ""
    status: Status  # always encoded (no default), like Trivy
    severity: Severity  # always encoded
    severity_source: str = ""
    vendor_severity: dict[str, Severity] = {}
    cvss: dict[str, CVSS] = msgspec.field(default_factory=dict, name="CVSS")
    title: str = ""
    description: str = ""
    cwe_ids: tuple[str, ...] = msgspec.field(default=(), name="CweIDs")
    references: tuple[str, ...] = ()
    primary_url: str = msgspec.field(default="", name="PrimaryURL")
    published_date: str = ""
    last_modified_date: str = ""
    data_sources: tuple[DataSource, ...] = ()
    known_exploited: bool = False
    dev: bool = False
    match_details: tuple[MatchDetail, ...] = ()
    layer: LayerRef | None = None  # image scans: the layer that introduced the package


class CodeLine(Record, frozen=True, kw_only=True):
    number: int
    content: str
    is_cause: bool = False
    truncated: bool = False


class Code(Record, frozen=True, kw_only=True):
    lines: tuple[CodeLine, ...] = ()


class SecretFinding(Record, frozen=True, kw_only=True):
    """A secret (Trivy's Secret). `match` and `code` are always masked: the secret itself never appears."""

    rule_id: str = msgspec.field(name="RuleID")
    category: str
    severity: Severity
    title: str
    start_line: int
    end_line: int
    match: str = ""
    code: Code = Code()
    offset: int = 0
    layer: LayerRef | None = None  # image scans: the layer holding the file


class CauseMetadata(Record, frozen=True, kw_only=True):
    resource: str = ""
    provider: str = ""
    service: str = ""
    start_line: int = 0
    end_line: int = 0
    code: Code = Code()


class Misconfiguration(Record, frozen=True, kw_only=True):
    """A misconfiguration check result (Trivy's Misconfiguration). Status FAIL is a finding; PASS is counted."""

    type: str
    id: str = msgspec.field(name="ID")
    avd_id: str = msgspec.field(default="", name="AVDID")
    aliases: tuple[str, ...] = ()
    title: str
    description: str = ""
    message: str = ""
    namespace: str = ""
    query: str = ""
    resolution: str = ""
    severity: Severity
    primary_url: str = msgspec.field(default="", name="PrimaryURL")
    references: tuple[str, ...] = ()
    status: Literal["PASS", "FAIL", "EXCEPTION"]
    cause_metadata: CauseMetadata = CauseMetadata()


class MisconfSummary(Record, frozen=True, kw_only=True, omit_defaults=False):
    """Always carries both counts, zeros included (as Trivy prints them)."""

    successes: int = 0
    failures: int = 0


class LicenseFinding(Record, frozen=True, kw_only=True):
    severity: Severity
    category: str
    pkg_name: str = ""
    file_path: str = ""
    name: str
    confidence: float = 1.0
    link: str = ""


class Remediation(Record, frozen=True, kw_only=True):
    """The smallest upgrade of one package that fixes all of its listed vulnerabilities that have a fix
    (the maximum, under the ecosystem's version scheme, of each vulnerability's smallest fixed version above the
    installed one). `fixes` are the finding IDs the upgrade removes; `unfixed` those with no fixed version."""

    pkg_id: str = msgspec.field(default="", name="PkgID")
    pkg_name: str
    purl: str = msgspec.field(default="", name="PURL")
    installed_version: str
    upgrade_to: str = ""
    fixes: tuple[str, ...] = ()
    unfixed: tuple[str, ...] = ()


class Result(Record, frozen=True, kw_only=True):
    target: str
    class_: Literal["os-pkgs", "lang-pkgs", "config", "secret", "license", "license-file"] = msgspec.field(
        name="Class"
    )
    type: str = ""
    packages: tuple[Package, ...] = ()
    vulnerabilities: tuple[Vulnerability, ...] = ()
    misconf_summary: MisconfSummary | None = None
    misconfigurations: tuple[Misconfiguration, ...] = ()
    secrets: tuple[SecretFinding, ...] = ()
    licenses: tuple[LicenseFinding, ...] = ()
    remediations: tuple[Remediation, ...] = ()
    error: str = ""

    def remediation_summary(self) -> str:
        """'upgrading these N packages removes M of K findings' (empty when nothing can be upgraded)."""
        ups = [r for r in self.remediations if r.upgrade_to]
        if not ups:
            return ""
        m = sum(len(r.fixes) for r in ups)
        k = len(self.vulnerabilities)
        return f"upgrading {len(ups)} package{'s' if len(ups) != 1 else ''} removes {m} of {k} findings"


class SuppressedFinding(Record, frozen=True, kw_only=True):
    """A finding removed by a filter, kept in the report with the reason, so that what a filter hid (and why)
    stays visible and auditable. `vulnerability_id` holds the finding's ID whatever its kind (CVE, check ID,
    secret rule ID, license name); `kind` says which."""

    target: str
    kind: Literal["vulnerability", "misconfiguration", "secret", "license"] = "vulnerability"
    vulnerability_id: str = msgspec.field(name="VulnerabilityID")
    pkg_name: str = ""
    reason: str


class LayerInfo(Record, frozen=True, kw_only=True):
    """One layer of a scanned image (Metadata.Layers)."""

    digest: str = ""
    diff_id: str = msgspec.field(default="", name="DiffID")
    size: int = 0
    created_by: str = ""


class Metadata(Record, frozen=True, kw_only=True):
    db_built_at: str = ""
    db_next_update: str = ""
    db_schema_version: int = 0
    # image scans, Trivy's names: OS, ImageID (config digest), DiffIDs, RepoTags, RepoDigests,
    # ImageConfig (the OCI config JSON as the image carries it), Layers, Size (sum of compressed layer sizes)
    os: OSInfo | None = msgspec.field(default=None, name="OS")
    image_id: str = msgspec.field(default="", name="ImageID")
    diff_ids: tuple[str, ...] = msgspec.field(default=(), name="DiffIDs")
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    image_config: dict[str, Any] = msgspec.field(default_factory=dict)
    layers: tuple[LayerInfo, ...] = ()
    size: int = 0
    unknowns: tuple[Unknown, ...] = ()
    suppressed: tuple[SuppressedFinding, ...] = ()
    warnings: tuple[str, ...] = ()


class Report(Record, frozen=True, kw_only=True, omit_defaults=False):
    schema_version: int = REPORT_SCHEMA_VERSION
    vigil_version: str = ""
    created_at: str = ""
    artifact_name: str
    artifact_type: Literal["filesystem", "container_image", "sbom", "repository"]
    metadata: Metadata = Metadata()
    results: tuple[Result, ...] = ()

    def findings_count(self) -> int:
        """What --exit-code counts (Trivy's Report.Failed): vulnerabilities, FAIL misconfigurations, secrets and
        licenses remaining after filtering, plus each OS package database that could not be read (an os-pkgs
        result with an error): its packages' vulnerabilities are unknown, and a gate must not pass on that."""
        return sum(
            len(r.vulnerabilities)
            + sum(1 for m in r.misconfigurations if m.status == "FAIL")
            + len(r.secrets)
            + len(r.licenses)
            + (1 if r.class_ == "os-pkgs" and r.error else 0)
            for r in self.results
        )
