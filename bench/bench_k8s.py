"""`vigil k8s` benchmark: a simulated cluster of 5,000 pods running 300 distinct images.

    PYTHONPATH=src:. .venv/bin/python bench/bench_k8s.py [--pods 5000] [--images 300] [--deployments 1000]

The cluster is kmock (tests/k8s_helpers.py: real HTTP, paged LISTs) holding `--deployments` Deployments, each with
its current ReplicaSet and pods/deployments pods whose containerStatuses name one of `--images` images by digest.
The images are real and distinct (a real docker-registry on 127.0.0.1): the alpine-like test image with one label
changed per variant, so every variant has its own config and manifest digest but the same layers — once one is
analysed, every other image's layers are in the analysis cache ("images cached").

Measured (with --trivy, first `trivy k8s` and `vigil k8s` side by side, misconfig+secret, fresh caches):
- phases, in this process with the library calls the CLI makes: list (inventory over HTTP), resolve (image keys,
  digest dedupe), scan (one image scan per distinct digest, warm cache), audit (KSV checks of the live objects),
  render (summary table);
- `vigil k8s --report summary` as a user runs it (a subprocess), cold cache then warm cache: wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.k8s_helpers import KCluster, pod_for, replicaset_for  # noqa: E402
from tests.registry_helpers import IMAGES, push, start_registry  # noqa: E402

VIGIL = [sys.executable, "-m", "vigil.shells.cli.main"]
ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"


def make_variants(reg_url: str, host: str, n: int) -> list[tuple[str, str]]:
    """n distinct images sharing the alpine-like image's layers: [(tag reference, repo@digest)]."""
    push(IMAGES / "alpine-like.docker.tar", f"{host}/bench/app:base", format="v2s2")
    with httpx.Client(base_url=reg_url, timeout=30) as c:
        manifest = c.get("/v2/bench/app/manifests/base", headers={"Accept": ACCEPT}).json()
        config = c.get(f"/v2/bench/app/blobs/{manifest['config']['digest']}").json()
        out = []
        for i in range(n):
            cfg = json.loads(json.dumps(config))
            cfg.setdefault("config", {}).setdefault("Labels", {})["bench.variant"] = str(i)
            data = json.dumps(cfg).encode()
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            loc = c.post("/v2/bench/app/blobs/uploads/").headers["Location"]
            sep = "&" if "?" in loc else "?"
            c.put(f"{loc}{sep}digest={digest}", content=data,
                  headers={"Content-Type": "application/octet-stream"}).raise_for_status()
            m = dict(manifest, config=dict(manifest["config"], digest=digest, size=len(data)))
            body = json.dumps(m).encode()
            r = c.put(f"/v2/bench/app/manifests/v{i}", content=body, headers={"Content-Type": ACCEPT})
            r.raise_for_status()
            out.append((f"{host}/bench/app:v{i}", f"{host}/bench/app@{r.headers['Docker-Content-Digest']}"))
    return out


def fill(kc: KCluster, images: list[tuple[str, str]], deployments: int, pods: int) -> None:
    per = max(1, pods // deployments)
    namespaces = 50
    for n in range(namespaces):
        kc.add({"kind": "Namespace", "metadata": {"name": f"team-{n}"}})
    for d in range(deployments):
        ref, image_id = images[d % len(images)]
        ns = f"team-{d % namespaces}"
        dep = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": f"app-{d}", "namespace": ns,
                            "annotations": {"deployment.kubernetes.io/revision": "1"}},
               "spec": {"replicas": per, "template": {"metadata": {"labels": {"app": f"app-{d}"}}, "spec": {
                   "containers": [{"name": "app", "image": ref,
                                   "resources": {"limits": {"cpu": "1", "memory": "128Mi"}}}]}}}}
        kc.add(dep)
        rs = replicaset_for(dep, 1, "abc")
        kc.add(rs)
        for p in range(per):
            kc.add(pod_for(rs, "ReplicaSet", f"app-{d}-abc-{p}", {ref: (image_id, "")}))


def phases(url: str, db: Path, cache: Path) -> dict[str, float]:
    import msgspec

    from vigil.cache import open_cache
    from vigil.pipeline.backend import LocalBackend
    from vigil.pipeline.k8s import ClusterScanOptions, PhaseTimes, scan_cluster
    from vigil.reporters.k8s import render_summary
    from vigil.settings import ScanOptions
    from vigil.sources.image import RegistryOptions
    from vigil.sources.k8s.client import ClusterClient
    from vigil.sources.k8s.inventory import InventoryOptions, collect_inventory
    from vigil.sources.k8s.kubeconfig import KubeconfigOptions, load_config
    from vigil.sources.k8s.model import Inventory

    out: dict[str, float] = {}
    t = time.perf_counter()
    config = load_config(KubeconfigOptions(server=url), env={})

    async def go() -> Inventory:
        async with ClusterClient(config) as c:
            return await collect_inventory(c, InventoryOptions())

    inv = asyncio.run(go())
    out["list"] = time.perf_counter() - t
    t = time.perf_counter()
    keys = inv.images_by_key()
    out["resolve"] = time.perf_counter() - t
    out["distinct"] = len(keys)
    out["containers"] = sum(len(w.containers) for w in inv.workloads)
    opts = ScanOptions(target=Path("bench"), db_path=db, compiled_cache_dir=cache / "compiled")
    cso = ClusterScanOptions(scanners=frozenset({"vuln", "secret", "misconfig", "rbac"}),
                             scan=msgspec.structs.replace(opts, scanners=("vuln", "secret")),
                             registry=RegistryOptions(insecure=True), parallel=5)
    times = PhaseTimes()
    report = scan_cluster(inv, cso, lambda: LocalBackend(db, open_cache("fs", cache)), times=times)
    out["scan"], out["audit"] = times.scan, times.audit
    out["scanned"] = report.stats.images_scanned
    out["failed"] = report.stats.images_failed
    t = time.perf_counter()
    render_summary(report, io.StringIO())
    out["render"] = time.perf_counter() - t
    return out


