"""Daily totals over every target (the sum of the per-target roll-ups), kept up to date on publish: the overview's
charts read one row per day and severity instead of summing every target's roll-ups.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollup_totals",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("severity", sa.String(10), primary_key=True),
        sa.Column("open_delta", sa.Integer, nullable=False),
        sa.Column("new", sa.Integer, nullable=False),
        sa.Column("fixed", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO rollup_totals (day, severity, open_delta, new, fixed) "
               "SELECT day, severity, SUM(open_delta), SUM(new), SUM(fixed) FROM rollups GROUP BY day, severity")


def downgrade() -> None:
    op.drop_table("rollup_totals")
