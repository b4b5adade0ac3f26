"""Benchmark `vigil config` on the corpus Dockerfiles (../shared/data/corpus/dockerfiles).

    .venv/bin/python bench/bench_config.py [--runs 5] [--write]

Measures (medians of --runs): the full CLI (`vigil config -f json`, start-up included) over the corpus
directory; the same over a synthetic tree of 1,000 Dockerfiles (copies of the corpus files); and warm in-process
parse + all DS checks per file. Prints Markdown (and writes bench/results/config-dockerfile.md with --write),
with the per-check failure counts on the corpus. The Checkov comparison for every config type lives in
bench/bench_checkov.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "corpus" / "dockerfiles"
VIGIL = [sys.executable, "-m", "vigil.shells.cli.main"]
RESULT = ROOT / "bench" / "results" / "config-dockerfile.md"


def timed(cmd: list[str], runs: int) -> tuple[float, bytes]:
    times, out = [], b""
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True)
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit(f"{cmd} failed: {p.stderr.decode()[-2000:]}")
        out = p.stdout
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from vigil.analyzers.misconf.checks.registry import checks_for
    from vigil.analyzers.misconf.dockerfile import parse_dockerfile
    from vigil.analyzers.misconf.scan import is_dockerfile

    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and is_dockerfile(p.name))
    cli_s, out = timed([*VIGIL, "config", "-q", "-f", "json", str(CORPUS)], a.runs)
    report = json.loads(out)
    fails = Counter(m["ID"] for r in report["Results"] for m in r.get("Misconfigurations", []))
    errors = [r["Target"] for r in report["Results"] if r.get("Error")]

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(1000):
            src = files[i % len(files)]
            d = Path(tmp) / f"p{i:04d}"
            d.mkdir()
            shutil.copy(src, d / "Dockerfile")
        cli_1000, _ = timed([*VIGIL, "config", "-q", "-f", "json", tmp], a.runs)

    checks = checks_for("dockerfile")
    blobs = [p.read_bytes() for p in files]
    per_run = []
    from vigil.analyzers.misconf.checks._dockerfile_common import _commands_cached

    for _ in range(a.runs):
        _commands_cached.cache_clear()  # cold per run: no credit for having seen the same RUN text before
        t0 = time.perf_counter()
        for b in blobs:
            doc = parse_dockerfile(b)
            for c in checks:
                list(c.run(doc))
        per_run.append(time.perf_counter() - t0)
    warm = statistics.median(per_run)

    lines = [
        "# `vigil config` on Dockerfiles",
        "",
        f"Corpus: {len(files)} Dockerfiles from `../shared/data/corpus/dockerfiles`; {len(checks)} DS checks "
        f"({sum(1 for c in checks if not c.meta.deprecated)} run by default). Median of {a.runs} runs; "
        f"Python {sys.version.split()[0]}.",
        "",
        "| measurement | time | per file |",
        "|---|---|---|",
        f"| CLI `vigil config -f json` over the corpus (start-up included) | {cli_s:.2f} s | "
        f"{cli_s / len(files) * 1000:.1f} ms |",
        f"| CLI over 1,000 Dockerfiles (corpus copies) | {cli_1000:.2f} s | {cli_1000:.2f} ms |",
        f"| in-process parse + all DS checks (warm) | {warm * 1000:.1f} ms | "
        f"{warm / len(files) * 1e6:.0f} µs |",
        "",
        f"Unparsable files: {len(errors)}. Failures on the corpus by check (default severities, no deprecated):",
        "",
        "| check | failures |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in sorted(fails.items())],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if a.write:
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
