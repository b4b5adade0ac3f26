"""`vigil image` benchmark (issue 4): cold scan vs `tar -xzf` of the same layers (the read limit) vs syft, warm
rescan (every layer cached), peak memory; optionally on a synthetic ~1 GB image.

    .venv/bin/python bench/bench_image.py [--runs 3] [--big] [--syft PATH] [--db DB]

Every measure is the median of --runs runs of a fresh subprocess, all in this one invocation:
- tar:        `tar -xzf` of every layer blob, one after another, into a fresh directory (what any scanner that
              unpacks the image must at least spend; vigil never writes the files, it streams them)
- vigil cold: `vigil image --input IMAGE` with an empty analysis cache (default scanners: vuln + secret)
- vigil warm: the same command again with the cache filled by the cold run
- syft:       `syft scan oci-archive:IMAGE -o json` (catalogue only; offline)
Peak memory: the largest resident set of the vigil process tree (wait4 rusage, which includes the forked layer
workers). Also prints the package inventory of both tools per package type, to check they agree.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT.parent / "shared" / "data" / "images"
ADVISORIES = ROOT.parent / "shared" / "data" / "advisories"
VIGIL = [sys.executable, "-m", "vigil.shells.cli.main"]
# Measure what an installed vigil does: with byte-code caches (pip compiles them; a dev shell may disable them).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, subprocess.CompletedProcess[bytes]]:
    """Wall seconds and peak RSS (KiB) of the process tree."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate()
    dt = time.perf_counter() - t0
    # communicate() already reaped it; ask the kernel for the children's peak instead
    import resource

    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return dt, rss, subprocess.CompletedProcess(cmd, p.returncode, out, err)


def peak_rss(cmd: list[str]) -> int:
    """Peak RSS (KiB) of one run of cmd and its descendants, measured in a fresh wrapper process so earlier
    children do not count."""
    code = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,"
            "stderr=subprocess.DEVNULL);print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def layer_blobs(image: Path, work: Path) -> list[Path]:
    """The compressed layer blobs of an OCI archive, extracted once (not timed)."""
    with tarfile.open(image) as tf:
        # tarfile's "data" filter where the interpreter has it (3.11.4+; Debian's 3.11.2 has none)
        tf.extractall(work, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    index = json.loads((work / "index.json").read_text())
    mdesc = index["manifests"][0]
    manifest = json.loads((work / "blobs" / "sha256" / mdesc["digest"].split(":")[1]).read_text())
    return [work / "blobs" / "sha256" / la["digest"].split(":")[1] for la in manifest["layers"]]


def tar_time(blobs: list[Path], where: str | None = None) -> float:
    """`where`: a tmpfs (/dev/shm) to leave the disk out of it; None: the default temp dir (disk)."""
    with tempfile.TemporaryDirectory(prefix="bench-tar-", dir=where) as d:
        t0 = time.perf_counter()
        for b in blobs:
            subprocess.run(["tar", "-xzf", str(b), "-C", d, "--no-same-owner"], check=False,
                           stderr=subprocess.DEVNULL)
        return time.perf_counter() - t0


def make_big_image(dest: Path, base: Path) -> Path:
    """~1 GB (uncompressed) OCI archive: the Debian image's layers plus two layers of real files from this
    machine (/usr/share and /usr/lib/x86_64-linux-gnu), gzip level 1 like fast CI builders."""
    import hashlib

    work = dest / "big"
    work.mkdir()
    blobs_dir = work / "blobs" / "sha256"
    blobs = layer_blobs(base, work)
    index = json.loads((work / "index.json").read_text())
    mdesc = index["manifests"][0]
    manifest = json.loads((blobs_dir / mdesc["digest"].split(":")[1]).read_text())
    config = json.loads((blobs_dir / manifest["config"]["digest"].split(":")[1]).read_text())
    for src in ("/usr/share", "/usr/lib/x86_64-linux-gnu"):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tf:
            tf.add(src, arcname=src.lstrip("/"), filter=lambda ti: ti if ti.isfile() or ti.isdir() else None)
        data = raw.getvalue()
        diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
        gz = gzip.compress(data, compresslevel=1, mtime=0)
        digest = hashlib.sha256(gz).hexdigest()
        (blobs_dir / digest).write_bytes(gz)
        manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                   "digest": "sha256:" + digest, "size": len(gz)})
        config["rootfs"]["diff_ids"].append(diff_id)
        config.setdefault("history", []).append({"created_by": f"COPY {src} /{src.lstrip('/')}"})
    del blobs
    cfg = json.dumps(config).encode()
    cdig = hashlib.sha256(cfg).hexdigest()
    (blobs_dir / cdig).write_bytes(cfg)
    manifest["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cdig,
                          "size": len(cfg)}
    man = json.dumps(manifest).encode()
    mdig = hashlib.sha256(man).hexdigest()
    (blobs_dir / mdig).write_bytes(man)
    index["manifests"] = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + mdig,
                           "size": len(man)}]
    (work / "index.json").write_text(json.dumps(index))
    out = dest / "big.oci.tar"
    with tarfile.open(out, "w") as tf:
        for p in ("oci-layout", "index.json", "blobs"):
            tf.add(work / p, arcname=p)
    shutil.rmtree(work)
    return out