def cli(url: str, db: Path, cache: Path) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (MiB) and exit status of `vigil k8s --report summary` in a fresh wrapper."""
    code = ("import resource,subprocess,sys,time;t=time.perf_counter();"
            "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
            "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode);"
            "sys.stderr.write(p.stderr.decode()[-2000:])")
    cmd = [*VIGIL, "k8s", "--api-server", url, "--report", "summary", "--db-path", str(db), "--skip-db-update",
           "--cache-dir", str(cache), "--insecure", "--quiet"]
    p = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True)
    wall, rss, rc = p.stdout.split()
    if rc not in ("0",):
        print(p.stderr, file=sys.stderr)
    return float(wall), int(rss) // 1024, int(rc)


def side_by_side(url: str, db: Path, work: Path, trivy: str) -> None:
    """`trivy k8s` and `vigil k8s` with the scanners Trivy can run here without its vulnerability DB
    (misconfig,secret: the secret scanner pulls and reads every image), each with a fresh cache, one run each."""
    kc = work / "kubeconfig"
    kc.write_text(f"apiVersion: v1\nkind: Config\nclusters: [{{name: k, cluster: {{server: '{url}'}}}}]\n"
                  f"users: [{{name: u, user: {{token: x}}}}]\n"
                  f"contexts: [{{name: c, context: {{cluster: k, user: u}}}}]\ncurrent-context: c\n")
    code = ("import resource,subprocess,sys,time;t=time.perf_counter();"
            "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
            "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode);"
            "sys.stderr.write(p.stderr.decode()[-1500:])")
    runs = {
        "trivy k8s": [trivy, "k8s", "--kubeconfig", str(kc), "--scanners", "misconfig,secret", "--report", "summary",
                      "--disable-node-collector", "--skip-check-update", "--skip-version-check", "--insecure",
                      "--quiet", "--timeout", "60m", "--cache-dir", str(work / "trivy-cache")],
        "vigil k8s": [*VIGIL, "k8s", "--kubeconfig", str(kc), "--scanners", "misconfig,secret", "--report",
                      "summary", "--insecure", "--quiet", "--cache-dir", str(work / "vigil-cache-2")],
    }
    for name, cmd in runs.items():
        p = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True)
        wall, rss, rc = p.stdout.split()
        print(f"{name} --scanners misconfig,secret (fresh cache): {float(wall):.1f}s, "
              f"peak RSS {int(rss) // 1024} MiB, exit {rc}", flush=True)
        if rc != "0":
            print(p.stderr, file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=5000)
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--deployments", type=int, default=1000)
    ap.add_argument("--trivy", default="", help="also run `trivy k8s` (this binary) side by side")
    ap.add_argument("--only-trivy", action="store_true", help="with --trivy: only the side-by-side runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-k8s-") as tmp:
        work = Path(tmp)
        from vigil.vulndb.build.builder import build

        db = build(ROOT.parent / "shared" / "data" / "advisories", work / "db").db_path
        reg = start_registry("noauth", work / "registry")
        kc = KCluster().start()
        try:
            t = time.perf_counter()
            images = make_variants(reg.url, reg.host, args.images)
            fill(kc, images, args.deployments, args.pods)
            print(f"setup: {len(images)} images, {args.deployments} deployments, "
                  f"{args.pods} pods in {time.perf_counter() - t:.1f}s", flush=True)
            if args.trivy:
                side_by_side(kc.url, db, work, args.trivy)
                if args.only_trivy:
                    return
            cold = cli(kc.url, db, work / "cache-cli")
            warm = cli(kc.url, db, work / "cache-cli")
            print(f"vigil k8s --report summary: cold cache {cold[0]:.1f}s ({cold[1]} MiB peak RSS, exit {cold[2]}), "
                  f"warm cache {warm[0]:.1f}s ({warm[1]} MiB peak RSS, exit {warm[2]})", flush=True)
            lists = kc.lists
            ph = phases(kc.url, db, work / "cache-cli")
            print(f"phases (warm cache, in-process): list {ph['list']:.2f}s ({kc.lists - lists} LIST requests), "
                  f"resolve {ph['resolve'] * 1000:.1f}ms ({int(ph['containers'])} containers -> "
                  f"{int(ph['distinct'])} distinct digests), scan {ph['scan']:.2f}s ({int(ph['scanned'])} image scans, "
                  f"{int(ph['failed'])} failed), audit {ph['audit']:.2f}s, render {ph['render'] * 1000:.0f}ms")
            print(f"bench process peak RSS (kmock + in-process phases): "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
        finally:
            kc.stop()
            reg.stop()


if __name__ == "__main__":
    main()
