"""The store's tables at the newest schema revision, for the queries (SQLAlchemy Core).

The migrations under migrations/versions/ create and change the tables; they are frozen copies and never import
this module, so a migration written today still builds exactly what it built when the next one is added. A test
(tests/integration/test_store_migrations.py) checks that upgrading to head gives these tables.

Times are naive UTC datetimes (the same on SQLite and PostgreSQL); days are dates in UTC.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_REVISION = "0005"  # alembic head; bump with every new migration

metadata = MetaData()

# What is tracked over time: one image name, one repository branch, one workload, one directory. `identity` is the
# sha256 of the canonical identity (kind + its fields), so equal identities from CI, the operator and `vigil k8s`
# land on one target.
targets = Table(
    "targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("identity", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("image_digest", String(200), nullable=False, server_default=""),
    Column("repo_tags", Text, nullable=False, server_default="[]"),  # JSON list, the latest scan's
    Column("repository", String(1024), nullable=False, server_default=""),
    Column("branch", String(512), nullable=False, server_default=""),
    Column("cluster", String(256), nullable=False, server_default=""),
    Column("namespace", String(256), nullable=False, server_default=""),
    Column("workload", String(512), nullable=False, server_default=""),
    Column("labels", Text, nullable=False, server_default="{}"),  # JSON object of strings
    Column("created_at", DateTime, nullable=False),
    Column("last_scan_at", DateTime),
    Column("last_scan_id", Integer),
    # open findings now, by severity (revision 0002): the targets list sorts and filters on them
    Column("n_critical", Integer, nullable=False, server_default="0"),
    Column("n_high", Integer, nullable=False, server_default="0"),
    Column("n_medium", Integer, nullable=False, server_default="0"),
    Column("n_low", Integer, nullable=False, server_default="0"),
    Column("n_unknown", Integer, nullable=False, server_default="0"),
    Index("ix_targets_name", "name"),
    Index("ix_targets_last_scan_at", "last_scan_at"),
)

scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target_id", Integer, ForeignKey("targets.id", ondelete="CASCADE"), nullable=False),
    Column("scanned_at", DateTime, nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("artifact_name", String(1024), nullable=False),
    Column("artifact_type", String(32), nullable=False),
    Column("vigil_version", String(64), nullable=False, server_default=""),
    Column("image_digest", String(200), nullable=False, server_default=""),
    Column("commit", String(64), nullable=False, server_default=""),
    Column("pipeline_url", String(2048), nullable=False, server_default=""),
    Column("source", String(32), nullable=False, server_default=""),  # ci | operator | k8s | api
    Column("publisher", String(256), nullable=False, server_default=""),  # token tenant or proxy user
    Column("n_critical", Integer, nullable=False, server_default="0"),
    Column("n_high", Integer, nullable=False, server_default="0"),
    Column("n_medium", Integer, nullable=False, server_default="0"),
    Column("n_low", Integer, nullable=False, server_default="0"),
    Column("n_unknown", Integer, nullable=False, server_default="0"),
    Column("report", LargeBinary),  # zlib-compressed JSON report; NULL once past the retention
    # revision 0005, both kept past the retention (small): the image's layers as [[DiffID, created by], ...]
    # (the target page's layer filter) and the scan's RemediationPlan as JSON
    Column("layers", Text, nullable=False, server_default="[]"),
    Column("remediation", Text, nullable=False, server_default="{}"),
    Index("ix_scans_target_time", "target_id", "scanned_at"),
    Index("ix_scans_scanned_at", "scanned_at"),
)

# One row per finding per target: its stable key and when it was first seen, last seen and fixed (NULL while open).
findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target_id", Integer, ForeignKey("targets.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # vulnerability | misconfiguration | secret
    Column("finding_id", String(256), nullable=False),  # CVE / check ID / secret rule ID
    Column("pkg_name", String(512), nullable=False, server_default=""),
    Column("pkg_version", String(256), nullable=False, server_default=""),
    Column("location", String(1024), nullable=False, server_default=""),  # path / resource / file
    Column("severity", String(10), nullable=False),
    Column("fixed_version", String(256), nullable=False, server_default=""),
    Column("title", String(1024), nullable=False, server_default=""),
    Column("fixable", Boolean, nullable=False, server_default="0"),
    Column("kev", Boolean, nullable=False, server_default="0"),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("fixed_at", DateTime),
    Column("first_scan_id", Integer, nullable=False),
    Column("last_scan_id", Integer, nullable=False),
    Column("layer", String(80), nullable=False, server_default=""),  # DiffID of the layer that brought it (0005)
    UniqueConstraint("target_id", "key", name="uq_findings_target_key"),
    Index("ix_findings_target_open", "target_id", "fixed_at"),
    Index("ix_findings_finding_id", "finding_id"),
    Index("ix_findings_pkg", "pkg_name", "pkg_version"),
)

# Which findings each scan saw (the scans within the report retention): diffs of two scans and a scan's findings.
scan_findings = Table(
    "scan_findings",
    metadata,
    Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True),
    Column("finding_id", Integer, ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_scan_findings_finding", "finding_id"),
)

# Daily roll-ups per target and severity (revision 0002): open at the end of the day, new and fixed that day.
# Kept forever; what the overview and trend charts read.
rollups = Table(
    "rollups",
    metadata,
    Column("target_id", Integer, ForeignKey("targets.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("severity", String(10), primary_key=True),
    Column("open", Integer, nullable=False),
    # open minus the target's previous roll-up day's open: summing the deltas up to a day gives every target's
    # open count on that day, carried forward over the days it was not scanned, in one GROUP BY
    Column("open_delta", Integer, nullable=False),
    Column("new", Integer, nullable=False),
    Column("fixed", Integer, nullable=False),
    Index("ix_rollups_day", "day"),
)

# The roll-ups summed over every target per day and severity (revision 0003), changed by the same transaction that
# changes a roll-up: the overview reads one row per day and severity whatever the number of targets.
rollup_totals = Table(
    "rollup_totals",
    metadata,
    Column("day", Date, primary_key=True),
    Column("severity", String(10), primary_key=True),
    Column("open_delta", Integer, nullable=False),
    Column("new", Integer, nullable=False),
    Column("fixed", Integer, nullable=False),
)

# What each target's newest scan suppressed (revision 0004), replaced by every newer scan. `expires` is the ignore
# entry's expiry when the reason names one ("(until YYYY-MM-DD)"): the suppressions page highlights those due soon.
suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target_id", Integer, ForeignKey("targets.id", ondelete="CASCADE"), nullable=False),
    Column("scan_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("finding_id", String(256), nullable=False),
    Column("pkg_name", String(512), nullable=False, server_default=""),
    Column("location", String(1024), nullable=False, server_default=""),
    Column("reason", String(2048), nullable=False, server_default=""),
    Column("expires", Date),
    Index("ix_suppressions_target", "target_id"),
    Index("ix_suppressions_expires", "expires"),
)

# Suppressions kept on the server (revision 0005), set in the web UI or through the API: they hide the open
# findings with this ID (and package, when not ""; of one target, when target_id is set) from the findings lists,
# exports and alerts until `expires`, the first day the rule no longer applies (NULL: until removed).
ignore_rules = Table(
    "ignore_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("finding_id", String(256), nullable=False),
    Column("pkg_name", String(512), nullable=False, server_default=""),
    Column("target_id", Integer, ForeignKey("targets.id", ondelete="CASCADE")),
    Column("statement", String(2048), nullable=False),
    Column("author", String(256), nullable=False, server_default=""),
    Column("created_at", DateTime, nullable=False),
    Column("updated_by", String(256), nullable=False, server_default=""),
    Column("updated_at", DateTime, nullable=False),
    Column("expires", Date),
    Index("ix_ignore_rules_finding", "finding_id"),
)
