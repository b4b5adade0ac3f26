"""Benchmark the SBOM output formats: `vigil fs --format <sbom>` on the lockfile corpus and on a generated
package-lock.json of N packages (a dependency chain: package i depends on package i+1), and the rendering alone
(in process, from the scan's saved JSON report) at N and 10 x N packages — the ratio shows whether a format's
writer is linear.

    .venv/bin/python bench/bench_sbom.py [--runs 5] [--packages 10000] [--db ~/.cache/vigil/db/vigil.db]

Medians of --runs. Printed as Markdown for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "corpus" / "lockfiles"
VIGIL = [sys.executable, "-m", "vigil.shells.cli.main"]
FORMATS = ("cyclonedx", "cyclonedx-xml", "spdx-json", "spdx", "github")


def package_lock(n: int) -> dict[str, object]:
    """A lockfile v3 with n packages in one dependency chain (the root depends on pkg-0)."""
    packages: dict[str, object] = {"": {"name": "chain", "version": "1.0.0", "dependencies": {"pkg-0": "1.0.0"}}}
    for i in range(n):
        entry: dict[str, object] = {"version": "1.0.0",
                                    "resolved": f"https://registry.npmjs.org/pkg-{i}/-/pkg-{i}-1.0.0.tgz"}
        if i + 1 < n:
            entry["dependencies"] = {f"pkg-{i + 1}": "1.0.0"}
        packages[f"node_modules/pkg-{i}"] = entry
    return {"name": "chain", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": packages}


def write_tree(n: int, where: Path) -> Path:
    d = where / f"chain-{n}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "package-lock.json").write_text(json.dumps(package_lock(n)), encoding="utf-8")
    return d


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def cli(target: Path, fmt: str, db: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run([*VIGIL, "fs", str(target), "--format", fmt, "--db-path", str(db), "--skip-db-update", "-q"], capture_output=True, env=env())
        times.append(time.perf_counter() - t0)
        if p.returncode not in (0, 1):
            raise SystemExit(f"vigil fs {target} --format {fmt} failed: {p.stderr.decode()[-2000:]}")
    return statistics.median(times)


def saved_report(target: Path, db: Path) -> bytes:
    p = subprocess.run([*VIGIL, "fs", str(target), "--format", "json", "--list-all-pkgs", "--db-path", str(db),
                        "--skip-db-update", "-q"], capture_output=True, env=env())
    if p.returncode not in (0, 1):
        raise SystemExit(p.stderr.decode()[-2000:])
    return p.stdout


def render_time(report_json: bytes, fmt: str, runs: int) -> float:
    sys.path.insert(0, str(ROOT / "src"))
    import msgspec

    from vigil.findings.records import Report
    from vigil.reporters import RenderOptions, get

    report = msgspec.json.decode(report_json, type=Report)
    render = get(fmt, RenderOptions())
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        render(report, io.StringIO())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--packages", type=int, default=10_000)
    ap.add_argument("--db", type=Path, default=Path.home() / ".cache" / "vigil" / "db" / "vigil.db")
    ap.add_argument("--formats", default=",".join(FORMATS))
    args = ap.parse_args()
    formats = args.formats.split(",")
    with tempfile.TemporaryDirectory(prefix="vigil-bench-sbom-") as tmp:
        big = write_tree(args.packages, Path(tmp))
        small = write_tree(args.packages // 10, Path(tmp))
        reports = {"corpus": saved_report(CORPUS, args.db), "small": saved_report(small, args.db),
                   "big": saved_report(big, args.db)}
        n_corpus = sum(len(r.get("Packages") or []) for r in json.loads(reports["corpus"]).get("Results") or [])
        print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
        print(f"\nmedian of {args.runs}; corpus = {CORPUS.name} ({n_corpus} packages)\n")
        print(f"| format | `vigil fs` corpus | `vigil fs` {args.packages:,} pkgs | render corpus "
              f"| render {args.packages // 10:,} | render {args.packages:,} | ratio |")
        print("|---|---|---|---|---|---|---|")
        for fmt in formats:
            c = cli(CORPUS, fmt, args.db, args.runs)
            b = cli(big, fmt, args.db, args.runs)
            rc = render_time(reports["corpus"], fmt, args.runs)
            rs = render_time(reports["small"], fmt, args.runs)
            rb = render_time(reports["big"], fmt, args.runs)
            print(f"| {fmt} | {c:.2f} s | {b:.2f} s | {rc:.3f} s | {rs:.3f} s | {rb:.3f} s | {rb / rs:.1f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
