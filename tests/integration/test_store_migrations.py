"""Upgrading a store in place: a store written at the first schema revision (the tables and rows it had then),
migrated to the newest, keeps its data, gains what the new revision adds (roll-ups and open counts filled from
the old findings) and takes new reports. On SQLite and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import zlib

import msgspec
import sqlalchemy as sa
from tests.store_helpers import V, make_report, postgres, store_url  # noqa: F401 - fixtures

from vigil.store import PublishRequest, Store
from vigil.store.engine import create_engines, current_revision, upgrade
from vigil.store.schema import SCHEMA_REVISION, metadata

D0 = dt.datetime(2026, 10, 1, 9, 0)


def _write_v1_store(engine: sa.Engine) -> None:
    """Rows as revision 0001 stored them: one target, two scans, a finding fixed by the second scan and one open."""
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    d1 = D0 + dt.timedelta(days=1)
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO targets (id, identity, kind, name, created_at, last_scan_at, last_scan_id) "
                          "VALUES (1, :i, 'filesystem', 'legacy', :d0, :d1, 2)"),
                  {"i": "f" * 64, "d0": D0, "d1": d1})
        for sid, when in ((1, D0), (2, d1)):
            c.execute(sa.text("INSERT INTO scans (id, target_id, scanned_at, received_at, artifact_name, "
                              "artifact_type, n_critical, n_high, report) VALUES (:s, 1, :w, :w, 'legacy', 'filesystem', "
                              ":c, 1, :r)"), {"s": sid, "w": when, "c": 1 if sid == 1 else 0,
                                             "r": zlib.compress(msgspec.json.encode(make_report([], when=when)))})
        c.execute(sa.text("INSERT INTO findings (id, target_id, key, kind, finding_id, pkg_name, pkg_version, "
                          "severity, first_seen, last_seen, fixed_at, first_scan_id, last_scan_id) VALUES "
                          "(1, 1, :k1, 'vulnerability', 'CVE-OLD', 'x', '1', 'CRITICAL', :d0, :d0, :d1, 1, 1), "
                          "(2, 1, :k2, 'vulnerability', 'CVE-KEPT', 'y', '1', 'HIGH', :d0, :d1, NULL, 1, 2)"),
                  {"k1": "1" * 64, "k2": "2" * 64, "d0": D0, "d1": d1})
        c.execute(sa.text("INSERT INTO scan_findings (scan_id, finding_id) VALUES (1, 1), (1, 2), (2, 2)"))
        if engine.dialect.name == "postgresql":  # rows written with their ids: move the sequences past them
            for table in ("targets", "scans", "findings"):
                c.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))


def test_upgrade_in_place_from_the_first_revision(store_url: str) -> None:  # noqa: F811
    writer, reader = create_engines(store_url)
    try:
        _write_v1_store(writer)
        assert "rollups" not in sa.inspect(writer).get_table_names()
    finally:
        writer.dispose()
        reader.dispose()
    store = Store(store_url)  # opening migrates to head
    try:
        assert current_revision(store.writer) == SCHEMA_REVISION
        insp = sa.inspect(store.writer)
        for table in metadata.sorted_tables:  # the migrations build exactly the tables the queries use
            assert {c["name"] for c in insp.get_columns(table.name)} == set(table.c.keys()), table.name
        t = store.target(1)
        assert t is not None and t.name == "legacy" and (t.open.critical, t.open.high) == (0, 1)
        pts = store.trend(days=3, end=(D0 + dt.timedelta(days=2)).date()).points
        assert [(p.open.critical, p.open.high) for p in pts] == [(1, 1), (0, 1), (0, 1)]
        assert [p.fixed.critical for p in pts] == [0, 1, 0]
        d = store.diff(1, 2)
        assert [f.finding_id for f in d.removed] == ["CVE-OLD"] and d.unchanged == 1
        # the old target takes new reports: the same identity as a publish of that name computes
        r = store.publish(PublishRequest(report=make_report([V("CVE-NEW", "z", "1")], when=D0 + dt.timedelta(days=3),
                                                            name="legacy")))
        assert r.target_id != 1  # the hand-written identity differs from the computed one: a new target
        assert store.targets().total == 2
    finally:
        store.close()


def test_reopening_a_current_store_is_a_no_op(store_url: str) -> None:  # noqa: F811
    s = Store(store_url)
    r = s.publish(PublishRequest(report=make_report([V("CVE-1", "x", "1")], when=D0)))
    s.close()
    s2 = Store(store_url)
    try:
        assert current_revision(s2.writer) == SCHEMA_REVISION
        assert s2.findings(target_id=r.target_id).total == 1
    finally:
        s2.close()
