"""Initial store: targets, scans (with the full report), findings with first/last seen and fixed-at, and which
findings each scan saw.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("identity", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("image_digest", sa.String(200), nullable=False, server_default=""),
        sa.Column("repo_tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("repository", sa.String(1024), nullable=False, server_default=""),
        sa.Column("branch", sa.String(512), nullable=False, server_default=""),
        sa.Column("cluster", sa.String(256), nullable=False, server_default=""),
        sa.Column("namespace", sa.String(256), nullable=False, server_default=""),
        sa.Column("workload", sa.String(512), nullable=False, server_default=""),
        sa.Column("labels", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_scan_at", sa.DateTime),
        sa.Column("last_scan_id", sa.Integer),
    )
    op.create_index("ix_targets_name", "targets", ["name"])
    op.create_index("ix_targets_last_scan_at", "targets", ["last_scan_at"])
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target_id", sa.Integer, sa.ForeignKey("targets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scanned_at", sa.DateTime, nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("artifact_name", sa.String(1024), nullable=False),
        sa.Column("artifact_type", sa.String(32), nullable=False),
        sa.Column("vigil_version", sa.String(64), nullable=False, server_default=""),
        sa.Column("image_digest", sa.String(200), nullable=False, server_default=""),
        sa.Column("commit", sa.String(64), nullable=False, server_default=""),
        sa.Column("pipeline_url", sa.String(2048), nullable=False, server_default=""),
        sa.Column("source", sa.String(32), nullable=False, server_default=""),
        sa.Column("publisher", sa.String(256), nullable=False, server_default=""),
        sa.Column("n_critical", sa.Integer, nullable=False, server_default="0"),
        sa.Column("n_high", sa.Integer, nullable=False, server_default="0"),
        sa.Column("n_medium", sa.Integer, nullable=False, server_default="0"),
        sa.Column("n_low", sa.Integer, nullable=False, server_default="0"),
        sa.Column("n_unknown", sa.Integer, nullable=False, server_default="0"),
        sa.Column("report", sa.LargeBinary),
    )
    op.create_index("ix_scans_target_time", "scans", ["target_id", "scanned_at"])
    op.create_index("ix_scans_scanned_at", "scans", ["scanned_at"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target_id", sa.Integer, sa.ForeignKey("targets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("finding_id", sa.String(256), nullable=False),
        sa.Column("pkg_name", sa.String(512), nullable=False, server_default=""),
        sa.Column("pkg_version", sa.String(256), nullable=False, server_default=""),
        sa.Column("location", sa.String(1024), nullable=False, server_default=""),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("fixed_version", sa.String(256), nullable=False, server_default=""),
        sa.Column("title", sa.String(1024), nullable=False, server_default=""),
        sa.Column("fixable", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("kev", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
        sa.Column("fixed_at", sa.DateTime),
        sa.Column("first_scan_id", sa.Integer, nullable=False),
        sa.Column("last_scan_id", sa.Integer, nullable=False),
        sa.UniqueConstraint("target_id", "key", name="uq_findings_target_key"),
    )
    op.create_index("ix_findings_target_open", "findings", ["target_id", "fixed_at"])
    op.create_index("ix_findings_finding_id", "findings", ["finding_id"])
    op.create_index("ix_findings_pkg", "findings", ["pkg_name", "pkg_version"])
    op.create_table(
        "scan_findings",
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("finding_id", sa.Integer, sa.ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_scan_findings_finding", "scan_findings", ["finding_id"])


def downgrade() -> None:
    for t in ("scan_findings", "findings", "scans", "targets"):
        op.drop_table(t)
