"""Trivy's own client against `vigil server` (Trivy's Twirp protocol): per-target wall time of `trivy ... --server`
cold (the server lacks the blobs: they are uploaded) and warm (they are cached), next to `vigil ... --server` on the
same target, the server's own time per Trivy Scan call (from /metrics), and N Trivy clients at once.

    .venv/bin/python bench/bench_trivy_clients.py [--db DB] [--clients 20] [--out bench/results/trivy-clients.md]

Set-up (not timed): build the DB from ../shared/data/advisories (or --db), start `vigil server` (token auth, fs
cache). The Trivy client runs offline (--skip-db-update --offline-scan, jars skipped: no Java DB). A Trivy server
cannot be measured next to it here: it needs Trivy's own DB, which an offline box does not have.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
VIGIL = [sys.executable, "-m", "vigil.shells.cli.main"]
TRIVY = str(Path(sys.executable).parent / "trivy")
TOKEN = "bench-token"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def trivy(sub: str, target: list[str], url: str, home: Path) -> float:
    flags = ["--server", url, "--token", TOKEN, "--cache-dir", str(home / "tc"), "--skip-db-update",
             "--skip-java-db-update", "--offline-scan", "--skip-version-check", "--disable-telemetry", "-q",
             "-f", "json"]
    if sub != "sbom":
        flags += ["--skip-check-update", "--skip-files", "**/*.jar"]
    t = time.perf_counter()
    subprocess.run([TRIVY, sub, *flags, *target], check=True, capture_output=True, env={"HOME": str(home)})
    return time.perf_counter() - t


def vigil(sub: str, target: list[str], url: str, home: Path) -> float:
    t = time.perf_counter()
    subprocess.run([*VIGIL, sub, *target, "--server", url, "--token", TOKEN, "--format", "json"], check=True,
                   capture_output=True, env={"XDG_CACHE_HOME": str(home / "vc"), "PATH": "/usr/bin:/bin"})
    return time.perf_counter() - t


def metric(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "trivy-clients.md")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-trivy-"))
    db = args.db
    if db is None:
        from vigil.vulndb.build.builder import build

        db = build(SHARED / "advisories", tmp / "db").db_path
    oci = tmp / "debian-oci"
    with tarfile.open(SHARED / "images" / "debian-vuln.oci.tar") as t:
        # tarfile's "data" filter where the interpreter has it (3.11.4+; Debian's 3.11.2 has none)
        t.extractall(oci, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (tmp / "tokens").write_text(TOKEN + "\n")
    port = _port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*VIGIL, "server", "--listen", f"127.0.0.1:{port}", "--db-path", str(db),
                               "--cache-dir", str(tmp / "sc"), "--token-file", str(tmp / "tokens"),
                               "--skip-db-update", "--quiet"], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        targets = {
            "alpine-like image": ("image", ["--input", str(SHARED / "images" / "alpine-like.docker.tar")]),
            "rhel9-like image": ("image", ["--input", str(SHARED / "images" / "rhel9-like.docker.tar")]),
            "debian-vuln image (OCI layout)": ("image", ["--input", str(oci)]),
            "demo-project fs": ("fs", [str(ROOT / "examples" / "demo-project")]),
            "NodeGoat fs": ("fs", [str(SHARED / "corpus" / "lockfiles" / "OWASP__NodeGoat")]),
        }
        rows = []
        for name, (sub, target) in targets.items():
            home = tmp / name.replace(" ", "_")
            home.mkdir()
            cold = trivy(sub, target, url, home)
            warm = min(trivy(sub, target, url, home) for _ in range(3))
            vwarm = min(vigil(sub, target, url, home) for _ in range(3))
            rows.append(f"| {name} | {cold:.2f} | {warm:.2f} | {vwarm:.2f} |")
        n = metric(url, 'vigil_scan_duration_seconds_count{artifact_type="trivy"}')
        s = metric(url, 'vigil_scan_duration_seconds_sum{artifact_type="trivy"}')
        homes = [tmp / f"c{i}" for i in range(args.clients)]
        for h in homes:
            h.mkdir()
        alpine = targets["alpine-like image"][1]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as ex:
            times = list(ex.map(lambda h: trivy("image", alpine, url, h), homes))
        wall = time.perf_counter() - t0
        failed = metric(url, 'vigil_twirp_requests_total{code="internal",method="Scan"}')
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    out = [f"# Trivy 0.76 clients against `vigil server` ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
           f"{len(__import__('os').sched_getaffinity(0))} cores, shared with other work)", "",
           "| target | trivy --server, cold (s) | trivy --server, warm (s) | vigil --server, warm (s) |",
           "|---|---|---|---|", *rows, "",
           f"Server time per Trivy Scan call: {1000 * s / n:.1f} ms mean over {int(n)} calls (detection + "
           "conversion, from vigil_scan_duration_seconds).", "",
           f"{args.clients} Trivy clients at once (alpine-like image, warm cache): all done in {wall:.2f} s wall, "
           f"per client {min(times):.2f}-{max(times):.2f} s; {int(failed)} internal errors."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
