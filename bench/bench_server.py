"""`vigil server` load benchmark (issue 8): N concurrent clients on loopback for D seconds, with a DB hot swap
(os.replace of the DB file, what the scheduled refresh does) in the middle. Zero failed requests is the bar.

    .venv/bin/python bench/bench_server.py [--clients 50] [--duration 20] [--db DB] [--out bench/results/server-load.md]

Set-up (not timed): build the DB from ../shared/data/advisories (or --db), start `vigil server` as a subprocess
(token auth, memory blob cache), analyse the workloads here exactly as a client does (vigil.pipeline.scan.analyze_only /
the image engine's per-layer analysis) and upload their blobs once. Each client then loops over the workloads in
its own order doing what a warm `vigil ... --server` run does on the wire: POST /v1/blobs/missing (nothing to
upload: every blob is on the server) then POST /v1/scan; one "scan" = those two requests, timed end to end.
Clients are asyncio tasks, each with its own HTTP connection (httpx.AsyncClient); request bodies are encoded once,
so the client process spends its time waiting, not encoding. Any non-200 answer or transport error is a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
VIGIL = [sys.executable, "-m", "vigil.shells.cli.main"]
TOKEN = "bench-token"


@dataclass
class Workload:
    name: str
    keys: list[str]
    missing_body: bytes
    scan_body: bytes
    findings: int = 0


@dataclass
class Stats:
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (start offset s, seconds)
    failures: list[str] = field(default_factory=list)
    built_at: dict[str, int] = field(default_factory=dict)
    requests: int = 0


class _Meta(msgspec.Struct, rename="pascal"):
    db_built_at: str = ""


class _Head(msgspec.Struct, rename="pascal"):
    metadata: _Meta = msgspec.field(default_factory=_Meta)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rebuilt_copy(db: Path, dest: Path, built_at: str) -> None:
    """A copy of the DB whose metadata says it was built at `built_at`: the "new" DB of the swap."""
    shutil.copy2(db, dest)
    con = sqlite3.connect(dest)
    (raw,) = con.execute("SELECT value FROM metadata WHERE key = 'metadata'").fetchone()
    meta = json.loads(raw)
    meta["built_at"] = built_at
    con.execute("UPDATE metadata SET value = ? WHERE key = 'metadata'", (json.dumps(meta),))
    con.commit()
    con.close()


def workloads(db: Path, url: str) -> list[Workload]:
    """Analyse each input as a client does, upload its blobs, and pre-encode the two requests of a warm scan."""

    from vigil.findings.analysis import ArtifactInfo
    from vigil.findings.wire import DetectionOptions, MissingBlobsRequest, ScanRequest
    from vigil.pipeline.scan import analyze_only, fs_source
    from vigil.server_client import RemoteClient, ServerOptions
    from vigil.settings import ScanOptions
    from vigil.sources.image.source import ImageSource, ImageSourceOptions

    out: list[Workload] = []
    client = RemoteClient(ServerOptions(url=url, token=TOKEN))
    fs_inputs = [("fs demo-project", ROOT / "examples" / "demo-project"),
                 ("fs pygoat (pip)", SHARED / "corpus" / "lockfiles" / "adeyosemanputra__pygoat"),
                 ("fs trivy (go, 180 lockfiles)", SHARED / "corpus" / "lockfiles" / "aquasecurity__trivy")]
    for name, path in fs_inputs:
        if not path.exists():
            continue
        fs_opts = ScanOptions(target=path, db_path=db)
        _, _, (blob,) = analyze_only(fs_source(fs_opts), fs_opts)
        client.put(blob.diff_id, blob)
        req = ScanRequest(artifact=ArtifactInfo(name=str(path), type="filesystem"), blob_keys=(blob.diff_id,))
        out.append(Workload(name, [blob.diff_id], msgspec.json.encode(MissingBlobsRequest(blob_keys=req.blob_keys)),
                            msgspec.json.encode(req)))
    for name, tar in [("image alpine-like (2 layers)", SHARED / "images" / "alpine-like.docker.tar"),
                      ("image debian-vuln (5 layers)", SHARED / "images" / "debian-vuln.oci.tar")]:
        if not tar.exists():
            continue
        opts = msgspec.structs.replace(ScanOptions(target=tar, db_path=db, scanners=("vuln", "secret")),
                                   analyzer_kinds=("lockfile", "installed", "os"))
        art, keys, blobs = analyze_only(ImageSource(ImageSourceOptions(input=tar), str(tar)), opts)
        for k, b in zip(keys, blobs, strict=True):
            client.put(k, b)
        req = ScanRequest(artifact=art, blob_keys=tuple(keys),
                          options=DetectionOptions(scanners=("vuln", "secret")))
        out.append(Workload(name, keys, msgspec.json.encode(MissingBlobsRequest(blob_keys=tuple(keys))),
                            msgspec.json.encode(req)))
    for w in out:  # one warm scan each, to report the findings count and check it works
        rep = client.scan(msgspec.json.decode(w.scan_body, type=ScanRequest))
        w.findings = sum(len(r.vulnerabilities) + len(r.secrets) for r in rep.results)
    client.close()
    return out


async def one_client(i: int, url: str, loads: list[Workload], t0: float, stop_at: float, st: Stats) -> None:
    order = loads[:]
    random.Random(i).shuffle(order)
    headers = {"Vigil-Token": TOKEN, "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as c:
        n = 0
        while time.perf_counter() < stop_at:
            w = order[n % len(order)]
            n += 1
            start = time.perf_counter()
            try:
                r1 = await c.post("/v1/blobs/missing", content=w.missing_body)
                st.requests += 1
                if r1.status_code != 200 or r1.json()["MissingBlobKeys"]:
                    st.failures.append(f"missing: {r1.status_code} {r1.text[:200]}")
                    continue
                r2 = await c.post("/v1/scan", content=w.scan_body)
                st.requests += 1
                if r2.status_code != 200:
                    st.failures.append(f"scan: {r2.status_code} {r2.text[:200]}")
                    continue
                built = msgspec.json.decode(r2.content, type=_Head).metadata.db_built_at
            except httpx.HTTPError as e:
                st.failures.append(f"{type(e).__name__}: {e}")
                continue
            end = time.perf_counter()
            st.latencies.append((start - t0, end - start))
            st.built_at[built] = st.built_at.get(built, 0) + 1


async def run_load(url: str, loads: list[Workload], clients: int, duration: float, db: Path, new_db: Path,
                   st: Stats) -> float:
    t0 = time.perf_counter()
    stop_at = t0 + duration

    async def swap() -> float:
        await asyncio.sleep(duration / 2)
        os.replace(new_db, db)  # what vigil.dbdist.update.ensure_db does after verifying a download
        return time.perf_counter() - t0

    tasks = [asyncio.create_task(one_client(i, url, loads, t0, stop_at, st)) for i in range(clients)]
    swapped_at = await swap()
    await asyncio.gather(*tasks)
    return swapped_at


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))
    return xs[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--db", type=Path, default=None, help="a vigil.db to serve (default: build from ../shared)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "server-load.md")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="vigil-bench-server-") as d:
        tmp = Path(d)
        if args.db is None:
            subprocess.run([*VIGIL, "db", "build", "--feeds", str(SHARED / "advisories"), "-o", str(tmp / "built"),
                            "-q"], check=True)
            src_db = tmp / "built" / "vigil.db"
        else:
            src_db = args.db
        (tmp / "db").mkdir()
        db = tmp / "db" / "vigil.db"
        shutil.copy2(src_db, db)
        new_db = tmp / "db" / "vigil.db.new"
        rebuilt_copy(src_db, new_db, "2099-01-01T00:00:00Z")
        (tmp / "token").write_text(TOKEN)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        log = (tmp / "server.log").open("wb")
        srv = subprocess.Popen([*VIGIL, "server", "--listen", f"127.0.0.1:{port}", "--db-path", str(db),
                                "--token-file", str(tmp / "token"), "--cache-backend", "memory",
                                "--cache-dir", str(tmp / "cache")], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            for _ in range(300):
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            loads = workloads(db, url)
            st = Stats()
            swapped_at = asyncio.run(run_load(url, loads, args.clients, args.duration, db, new_db, st))
            metrics = httpx.get(url + "/metrics", timeout=10).text
            version = httpx.get(url + "/version", headers={"Vigil-Token": TOKEN}, timeout=10).json()
        finally:
            srv.send_signal(signal.SIGINT)
            try:
                srv.wait(15)
            except subprocess.TimeoutExpired:
                srv.kill()
            log.close()
        server_log = (tmp / "server.log").read_text(errors="replace")
    lat = [s for _, s in st.latencies]
    before = [s for t, s in st.latencies if t + s < swapped_at]
    around = [s for t, s in st.latencies if t <= swapped_at <= t + s]
    after = [s for t, s in st.latencies if t > swapped_at]
    wall = args.duration
    swaps = next((float(x.split()[-1]) for x in metrics.splitlines() if x.startswith("vigil_db_swaps_total")), 0.0)
    s500 = sum(float(x.split()[-1]) for x in metrics.splitlines()
               if x.startswith("vigil_requests_total") and 'status="5' in x)
    res = {
        "clients": args.clients, "duration_s": wall, "scans": len(lat), "http_requests": st.requests,
        "failures": len(st.failures), "first_failures": st.failures[:5],
        "throughput_scans_per_s": round(len(lat) / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
        "p90_ms": round(pct(lat, 90) * 1000, 1), "p99_ms": round(pct(lat, 99) * 1000, 1),
        "max_ms": round(max(lat) * 1000, 1) if lat else None,
        "p99_before_swap_ms": round(pct(before, 99) * 1000, 1), "p99_after_swap_ms": round(pct(after, 99) * 1000, 1),
        "scans_in_flight_at_swap": len(around), "swap_at_s": round(swapped_at, 2),
        "max_in_flight_at_swap_ms": round(max(around) * 1000, 1) if around else None,
        "db_built_at_seen": st.built_at, "server_db_swaps_metric": swaps, "server_5xx": s500,
        "version_after": version.get("DB", {}).get("BuiltAt"),
        "workloads": [{"name": w.name, "blobs": len(w.keys), "findings": w.findings} for w in loads],
    }
    print(json.dumps(res, indent=2))
    if "Traceback" in server_log:
        print("server log has a traceback:\n" + server_log[-3000:], file=sys.stderr)
    write_md(args.out, res)
    if st.failures:
        sys.exit(1)


def write_md(path: Path, r: dict[str, object]) -> None:
    cpu = os.cpu_count()
    rows = "\n".join(f"| {w['name']} | {w['blobs']} | {w['findings']} |" for w in r["workloads"])  # type: ignore[attr-defined]
    seen = ", ".join(f"{k}: {v}" for k, v in r["db_built_at_seen"].items())  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""# `vigil server` under load (issue 8)

`.venv/bin/python bench/bench_server.py --clients {r['clients']} --duration {r['duration_s']:g}` on loopback;
{cpu} CPUs (shared with other jobs), Python {platform.python_version()}, one uvicorn process (detection in its
thread pool), memory blob cache, the DB built from ../shared/data/advisories. Each client is an asyncio task with
its own connection doing a warm client-mode scan in a loop: POST /v1/blobs/missing (nothing missing) then POST
/v1/scan; latency is the pair, end to end. Half-way through, the DB file is replaced with os.replace() (a copy
whose metadata says it was built at 2099-01-01, what the scheduled refresh installs); in-flight scans keep the old
file, later ones open the new one.

| | |
|---|---|
| concurrent clients | {r['clients']} |
| scans (missing + scan pairs) | {r['scans']} ({r['http_requests']} HTTP requests) |
| **failed requests** | **{r['failures']}** (server 5xx: {r['server_5xx']:g}) |
| throughput | {r['throughput_scans_per_s']} scans/s |
| latency p50 / p90 / p99 / max | {r['p50_ms']} / {r['p90_ms']} / {r['p99_ms']} / {r['max_ms']} ms |
| p99 before / after the swap | {r['p99_before_swap_ms']} / {r['p99_after_swap_ms']} ms |
| DB swap | at {r['swap_at_s']} s, {r['scans_in_flight_at_swap']} scans in flight (slowest {r['max_in_flight_at_swap_ms']} ms); server counted {r['server_db_swaps_metric']:g} swap |
| reports by DB built-at | {seen} |
| /version after the run | DB built at {r['version_after']} |

Workloads (round-robin per client, each client in its own shuffled order; blobs uploaded once before the run):

| workload | blobs | findings per scan |
|---|---|---|
{rows}

Notes: detection is CPU-bound Python under one GIL, so throughput is about one core's worth whatever the client
count; more clients raise latency, not failures. The load generator runs on the same machine and competes for the
same cores. Run `vigil server` behind several processes (one per core, same Redis blob cache) to scale.
""", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
