"""Findings records and the Report. The JSON form of `Report` is the documented, versioned schema
(docs/report-schema.json, generated from these classes; REPORT_SCHEMA_VERSION bumps on any breaking change)."""

from __future__ import annotations

from typing import Literal

import msgspec

from vigil.inventory.records import Package, Record, Unknown

REPORT_SCHEMA_VERSION = 1

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


class CVSS(Record, kw_only=True):
    v2_vector: str = msgspec.field(default="", name="V2Vector")
    v2_score: float = msgspec.field(default=0.0, name="V2Score")
    v3_vector: str = msgspec.field(default="", name="V3Vector")
    v3_score: float = msgspec.field(default=0.0, name="V3Score")
    v40_vector: str = msgspec.field(default="", name="V40Vector")
    v40_score: float = msgspec.field(default=0.0, name="V40Score")


class DataSource(Record, kw_only=True):
    id: str = msgspec.field(name="ID")
    name: str
    url: str = msgspec.field(default="", name="URL")


class MatchDetail(Record, kw_only=True):
    """Why a finding exists: which advisory, from which source, which range, which comparator."""

    source: str
    advisory_id: str = msgspec.field(name="AdvisoryID")
    vulnerable_range: str
    comparator: str


class Vulnerability(Record, kw_only=True):
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


class Result(Record, kw_only=True):
    target: str
    class_: Literal["os-pkgs", "lang-pkgs", "config", "secret", "license"] = msgspec.field(name="Class")
    type: str
    packages: tuple[Package, ...] = ()
    vulnerabilities: tuple[Vulnerability, ...] = ()
    error: str = ""


class SuppressedFinding(Record, kw_only=True):
    """A finding removed by a filter, kept with the reason (ARCHITECTURE.md §10)."""

    target: str
    vulnerability_id: str = msgspec.field(name="VulnerabilityID")
    pkg_name: str
    reason: str


class Metadata(Record, kw_only=True):
    db_built_at: str = ""
    db_next_update: str = ""
    db_schema_version: int = 0
    unknowns: tuple[Unknown, ...] = ()
    suppressed: tuple[SuppressedFinding, ...] = ()
    warnings: tuple[str, ...] = ()


class Report(Record, kw_only=True, omit_defaults=False):
    schema_version: int = REPORT_SCHEMA_VERSION
    vigil_version: str = ""
    created_at: str = ""
    artifact_name: str
    artifact_type: Literal["filesystem", "container_image", "sbom", "repository"]
    metadata: Metadata = Metadata()
    results: tuple[Result, ...] = ()

    def findings_count(self) -> int:
        return sum(len(r.vulnerabilities) for r in self.results)
