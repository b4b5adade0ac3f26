"""The operator's Prometheus metrics (served on /metrics by the shell).

Findings, per workload, from the reports the operator wrote (one series per severity, zeros included, as Trivy
Operator exports them):
- `vigil_image_vulnerabilities` / `vigil_image_exposedsecrets{namespace, resource_kind, resource_name,
  container_name, image_registry, image_repository, image_tag, image_digest, severity}`
- `vigil_resource_configaudits` / `vigil_role_rbacassessments{namespace, resource_kind, resource_name, severity}`
  (`vigil_clusterrole_clusterrbacassessments{resource_kind, resource_name, severity}` for ClusterRoles)
- `vigil_configaudit_check_failures{namespace, check_id, severity}`: workloads of the namespace failing the
  configuration check; no resource label, so it is bounded by namespaces times checks (built-in and custom), however
  many workloads run
- opt-in (`metricsVulnId`): `vigil_vulnerability_id_info{namespace, resource_kind, resource_name, container_name,
  image_repository, image_digest, vuln_id, severity}` = 1, one series per distinct label set (never a duplicate:
  Trivy Operator's duplicate series made its whole scrape fail)
- `vigil_workload_report_timestamp_seconds{namespace, resource_kind, resource_name}`: when the findings the
  workload's current reports show were produced (its image's scan, or the re-match against a newer DB)

The pipeline's own: queue length, running Jobs, `vigil_operator_scan_duration_seconds` (a Job's run time),
`vigil_operator_scan_failures_total{reason}` (failed Jobs) and `vigil_operator_failed_digests{reason}` (digests that
used every retry), `vigil_operator_rematches_total{result}` (DB-update re-matches), `vigil_operator_reports{kind}`
(the report custom resources the operator maintains), and the server's DB: `vigil_db_updated_timestamp_seconds`,
`vigil_db_next_update_timestamp_seconds`.

With `trivyMetricNames` the findings families are also exported under Trivy Operator's names
(`trivy_image_vulnerabilities`, `trivy_image_exposedsecrets`, `trivy_resource_configaudits`,
`trivy_role_rbacassessments`, `trivy_clusterrole_clusterrbacassessments`, `trivy_vulnerability_id`) with its extra
`name` label (the report's name), so its dashboards and alerts keep working.

The gauge families are rebuilt from the current state at each pass (a custom collector), so a workload that is
gone leaves no stale series behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from vigil.operator.reports import report_name, split_ref

if TYPE_CHECKING:
    from vigil.operator.reconciler import Reconciler
    from vigil.sources.k8s.model import ContainerImage, Workload

IMAGE_LABELS = ["namespace", "resource_kind", "resource_name", "container_name", "image_registry",
                "image_repository", "image_tag", "image_digest", "severity"]
RESOURCE_LABELS = ["namespace", "resource_kind", "resource_name", "severity"]
CLUSTER_LABELS = ["resource_kind", "resource_name", "severity"]
CHECK_LABELS = ["namespace", "check_id", "severity"]
VULN_ID_LABELS = ["namespace", "resource_kind", "resource_name", "container_name", "image_repository",
                  "image_digest", "vuln_id", "severity"]
_SEVERITY_KEYS = (("Critical", "criticalCount"), ("High", "highCount"), ("Medium", "mediumCount"),
                  ("Low", "lowCount"), ("Unknown", "unknownCount"))
_TITLE = {"CRITICAL": "Critical", "HIGH": "High", "MEDIUM": "Medium", "LOW": "Low", "UNKNOWN": "Unknown"}
# Scan Jobs take seconds (a cached image on a warm server) to many minutes (a large image, a cold cache)
DURATION_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)

Series = list[tuple[list[str], float]]


class Metrics(Collector):
    def __init__(self, trivy_names: bool = False, vuln_id: bool = False) -> None:
        self.trivy_names = trivy_names
        self.vuln_id = vuln_id
        self.registry = CollectorRegistry()
        # (labels, value, the report's name: Trivy's extra label)
        self._vulns: list[tuple[list[str], float, str]] = []
        self._secrets: list[tuple[list[str], float, str]] = []
        self._audits: dict[str, list[tuple[list[str], float, str]]] = {}
        self._vuln_ids: list[tuple[list[str], str]] = []
        self._check_failures: Series = []
        self._report_times: Series = []
        self._reports: dict[str, int] = {}
        self._stats: dict[str, Any] = {}
        self.scan_duration = Histogram("vigil_operator_scan_duration_seconds",
                                       "Run time of the scan Jobs (start to completion)",
                                       buckets=DURATION_BUCKETS, registry=self.registry)
        self.registry.register(self)

    def update(self, rec: Reconciler, uses: dict[str, list[tuple[Workload, ContainerImage]]]) -> None:
        vulns: list[tuple[list[str], float, str]] = []
        secrets: list[tuple[list[str], float, str]] = []
        ids: dict[tuple[str, ...], str] = {}
        times: dict[tuple[str, str, str], float] = {}
        reports = {"VulnerabilityReport": 0, "ExposedSecretReport": 0, "SbomReport": 0, "ConfigAuditReport": 0,
                   "RbacAssessmentReport": 0, "ClusterRbacAssessmentReport": 0}
        failed: dict[str, int] = {}
        for digest, used in uses.items():
            res = rec.results.get(digest)
            if res is None:
                fail = rec.failures.get(digest)
                if fail is not None and fail.attempts >= rec.cfg.scan_job_retries:
                    failed[fail.reason] = failed.get(fail.reason, 0) + 1
                    reports["VulnerabilityReport"] += len(used)  # the failure reports
                continue
            registry, repository, tag = split_ref(res.ref)
            for w, c in used:
                name = report_name(w.kind, w.name, c.container)
                base = [w.namespace, w.kind, w.name, c.container, registry, repository,
                        tag or _tag(c.spec_image), digest]
                for sev, key in _SEVERITY_KEYS:
                    vulns.append(([*base, sev], float(res.vuln["summary"].get(key, 0)), name))
                    if key != "unknownCount":
                        secrets.append(([*base, sev], float(res.secret["summary"].get(key, 0)), name))
                reports["VulnerabilityReport"] += 1
                reports["ExposedSecretReport"] += 1
                reports["SbomReport"] += res.sbom is not None
                wk = (w.namespace, w.kind, w.name)
                times[wk] = max(times.get(wk, 0.0), res.reported_at)
                if self.vuln_id:
                    for vid, sev in res.vuln_ids:
                        ids.setdefault((w.namespace, w.kind, w.name, c.container, repository, digest, vid,
                                        _TITLE.get(sev, "Unknown")), name)
        audits: dict[str, list[tuple[list[str], float, str]]] = {}
        for (cr_kind, ns, kind, obj), summary in sorted(rec.audits.items()):
            reports[cr_kind] = reports.get(cr_kind, 0) + 1
            name = report_name(kind, obj)
            for sev, key in _SEVERITY_KEYS[:4]:
                labels = [kind, obj, sev] if cr_kind == "ClusterRbacAssessmentReport" else [ns, kind, obj, sev]
                audits.setdefault(cr_kind, []).append((labels, float(summary.get(key, 0)), name))
        checks: dict[tuple[str, str, str], int] = {}
        for (cr_kind, ns, _kind, _obj), failing in rec.audit_failures.items():
            if cr_kind == "ConfigAuditReport":
                for check_id, sev in failing:
                    check = (ns, check_id, _TITLE.get(sev, "Unknown"))
                    checks[check] = checks.get(check, 0) + 1
        self._check_failures = [(list(k), float(n)) for k, n in sorted(checks.items())]
        self._vulns, self._secrets, self._audits = vulns, secrets, audits
        self._vuln_ids = [(list(k), n) for k, n in sorted(ids.items())]
        self._report_times = [([ns, kind, name], t) for (ns, kind, name), t in sorted(times.items())]
        self._reports = reports
        for seconds in rec.stats.scan_seconds:
            self.scan_duration.observe(seconds)
        rec.stats.scan_seconds.clear()
        s = rec.stats
        db = rec.db
        self._stats = {"queue": s.queue, "running": s.jobs_running, "created": s.jobs_created,
                       "written": s.reports_written, "failures": dict(s.failures), "digests": len(rec.results),
                       "failed_digests": failed, "rematches": dict(s.rematches),
                       "db_built": _epoch(db.built_at) if db else None,
                       "db_next": _epoch(db.next_update) if db else None}

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        families = [("vigil", False)] + ([("trivy", True)] if self.trivy_names else [])
        for prefix, with_name in families:
            yield _family(f"{prefix}_image_vulnerabilities",
                          "Vulnerabilities of the image a workload's container runs, by severity",
                          IMAGE_LABELS, self._vulns, with_name)
            yield _family(f"{prefix}_image_exposedsecrets",
                          "Exposed secrets in the image a workload's container runs, by severity",
                          IMAGE_LABELS, self._secrets, with_name)
            yield _family(f"{prefix}_resource_configaudits", "Failed configuration checks of a workload, by severity",
                          RESOURCE_LABELS, self._audits.get("ConfigAuditReport", []), with_name)
            yield _family(f"{prefix}_role_rbacassessments", "Failed RBAC checks of a Role, by severity",
                          RESOURCE_LABELS, self._audits.get("RbacAssessmentReport", []), with_name)
            yield _family(f"{prefix}_clusterrole_clusterrbacassessments",
                          "Failed RBAC checks of a ClusterRole, by severity", CLUSTER_LABELS,
                          self._audits.get("ClusterRbacAssessmentReport", []), with_name)
            if self.vuln_id:
                info = "vigil_vulnerability_id_info" if prefix == "vigil" else "trivy_vulnerability_id"
                yield _family(info, "One series per vulnerability of the image a workload's container runs (1)",
                              VULN_ID_LABELS, [(labels, 1.0, n) for labels, n in self._vuln_ids], with_name)
        cf = GaugeMetricFamily("vigil_configaudit_check_failures",
                               "Workloads failing a configuration check, by namespace and check", labels=CHECK_LABELS)
        for labels, value in self._check_failures:
            cf.add_metric(labels, value)
        yield cf
        t = GaugeMetricFamily("vigil_workload_report_timestamp_seconds",
                              "When the findings of the workload's current reports were produced (scan or "
                              "re-match against a newer DB), Unix time",
                              labels=["namespace", "resource_kind", "resource_name"])
        for labels, value in self._report_times:
            t.add_metric(labels, value)
        yield t
        r = GaugeMetricFamily("vigil_operator_reports", "Report custom resources the operator maintains, by kind",
                              labels=["kind"])
        for kind, n in sorted(self._reports.items()):
            r.add_metric([kind], n)
        yield r
        st = self._stats
        yield GaugeMetricFamily("vigil_operator_queue_length", "Digests waiting for a scan Job slot",
                                value=st.get("queue", 0))
        yield GaugeMetricFamily("vigil_operator_running_jobs", "Scan Jobs running", value=st.get("running", 0))
        yield GaugeMetricFamily("vigil_operator_scanned_digests", "Image digests with a current result",
                                value=st.get("digests", 0))
        yield CounterMetricFamily("vigil_operator_scan_jobs_created", "Scan Jobs created",
                                  value=st.get("created", 0))
        yield CounterMetricFamily("vigil_operator_reports_written", "Report custom resources created or updated",
                                  value=st.get("written", 0))
        f = CounterMetricFamily("vigil_operator_scan_failures", "Failed scan Jobs, by reason", labels=["reason"])
        for reason, n in sorted((st.get("failures") or {}).items()):
            f.add_metric([reason], n)
        yield f
        fd = GaugeMetricFamily("vigil_operator_failed_digests",
                               "Image digests whose scan failed every retry (their workloads have failure reports), "
                               "by reason", labels=["reason"])
        for reason, n in sorted((st.get("failed_digests") or {}).items()):
            fd.add_metric([reason], n)
        yield fd
        rm = CounterMetricFamily("vigil_operator_rematches",
                                 "Digests re-matched against a new DB without a Job, by result "
                                 "(changed, unchanged, failed)", labels=["result"])
        for result, n in sorted((st.get("rematches") or {}).items()):
            rm.add_metric([result], n)
        yield rm
        for key, name, text in (("db_built", "vigil_db_updated_timestamp_seconds",
                                 "When the server's vulnerability DB was built, Unix time"),
                                ("db_next", "vigil_db_next_update_timestamp_seconds",
                                 "When the server's vulnerability DB is due for its next update, Unix time")):
            g = GaugeMetricFamily(name, text)
            if st.get(key) is not None:
                g.add_metric([], st[key])
            yield g


def _family(name: str, text: str, labels: list[str], series: list[tuple[list[str], float, str]],
            with_name: bool) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, text, labels=(["name", *labels] if with_name else labels))
    for values, value, report in series:
        g.add_metric([report, *values] if with_name else values, value)
    return g


def _epoch(text: str) -> float | None:
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()


def _tag(ref: str) -> str:
    return split_ref(ref)[2]
