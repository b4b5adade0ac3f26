"""`vigil operator` as it runs for real: the kopf process against kmock over HTTP, the kubelet stand-in running
its Jobs, /metrics scraped."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.cli_helpers import stop_process
from tests.k8s.conftest import Images
from tests.k8s_helpers import KCluster, pod_for
from tests.operator.conftest import Kubelet, kubelet_env, objects


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Any, proc: subprocess.Popen[bytes], log: Path, what: str, rounds: int = 600) -> None:
    """Poll `pred` (bounded by rounds, not by a time budget the test asserts)."""
    for _ in range(rounds):
        if pred():
            return
        if proc.poll() is not None:
            raise AssertionError(f"operator exited {proc.returncode}: {log.read_text()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"{what} never happened: {log.read_text()[-3000:]}")


def test_vigil_operator_under_kopf(op_cluster: KCluster, vigil_server: Any, images: Images, tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    port = _port()
    log = tmp_path / "operator.log"
    (tmp_path / "op.yaml").write_text("excludeNamespaces: [kube-*, trivy-*, default]\nscanJobsConcurrentLimit: 1\n"
                                      "dbPollSeconds: 1\n")
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "vigil.shells.cli.main", "operator", "--api-server",
                                 op_cluster.url, "--server", vigil_server.url, "--config", str(tmp_path / "op.yaml"),
                                 "--metrics-listen", f"127.0.0.1:{port}", "--interval", "3"],
                                stdout=out, stderr=subprocess.STDOUT, env=kubelet_env(tmp_path))
    try:
        # the concurrency limit: one Job at a time, the second only after the first ended
        for _ in range(2):
            wait_for(lambda: bool(kubelet.pending()), proc, log, "a scan Job")
            assert len(objects(op_cluster, "jobs", "vigil-system")) == 1
            kubelet.run_all()
        wait_for(lambda: {ns for (ns, _) in {(o["metadata"]["namespace"], 0)
                                             for o in objects(op_cluster, "vulnerabilityreports")}} == {"shop"}
                 and not objects(op_cluster, "jobs", "vigil-system"), proc, log, "reports")
        # a new pod on a scanned digest: its report comes from the known result, no Job
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                 "metadata": {"name": "late", "namespace": "shop", "uid": "uid-late"},
                 "spec": {"template": {"spec": {"containers": [{"name": "app", "image": images.alpine}]}}}}
        op_cluster.add(owner)
        httpx.post(f"{op_cluster.url}/api/v1/namespaces/shop/pods", json=pod_for(
            owner, "ReplicaSet", "late-0", {images.alpine: (images.alpine_id, "")})).raise_for_status()
        wait_for(lambda: any(o["metadata"]["name"] == "replicaset-late-app"
                             for o in objects(op_cluster, "vulnerabilityreports")), proc, log, "the late report")
        assert len(kubelet.ran) == 2 and not kubelet.pending()
        def scrape() -> str:
            return httpx.get(f"http://127.0.0.1:{port}/metrics").text

        # the gauges are refreshed at the end of the pass that wrote the report
        wait_for(lambda: 'resource_name="late"' in scrape(), proc, log, "the late workload's metrics")
        metrics = scrape()
        line = next((m for m in metrics.splitlines() if m.startswith("vigil_image_vulnerabilities{")
                    and 'resource_name="late"' in m), metrics[-3000:])
        assert line.startswith("vigil_image_vulnerabilities{"), line
        assert 'namespace="shop"' in line and 'container_name="app"' in line and "image_digest=" in line
        assert "vigil_operator_running_jobs 0.0" in metrics
        from tests.operator.test_operator_metrics import promtool_check

        assert promtool_check(metrics) == ""
        assert "vigil_db_updated_timestamp_seconds " in metrics and "vigil_operator_scan_jobs_created_total 2.0" \
            in metrics
        # the server gets a new DB with an advisory for an alpine package: the running operator notices (it polls
        # the server's DB version) and re-matches, no Job; the alpine reports list it
        from tests.operator.test_operator_rescan import NEW_CVE, db_with_advisory

        alpine = next(o for o in objects(op_cluster, "vulnerabilityreports")
                      if o["report"]["artifact"]["digest"] == images.alpine_digest)
        stored = httpx.get(alpine["report"]["fullReport"]).json()
        os_pkgs = next(r for r in stored["Results"] if r["Class"] == "os-pkgs")
        pkg = os_pkgs["Packages"][0]
        new_db = db_with_advisory(tmp_path / "new", stored["Metadata"]["OS"]["Name"], pkg.get("SrcName") or pkg["Name"],
                                  pkg.get("SrcVersion") or pkg["Version"])
        staged = vigil_server.db.with_name("vigil.db.new")
        staged.write_bytes(new_db.read_bytes())
        staged.replace(vigil_server.db)

        def has_new_cve() -> bool:
            return all(NEW_CVE in {v["vulnerabilityID"] for v in o["report"]["vulnerabilities"]}
                       for o in objects(op_cluster, "vulnerabilityreports")
                       if o["report"]["artifact"]["digest"] == images.alpine_digest)

        wait_for(has_new_cve, proc, log, "the new advisory in the alpine reports")
        assert len(kubelet.ran) == 2 and not kubelet.pending()
        wait_for(lambda: 'vigil_operator_rematches_total{result="changed"} 1.0' in scrape(), proc, log,
                 "the re-match metric")
    finally:
        stop_process(proc)
