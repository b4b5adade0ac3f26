"""The operator's Prometheus metrics (served on /metrics by the shell).

Per workload and container, from the reports the operator wrote: `vigil_image_vulnerabilities{namespace,
resource_kind, resource_name, container_name, image_registry, image_repository, image_tag, image_digest,
severity}` and `vigil_image_exposedsecrets{…}`; the pipeline's own: queue length, running Jobs, Jobs created,
failures by reason, reports written. With `trivy_metric_names` the per-workload gauges are also exported under Trivy
Operator's names (`trivy_image_vulnerabilities`, `trivy_image_exposedsecrets`) so its dashboards and alerts keep
working.

A gauge family is rebuilt from the current state at each pass (a custom collector), so a workload that is gone
leaves no stale series behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from vigil.operator.reports import split_ref

if TYPE_CHECKING:
    from vigil.operator.reconciler import Reconciler
    from vigil.sources.k8s.model import ContainerImage, Workload

LABELS = ["namespace", "resource_kind", "resource_name", "container_name", "image_registry", "image_repository",
          "image_tag", "image_digest", "severity"]
_SEVERITY_KEYS = (("Critical", "criticalCount"), ("High", "highCount"), ("Medium", "mediumCount"),
                  ("Low", "lowCount"), ("Unknown", "unknownCount"))


class Metrics(Collector):
    def __init__(self, trivy_names: bool = False) -> None:
        self.trivy_names = trivy_names
        self.registry = CollectorRegistry()
        self._vulns: list[tuple[list[str], float]] = []
        self._secrets: list[tuple[list[str], float]] = []
        self._stats: dict[str, Any] = {}
        self.registry.register(self)

    def update(self, rec: Reconciler, uses: dict[str, list[tuple[Workload, ContainerImage]]]) -> None:
        vulns: list[tuple[list[str], float]] = []
        secrets: list[tuple[list[str], float]] = []
        for digest, used in uses.items():
            res = rec.results.get(digest)
            if res is None:
                continue
            registry, repository, tag = split_ref(res.ref)
            for w, c in used:
                base = [w.namespace, w.kind, w.name, c.container, registry, repository,
                        tag or _tag(c.spec_image), digest]
                for sev, key in _SEVERITY_KEYS:
                    vulns.append(([*base, sev], float(res.vuln["summary"].get(key, 0))))
                    if key != "unknownCount":
                        secrets.append(([*base, sev], float(res.secret["summary"].get(key, 0))))
        self._vulns, self._secrets = vulns, secrets
        s = rec.stats
        self._stats = {"queue": s.queue, "running": s.jobs_running, "created": s.jobs_created,
                       "written": s.reports_written, "failures": dict(s.failures), "digests": len(rec.results)}

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        names = [("vigil_image_vulnerabilities", "vigil_image_exposedsecrets")]
        if self.trivy_names:
            names.append(("trivy_image_vulnerabilities", "trivy_image_exposedsecrets"))
        for vname, sname in names:
            v = GaugeMetricFamily(vname, "Vulnerabilities of the image a workload's container runs, by severity",
                                  labels=LABELS)
            for labels, value in self._vulns:
                v.add_metric(labels, value)
            yield v
            se = GaugeMetricFamily(sname, "Exposed secrets in the image a workload's container runs, by severity",
                                   labels=LABELS)
            for labels, value in self._secrets:
                se.add_metric(labels, value)
            yield se
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


def _tag(ref: str) -> str:
    return split_ref(ref)[2]
