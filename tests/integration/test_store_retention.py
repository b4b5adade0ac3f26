"""The server's periodic retention pass on a real `vigil server` over SQLite and a real PostgreSQL: the full reports
of scans past --store-retention-days are dropped from every target, also targets nobody publishes to any more,
while each target's newest report, every scan row, the findings' first-seen/fixed-at and the daily roll-ups stay."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
from tests.cli_helpers import run
from tests.integration.test_server import start_server
from tests.store_helpers import V, make_report, postgres, store_url  # noqa: F401 - fixtures

from vigil.store import PublishRequest, Store, TargetSpec

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def history(store: Store, tid: int) -> Any:
    """What must survive a retention pass: the roll-ups (per target and summed) and every finding's life."""
    return msgspec.to_builtins((
        store.trend(days=30, end=NOW.date(), target_id=tid), store.trend(days=30, end=NOW.date()),
        [(f.finding_id, f.first_seen, f.last_seen, f.fixed_at, f.status)
         for f in store.findings(target_id=tid, status="all", sort="id", limit=1000).items],
        [(s.id, s.scanned_at, s.counts) for s in store.scans(tid).items]))


def test_the_server_prunes_old_reports_and_keeps_history(tmp_path: Path, fixture_db: Path,
                                                         store_url: str) -> None:  # noqa: F811
    a, b, c = V("CVE-1", "openssl", "1", "CRITICAL"), V("CVE-2", "zlib", "1", "HIGH"), V("CVE-3", "curl", "7", "LOW")
    # seeded with a long retention: nothing is dropped while publishing, so only the server's pass can drop it
    store = Store(store_url, retention_days=3650)
    try:
        def pub(vulns: list[V], when: dt.datetime, spec: TargetSpec, name: str) -> int:
            return store.publish(PublishRequest(report=make_report(vulns, when=when, name=name), target=spec),
                                 received_at=when + dt.timedelta(minutes=1)).scan_id

        gone_spec = TargetSpec(cluster="prod", namespace="old", workload="Deployment/retired")
        g1 = pub([a, b], ago(20), gone_spec, "retired")
        g2 = pub([a], ago(12), gone_spec, "retired")  # CVE-2 fixed
        g3 = pub([a, c], ago(9), gone_spec, "retired")  # the newest: kept, past the retention or not
        f1 = pub([b], ago(10), TargetSpec(name="fresh"), "fresh")
        f2 = pub([b, c], ago(1), TargetSpec(name="fresh"), "fresh")
        gone = store.scan(g1).target_id  # type: ignore[union-attr]
        fresh = store.scan(f1).target_id  # type: ignore[union-attr]
        before = {t: history(store, t) for t in (gone, fresh)}
        assert all(store.scan_report(s) is not None for s in (g1, g2, g3, f1, f2))
    finally:
        store.close()

    shutil.copy2(fixture_db, tmp_path / "vigil.db")
    s = start_server(tmp_path, tmp_path / "vigil.db", "--cache-backend", "memory", "--store", store_url,
                     "--store-retention-days", "7", "--store-prune-interval", "0.2s")
    try:
        def report(sid: int) -> int:
            return httpx.get(f"{s.url}/v1/scans/{sid}/report", timeout=10).status_code

        for _ in range(200):  # bounded wait for the server's pass (not a timing assertion)
            if report(g1) == 410 and report(f1) == 410:
                break
            time.sleep(0.1)
        assert [report(x) for x in (g1, g2, g3, f1, f2)] == [410, 410, 200, 410, 200]
        kept = {x["id"]: x["report_kept"] for t in (gone, fresh)
                for x in httpx.get(f"{s.url}/v1/targets/{t}/scans", timeout=10).json()["items"]}
        assert kept == {g1: False, g2: False, g3: True, f1: False, f2: True}  # every scan row stays
        assert httpx.get(f"{s.url}/v1/diff", params={"from_scan": g2, "to_scan": g3}, timeout=10).status_code == 410
        fixed = httpx.get(f"{s.url}/v1/findings", params={"target_id": gone, "status": "fixed"}, timeout=10).json()
        assert [(f["finding_id"], f["first_seen"][:10]) for f in fixed["items"]] == [("CVE-2",
                                                                                      ago(20).date().isoformat())]
        store = Store(store_url, migrate=False)
        try:
            assert {t: history(store, t) for t in (gone, fresh)} == before  # roll-ups and first-seen untouched
        finally:
            store.close()
    finally:
        s.stop()


def test_a_bad_prune_interval_is_one_line(tmp_path: Path, fixture_db: Path) -> None:
    r = run("server", "--listen", "127.0.0.1:1", "--db-path", str(fixture_db), "--cache-dir", str(tmp_path),
            "--store-prune-interval", "soon")
    assert r.returncode == 2 and "--store-prune-interval" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
