"""Suppressions kept on the server (ignore_rules), each finding's layer, and per scan the image's layers and its
remediation plan: the target page filters by layer and shows the plan without decoding reports.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # rows stored before get "" / "[]" / "{}": the next scan of each target fills them
    op.add_column("findings", sa.Column("layer", sa.String(80), nullable=False, server_default=""))
    op.add_column("scans", sa.Column("layers", sa.Text, nullable=False, server_default="[]"))
    op.add_column("scans", sa.Column("remediation", sa.Text, nullable=False, server_default="{}"))
    op.create_table(
        "ignore_rules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("finding_id", sa.String(256), nullable=False),
        sa.Column("pkg_name", sa.String(512), nullable=False, server_default=""),
        sa.Column("target_id", sa.Integer, sa.ForeignKey("targets.id", ondelete="CASCADE")),
        sa.Column("statement", sa.String(2048), nullable=False),
        sa.Column("author", sa.String(256), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("expires", sa.Date),
    )
    op.create_index("ix_ignore_rules_finding", "ignore_rules", ["finding_id"])


def downgrade() -> None:
    op.drop_table("ignore_rules")
    with op.batch_alter_table("scans") as b:
        b.drop_column("remediation")
        b.drop_column("layers")
    with op.batch_alter_table("findings") as b:
        b.drop_column("layer")
