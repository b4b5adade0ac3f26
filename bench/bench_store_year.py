"""Page and API latency of the web UI over a store holding a year of history (filled by bench/seed_store.py).

    PYTHONPATH=src python bench/seed_store.py --url sqlite:////tmp/year.db --targets 250 --days 365
    PYTHONPATH=src:. python bench/bench_store_year.py --url sqlite:////tmp/year.db [--runs 20] [--no-chromium]

The store is served by the server's app (the report store's API and UI as `vigil server` mounts them) under uvicorn
in a child process; requests come from this process over loopback HTTP, one at a time, so a time is one request's
full round trip (p50 / p95 of --runs). Chromium (Debian's, via Playwright): navigation start to the page's chart
drawn. Prints a markdown table for bench/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def serve(url: str, port: int) -> None:
    """The child process: the server's app over the store, no vulnerability DB (only the store is measured)."""
    import uvicorn

    from vigil.cache import MemoryCache
    from vigil.shells.server.app import create_app
    from vigil.shells.server.state import ServerState
    from vigil.shells.server.store_api import StoreService
    from vigil.store import Store

    state = ServerState(db_path=Path("none.db"), cache=MemoryCache(),
                        store_service=StoreService(store=Store(url, retention_days=90), prune_interval=0))
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95 + 0.5) - 1)]


def facts(url: str) -> dict[str, Any]:
    import sqlalchemy as sa

    from vigil.store import Store

    s = Store(url, migrate=False)
    try:
        with s.reader.connect() as c:
            n = {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                 for t in ("targets", "scans", "findings", "scan_findings", "rollups", "rollup_totals")}
            n["reports_kept"] = c.execute(sa.text("SELECT count(*) FROM scans WHERE report IS NOT NULL")).scalar_one()
            first, last = c.execute(sa.text("SELECT min(scanned_at), max(scanned_at) FROM scans")).one()
        n["span"] = f"{str(first)[:10]} .. {str(last)[:10]}"
        risky = s.targets(sort="risk", desc=True, limit=1).items[0]
        n["risky"] = risky.id
        n["risky_open"] = s.findings(target_id=risky.id, limit=1).total
        sc = s.scans(risky.id, limit=2).items
        n["diff"] = (sc[1].id, sc[0].id)
        crit = s.findings(severity=("CRITICAL",), kind="vulnerability", limit=1)
        n["open_critical"] = crit.total
        common = crit.items[0]
        n["vuln"] = common.finding_id
        n["finding"] = common.id
    finally:
        s.close()
    return n


