"""The operator's Prometheus alert rules and Grafana dashboard, built in code, written where they are shipped:

- deploy/helm/vigil-operator/files/vigil-alerts.rules.yaml: a plain Prometheus rules file (`rule_files:`), and the
  source of the chart's PrometheusRule (the template reads this file and applies the chart's values: report TTL,
  disabled alerts, extra labels, runbook URL);
- deploy/helm/vigil-operator/files/vigil-dashboard.json: the Grafana dashboard (the chart's ConfigMap for Grafana's
  dashboard sidecar reads it).

`python tools/gen_observability.py` rewrites both; `--check` exits 1 when a committed file is not what this
generator writes (tests run it).

Every aggregation keeps the `cluster` label (set by the chart's ServiceMonitor) so one Prometheus can watch several
clusters; series without it aggregate under an empty cluster.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "deploy" / "helm" / "vigil-operator"
RULES_FILE = CHART / "files" / "vigil-alerts.rules.yaml"
DASHBOARD_FILE = CHART / "files" / "vigil-dashboard.json"

DEFAULT_TTL_SECONDS = 86400  # reports.ttlSeconds in values.yaml; the chart substitutes its value
RUNBOOK = "https://github.com/vigil-scanner/vigil/blob/main/docs/operator.md"  # metrics.prometheusRule.runbookBaseUrl
OPERATOR_JOB = "vigil-operator"  # the ServiceMonitor's job label (jobLabel) and the job name docs/operator.md uses

CRIT = 'vigil_image_vulnerabilities{severity="Critical"}'
WORKLOAD = "cluster, namespace, resource_kind, resource_name"


def _alert(name: str, expr: str, severity: str, summary: str, description: str, for_: str = "",
           anchor: str = "") -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": " ".join(expr.split())}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {"summary": summary, "description": description,
                           "runbook_url": f"{RUNBOOK}#{anchor or name.lower()}"}
    return rule


def rules() -> dict[str, Any]:
    """The rules file: one group of alerts."""
    secrets_by = f"{WORKLOAD}, container_name, image_repository, image_tag"
    alerts = [
        _alert("VigilCriticalVulnerabilities",
               f"sum by ({WORKLOAD}, image_repository, image_tag) ({CRIT}) > 0",
               "warning",
               "{{ $labels.resource_kind }} {{ $labels.namespace }}/{{ $labels.resource_name }} runs an image "
               "with critical vulnerabilities",
               "{{ $value }} critical vulnerabilities in {{ $labels.image_repository }}:{{ $labels.image_tag }}, "
               "run by {{ $labels.resource_kind }} {{ $labels.resource_name }} in namespace "
               "{{ $labels.namespace }} (cluster {{ $labels.cluster }}).",
               for_="15m"),
        # More than a day ago, per namespace. A namespace without criticals (or without series) a day ago counts as
        # 0, but only once Prometheus holds a day of this metric at all: a fresh Prometheus compares nothing.
        _alert("VigilNamespaceCriticalVulnerabilitiesIncreased",
               f"""sum by (cluster, namespace) ({CRIT})
                   > (sum by (cluster, namespace) ({CRIT} offset 1d)
                      or on (cluster, namespace) 0 * sum by (cluster, namespace) ({CRIT}))
                   and on (cluster) count by (cluster) (vigil_image_vulnerabilities offset 1d) > 0""",
               "warning",
               "More critical vulnerabilities in namespace {{ $labels.namespace }} than 24 hours ago",
               "Namespace {{ $labels.namespace }} (cluster {{ $labels.cluster }}) runs {{ $value }} critical "
               "vulnerabilities, more than it ran 24 hours ago: a new workload, a new image, or new advisories "
               "for an image already running.",
               for_="30m"),
        _alert("VigilCriticalVulnerabilitiesIncreased",
               f"sum by (cluster) ({CRIT}) > sum by (cluster) ({CRIT} offset 1d)",
               "critical",
               "More critical vulnerabilities in cluster {{ $labels.cluster }} than 24 hours ago",
               "The cluster runs {{ $value }} critical vulnerabilities, more than 24 hours ago.",
               for_="30m"),
        # New: more secrets than an hour ago (a workload without series an hour ago counts as 0). The alert stays
        # for an hour, long enough to be routed; the dashboard lists every exposed secret still running.
        _alert("VigilExposedSecret",
               f"""sum by ({secrets_by}) (vigil_image_exposedsecrets)
                   > (sum by ({secrets_by}) (vigil_image_exposedsecrets offset 1h)
                      or on ({secrets_by}) 0 * sum by ({secrets_by}) (vigil_image_exposedsecrets))""",
               "critical",
               "New exposed secret in the image of {{ $labels.resource_kind }} "
               "{{ $labels.namespace }}/{{ $labels.resource_name }}",
               "{{ $value }} exposed secrets in {{ $labels.image_repository }}:{{ $labels.image_tag }} (container "
               "{{ $labels.container_name }} of {{ $labels.resource_kind }} {{ $labels.resource_name }}, namespace "
               "{{ $labels.namespace }}, cluster {{ $labels.cluster }}). Rotate the credential, then rebuild the "
               "image without it."),
        _alert("VigilWorkloadNotScanned",
               f"time() - vigil_workload_report_timestamp_seconds > 2 * {DEFAULT_TTL_SECONDS}",
               "warning",
               "{{ $labels.resource_kind }} {{ $labels.namespace }}/{{ $labels.resource_name }} has not been "
               "scanned for more than twice the report TTL",
               "Its newest report is {{ $value | humanizeDuration }} old; the operator rescans a digest once its "
               "report TTL has passed.",
               for_="15m"),
        _alert("VigilScanFailuresRising",
               """sum by (cluster) (increase(vigil_operator_scan_failures_total[1h])) > 3
                  and sum by (cluster) (increase(vigil_operator_scan_failures_total[1h]))
                    > 0.2 * sum by (cluster) (increase(vigil_operator_scan_jobs_created_total[1h]))""",
               "warning",
               "Scan Jobs are failing in cluster {{ $labels.cluster }}",
               "{{ $value | printf \"%.0f\" }} scan Jobs failed in the last hour, more than a fifth of those "
               "created. `vigil_operator_scan_failures_total` by reason says why.",
               for_="15m"),
        _alert("VigilDatabaseOutdated",
               "time() - vigil_db_next_update_timestamp_seconds > 2 * 3600",
               "warning",
               "The vulnerability DB is older than its next update",
               "The DB should have been replaced {{ $value | humanizeDuration }} ago: new advisories are not "
               "matched. The server checks for a newer DB every server.dbUpdateInterval.",
               for_="30m"),
        _alert("VigilOperatorDown",
               f'up{{job="{OPERATOR_JOB}"}} == 0 or absent(up{{job="{OPERATOR_JOB}"}})',
               "critical",
               "The Vigil operator is down or not scraped",
               "Prometheus has no working scrape of the operator's /metrics: no scans, reports or alerts are "
               "current.",
               for_="10m"),
    ]
    return {"groups": [{"name": "vigil-operator", "rules": alerts}]}


def render_rules() -> str:
    head = ("# Generated by tools/gen_observability.py; do not edit. Prometheus alert rules of the Vigil operator\n"
            "# (rule_files:); the chart's PrometheusRule is made from this file.\n")
    return head + yaml.safe_dump(rules(), sort_keys=False, width=120, allow_unicode=True)


# -- the dashboard --------------------------------------------------------------------------------------------------

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'cluster=~"$cluster", namespace=~"$namespace"'
SEV = 'severity=~"$severity"'


class Layout:
    """Panels left to right, top to bottom on Grafana's 24-column grid, with increasing ids."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.x = self.y = self.row_h = 0

    def row(self, title: str) -> None:
        self.newline()
        self.panels.append({"type": "row", "title": title, "id": len(self.panels) + 1, "collapsed": False,
                            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}, "panels": []})
        self.y += 1

    def newline(self) -> None:
        if self.x:
            self.y += self.row_h
        self.x = self.row_h = 0

    def add(self, panel: dict[str, Any], w: int, h: int) -> None:
        if self.x + w > 24:
            self.newline()
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)


