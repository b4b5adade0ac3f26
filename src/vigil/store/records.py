"""The store's API records (JSON on the wire, snake_case; the embedded report keeps its own PascalCase schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

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
    layer: str = ""  # image scans: the DiffID of the layer that brought it


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


class IgnoreRuleIn(msgspec.Struct, frozen=True, kw_only=True):
    """A suppression kept on the server (set in the web UI or the API): it hides the open findings with this ID
    (of this package, when given; of one target, when given) from the findings lists, exports and alerts, from
    now until `expires` (the first day it no longer applies, as an ignore file's expiry; none: until removed).
    `statement` says why (as a VEX statement would)."""

    finding_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=r"\S")]
    statement: Annotated[str, msgspec.Meta(min_length=1, max_length=2048, pattern=r"\S")]
    pkg_name: Annotated[str, msgspec.Meta(max_length=512)] = ""
    target_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None
    expires: dt.date | None = None


class IgnoreRuleOut(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    finding_id: str
    pkg_name: str
    target_id: int | None
    target_name: str  # "" for every target
    statement: str
    author: str
    created_at: dt.datetime
    updated_by: str
    updated_at: dt.datetime
    expires: dt.date | None
    active: bool  # not expired
    hides: int  # open findings it hides now


class IgnoreRulePage(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    items: list[IgnoreRuleOut]


class PackageUpgrade(msgspec.Struct, frozen=True, kw_only=True):
    pkg_name: str
    installed_version: str
    upgrade_to: str
    fixes: int  # findings the upgrade removes
    critical: int  # of which CRITICAL
    high: int


class BaseImageAdvice(msgspec.Struct, frozen=True, kw_only=True):
    """An image's OS packages (what its base image brings): updating the base image (or its OS packages) removes
    `fixable` findings, `critical` of them CRITICAL; `eosl`: the OS release is past its end of life."""

    os: str
    eosl: bool
    fixable: int
    critical: int
    total: int  # OS package findings


class RemediationPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What fixes the most of one scan, for the whole target: the package upgrades (most CRITICAL findings fixed
    first; `packages` lists at most 20, `n_packages` counts them all) and, for an image, its base image."""

    scan_id: int
    n_packages: int = 0
    fixes: int = 0
    critical: int = 0
    packages: list[PackageUpgrade] = []
    base_image: BaseImageAdvice | None = None


class LayerOut(msgspec.Struct, frozen=True, kw_only=True):
    diff_id: str
    created_by: str