def inventory_vigil(report: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in report.get("Results", []):
        if r["Class"] in ("os-pkgs", "lang-pkgs"):
            counts[r["Type"]] = counts.get(r["Type"], 0) + len(r.get("Packages", []))
    return counts


def inventory_syft(doc: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in doc.get("artifacts", []):
        counts[a["type"]] = counts.get(a["type"], 0) + 1
    return counts


def bench(image: Path, db: Path, runs: int, syft: str | None, label: str) -> dict[str, Any]:
    res: dict[str, Any] = {"image": label, "size_mb": round(image.stat().st_size / 2**20, 1)}
    with tempfile.TemporaryDirectory(prefix="bench-img-") as d:
        blobs = layer_blobs(image, Path(d) / "x") if image.suffix == ".tar" else []
        res["tar_s"] = statistics.median(tar_time(blobs) for _ in range(runs))
        shm = "/dev/shm" if Path("/dev/shm").is_dir() and shutil.disk_usage("/dev/shm").free > 4 << 30 else None
        res["tar_tmpfs_s"] = statistics.median(tar_time(blobs, shm) for _ in range(runs)) if shm else None
        cold, warm, rss = [], [], []
        report: dict[str, Any] = {}
        for i in range(runs):
            cache = Path(d) / f"cache{i}"
            cmd = [*VIGIL, "image", "--input", str(image), "--db-path", str(db), "--cache-dir", str(cache),
                   "--format", "json", "--list-all-pkgs", "-q"]
            t, _, p = timed(cmd)
            assert p.returncode == 0, p.stderr.decode()[-2000:]
            cold.append(t)
            report = json.loads(p.stdout)
            t, _, p = timed(cmd)
            warm.append(t)
            if i == 0:
                rss.append(peak_rss([*VIGIL, "image", "--input", str(image), "--db-path", str(db), "--cache-dir",
                                     str(Path(d) / "rss-cache"), "--format", "json", "-q"]))
        res["vigil_cold_s"] = statistics.median(cold)
        res["vigil_warm_s"] = statistics.median(warm)
        res["vigil_peak_rss_mb"] = round(max(rss) / 1024, 1)
        res["vigil_inventory"] = inventory_vigil(report)
        res["vigil_vulns"] = sum(len(r.get("Vulnerabilities", [])) for r in report["Results"])
        if syft:
            env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
            times = []
            doc: dict[str, Any] = {}
            for _ in range(runs):
                t, _, p = timed([syft, "scan", f"oci-archive:{image}", "-o", "json", "-q"], env=env)
                times.append(t)
                if p.returncode == 0:
                    doc = json.loads(p.stdout)
            res["syft_s"] = statistics.median(times)
            res["syft_inventory"] = inventory_syft(doc)
    res["cold_over_tar"] = round(res["vigil_cold_s"] / res["tar_s"], 2) if res["tar_s"] else None
    if res.get("tar_tmpfs_s"):
        res["cold_over_tar_tmpfs"] = round(res["vigil_cold_s"] / res["tar_tmpfs_s"], 2)
    if "syft_s" in res:
        res["cold_over_syft"] = round(res["vigil_cold_s"] / res["syft_s"], 2)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big", action="store_true", help="also a synthetic ~1 GB image")
    ap.add_argument("--syft", default=None)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    syft = next((c for c in (args.syft, os.environ.get("SYFT"), shutil.which("syft"), "/tmp/syftenv/bin/syft")
                 if c and Path(c).exists()), None)
    with tempfile.TemporaryDirectory(prefix="bench-image-") as d:
        db = args.db
        if db is None:
            subprocess.run([*VIGIL, "db", "build", "--feeds", str(ADVISORIES), "-o", str(Path(d) / "db"), "-q"],
                           check=True)
            db = Path(d) / "db" / "vigil.db"
        out = [bench(IMAGES / "debian-vuln.oci.tar", db, args.runs, syft, "debian-vuln (78 MB, 5 layers)")]
        if args.big:
            big = make_big_image(Path(d), IMAGES / "debian-vuln.oci.tar")
            out.append(bench(big, db, args.runs, syft, f"synthetic ({big.stat().st_size >> 20} MB, 7 layers)"))
    print("| image | tar -xzf (disk) | tar -xzf (tmpfs) | vigil cold | cold/tar disk | cold/tar tmpfs | vigil warm "
          "| syft | cold/syft | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in out:
        tmpfs = f"{r['tar_tmpfs_s']:.2f} s" if r.get("tar_tmpfs_s") else "n/a"
        print(f"| {r['image']} | {r['tar_s']:.2f} s | {tmpfs} | {r['vigil_cold_s']:.2f} s | {r['cold_over_tar']}x | "
              f"{r.get('cold_over_tar_tmpfs')}x | "
              f"{r['vigil_warm_s']:.2f} s | {r.get('syft_s', float('nan')):.2f} s | {r.get('cold_over_syft')}x | "
              f"{r['vigil_peak_rss_mb']} MB |")
    for r in out:
        print(f"\n{r['image']}: vigil inventory {r['vigil_inventory']} ({r['vigil_vulns']} vulnerabilities); "
              f"syft inventory {r.get('syft_inventory')}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