def _target(expr: str, legend: str = "", instant: bool = False, ref: str = "A") -> dict[str, Any]:
    t: dict[str, Any] = {"datasource": DS, "refId": ref, "expr": " ".join(expr.split()), "legendFormat": legend}
    if instant:
        t.update({"instant": True, "range": False, "format": "table"})
    return t


def _panel(kind: str, title: str, description: str, targets: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    refs = "ABCDEFGH"
    for i, t in enumerate(targets):
        t["refId"] = refs[i]
    return {"type": kind, "title": title, "description": description, "datasource": DS, "targets": targets,
            **extra}


def _stat(title: str, description: str, expr: str, color: str = "red") -> dict[str, Any]:
    return _panel("stat", title, description, [_target(expr)], fieldConfig={"defaults": {
        "unit": "short", "color": {"mode": "thresholds"},
        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                    {"color": color, "value": 1}]}}, "overrides": []},
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "colorMode": "background", "graphMode": "area", "textMode": "auto"})


def _timeseries(title: str, description: str, targets: list[dict[str, Any]], unit: str = "short",
                stack: bool = False) -> dict[str, Any]:
    custom: dict[str, Any] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 20 if stack else 0,
                              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    return _panel("timeseries", title, description, targets,
                  fieldConfig={"defaults": {"unit": unit, "custom": custom}, "overrides": []},
                  options={"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull"]},
                           "tooltip": {"mode": "multi", "sort": "desc"}})


