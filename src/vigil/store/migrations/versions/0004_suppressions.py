"""What each target's newest scan suppressed (ignore file and VEX entries, with the reason and the ignore entry's
expiry when it has one): the suppressions page reads it without decoding reports.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target_id", sa.Integer, sa.ForeignKey("targets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scan_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("finding_id", sa.String(256), nullable=False),
        sa.Column("pkg_name", sa.String(512), nullable=False, server_default=""),
        sa.Column("location", sa.String(1024), nullable=False, server_default=""),
        sa.Column("reason", sa.String(2048), nullable=False, server_default=""),
        sa.Column("expires", sa.Date),
    )
    op.create_index("ix_suppressions_target", "suppressions", ["target_id"])
    op.create_index("ix_suppressions_expires", "suppressions", ["expires"])
    # stores upgraded from 0003 fill this table with each target's next scan


def downgrade() -> None:
    op.drop_table("suppressions")
