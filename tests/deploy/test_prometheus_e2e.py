"""End to end with a real Prometheus (Debian's package, a temp dir, 127.0.0.1, 1 s scrapes): it scrapes `vigil
operator` (the chart's config) during an operator scenario and evaluates the shipped rules. Through Prometheus' HTTP
API: the expected series exist, the criticals alert is not firing before a vulnerable image is deployed and fires
after, and every query of the Grafana dashboard (panels and variables) runs without error."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import yaml

from tests.cli_helpers import stop_process
from tests.deploy.chart import CHART
from tests.deploy.scenario import (
    Pushed,
    Scenario,
    chart_config,
    deploy,
    free_port,
    operator_running,
    scan_everything,
)
from tests.k8s_helpers import KCluster

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
pytestmark = pytest.mark.skipif(not Path(PROMETHEUS).is_file(), reason="prometheus (Debian package) not installed")


@contextmanager
def prometheus(tmp: Path, targets: dict[str, str]) -> Iterator[str]:
    """A Prometheus scraping `targets` (job -> host:port) every second, with the shipped rules. `for:` durations
    are dropped from the copy it loads (the test cannot wait 15 minutes; what `for` does is promtool-tested)."""
    rules = yaml.safe_load((CHART / "files" / "vigil-alerts.rules.yaml").read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            rule.pop("for", None)
    (tmp / "rules.yaml").write_text(yaml.safe_dump(rules))
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
              "rule_files": [str(tmp / "rules.yaml")],
              "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target],
                                                                      "labels": {"cluster": "e2e"}}]}
                                 for job, target in targets.items()]}
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = tmp / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                 "--storage.tsdb.retention.time=1h"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise AssertionError(f"prometheus exited {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError(f"prometheus never ready: {log.read_text()[-3000:]}")
        yield url
    finally:
        stop_process(proc)


def api(url: str, path: str, **params: Any) -> Any:
    resp = httpx.get(f"{url}/api/v1/{path}", params=params, timeout=30)
    body = resp.json()
    assert resp.status_code == 200 and body["status"] == "success", (path, params, body)
    return body["data"]


def query(url: str, expr: str) -> list[dict[str, Any]]:
    return list(api(url, "query", query=expr)["result"])


def firing(url: str, alert: str) -> list[dict[str, str]]:
    return [a["labels"] for a in api(url, "alerts")["alerts"]
            if a["labels"]["alertname"] == alert and a["state"] == "firing"]


def until(s: Scenario, pred: Callable[[], bool], what: str) -> None:
    def step() -> bool:
        s.kubelet.run_all()
        return pred()

    s.wait_for(step, what)


# Grafana's variables as the dashboard's defaults ("All") set them, and its interval macro
GRAFANA_VARS = {"$cluster": ".*", "$namespace": ".*", "$severity": ".*", "$__rate_interval": "1m"}


def grafana(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, expr
    return expr


def dashboard_queries(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every panel target's query, run as Grafana runs it (instant for tables and stats, a range for time series);
    any error fails. Returns the instant results by panel title."""
    board = json.loads((CHART / "files" / "vigil-dashboard.json").read_text())
    for var in board["templating"]["list"]:
        if var["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((.*), (\w+)\)", var["query"]["query"])
        assert m, var["query"]
        api(url, f"label/{m[2]}/values", **{"match[]": grafana(m[1])})
    results: dict[str, list[dict[str, Any]]] = {}
    now = time.time()
    for panel in board["panels"]:
        for target in panel.get("targets", ()):
            expr = grafana(target["expr"])
            results.setdefault(panel["title"], []).extend(query(url, expr))
            if panel["type"] == "timeseries":
                api(url, "query_range", query=expr, start=now - 300, end=now, step=15)
    return results


