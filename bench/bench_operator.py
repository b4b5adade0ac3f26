"""`vigil operator` benchmark: 1,000 pods over 200 distinct image digests on a simulated cluster.

    PYTHONPATH=src:. .venv/bin/python bench/bench_operator.py [--pods 1000] [--images 200] [--limit 20]

The cluster is kmock (real HTTP; the operator tests' cluster class): `--pods / 5` ReplicaSets of 5 pods each,
ReplicaSet i running image i % `--images` (by digest). A real `vigil server` (DB built
from ../shared/data/advisories) holds the report store. The reconciler runs in this process as `vigil operator`
runs it; a simulated kubelet completes each scan Job by publishing a small report to the store over HTTP (what the
Job's `vigil image --publish` does; image analysis itself is benchmarked by bench_image.py) and writing the Job's
status. Config audit is off (it is measured by bench_k8s.py's audit phase).

Measured: scan Jobs created (Trivy Operator would create one per ReplicaSet), passes until every report is written
and their wall time, peak RSS of this process (operator + the in-process kmock holding the cluster), and the
reconcile latency for one new pod running a digest already scanned (no Job: its reports come from the cached result),
both by a full pass and event-driven (`Reconciler.on_pod`: only the pod's controllers read, no re-list).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
SHARED = ROOT.parent / "shared" / "data"
VIGIL = [sys.executable, "-m", "vigil.shells.cli.main"]

import httpx  # noqa: E402
import msgspec  # noqa: E402
from tests.k8s_helpers import pod_for  # noqa: E402
from tests.operator.conftest import OpCluster, add_report_kinds  # noqa: E402

from vigil.findings.records import Metadata, Report, Result, Vulnerability  # noqa: E402
from vigil.inventory.purl import os_purl  # noqa: E402
from vigil.inventory.records import OSInfo, Package  # noqa: E402
from vigil.operator.config import OperatorConfig  # noqa: E402
from vigil.operator.reconciler import Reconciler, StoreReader  # noqa: E402
from vigil.sources.k8s.client import ClusterClient  # noqa: E402
from vigil.sources.k8s.kubeconfig import KubeconfigOptions, load_config  # noqa: E402
from vigil.store import PublishRequest, TargetSpec  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def digest(i: int) -> str:
    return "sha256:" + hashlib.sha256(f"image-{i}".encode()).hexdigest()


def build(kc: OpCluster, pods: int, images: int) -> None:
    kc.add({"kind": "Namespace", "metadata": {"name": "vigil-system"}})
    for ns in ("team-a", "team-b"):
        kc.add({"kind": "Namespace", "metadata": {"name": ns}})
    for r in range(pods // 5):
        i = r % images
        image = f"reg.example.com/app{i}:1"
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"rs-{r}", "namespace": "team-a" if r % 2 else "team-b", "uid": f"uid-rs-{r}"},
              "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
        kc.add(rs)
        for p in range(5):
            kc.add(pod_for(rs, "ReplicaSet", f"rs-{r}-{p}", {image: (f"reg.example.com/app{i}@{digest(i)}", "")}))


HTTP = httpx.Client(timeout=60)
DB_PATH = Path()  # the server's DB file (replaced to simulate a DB update)
# what each simulated image holds (the report lists its packages, as a Job's report does): 200 Debian packages,
# with the identifiers the server derives again when it re-matches them
_OS = OSInfo(family="debian", name="12.5")
PACKAGES = tuple(msgspec.structs.replace(p, purl=os_purl(_OS, p)) for p in (
    Package(ecosystem="debian", name=f"pkg{k}", version="1.0", release="1", id=f"pkg{k}@1.0-1", src_name=f"pkg{k}",
            src_version="1.0", src_release="1") for k in range(200)))


def objects(kube: str, path: str) -> list[dict[str, Any]]:
    items = HTTP.get(f"{kube}{path}").json().get("items") or []
    return list(items)


def jobs_of(kube: str) -> list[dict[str, Any]]:
    return objects(kube, "/apis/batch/v1/namespaces/vigil-system/jobs")


def vuln_reports(kube: str) -> list[dict[str, Any]]:
    return objects(kube, "/apis/aquasecurity.github.io/v1alpha1/vulnerabilityreports")


def serve_cluster(pods: int, images: int, conn: Any) -> None:
    """The child process: kmock with the cluster, until killed (its CPU and memory are not the operator's)."""
    kc = OpCluster().start()
    add_report_kinds(kc)
    build(kc, pods, images)
    conn.send(kc.url)
    while True:
        time.sleep(3600)


def complete_jobs(kube: str, server: str) -> int:
    """The kubelet stand-in of the benchmark: publish each pending Job's report, mark the Job Complete."""
    n = 0
    for job in jobs_of(kube):
        if (job.get("status") or {}).get("conditions"):
            continue
        ann = job["metadata"]["annotations"]
        ref, dig = ann["vigil.dev/image-ref"], ann["vigil.dev/image-digest"]
        built = HTTP.get(server + "/version").json()["DB"]["BuiltAt"]
        rep = Report(artifact_name=ref, artifact_type="container_image", metadata=Metadata(
            os=_OS, db_built_at=built), results=(Result(
            target=f"{ref} (debian 12.5)", class_="os-pkgs", type="debian", packages=PACKAGES,
            vulnerabilities=tuple(
                Vulnerability(vulnerability_id=f"CVE-2024-{k:04d}", pkg_name=f"pkg{k}", installed_version="1.0",
                              fixed_version="1.1", status="fixed", severity=("HIGH", "LOW", "MEDIUM")[k % 3])
                for k in range(30))),))
        body = msgspec.json.encode(PublishRequest(report=rep, target=TargetSpec(
            name=ref, labels={"vigil.dev/image-digest": dig}), source="operator"))
        HTTP.post(server + "/v1/reports", content=body,
                  headers={"Content-Type": "application/json"}).raise_for_status()
        HTTP.patch(f"{kube}/apis/batch/v1/namespaces/vigil-system/jobs/{job['metadata']['name']}",
                    json={"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}},
                    headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()
        n += 1
    return n


async def run(kube: str, server: str, limit: int) -> dict[str, Any]:
    cfg = OperatorConfig(server=server, scan_jobs_concurrent_limit=limit, config_audit=False)
    client = ClusterClient(load_config(KubeconfigOptions(server=kube)))
    out: dict[str, Any] = {}
    async with client:
        rec = Reconciler(cfg, client, StoreReader(server))
        t0 = time.perf_counter()
        passes = 0
        while True:
            passes += 1
            if passes > 500:
                raise SystemExit("the operator did not settle in 500 passes")
            tp = time.perf_counter()
            await rec.reconcile_once()
            done = complete_jobs(kube, server)
            print(f"pass {passes}: {time.perf_counter() - tp:.2f} s, {rec.stats.jobs_created} Jobs created, "
                  f"{done} completed", file=sys.stderr)
            if not done and not jobs_of(kube):
                break
        out["settle_s"] = time.perf_counter() - t0
        out["passes"] = passes
        out["jobs"] = rec.stats.jobs_created
        out["reports"] = len(vuln_reports(kube))
        t1, c1 = time.perf_counter(), time.process_time()
        await rec.reconcile_once()
        out["idle_pass_s"] = time.perf_counter() - t1
        out["idle_pass_cpu_s"] = time.process_time() - c1
        # one new pod of a new ReplicaSet on a digest already scanned
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": "late", "namespace": "team-a", "uid": "uid-late"},
              "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "reg.example.com/app7:1"}]}}}}
        HTTP.post(f"{kube}/apis/apps/v1/namespaces/team-a/replicasets", json=rs).raise_for_status()
        HTTP.post(f"{kube}/api/v1/namespaces/team-a/pods", json=pod_for(rs, "ReplicaSet", "late-0", {
            "reg.example.com/app7:1": (f"reg.example.com/app7@{digest(7)}", "")})).raise_for_status()
        t2, c2 = time.perf_counter(), time.process_time()
        await rec.reconcile_once()
        out["known_digest_s"] = time.perf_counter() - t2
        out["known_digest_cpu_s"] = time.process_time() - c2
        out["late_report"] = any(o["metadata"]["name"] == "replicaset-late-app" for o in vuln_reports(kube))
        out["jobs_after_late"] = rec.stats.jobs_created
        # the same, event-driven (what `vigil operator` does on the pod's watch event): the pod's reports from the
        # known result, reading only its controllers, no re-list of the cluster; measured from the API server's
        # answer to the pod's creation (the event) to the last report written
        rs2 = {**rs, "metadata": {"name": "late2", "namespace": "team-a", "uid": "uid-late2"}}
        HTTP.post(f"{kube}/apis/apps/v1/namespaces/team-a/replicasets", json=rs2).raise_for_status()
        created = HTTP.post(f"{kube}/api/v1/namespaces/team-a/pods", json=pod_for(rs2, "ReplicaSet", "late2-0", {
            "reg.example.com/app7:1": (f"reg.example.com/app7@{digest(7)}", "")}))
        created.raise_for_status()
        pod = created.json()
        t3, c3 = time.perf_counter(), time.process_time()
        handled = await rec.on_pod(pod)
        out["event_s"] = time.perf_counter() - t3
        out["event_cpu_s"] = time.process_time() - c3
        out["event_handled"] = handled
        out["event_report"] = any(o["metadata"]["name"] == "replicaset-late2-app" for o in vuln_reports(kube))
        out["jobs_after_event"] = rec.stats.jobs_created
        # the server installs a new DB (the same advisories, a later build time): every scanned digest's stored
        # packages (200 each here) are matched again on the server, without a Job. The simulated findings are not
        # in the DB, so the re-match drops them: every VulnerabilityReport changes (the worst case for writes);
        # SBOMs and secrets stay as they are
        db_path = DB_PATH
        staged = db_path.with_name("vigil.db.new")
        shutil.copy2(db_path, staged)
        import sqlite3

        with sqlite3.connect(staged) as conn:
            (raw,) = conn.execute("SELECT value FROM metadata WHERE key = 'metadata'").fetchone()
            meta = msgspec.json.decode(raw)
            meta["built_at"] = "2099-01-01T00:00:00Z"
            conn.execute("UPDATE metadata SET value = ? WHERE key = 'metadata'", (msgspec.json.encode(meta).decode(),))
        os.replace(staged, db_path)
        written = rec.stats.reports_written
        server_s = [0.0]
        rematch = rec.store.rematch

        async def timed(scan_id: int, dig: str) -> Any:  # the server's share: read, detect, publish
            t = time.perf_counter()
            try:
                return await rematch(scan_id, dig)
            finally:
                server_s[0] += time.perf_counter() - t

        rec.store.rematch = timed  # type: ignore[method-assign]
        t4, c4 = time.perf_counter(), time.process_time()
        await rec.reconcile_once()
        out["rematch_server_s"] = server_s[0]
        out["rematch_s"] = time.perf_counter() - t4
        out["rematch_cpu_s"] = time.process_time() - c4
        out["rematches"] = dict(rec.stats.rematches)
        out["rematch_written"] = rec.stats.reports_written - written
        out["jobs_after_rematch"] = rec.stats.jobs_created
        await rec.store.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--limit", type=int, default=20, help="scanJobsConcurrentLimit")
    ap.add_argument("--db", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-operator-") as d:
        tmp = Path(d)
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        if args.db is None:
            subprocess.run([*VIGIL, "db", "build", "--feeds", str(SHARED / "advisories"), "-o", str(tmp / "built"),
                            "-q"], check=True, env=env)
            src_db = tmp / "built" / "vigil.db"
        else:
            src_db = args.db
        (tmp / "db").mkdir()
        shutil.copy2(src_db, tmp / "db" / "vigil.db")
        global DB_PATH
        DB_PATH = tmp / "db" / "vigil.db"
        port = free_port()
        server = f"http://127.0.0.1:{port}"
        log = (tmp / "server.log").open("wb")
        srv = subprocess.Popen([*VIGIL, "server", "--listen", f"127.0.0.1:{port}", "--db-path",
                                str(tmp / "db" / "vigil.db"), "--cache-dir", str(tmp / "cache"), "--skip-db-update"],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
        import multiprocessing

        parent, child = multiprocessing.Pipe()
        kmock_proc = multiprocessing.get_context("fork").Process(
            target=serve_cluster, args=(args.pods, args.images, child), daemon=True)
        kmock_proc.start()
        try:
            for _ in range(300):
                try:
                    if httpx.get(server + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            kube = parent.recv()
            out = asyncio.run(run(kube, server, args.limit))
        finally:
            kmock_proc.kill()
            kmock_proc.join()
            srv.send_signal(signal.SIGINT)
            try:
                srv.wait(15)
            except subprocess.TimeoutExpired:
                srv.kill()
            log.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"cluster: {args.pods} pods in {args.pods // 5} ReplicaSets, {args.images} distinct digests; "
          f"scanJobsConcurrentLimit {args.limit}")
    print(f"scan Jobs created: {out['jobs']} (Trivy Operator: one per ReplicaSet = {args.pods // 5})")
    print(f"VulnerabilityReports written: {out['reports']}")
    print(f"passes until settled: {out['passes']}, wall {out['settle_s']:.2f} s (Jobs completed instantly)")
    print(f"idle pass (nothing changed): {out['idle_pass_s'] * 1000:.0f} ms wall, "
          f"{out['idle_pass_cpu_s'] * 1000:.0f} ms operator CPU")
    print(f"new pod on a known digest → its report: {out['known_digest_s'] * 1000:.0f} ms wall, "
          f"{out['known_digest_cpu_s'] * 1000:.0f} ms operator CPU, report written: "
          f"{out['late_report']}, Jobs created for it: {out['jobs_after_late'] - out['jobs']}")
    print(f"event-driven (one pod event, no re-list) → its reports: {out['event_s'] * 1000:.0f} ms wall, "
          f"{out['event_cpu_s'] * 1000:.0f} ms operator CPU, handled without a pass: {out['event_handled']}, "
          f"report written: {out['event_report']}, Jobs created for it: {out['jobs_after_event'] - out['jobs']}")
    print(f"new server DB → {sum(out['rematches'].values())} digests re-matched on the server in one pass: "
          f"{out['rematch_s']:.1f} s wall (of which the server's re-match requests {out['rematch_server_s']:.1f} s, "
          f"the rest the pass and the CR writes to kmock), {out['rematch_cpu_s']:.2f} s operator CPU, "
          f"{out['rematches']}, "
          f"reports rewritten: {out['rematch_written']}, Jobs created: {out['jobs_after_rematch'] - out['jobs']}")
    print(f"peak RSS of the operator's process (kmock and the server run in others): {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
