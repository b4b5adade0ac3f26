"""Two `vigil operator` replicas with kopf peering: only the one with the higher priority acts; when it stops,
the other takes over and continues from what the cluster and the store hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import kmock

from tests.cli_helpers import stop_process
from tests.k8s.conftest import Images
from tests.k8s_helpers import KCluster, pod_for
from tests.operator.conftest import ALL_VERBS, Kubelet, kubelet_env, objects
from tests.operator.test_operator_kopf import _port, wait_for
from tests.operator.test_operator_metrics import samples


def start(kc: KCluster, server: Any, tmp: Path, name: str, priority: int) -> tuple[subprocess.Popen[bytes], Path, int]:
    port = _port()
    log = tmp / f"{name}.log"
    (tmp / "op.yaml").write_text("excludeNamespaces: [kube-*, trivy-*, default]\nconfigAudit: false\n")
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "vigil.shells.cli.main", "operator", "--api-server", kc.url,
                                 "--server", server.url, "--config", str(tmp / "op.yaml"), "--peering", "vigil",
                                 "--priority", str(priority), "--metrics-listen", f"127.0.0.1:{port}",
                                 "--interval", "1"], stdout=out, stderr=subprocess.STDOUT, env=kubelet_env(tmp))
    return proc, log, port


def created(port: int) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    except httpx.HTTPError:
        return -1
    return sum(v for _, v in samples(text, "vigil_operator_scan_jobs_created_total"))


def digests(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return sum(v for _, v in samples(text, "vigil_operator_scanned_digests"))


def peers(kc: KCluster) -> dict[str, Any]:
    [peering] = objects(kc, "clusterkopfpeerings")
    return dict(peering.get("status") or {})


def test_two_replicas_never_both_act(op_cluster: KCluster, vigil_server: Any, images: Images,
                                     tmp_path: Path) -> None:
    op_cluster.km.resources[kmock.resource("kopf.dev", "v1", "clusterkopfpeerings")] = kmock.ResourceInfo(
        kind="ClusterKopfPeering", namespaced=False, singular="clusterkopfpeering", verbs=set(ALL_VERBS))
    op_cluster.km.objects[kmock.resource("kopf.dev", "v1", "clusterkopfpeerings"), None, "vigil"] = {
        "apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": "vigil"}}
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    high, high_log, high_port = start(op_cluster, vigil_server, tmp_path, "high", 20)
    procs = [high]
    try:
        wait_for(lambda: bool(peers(op_cluster)), high, high_log, "the first replica's peering record")
        low, low_log, low_port = start(op_cluster, vigil_server, tmp_path, "low", 10)
        procs.append(low)
        wait_for(lambda: len(peers(op_cluster)) == 2, low, low_log, "the second replica's peering record")
        # the leader scans; the other stays paused (no pass, no Job) while its peer is alive
        wait_for(lambda: len(kubelet.pending()) == 2, high, high_log, "the leader's scan Jobs")
        kubelet.run_all()
        wait_for(lambda: created(high_port) == 2 and not objects(op_cluster, "jobs", "vigil-system"),
                 high, high_log, "the leader's reports")
        assert created(low_port) == 0 and digests(low_port) == 0
        assert len(kubelet.ran) == 2
        # the leader stops: the other replica takes over, from the store and the cluster (no scan again)
        high.terminate()
        high.wait(30)
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                 "metadata": {"name": "after", "namespace": "shop", "uid": "uid-after"},
                 "spec": {"template": {"spec": {"containers": [{"name": "app", "image": images.alpine}]}}}}
        op_cluster.add(owner)
        httpx.post(f"{op_cluster.url}/api/v1/namespaces/shop/pods", json=pod_for(
            owner, "ReplicaSet", "after-0", {images.alpine: (images.alpine_id, "")})).raise_for_status()
        wait_for(lambda: any(o["metadata"]["name"] == "replicaset-after-app"
                             for o in objects(op_cluster, "vulnerabilityreports")), low, low_log,
                 "the report written by the replica that took over", rounds=900)
        assert digests(low_port) == 2 and created(low_port) == 0 and len(kubelet.ran) == 2
    finally:
        for p in procs:
            stop_process(p)