def add_rules(url: str, n: int) -> list[int]:
    """n suppressions of distinct open finding IDs, a third each for every target, one package, one target."""
    import datetime as dt
    import random

    from vigil.store import Store
    from vigil.store.records import IgnoreRuleIn

    s = Store(url, migrate=False)
    rng = random.Random(3)
    try:
        pool = s.findings(kind="vulnerability", sort="id", limit=1000).items
        picks = rng.sample(pool, k=min(n, len(pool)))
        out = []
        for i, x in enumerate(picks):
            rule = IgnoreRuleIn(finding_id=x.finding_id, statement="bench", pkg_name=x.pkg_name if i % 3 else "",
                                target_id=x.target_id if i % 3 == 2 else None,
                                expires=dt.date.today() + dt.timedelta(days=rng.randint(-30, 90)))
            out.append(s.add_ignore_rule(rule, author="bench").id)
        return out
    finally:
        s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-chromium", action="store_true")
    ap.add_argument("--rules", type=int, default=0,
                    help="first add this many server-side suppressions (of open findings' IDs; removed at the end)")
    ap.add_argument("--serve-port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_port:
        serve(args.url, args.serve_port)
        return
    from tests.store_helpers import free_port

    rule_ids = add_rules(args.url, args.rules) if args.rules else []
    f = facts(args.url)
    f["rules"] = len(rule_ids)
    print(json.dumps(f), flush=True)
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--url", args.url, "--serve-port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/v1/targets?limit=1", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        t, (a, b) = f["risky"], f["diff"]
        pages = [
            ("UI overview (90 days of every target)", "/"),
            ("UI targets, riskiest first", "/ui/targets?sort=risk"),
            ("UI targets, search", "/ui/targets?q=app-1"),
            ("UI target page (riskiest)", f"/ui/targets/{t}"),
            ("UI target page, all findings by ID", f"/ui/targets/{t}?status=all&sort=id&order=asc"),
            ("UI findings partial, page 2", f"/ui/targets/{t}/findings?status=all&offset=50"),
            ("UI finding details", f"/ui/findings/{f['finding']}"),
            ("UI vulnerability: where it runs", f"/ui/vuln?id={f['vuln']}"),
            ("UI diff of the last two scans", f"/ui/diff?from_scan={a}&to_scan={b}"),
            ("UI clusters", "/ui/clusters"),
            ("UI suppressions", "/ui/suppressions"),
            ("API targets (risk)", "/v1/targets?sort=risk&desc=true&limit=50"),
            ("API findings of a target", f"/v1/findings?target_id={t}&limit=50"),
            ("API findings, CRITICAL of every target", "/v1/findings?severity=CRITICAL&limit=50"),
            (f"API findings, CRITICAL, offset {f['open_critical'] // 2:,}",
             f"/v1/findings?severity=CRITICAL&limit=50&offset={f['open_critical'] // 2}"),
            ("API where", f"/v1/where?id={f['vuln']}"),
            ("API trends, 365 days", "/v1/trends?days=365"),
            ("API target trend, 365 days", f"/v1/targets/{t}/trend?days=365"),
            ("API export, every open CRITICAL (CSV)", "/v1/findings/export?severity=CRITICAL"),
        ]
        rows = []
        with httpx.Client(base_url=base, timeout=120) as c:
            for label, path in pages:
                headers = {"X-Partial": "1"} if "/findings?" in path and path.startswith("/ui/") else {}
                c.get(path, headers=headers)  # warm
                xs = []
                size = 0
                for _ in range(args.runs):
                    s0 = time.perf_counter()
                    r = c.get(path, headers=headers)
                    xs.append(time.perf_counter() - s0)
                    assert r.status_code == 200, (path, r.status_code, r.text[:200])
                    size = len(r.content)
                rows.append((label, path, statistics.median(xs), p95(xs), size))
                print(f"{label}: {statistics.median(xs) * 1000:.0f} / {p95(xs) * 1000:.0f} ms", flush=True)
        chromium: list[tuple[str, float, float]] = []
        if not args.no_chromium:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                br = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", "--disable-sync"])
                for label, path in (("overview", "/"), ("target page (riskiest)", f"/ui/targets/{t}")):
                    xs = []
                    for _ in range(5):
                        pg = br.new_page()
                        s0 = time.perf_counter()
                        pg.goto(base + path)
                        pg.wait_for_selector(".u-over")
                        xs.append(time.perf_counter() - s0)
                        pg.close()
                    chromium.append((label, statistics.median(xs), p95(xs)))
                br.close()
    finally:
        proc.terminate()
        proc.wait(10)
        if rule_ids:
            from vigil.store import Store

            st = Store(args.url, migrate=False)
            for rid in rule_ids:
                st.delete_ignore_rule(rid)
            st.close()
    print("\n| page | p50 / p95 | response |\n|---|---:|---:|")
    for label, path, m, p, size in rows:
        print(f"| {label} (`{path.split('?')[0]}`) | {m * 1000:.0f} / {p * 1000:.0f} ms | {size / 1024:.0f} KiB |")
    for label, m, p in chromium:
        print(f"| chromium: {label}, to chart drawn | {m:.2f} / {p:.2f} s | |")


if __name__ == "__main__":
    main()
