"""The store's API records (JSON on the wire, snake_case; the embedded report keeps its own PascalCase schema)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from vigil.findings.records import Report

TargetKind = Literal["image", "repository", "workload", "filesystem", "sbom"]
FindingKind = Literal["vulnerability", "misconfiguration", "secret"]


class TargetSpec(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the publisher says about the target; fields left empty are taken from the report.

    The target a report lands on is: a workload when `workload` is given (cluster/namespace/workload), else the
    repository branch when `repository` is given for a filesystem/repository scan, else `name` (or the report's
    artifact name) of its artifact type. Images keep their digest and tags on each scan and on the target."""

    name: str = ""
    repository: str = ""
    branch: str = ""
    cluster: str = ""
    namespace: str = ""
    workload: str = ""
    labels: dict[str, str] = {}


class PublishRequest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    report: Report
    target: TargetSpec = TargetSpec()
    commit: str = ""
    pipeline_url: str = ""
    source: str = ""  # ci | operator | k8s | api


class PublishResult(msgspec.Struct, frozen=True, kw_only=True):
    target_id: int
    scan_id: int
    new: int  # findings this target had not had open before this scan
    fixed: int  # open findings this scan no longer has
    open: int


class SeverityCounts(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=False):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    unknown: int = 0


class TargetOut(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: str
    name: str
    image_digest: str
    repo_tags: list[str]
    repository: str
    branch: str
    cluster: str
    namespace: str
    workload: str
    labels: dict[str, str]
    created_at: dt.datetime
    last_scan_at: dt.datetime | None
    last_scan_id: int | None
    open: SeverityCounts


class TargetPage(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    items: list[TargetOut]


class ScanOut(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    target_id: int
    scanned_at: dt.datetime
    received_at: dt.datetime
    artifact_name: str
    artifact_type: str
    vigil_version: str
    image_digest: str
    commit: str
    pipeline_url: str
    source: str
    publisher: str
    counts: SeverityCounts
    report_kept: bool


class ScanPage(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    items: list[ScanOut]


class FindingOut(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    target_id: int
    target_name: str
    kind: str
    finding_id: str
    pkg_name: str
    pkg_version: str
    location: str
    severity: str
    fixed_version: str
    title: str
    fixable: bool
    kev: bool
    status: Literal["open", "fixed"]
    first_seen: dt.datetime
    last_seen: dt.datetime
    fixed_at: dt.datetime | None


class FindingPage(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    items: list[FindingOut]


class ScanDiff(msgspec.Struct, frozen=True, kw_only=True):
    """Findings of scan `to_scan` that `from_scan` did not have (added) and the reverse (removed)."""

    from_scan: int
    to_scan: int
    added: list[FindingOut]
    removed: list[FindingOut]
    unchanged: int


class TrendPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One day: findings open at its end (carried forward for targets not scanned that day), new and fixed."""

    day: dt.date
    open: SeverityCounts
    new: SeverityCounts
    fixed: SeverityCounts


class Trend(msgspec.Struct, frozen=True, kw_only=True):
    points: list[TrendPoint]


class SuppressionOut(msgspec.Struct, frozen=True, kw_only=True):
    """A finding the target's newest scan suppressed (ignore file or VEX), with why and until when."""

    target_id: int
    target_name: str
    scan_id: int
    kind: str
    finding_id: str
    pkg_name: str
    location: str
    reason: str
    expires: dt.date | None


class SuppressionPage(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    items: list[SuppressionOut]
