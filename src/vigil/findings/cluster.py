"""The report of a cluster scan (`vigil k8s`): Trivy's k8s JSON shape (ClusterName + Resources[], each with
Namespace, Kind, Name and the Results of its images and of its own configuration), plus what Vigil adds: the
images of each resource with their running digests, the nodes and control-plane components (the KBOM), and the
gaps (what could not be read or pulled, and why)."""

from __future__ import annotations

import msgspec

from vigil.findings.records import REPORT_SCHEMA_VERSION, Result
from vigil.inventory.records import Record


class ResourceImage(Record, frozen=True, kw_only=True):
    """A container of a resource and the image it runs (Digest: what the kubelet pulled; "" when not running)."""

    container: str
    container_type: str = "container"
    image: str  # spec reference
    digest: str = ""
    pull_ref: str = ""
    injected: bool = False  # not in the workload's template (a sidecar added by a webhook)
    state: str = ""
    error: str = ""  # why the image could not be scanned (pull refused, not found, …)


class ResourceReport(Record, frozen=True, kw_only=True):
    namespace: str = ""
    kind: str
    name: str
    images: tuple[ResourceImage, ...] = ()
    results: tuple[Result, ...] = ()
    error: str = ""

    def counts(self) -> tuple[dict[str, int], int, int]:
        """(vulnerabilities by severity, FAIL misconfigurations, secrets)."""
        vulns: dict[str, int] = {}
        for r in self.results:
            for v in r.vulnerabilities:
                vulns[v.severity] = vulns.get(v.severity, 0) + 1
        mis = sum(1 for r in self.results for m in r.misconfigurations if m.status == "FAIL")
        sec = sum(len(r.secrets) for r in self.results)
        return vulns, mis, sec

    def findings_count(self) -> int:
        v, m, s = self.counts()
        return sum(v.values()) + m + s


class ClusterNode(Record, frozen=True, kw_only=True):
    name: str
    kubelet_version: str = ""
    kube_proxy_version: str = ""
    container_runtime: str = ""
    kernel_version: str = ""
    os_image: str = ""
    architecture: str = ""


class ClusterComponent(Record, frozen=True, kw_only=True):
    name: str
    version: str = ""
    image: str = ""
    digest: str = ""


class ScanGap(Record, frozen=True, kw_only=True):
    verb: str
    resource: str
    namespace: str = ""
    reason: str


class ScanStats(Record, frozen=True, kw_only=True):
    """How much work the scan did: image scans are one per distinct image (digest), not one per container."""

    workloads: int = 0
    containers: int = 0
    distinct_images: int = 0
    images_scanned: int = 0
    images_failed: int = 0


class ClusterReport(Record, frozen=True, kw_only=True, omit_defaults=False):
    schema_version: int = REPORT_SCHEMA_VERSION
    vigil_version: str = ""
    created_at: str = ""
    cluster_name: str
    server_version: str = ""
    resources: tuple[ResourceReport, ...] = ()
    nodes: tuple[ClusterNode, ...] = ()
    components: tuple[ClusterComponent, ...] = ()
    gaps: tuple[ScanGap, ...] = ()
    stats: ScanStats = ScanStats()

    def findings_count(self) -> int:
        """What --exit-code counts: findings left after filtering, over every resource."""
        return sum(r.findings_count() for r in self.resources)


def encode(report: ClusterReport) -> bytes:
    return msgspec.json.encode(report)
