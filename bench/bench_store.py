"""Report store benchmark: ingest (reports per second) into SQLite and PostgreSQL, store size per 1,000 scans, and
server-side latency (p50/p95) of the web UI's overview and a target page with 10,000 findings, plus the API's
findings page. Results go to bench/RESULTS.md by hand.

    PYTHONPATH=src:. python bench/bench_store.py --targets 50 --days 30 [--no-postgres]

PostgreSQL is the Debian cluster the tests use (initdb/pg_ctl in a temp dir, fsync off: the numbers compare the
code paths, not the disks). Server side = the FastAPI app in process (starlette's TestClient), no network."""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


def run(url: str, args: argparse.Namespace, label: str, size_of: Any) -> dict[str, Any]:
    from fastapi.testclient import TestClient
    from tests.store_helpers import V, make_report, seed

    from vigil.cache import MemoryCache
    from vigil.shells.server.app import create_app
    from vigil.shells.server.state import ServerState
    from vigil.shells.server.store_api import StoreService
    from vigil.store import PublishRequest, Store

    store = Store(url, retention_days=3650)
    end = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    seed(store, targets=args.targets, days=args.days, end=end)
    ingest = time.perf_counter() - t0
    scans = args.targets * args.days + 2
    big = [V(f"CVE-2026-{i:05d}", f"pkg{i % 700}", f"1.{i % 13}.0", ("CRITICAL", "HIGH", "MEDIUM", "LOW")[i % 4],
             fixed="2.0" if i % 3 else "") for i in range(args.big_findings)]
    t1 = time.perf_counter()
    r = store.publish(PublishRequest(report=make_report(big, when=end, name="big-target")))
    big_ingest = time.perf_counter() - t1
    t2 = time.perf_counter()
    r2 = store.publish(PublishRequest(report=make_report([*big[: args.big_findings - 100], V("CVE-NEW", "x", "1")],
                                                         when=end + dt.timedelta(seconds=1), name="big-target")),
                       received_at=end + dt.timedelta(minutes=1))
    big_rescan = time.perf_counter() - t2
    assert r2.new == 1 and r2.fixed == 100
    state = ServerState(db_path=Path("none.db"), cache=MemoryCache(), store_service=StoreService(store=store))
    app = create_app(state)
    client = TestClient(app)

    def lat(path: str) -> tuple[float, float]:
        xs = []
        for _ in range(args.runs):
            s = time.perf_counter()
            resp = client.get(path)
            xs.append(time.perf_counter() - s)
            assert resp.status_code == 200, (path, resp.status_code)
        return statistics.median(xs), p95(xs)

    out = {"label": label, "scans": scans, "ingest_s": ingest, "reports_per_s": scans / ingest,
           "big_ingest_s": big_ingest, "big_rescan_s": big_rescan, "size_per_1000": size_of() / scans * 1000,
           "overview": lat("/"), "target_page": lat(f"/ui/targets/{r.target_id}"),
           "findings_api": lat(f"/v1/findings?target_id={r.target_id}&limit=50&offset=5000&sort=id"),
           "targets_page": lat("/ui/targets?sort=risk"),
           "chromium_target": chromium_times(app, [f"/ui/targets/{r.target_id}"], runs=5)}
    state.close()
    return out


def overview_at_scale(n_targets: int, days: int, runs: int) -> dict[str, Any]:
    """The overview over `days` days x `n_targets` targets: targets and their daily roll-ups written directly
    (ingesting that many real scans would take hours here), then the page timed server side and in chromium."""
    import random

    from fastapi.testclient import TestClient

    from vigil.cache import MemoryCache
    from vigil.shells.server.app import create_app
    from vigil.shells.server.state import ServerState
    from vigil.shells.server.store_api import StoreService
    from vigil.store import Store
    from vigil.store.extract import stable_key
    from vigil.store.schema import rollups, targets

    rng = random.Random(1)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/scale.db")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        first = now.date() - dt.timedelta(days=days - 1)
        t0 = time.perf_counter()
        with store.writer.begin() as c:
            c.execute(targets.insert(), [{"identity": stable_key("image", f"img{i}"), "kind": "image",
                                          "name": f"registry.example.com/img{i}", "created_at": now,
                                          "last_scan_at": now, "n_critical": rng.randint(0, 9),
                                          "n_high": rng.randint(0, 30)} for i in range(n_targets)])
            for tid in range(1, n_targets + 1):
                prev = dict.fromkeys(("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"), 0)
                rows = []
                for d in range(days):
                    for sev in prev:
                        n = max(0, prev[sev] + rng.randint(-2, 2))
                        rows.append({"target_id": tid, "day": first + dt.timedelta(days=d), "severity": sev,
                                     "open": n, "open_delta": n - prev[sev], "new": rng.randint(0, 2),
                                     "fixed": rng.randint(0, 2)})
                        prev[sev] = n
                c.execute(rollups.insert(), rows)
            c.exec_driver_sql("INSERT INTO rollup_totals (day, severity, open_delta, new, fixed) SELECT day, severity, "
                              "SUM(open_delta), SUM(new), SUM(fixed) FROM rollups GROUP BY day, severity")
        out["fill_s"] = time.perf_counter() - t0
        out["rows"] = n_targets * days * 5
        state = ServerState(db_path=Path("none.db"), cache=MemoryCache(), store_service=StoreService(store=store))
        app = create_app(state)
        client = TestClient(app)
        xs = []
        for _ in range(runs):
            s0 = time.perf_counter()
            assert client.get("/").status_code == 200
            xs.append(time.perf_counter() - s0)
        out["overview"] = (statistics.median(xs), p95(xs))
        out["chromium"] = chromium_times(app, ["/"], runs=5)
        state.close()
    return out


