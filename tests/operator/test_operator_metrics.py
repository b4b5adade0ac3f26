"""The operator's /metrics: every family the Helm chart's alerts and dashboard read, with values that match the
reports written, failures by reason, and an exposition `promtool check metrics` accepts."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.k8s.conftest import Images
from tests.k8s_helpers import KCluster
from tests.operator.conftest import Kubelet, kubelet_env, objects, run
from tests.operator.test_operator_scans import Clock, make
from vigil.operator.metrics import Metrics


def promtool_check(text: str) -> str:
    """`promtool check metrics` on the exposition: its complaints (lint included), "" when none."""
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool not installed")
    p = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    return "" if p.returncode == 0 else (p.stdout + p.stderr)


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(\{{(.*)\}})? (\S+)$", line)
        if m:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out.append((labels, float(m.group(3))))
    return out


def scrape(rec: Any, metrics: Metrics) -> str:
    """/metrics as the operator serves it (prometheus-client's HTTP server on the metrics registry)."""
    from prometheus_client import start_http_server

    server, thread = start_http_server(0, "127.0.0.1", registry=metrics.registry)
    try:
        return httpx.get(f"http://127.0.0.1:{server.server_port}/metrics").text
    finally:
        server.shutdown()
        thread.join(5)


def test_metrics_families_values_and_promtool(op_cluster: KCluster, vigil_server: Any, images: Images,
                                              tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path), fail_refs={images.rhel_id})
    clock = Clock()
    rec, client = make(op_cluster, vigil_server, clock, scan_job_retries=1, metrics_vuln_id=True,
                       trivy_metric_names=True)
    metrics = Metrics(trivy_names=True, vuln_id=True)
    rec.metrics = metrics

    async def go() -> None:
        async with client:
            for _ in range(3):
                await rec.reconcile_once()
                kubelet.run_all()
                clock.t += 100
            await rec.reconcile_once()
            await rec.store.close()

    run(go())
    text = scrape(rec, metrics)
    assert promtool_check(text) == ""
    # counters carry _total in the exposition
    assert samples(text, "vigil_operator_scan_jobs_created_total") == [({}, 2.0)]
    assert samples(text, "vigil_operator_scan_failures_total") == [({"reason": "BackoffLimitExceeded"}, 1.0)]
    assert samples(text, "vigil_operator_failed_digests") == [({"reason": "BackoffLimitExceeded"}, 1.0)]
    assert samples(text, "vigil_operator_scan_duration_seconds_count") == [({}, 2.0)]
    # the DB's times from the server's /version (the fixture DB: built 2026-01-01, next update a day later)
    built = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    assert samples(text, "vigil_db_updated_timestamp_seconds") == [({}, built)]
    assert samples(text, "vigil_db_next_update_timestamp_seconds") == [({}, built + 86400)]
    # the report counts are the custom resources in the cluster
    kinds = {labels["kind"]: v for labels, v in samples(text, "vigil_operator_reports")}
    for kind, plural in (("VulnerabilityReport", "vulnerabilityreports"), ("SbomReport", "sbomreports"),
                         ("ConfigAuditReport", "configauditreports"),
                         ("RbacAssessmentReport", "rbacassessmentreports"),
                         ("ClusterRbacAssessmentReport", "clusterrbacassessmentreports")):
        assert kinds[kind] == len(objects(op_cluster, plural)) > 0, kind
    # per-workload findings: one series per severity, the sum equal to the CR's summary
    vuln = next(o for o in objects(op_cluster, "vulnerabilityreports") if "error" not in o["report"])
    lab = vuln["metadata"]["labels"]
    mine = [(labels, v) for labels, v in samples(text, "vigil_image_vulnerabilities")
            if labels["resource_name"] == lab["trivy-operator.resource.name"]
            and labels["container_name"] == lab["trivy-operator.container.name"]]
    assert sorted(labels["severity"] for labels, _ in mine) == ["Critical", "High", "Low", "Medium", "Unknown"]
    assert sum(v for _, v in mine) == sum(vuln["report"]["summary"].values())
    ids = [labels for labels, _ in samples(text, "vigil_vulnerability_id_info")
           if labels["resource_name"] == lab["trivy-operator.resource.name"]]
    # one series per distinct vulnerability (a CVE of several packages is one series: no duplicate label sets)
    assert sorted(labels["vuln_id"] for labels in ids) == \
        sorted({v["vulnerabilityID"] for v in vuln["report"]["vulnerabilities"]})
    audit = next(o for o in objects(op_cluster, "configauditreports") if o["metadata"]["name"] ==
                 "deployment-frontend")
    ca = [v for labels, v in samples(text, "vigil_resource_configaudits")
          if labels["resource_name"] == "frontend" and labels["resource_kind"] == "Deployment"]
    assert len(ca) == 4 and sum(ca) == sum(audit["report"]["summary"].values()) > 0
    # failing workloads per namespace and check, as the ConfigAuditReports list them; no resource label
    expected: dict[tuple[str, str, str], float] = {}
    for cr in objects(op_cluster, "configauditreports"):
        for check in {(c["checkID"], c["severity"].title()) for c in cr["report"]["checks"] if not c["success"]}:
            key = (cr["metadata"]["namespace"], *check)
            expected[key] = expected.get(key, 0) + 1
    by_check = {(labels["namespace"], labels["check_id"], labels["severity"]): v
                for labels, v in samples(text, "vigil_configaudit_check_failures")}
    assert by_check == expected and len(expected) > 1
    assert {k for labels, _ in samples(text, "vigil_configaudit_check_failures") for k in labels} == \
        {"namespace", "check_id", "severity"}
    assert samples(text, "vigil_role_rbacassessments")
    times = samples(text, "vigil_workload_report_timestamp_seconds")
    assert times and all(v > built for _, v in times)
    # Trivy Operator's names, with its `name` label (the report's name)
    trivy = samples(text, "trivy_image_vulnerabilities")
    assert trivy and any(labels["name"] == vuln["metadata"]["name"] for labels, _ in trivy)
    assert samples(text, "trivy_resource_configaudits") and samples(text, "trivy_vulnerability_id")
