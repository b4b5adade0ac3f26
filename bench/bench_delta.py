"""DB rebuild and incremental-update benchmark (issue 8 §0, §2).

    PYTHONPATH=src .venv/bin/python bench/bench_delta.py [--runs 2] [--fraction 0.015] [--out bench/out/delta]

1. Rebuild cost: a cold build of ../shared/data/advisories (no parsed-feed cache) vs a rebuild with every feed
   unchanged (records decoded from <cache>/feeds-parsed instead of parsed). Wall and CPU seconds, and the share
   spent loading feeds.
2. Day-to-day change: "yesterday" = the same feeds minus the newest `fraction` of the records of the feeds that carry
   dates (pypa, go-vulndb, almalinux, rustsec, rubysec, debian DSA/DLA, CISA KEV — by published/modified/date/
   dateAdded, GO ids by number); "today" = the snapshot. Built one day apart; the today build runs with
   --previous yesterday. Reports the full DB (raw and zstd-19 as `vigil db pack` ships it) vs the delta, the delta's
   row counts, make_delta and apply_delta times, and checks apply(yesterday, delta) == today by logical digest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zstandard

from vigil.vulndb.build.builder import build
from vigil.vulndb.delta import apply_delta, logical_digest, make_delta, read_delta

ADVISORIES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "advisories"
DAY1 = dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC)
DAY2 = DAY1 + dt.timedelta(days=1)

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                       "Dec"), 1)}


def _debian_date(doc: dict[str, Any]) -> str:
    d, m, y = str(doc.get("date", "1 Jan 1970")).split()
    return f"{y}-{_MONTHS[m]:02d}-{int(d):02d}"


def _osv_date(doc: dict[str, Any]) -> str:
    return max(str(doc.get("published", "")), str(doc.get("modified", "")))


def _go_key(doc: dict[str, Any]) -> str:
    _, year, num = str(doc["id"]).split("-")
    return f"{year}-{int(num):08d}"


# file -> sort key of a record (newest last)
JSONL_DATED: dict[str, Callable[[dict[str, Any]], str]] = {
    "pypa/pypa-osv.jsonl.gz": _osv_date,
    "go-vulndb/go-vulndb-osv.jsonl.gz": _go_key,
    "almalinux/almalinux-osv.jsonl.gz": _osv_date,
    "rustsec/rustsec.jsonl.gz": lambda d: str(d.get("advisory", {}).get("date", "")),
    "rubysec/ruby-advisory-db.jsonl.gz": lambda d: str(d.get("date", "")),
    "debian/dsa-parsed.jsonl.gz": _debian_date,
    "debian/dla-parsed.jsonl.gz": _debian_date,
}


def make_yesterday(dest: Path, fraction: float) -> dict[str, int]:
    """Copy the snapshot to dest without the newest `fraction` of the dated records. Returns file -> dropped."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ADVISORIES, dest)
    dropped: dict[str, int] = {}
    for rel, key in JSONL_DATED.items():
        lines = gzip.decompress((ADVISORIES / rel).read_bytes()).splitlines()
        ranked = sorted(range(len(lines)), key=lambda i: key(json.loads(lines[i])))
        n = max(1, round(len(lines) * fraction))
        drop = set(ranked[-n:])
        kept = b"".join(ln + b"\n" for i, ln in enumerate(lines) if i not in drop)
        (dest / rel).write_bytes(gzip.compress(kept, mtime=0))
        dropped[rel] = n
    kev_rel = "cisa-kev/known_exploited_vulnerabilities.json.gz"
    kev = json.loads(gzip.decompress((ADVISORIES / kev_rel).read_bytes()))
    vulns = sorted(kev["vulnerabilities"], key=lambda v: v["dateAdded"])
    n = max(1, round(len(vulns) * fraction))
    kev["vulnerabilities"] = vulns[:-n]
    (dest / kev_rel).write_bytes(gzip.compress(json.dumps(kev).encode(), mtime=0))
    dropped[kev_rel] = n
    return dropped


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    w, c = time.perf_counter(), _cpu()
    out = fn()
    return out, time.perf_counter() - w, _cpu() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--fraction", type=float, default=0.015)
    ap.add_argument("--out", type=Path, default=Path("bench/out/delta"))
    a = ap.parse_args()
    out: Path = a.out
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "feeds-parsed"
    print(f"# DB rebuild and delta benchmark ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]})")

    # --- 1. cold vs unchanged rebuild ---
    rows = []
    for label, use_cache in (("cold (no parsed-feed cache)", False), ("unchanged (parsed-feed cache)", True)):
        walls, cpus, loads = [], [], []
        for _ in range(a.runs):
            if not use_cache and cache.exists():
                shutil.rmtree(cache)
            if use_cache and not cache.exists():
                build(ADVISORIES, out / "db-warmup", parsed_cache=cache)
            res, w, c = timed(lambda uc=use_cache: build(ADVISORIES, out / "db-rebuild", now=DAY2,
                                                         parsed_cache=cache if uc else None))
            walls.append(w)
            cpus.append(c)
            loads.append(sum(f.seconds for f in res.feeds))
        rows.append((label, statistics.median(walls), walls, statistics.median(cpus), statistics.median(loads)))
    print("\n## Rebuild\n")
    print("| build | wall median (s) | runs (s) | CPU (s) | loading feeds (s) |")
    print("|---|---:|---|---:|---:|")
    for label, w, ws, c, ld in rows:
        print(f"| {label} | {w:.2f} | {', '.join(f'{x:.2f}' for x in ws)} | {c:.2f} | {ld:.2f} |")
    _, dig_w, _ = timed(lambda: logical_digest(out / "db-rebuild" / "vigil.db"))
    print(f"\n(of which logical_digest of the finished DB: {dig_w:.2f} s)")

    # --- 2. yesterday -> today ---
    dropped = make_yesterday(out / "feeds-yesterday", a.fraction)
    y_dir, t_dir = out / "db-yesterday", out / "db-today"
    for d in (y_dir, t_dir):
        if d.exists():
            shutil.rmtree(d)
    build(out / "feeds-yesterday", y_dir, now=DAY1, parsed_cache=cache)
    today, t_w, _ = timed(lambda: build(ADVISORIES, t_dir, now=DAY2, parsed_cache=cache, previous=y_dir))
    assert today.delta is not None, today.delta_error
    delta_path = t_dir / today.delta.file
    db_raw = (t_dir / "vigil.db").stat().st_size
    full_zst, z_w, _ = timed(lambda: len(zstandard.ZstdCompressor(level=19, threads=-1).compress(
        (t_dir / "vigil.db").read_bytes())))
    # make_delta on its own (the build above did it too) and apply, as a client would
    info, mk_w, _ = timed(lambda: make_delta(y_dir / "vigil.db", t_dir / "vigil.db", out / "delta.vdelta.zst"))
    applies = []
    for _ in range(a.runs):
        _, ap_w, _ = timed(lambda: apply_delta(y_dir / "vigil.db", delta_path, out / "client.db"))
        applies.append(ap_w)
    ok = logical_digest(out / "client.db") == today.metadata.logical_digest
    doc = read_delta(delta_path)
    raw_delta = len(zstandard.ZstdDecompressor().decompress(delta_path.read_bytes(), max_output_size=1 << 31))
    print(f"\n## Day-to-day change (fraction {a.fraction:.3f})\n")
    print("Dropped from yesterday: " + ", ".join(f"{k.split('/')[-1]} {v}" for k, v in dropped.items()))
    print("\n| table | deleted | inserted/replaced |")
    print("|---|---:|---:|")
    for t in doc.tables:
        print(f"| {t.name} | {len(t.deleted)} | {len(t.upserted)} |")
    print("\n| artifact | bytes | vs full zstd |")
    print("|---|---:|---:|")
    print(f"| vigil.db (raw) | {db_raw:,} | |")
    print(f"| vigil.db.zst (level 19, as `vigil db pack`; {z_w:.1f} s to compress) | {full_zst:,} | 100 % |")
    print(f"| delta (msgpack, uncompressed) | {raw_delta:,} | |")
    print(f"| delta-….vdelta.zst | {today.delta.size:,} | {100 * today.delta.size / full_zst:.2f} % |")
    print(f"\nBytes saved per client update: {full_zst - today.delta.size:,} "
          f"({full_zst / today.delta.size:.0f}x smaller).")
    print(f"today's build with --previous: {t_w:.2f} s; make_delta alone: {mk_w:.2f} s; apply_delta (copy, apply, "
          f"verify base+target digests): {statistics.median(applies):.2f} s median ({', '.join(f'{x:.2f}' for x in applies)});"
          f" applied == today by logical digest: {ok}")
    same = make_delta(t_dir / "vigil.db", t_dir / "vigil.db", out / "same.vdelta.zst")
    print(f"unchanged feeds -> delta of {same.size} bytes (metadata only)")
    assert ok and info.target == today.metadata.logical_digest


if __name__ == "__main__":
    main()
