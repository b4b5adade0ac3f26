"""Daily roll-ups per target and severity, and each target's open counts by severity (the targets list sorts on
them). Both are filled from the findings already stored, so an upgraded store shows its whole history.

Revision ID: 0002
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


def upgrade() -> None:
    # plain ADD COLUMN (no table copy): on SQLite, recreating "targets" with foreign keys on would cascade
    for s in _SEVERITIES:
        op.add_column("targets", sa.Column(f"n_{s.lower()}", sa.Integer, nullable=False, server_default="0"))
    rollups = op.create_table(
        "rollups",
        sa.Column("target_id", sa.Integer, sa.ForeignKey("targets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("severity", sa.String(10), primary_key=True),
        sa.Column("open", sa.Integer, nullable=False),
        sa.Column("open_delta", sa.Integer, nullable=False),
        sa.Column("new", sa.Integer, nullable=False),
        sa.Column("fixed", sa.Integer, nullable=False),
    )
    op.create_index("ix_rollups_day", "rollups", ["day"])
    assert rollups is not None
    _backfill(op.get_bind(), rollups)


def _backfill(conn: sa.Connection, rollups: sa.Table) -> None:
    """One roll-up row per target, scan day and severity, from the findings' first-seen and fixed-at times."""
    md = sa.MetaData()
    targets = sa.Table("targets", md, autoload_with=conn)
    scans = sa.Table("scans", md, autoload_with=conn)
    findings = sa.Table("findings", md, autoload_with=conn)
    for (tid,) in conn.execute(sa.select(targets.c.id)).all():
        rows = conn.execute(sa.select(findings.c.severity, findings.c.first_seen, findings.c.fixed_at)
                            .where(findings.c.target_id == tid)).all()
        days = sorted({t.date() for (t,) in conn.execute(sa.select(scans.c.scanned_at)
                                                         .where(scans.c.target_id == tid)).all()})
        out = []
        prev = dict.fromkeys(_SEVERITIES, 0)
        for day in days:
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
            for sev in _SEVERITIES:
                mine = [r for r in rows if r.severity == sev]
                n_open = sum(1 for r in mine if r.first_seen < end and (r.fixed_at is None or r.fixed_at >= end))
                out.append({
                    "target_id": tid, "day": day, "severity": sev, "open": n_open, "open_delta": n_open - prev[sev],
                    "new": sum(1 for r in mine if r.first_seen.date() == day),
                    "fixed": sum(1 for r in mine if r.fixed_at is not None and r.fixed_at.date() == day),
                })
                prev[sev] = n_open
        if out:
            conn.execute(rollups.insert(), out)
        counts = {f"n_{s.lower()}": sum(1 for r in rows if r.severity == s and r.fixed_at is None)
                  for s in _SEVERITIES}
        conn.execute(targets.update().where(targets.c.id == tid).values(**counts))


def downgrade() -> None:
    op.drop_table("rollups")
    for s in _SEVERITIES:
        op.drop_column("targets", f"n_{s.lower()}")