def chromium_times(app: Any, paths: list[str], runs: int) -> dict[str, tuple[float, float]]:
    """Navigation start to the charts drawn (uPlot's overlay present), in Debian's chromium."""
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright
    from tests.store_helpers import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)
    res: dict[str, tuple[float, float]] = {}
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync"])
            for path in paths:
                xs = []
                for _ in range(runs):
                    pg = b.new_page()
                    s0 = time.perf_counter()
                    pg.goto(f"http://127.0.0.1:{port}{path}")
                    pg.wait_for_selector(".u-over")
                    xs.append(time.perf_counter() - s0)
                    pg.close()
                res[path] = (statistics.median(xs), p95(xs))
            b.close()
    finally:
        server.should_exit = True
        th.join(10)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--big-findings", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--scale-targets", type=int, default=1000)
    ap.add_argument("--scale-days", type=int, default=365)
    ap.add_argument("--only-scale", action="store_true")
    args = ap.parse_args()
    print(f"{args.targets} targets x {args.days} daily scans (+2), big target {args.big_findings} findings, "
          f"{args.runs} requests per page", flush=True)
    sc = overview_at_scale(args.scale_targets, args.scale_days, args.runs)
    print(f"overview over {args.scale_targets} targets x {args.scale_days} days ({sc['rows']:,} roll-up rows, "
          f"filled in {sc['fill_s']:.0f} s): server p50/p95 {sc['overview'][0] * 1000:.0f} / "
          f"{sc['overview'][1] * 1000:.0f} ms; chromium to charts drawn p50/p95 "
          + ", ".join(f"{k} {v[0]:.2f} / {v[1]:.2f} s" for k, v in sc["chromium"].items()), flush=True)
    if args.only_scale:
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.db"
        results.append(run(f"sqlite:///{db}", args, "SQLite (WAL)",
                           lambda: sum(p.stat().st_size for p in Path(tmp).glob("store.db*"))))
        print(results[-1], flush=True)
    if not args.no_postgres:
        import psycopg
        from tests.store_helpers import Postgres

        pg = Postgres()
        try:
            url = pg.new_database()

            def pg_size() -> int:
                with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=vigil dbname={url.rsplit('/', 1)[1]}") as c:
                    row = c.execute("SELECT pg_database_size(current_database())").fetchone()
                    return int(row[0]) if row else 0

            results.append(run(url, args, "PostgreSQL 15", pg_size))
        finally:
            pg.stop()
    print("| store | ingest reports/s | 10k-finding report in / re-scan | size per 1,000 scans | overview p50/p95 | "
          "target page (10k) p50/p95 | findings API page p50/p95 | targets list p50/p95 | target page in chromium p50/p95 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        def ms(t: tuple[float, float]) -> str:
            return f"{t[0] * 1000:.0f} / {t[1] * 1000:.0f} ms"

        print(f"| {r['label']} | {r['reports_per_s']:.0f} | {r['big_ingest_s']:.2f} s / {r['big_rescan_s']:.2f} s | "
              f"{r['size_per_1000'] / 1e6:.1f} MB | {ms(r['overview'])} | {ms(r['target_page'])} | "
              f"{ms(r['findings_api'])} | {ms(r['targets_page'])} | "
              f"{' '.join(f'{v[0]:.2f} / {v[1]:.2f} s' for v in r['chromium_target'].values())} |")


if __name__ == "__main__":
    main()