def _table(title: str, description: str, expr: str, hide: tuple[str, ...] = ("Time",)) -> dict[str, Any]:
    return _panel("table", title, description, [_target(expr, instant=True)],
                  fieldConfig={"defaults": {"custom": {"align": "auto"}}, "overrides": []},
                  options={"showHeader": True, "sortBy": [{"displayName": "Value", "desc": True}]},
                  transformations=[{"id": "organize", "options": {
                      "excludeByName": dict.fromkeys(hide, True), "renameByName": {"Value": "count"}}}])


def dashboard() -> dict[str, Any]:
    lay = Layout()
    vulns = f"vigil_image_vulnerabilities{{{SEL}, {SEV}}}"
    crit = f'vigil_image_vulnerabilities{{{SEL}, severity="Critical"}}'
    secrets = f"vigil_image_exposedsecrets{{{SEL}}}"
    # one digest counts once per image, however many workloads run it
    per_image = f"max by (cluster, image_registry, image_repository, image_tag, image_digest, severity) ({vulns})"

    lay.row("Cluster overview")
    lay.add(_stat("Critical vulnerabilities", "Critical findings summed over every running workload container.",
                  f"sum({crit})"), 4, 4)
    lay.add(_stat("High vulnerabilities", "High findings summed over every running workload container.",
                  f'sum(vigil_image_vulnerabilities{{{SEL}, severity="High"}})', "orange"), 4, 4)
    lay.add(_stat("Exposed secrets", "Secrets found in the images the workloads run.", f"sum({secrets})"), 4, 4)
    lay.add(_stat("Workloads with criticals", "Workloads running at least one image with a critical finding.",
                  f"count(sum by (cluster, namespace, resource_kind, resource_name) ({crit}) > 0)"), 4, 4)
    lay.add(_stat("Workloads reported", "Workloads with a vulnerability report.",
                  f"count(count by (cluster, namespace, resource_kind, resource_name) "
                  f"(vigil_image_vulnerabilities{{{SEL}}}))", "blue"), 4, 4)
    lay.add(_stat("Image digests scanned", "Digests with a current scan result in the operator.",
                  'sum(vigil_operator_scanned_digests{cluster=~"$cluster"})', "blue"), 4, 4)

    lay.row("Vulnerabilities over time")
    lay.add(_timeseries("Vulnerabilities by severity", "Findings of the running workloads, by severity.",
                        [_target(f"sum by (severity) ({vulns})", "{{severity}}")], stack=True), 12, 8)
    lay.add(_timeseries("Criticals now and 24 hours ago",
                        "What the 'more criticals than yesterday' alerts compare.",
                        [_target(f"sum({crit})", "now"), _target(f"sum({crit} offset 1d)", "24 hours ago")]),
            12, 8)
    lay.add(_timeseries("Criticals by namespace", "Critical findings per namespace.",
                        [_target(f"sum by (namespace) ({crit})", "{{namespace}}")], stack=True), 24, 8)

    lay.row("Top vulnerable images and workloads")
    lay.add(_table("Top vulnerable images", "Images by findings of the chosen severities (each digest once).",
                   f"topk(15, sum by (image_registry, image_repository, image_tag) ({per_image}))"), 12, 9)
    lay.add(_table("Top vulnerable workloads", "Workloads by findings of the chosen severities.",
                   f"topk(15, sum by (namespace, resource_kind, resource_name) ({vulns}))"), 12, 9)

    lay.row("Exposed secrets")
    lay.add(_table("Workloads with exposed secrets", "Every workload container whose image holds a secret.",
                   f"sum by (namespace, resource_kind, resource_name, container_name, image_repository, image_tag) "
                   f"({secrets}) > 0"), 24, 8)

    lay.row("Configuration audit")
    lay.add(_timeseries("Config audit failures by severity", "Failed configuration checks of the workloads.",
                        [_target(f"sum by (severity) (vigil_resource_configaudits{{{SEL}, {SEV}}})",
                                 "{{severity}}")], stack=True), 6, 8)
    lay.add(_table("Config audit failures by workload", "Failed checks per audited object.",
                   f"topk(15, sum by (namespace, resource_kind, resource_name) "
                   f"(vigil_resource_configaudits{{{SEL}, {SEV}}}) > 0)"), 6, 8)
    lay.add(_table("RBAC assessment failures by role", "Failed RBAC checks per Role.",
                   f"topk(15, sum by (namespace, resource_kind, resource_name) "
                   f"(vigil_role_rbacassessments{{{SEL}, {SEV}}}) > 0)"), 6, 8)
    lay.add(_table("RBAC assessment failures by cluster role", "Failed RBAC checks per ClusterRole.",
                   f"topk(15, sum by (resource_name) "
                   f'(vigil_clusterrole_clusterrbacassessments{{cluster=~"$cluster", {SEV}}}) > 0)'), 6, 8)

    lay.row("Scan pipeline health")
    op = 'cluster=~"$cluster"'
    lay.add(_stat("Operator up", "Whether Prometheus scrapes the operator.",
                  f'sum(up{{job="{OPERATOR_JOB}", {op}}})', "green"), 4, 5)
    lay.add(_stat("DB age", "Time since the vulnerability DB the scans use was built.",
                  f"time() - max(vigil_db_updated_timestamp_seconds{{{op}}})", "orange"), 4, 5)
    lay.add(_timeseries("Queue and running Jobs", "Digests waiting for a Job slot, and Jobs running.",
                        [_target(f"sum(vigil_operator_queue_length{{{op}}})", "queued"),
                         _target(f"sum(vigil_operator_running_jobs{{{op}}})", "running")]), 8, 5)
    lay.add(_timeseries("Scan Jobs and failures", "Scan Jobs created and failed per hour, failures by reason.",
                        [_target(f"sum(increase(vigil_operator_scan_jobs_created_total{{{op}}}[1h]))", "created"),
                         _target(f"sum by (reason) (increase(vigil_operator_scan_failures_total{{{op}}}[1h]))",
                                 "failed: {{reason}}")]), 8, 5)
    lay.add(_timeseries("Scan duration", "Scan Job duration, median and 95th percentile.",
                        [_target("histogram_quantile(0.5, sum by (le) "
                                 f"(rate(vigil_operator_scan_duration_seconds_bucket{{{op}}}[$__rate_interval])))",
                                 "p50"),
                         _target("histogram_quantile(0.95, sum by (le) "
                                 f"(rate(vigil_operator_scan_duration_seconds_bucket{{{op}}}[$__rate_interval])))",
                                 "p95")], unit="s"), 12, 7)
    lay.add(_timeseries("Reports written", "Report custom resources created or updated per minute.",
                        [_target(f"sum(rate(vigil_operator_reports_written_total{{{op}}}[$__rate_interval])) * 60",
                                 "reports/min")]), 12, 7)

    def var_query(name: str, label: str, query: str, depends: str = "") -> dict[str, Any]:
        return {"name": name, "label": label, "type": "query", "datasource": DS,
                "query": {"query": query, "refId": f"{name}-var"}, "definition": query, "refresh": 2,
                "includeAll": True, "multi": True, "allValue": ".*", "sort": 1,
                "current": {"selected": True, "text": ["All"], "value": ["$__all"]}}

    sevs = ["Critical", "High", "Medium", "Low", "Unknown"]
    templating = [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "refresh": 1, "hide": 0},
        var_query("cluster", "Cluster", "label_values(vigil_operator_running_jobs, cluster)"),
        var_query("namespace", "Namespace", 'label_values(vigil_image_vulnerabilities{cluster=~"$cluster"}, namespace)'),
        {"name": "severity", "label": "Severity", "type": "custom", "query": ",".join(sevs),
         "includeAll": True, "multi": True, "allValue": ".*",
         "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
         "options": [{"selected": False, "text": s, "value": s} for s in sevs]},
    ]
    return {
        "uid": "vigil-operator", "title": "Vigil Operator", "description":
            "Vulnerabilities, exposed secrets and configuration audits of the workloads the Vigil operator scans, "
            "and the health of its scan pipeline.",
        "tags": ["vigil", "security", "kubernetes"], "schemaVersion": 39, "version": 1, "editable": True,
        "graphTooltip": 1, "timezone": "browser", "refresh": "1m", "time": {"from": "now-7d", "to": "now"},
        "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                  "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                  "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [], "templating": {"list": templating}, "panels": lay.panels,
    }


def render_dashboard() -> str:
    return json.dumps(dashboard(), indent=2, sort_keys=False) + "\n"


def outputs() -> dict[Path, str]:
    return {RULES_FILE: render_rules(), DASHBOARD_FILE: render_dashboard()}


def main(argv: list[str]) -> int:
    stale = [p for p, text in outputs().items() if not p.is_file() or p.read_text() != text]
    if "--check" in argv:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is not current: run python tools/gen_observability.py", file=sys.stderr)
        return 1 if stale else 0
    for p, text in outputs().items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