def test_prometheus_scrapes_the_operator_and_the_criticals_alert_fires(
        op_cluster: KCluster, vigil_server: Any, critical: Pushed, tmp_path: Path) -> None:
    port = free_port()
    server = urlparse(vigil_server.url).netloc
    with prometheus(tmp_path, {"vigil-operator": f"127.0.0.1:{port}", "vigil-server": server}) as prom, \
            operator_running(op_cluster, vigil_server, tmp_path, chart_config(vigil_server.url), port=port) as s:
        scan_everything(s)
        # the cluster's images have no critical finding: Prometheus has their series, and the alert stays quiet
        until(s, lambda: bool(query(prom, 'vigil_image_vulnerabilities{resource_name="frontend",'
                                          'severity="Critical",job="vigil-operator",cluster="e2e"}')),
              "the frontend's series in Prometheus")
        assert float(query(prom, 'sum(vigil_image_vulnerabilities{severity="Critical"})')[0]["value"][1]) == 0
        assert not firing(prom, "VigilCriticalVulnerabilities")

        deploy(s, critical, "critical-app")
        until(s, lambda: bool(firing(prom, "VigilCriticalVulnerabilities")), "the criticals alert firing")
        (alert,) = firing(prom, "VigilCriticalVulnerabilities")
        assert alert["namespace"] == "shop" and alert["resource_name"] == "critical-app"
        assert alert["resource_kind"] == "ReplicaSet" and alert["image_repository"] == "shop/critical"
        assert alert["severity"] == "warning" and alert["cluster"] == "e2e"
        until(s, lambda: any(a["resource_name"] == "critical-app" for a in firing(prom, "VigilExposedSecret")),
              "the exposed secret alert firing")
        assert not firing(prom, "VigilOperatorDown")

        # the series the rules and the dashboard rely on
        assert query(prom, 'up{job="vigil-operator"} == 1') and query(prom, 'up{job="vigil-server"} == 1')
        for name in ("vigil_image_exposedsecrets", "vigil_operator_queue_length", "vigil_operator_running_jobs",
                     "vigil_operator_scanned_digests", "vigil_operator_scan_jobs_created_total",
                     "vigil_operator_reports_written_total"):
            assert query(prom, f'{name}{{job="vigil-operator"}}'), name
        crit = query(prom, 'vigil_image_vulnerabilities{resource_name="critical-app",severity="Critical"}')
        assert [float(r["value"][1]) for r in crit] == [1.0]

        results = dashboard_queries(prom)
        # a panel over metrics the operator exports shows data (its labels and selectors match the series), unless
        # it filters (> 0) and nothing passes
        exported = {line.split("{")[0].split(" ")[0] for line in s.scrape().splitlines()
                    if line and not line.startswith("#")} | {"up"}
        board = json.loads((CHART / "files" / "vigil-dashboard.json").read_text())
        for panel in board["panels"]:
            exprs = [t["expr"] for t in panel.get("targets", ())]
            names = {n for e in exprs for n in re.findall(r"\b(vigil_[a-z_]+|up)\b", e)}
            if names and names <= exported and not any("> 0" in e for e in exprs):
                assert results[panel["title"]], (panel["title"], exprs)
        assert float(results["Critical vulnerabilities"][0]["value"][1]) == 1
        assert float(results["Workloads with criticals"][0]["value"][1]) == 1
        assert any(r["metric"].get("image_repository") == "shop/critical" for r in results["Top vulnerable images"])
        assert [r["metric"]["resource_name"] for r in results["Workloads with exposed secrets"]] == ["critical-app"]
        assert float(results["Operator up"][0]["value"][1]) == 1
        # the checks the cluster's workloads fail, each with the number of workloads failing it
        by_check = results["Config audit failures by check"]
        assert by_check and all(r["metric"]["check_id"] and float(r["value"][1]) >= 1 for r in by_check)


def test_a_broken_panel_query_fails(tmp_path: Path) -> None:
    """The panel check bites: Prometheus answers a query that does not parse with an error."""
    with prometheus(tmp_path, {}) as prom, pytest.raises(AssertionError, match="bad_data"):
        query(prom, grafana('sum by (namespace) (vigil_image_vulnerabilities{cluster=~"$cluster"}'))
