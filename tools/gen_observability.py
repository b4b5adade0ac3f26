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
# Built with Grafana's own generator (grafana-foundation-sdk, a dev dependency: only this tool and the tests need it),
# so the model follows Grafana's schema for the SDK's Grafana version; its builders lay the panels out left to right
# on the 24-column grid, starting a new line when a line is full.

SEL = 'cluster=~"$cluster", namespace=~"$namespace"'
SEV = 'severity=~"$severity"'
SEVERITIES = ["Critical", "High", "Medium", "Low", "Unknown"]


def dashboard() -> Any:
    """The dashboard model (grafana_foundation_sdk.models.dashboard.Dashboard)."""
    from grafana_foundation_sdk.builders import common as cb
    from grafana_foundation_sdk.builders import dashboard as db
    from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
    from grafana_foundation_sdk.models import common as cm
    from grafana_foundation_sdk.models import dashboard as dm
    from grafana_foundation_sdk.models import prometheus as pm

    ds = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
    ids = iter(range(1, 1000))

    def target(expr: str, legend: str = "", instant: bool = False) -> Any:
        q = prometheus.Dataquery().datasource(ds).expr(" ".join(expr.split())).legend_format(legend)
        return q.instant().format(pm.PromQueryFormat.TABLE) if instant else q

    def panel(builder: Any, title: str, description: str, targets: list[Any], w: int, h: int) -> Any:
        builder.id(next(ids)).title(title).description(description).datasource(ds).span(w).height(h)
        for ref, t in zip("ABCDEFGH", targets, strict=False):
            builder.with_target(t.ref_id(ref))
        return builder

    def stat_(title: str, description: str, expr: str, w: int, h: int, color: str = "red") -> Any:
        return panel(stat.Panel(), title, description, [target(expr)], w, h).unit("short") \
            .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS)) \
            .thresholds(db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
                [dm.Threshold(value=None, color="green"), dm.Threshold(value=1, color=color)])) \
            .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)) \
            .color_mode(cm.BigValueColorMode.BACKGROUND).graph_mode(cm.BigValueGraphMode.AREA) \
            .text_mode(cm.BigValueTextMode.AUTO)

    def series(title: str, description: str, targets: list[Any], w: int, h: int, unit: str = "short",
               stack: bool = False) -> Any:
        return panel(timeseries.Panel(), title, description, targets, w, h).unit(unit) \
            .draw_style(cm.GraphDrawStyle.LINE).line_width(1).fill_opacity(20 if stack else 0) \
            .stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL if stack else cm.StackingMode.NONE)
                      .group("A")) \
            .legend(cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.TABLE)
                    .placement(cm.LegendPlacement.RIGHT).show_legend(True).calcs(["lastNotNull"])) \
            .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))

    def table_(title: str, description: str, expr: str, w: int, h: int) -> Any:
        return panel(table.Panel(), title, description, [target(expr, instant=True)], w, h) \
            .show_header(True).sort_by([cb.TableSortByFieldState().display_name("Value").desc(True)]) \
            .with_transformation(dm.DataTransformerConfig(id_val="organize", options={
                "excludeByName": {"Time": True}, "renameByName": {"Value": "count"}}))

    def row(title: str) -> Any:
        return db.Row(title).id(next(ids))

    vulns = f"vigil_image_vulnerabilities{{{SEL}, {SEV}}}"
    crit = f'vigil_image_vulnerabilities{{{SEL}, severity="Critical"}}'
    secrets = f"vigil_image_exposedsecrets{{{SEL}}}"
    # one digest counts once per image, however many workloads run it
    per_image = f"max by (cluster, image_registry, image_repository, image_tag, image_digest, severity) ({vulns})"
    op = 'cluster=~"$cluster"'
    everything = "All"
    all_current = dm.VariableOption(selected=True, text=[everything], value=["$__all"])

    board = db.Dashboard("Vigil Operator").uid("vigil-operator").description(
        "Vulnerabilities, exposed secrets and configuration audits of the workloads the Vigil operator scans, "
        "and the health of its scan pipeline.").tags(["vigil", "security", "kubernetes"]).version(1).editable() \
        .tooltip(dm.DashboardCursorSync.CROSSHAIR).timezone("browser").refresh("1m").time("now-7d", "now") \
        .links([]).annotation(db.AnnotationQuery().name("Annotations & Alerts").built_in(1).enable(True).hide(True)
                    .datasource(dm.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
                    .icon_color("rgba(0, 211, 255, 1)").type("dashboard"))
    board.with_variable(db.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    for name, label, query in (
            ("cluster", "Cluster", "label_values(vigil_operator_running_jobs, cluster)"),
            ("namespace", "Namespace", 'label_values(vigil_image_vulnerabilities{cluster=~"$cluster"}, namespace)')):
        board.with_variable(db.QueryVariable(name).label(label).datasource(ds)
                            .query({"query": query, "refId": f"{name}-var"})
                            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
                            .multi(True).include_all(True).all_value(".*").current(all_current))
    board.with_variable(db.CustomVariable("severity").label("Severity").values(",".join(SEVERITIES))
                        .multi(True).include_all(True).all_value(".*").current(all_current)
                        .options([dm.VariableOption(selected=False, text=s, value=s) for s in SEVERITIES]))

    board.with_row(row("Cluster overview"))
    board.with_panel(stat_("Critical vulnerabilities", "Critical findings summed over every running workload "
                           "container.", f"sum({crit})", 4, 4))
    board.with_panel(stat_("High vulnerabilities", "High findings summed over every running workload container.",
                           f'sum(vigil_image_vulnerabilities{{{SEL}, severity="High"}})', 4, 4, "orange"))
    board.with_panel(stat_("Exposed secrets", "Secrets found in the images the workloads run.", f"sum({secrets})",
                           4, 4))
    board.with_panel(stat_("Workloads with criticals", "Workloads running at least one image with a critical "
                           "finding.", f"count(sum by (cluster, namespace, resource_kind, resource_name) ({crit}) > 0)",
                           4, 4))
    board.with_panel(stat_("Workloads reported", "Workloads with a vulnerability report.",
                           f"count(count by (cluster, namespace, resource_kind, resource_name) "
                           f"(vigil_image_vulnerabilities{{{SEL}}}))", 4, 4, "blue"))
    board.with_panel(stat_("Image digests scanned", "Digests with a current scan result in the operator.",
                           f"sum(vigil_operator_scanned_digests{{{op}}})", 4, 4, "blue"))

    board.with_row(row("Vulnerabilities over time"))
    board.with_panel(series("Vulnerabilities by severity", "Findings of the running workloads, by severity.",
                            [target(f"sum by (severity) ({vulns})", "{{severity}}")], 12, 8, stack=True))
    board.with_panel(series("Criticals now and 24 hours ago", "What the 'more criticals than yesterday' alerts "
                            "compare.", [target(f"sum({crit})", "now"),
                                         target(f"sum({crit} offset 1d)", "24 hours ago")], 12, 8))
    board.with_panel(series("Criticals by namespace", "Critical findings per namespace.",
                            [target(f"sum by (namespace) ({crit})", "{{namespace}}")], 24, 8, stack=True))

    board.with_row(row("Top vulnerable images and workloads"))
    board.with_panel(table_("Top vulnerable images", "Images by findings of the chosen severities (each digest "
                            "once).", f"topk(15, sum by (image_registry, image_repository, image_tag) ({per_image}))",
                            12, 9))
    board.with_panel(table_("Top vulnerable workloads", "Workloads by findings of the chosen severities.",
                            f"topk(15, sum by (namespace, resource_kind, resource_name) ({vulns}))", 12, 9))

    board.with_row(row("Exposed secrets"))
    board.with_panel(table_("Workloads with exposed secrets", "Every workload container whose image holds a secret.",
                            f"sum by (namespace, resource_kind, resource_name, container_name, image_repository, "
                            f"image_tag) ({secrets}) > 0", 24, 8))

    board.with_row(row("Configuration audit"))
    board.with_panel(series("Config audit failures by severity", "Failed configuration checks of the workloads.",
                            [target(f"sum by (severity) (vigil_resource_configaudits{{{SEL}, {SEV}}})",
                                    "{{severity}}")], 12, 8, stack=True))
    board.with_panel(table_("Config audit failures by check", "The checks most resources fail, with the number of "
                            "resources failing each.",
                            f"topk(15, sum by (check_id, severity) "
                            f"(vigil_configaudit_check_failures{{{SEL}, {SEV}}}))", 12, 8))
    board.with_panel(table_("Config audit failures by workload", "Failed checks per audited object.",
                            f"topk(15, sum by (namespace, resource_kind, resource_name) "
                            f"(vigil_resource_configaudits{{{SEL}, {SEV}}}) > 0)", 8, 8))
    board.with_panel(table_("RBAC assessment failures by role", "Failed RBAC checks per Role.",
                            f"topk(15, sum by (namespace, resource_kind, resource_name) "
                            f"(vigil_role_rbacassessments{{{SEL}, {SEV}}}) > 0)", 8, 8))
    board.with_panel(table_("RBAC assessment failures by cluster role", "Failed RBAC checks per ClusterRole.",
                            f"topk(15, sum by (resource_name) "
                            f'(vigil_clusterrole_clusterrbacassessments{{cluster=~"$cluster", {SEV}}}) > 0)', 8, 8))

    board.with_row(row("Scan pipeline health"))
    board.with_panel(stat_("Operator up", "Whether Prometheus scrapes the operator.",
                           f'sum(up{{job="{OPERATOR_JOB}", {op}}})', 4, 5, "green"))
    board.with_panel(stat_("DB age", "Time since the vulnerability DB the scans use was built.",
                           f"time() - max(vigil_db_updated_timestamp_seconds{{{op}}})", 4, 5, "orange"))
    board.with_panel(series("Queue and running Jobs", "Digests waiting for a Job slot, and Jobs running.",
                            [target(f"sum(vigil_operator_queue_length{{{op}}})", "queued"),
                             target(f"sum(vigil_operator_running_jobs{{{op}}})", "running")], 8, 5))
    board.with_panel(series("Scan Jobs and failures", "Scan Jobs created and failed per hour, failures by reason.",
                            [target(f"sum(increase(vigil_operator_scan_jobs_created_total{{{op}}}[1h]))", "created"),
                             target(f"sum by (reason) (increase(vigil_operator_scan_failures_total{{{op}}}[1h]))",
                                    "failed: {{reason}}")], 8, 5))
    board.with_panel(series("Scan duration", "Scan Job duration, median and 95th percentile.",
                            [target("histogram_quantile(0.5, sum by (le) "
                                    f"(rate(vigil_operator_scan_duration_seconds_bucket{{{op}}}[$__rate_interval])))",
                                    "p50"),
                             target("histogram_quantile(0.95, sum by (le) "
                                    f"(rate(vigil_operator_scan_duration_seconds_bucket{{{op}}}[$__rate_interval])))",
                                    "p95")], 12, 7, unit="s"))
    board.with_panel(series("Reports written", "Report custom resources created or updated per minute.",
                            [target(f"sum(rate(vigil_operator_reports_written_total{{{op}}}[$__rate_interval])) * 60",
                                    "reports/min")], 12, 7))
    return board.build()


def render_dashboard() -> str:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    # sorted keys: the file does not depend on the order the SDK's models emit their fields in
    return json.dumps(dashboard(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


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
