"""A cluster scan: the inventory of `vigil.sources.k8s`, each distinct image scanned once through the one
pipeline, live objects checked with the Kubernetes checks, everything fanned out to the workloads.

    inv    = await collect_inventory(client, InventoryOptions(...))      # list (sources layer)
    report = scan_cluster(inv, ClusterScanOptions(...), backend_factory)  # resolve, scan, audit

Images: the inventory maps every running image to a key (its digest, else the reference a pod would pull), so an
image that 300 pods run is pulled and analysed once, and its (filtered) findings are attached to each workload.
Image scans run as `vigil image` runs them, from the registry by digest, with the analysis cache the caller's
backend holds (layers already analysed are not downloaded again), `parallel` at a time. An image that cannot be
pulled is an error on each workload that runs it; the scan goes on.

Configuration: workloads, Services, Ingresses, NetworkPolicies and ServiceAccounts (--scanners misconfig) and
Roles/ClusterRoles and their bindings (--scanners rbac) are checked as the API serves them, with status,
managedFields and last-applied-configuration stripped; the ignore file, VEX and severities apply as everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from vigil.errors import UserError
from vigil.findings.cluster import (
    ClusterComponent,
    ClusterNode,
    ClusterReport,
    ResourceImage,
    ResourceReport,
    ScanGap,
    ScanStats,
)
from vigil.findings.records import Report, Result
from vigil.log import get_logger
from vigil.pipeline.backend import Backend
from vigil.pipeline.report import ReportFilters, apply_filters, load_filters
from vigil.settings import ScanOptions
from vigil.sources.image import AuthError, RegistryOptions
from vigil.sources.k8s.model import ContainerImage, Inventory, PullSecret, Workload

log = get_logger(__name__)

MISCONF_KINDS = frozenset({"Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
                           "ReplicationController", "Service", "Ingress", "NetworkPolicy", "ServiceAccount"})
RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})


@dataclass(frozen=True)
class ClusterScanOptions:
    scanners: frozenset[str]  # vuln, misconfig, secret, rbac
    scan: ScanOptions  # filters, DB, secret config, custom checks (what `vigil image` and `vigil config` take)
    registry: RegistryOptions = field(default_factory=RegistryOptions)
    parallel: int = 5  # images scanned at once
    pull_secrets_read: bool = False  # the inventory read the workloads' pull secrets (--scan-pull-secrets)


@dataclass
class PhaseTimes:
    """Seconds per phase, for benchmarks and --debug."""

    scan: float = 0.0
    audit: float = 0.0


def _pull_secrets_for(uses: list[tuple[Workload, ContainerImage]], inv: Inventory) -> list[PullSecret]:
    by_name = {(s.namespace, s.name): s for s in inv.pull_secrets}
    out: dict[tuple[str, str], PullSecret] = {}
    for w, _ in uses:
        for n in w.pull_secrets:
            s = by_name.get((w.namespace, n))
            if s is not None:
                out[(w.namespace, n)] = s
    return list(out.values())


@dataclass
class _ImageOutcome:
    report: Report | None = None
    error: str = ""


def _scan_images(inv: Inventory, opts: ClusterScanOptions, backend_factory: Callable[[], Backend],
                 on_image: Callable[[str], None] | None) -> dict[str, _ImageOutcome]:
    from vigil.pipeline.scan import scan
    from vigil.sources.image.source import ImageSource, ImageSourceOptions
    from vigil.sources.k8s.images import credentials_for

    groups = inv.images_by_key()
    image_scanners = tuple(s for s in ("vuln", "secret") if s in opts.scanners)
    outcomes: dict[str, _ImageOutcome] = {}
    if not image_scanners or not groups:
        return outcomes
    workers = max(1, opts.parallel)
    # several images at once: each scan analyses its layers in this thread (forking workers from threads is unsafe)
    base = msgspec.structs.replace(opts.scan, scanners=image_scanners, analyzer_kinds=("lockfile", "installed", "os"),
                               parallel=1 if workers > 1 else opts.scan.parallel)
    local = threading.local()
    backends: list[Backend] = []
    lock = threading.Lock()

    def backend() -> Backend:
        be: Backend | None = getattr(local, "backend", None)
        if be is None:
            be = backend_factory()
            local.backend = be
            with lock:
                backends.append(be)
        return be

    with tempfile.TemporaryDirectory(prefix="vigil-k8s-") as tmp:

        def one(key: str) -> tuple[str, _ImageOutcome]:
            uses = groups[key]
            ref = uses[0][1].pull_ref
            user, password = credentials_for(ref, _pull_secrets_for(uses, inv), Path(tmp))
            reg = msgspec.structs.replace(opts.registry, username=user or opts.registry.username,
                                          password=password or opts.registry.password, progress=False,
                                          platform=uses[0][1].platform or opts.registry.platform)
            io = ImageSourceOptions(reference=ref, image_src=("remote",), registry=reg)
            so = msgspec.structs.replace(base, target=Path(ref), artifact_name=ref)
            try:
                report = scan(ImageSource(io, ref, so.skip_dirs, so.skip_files), so, backend())
            except UserError as e:
                msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                if isinstance(e, AuthError) and not opts.pull_secrets_read and any(w.pull_secrets for w, _ in uses):
                    msg += " (the workload names imagePullSecrets: --scan-pull-secrets uses them)"
                return key, _ImageOutcome(error=msg)
            return key, _ImageOutcome(report=report)

        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vigil-k8s-image") as pool:
                for key, outcome in pool.map(one, list(groups)):
                    outcomes[key] = outcome
                    if outcome.error:
                        log.warning("image %s: %s", groups[key][0][1].pull_ref, outcome.error)
                    if on_image is not None:
                        on_image(key)
        finally:
            for be in backends:
                be.close()
    return outcomes


def _audit(inv: Inventory, opts: ClusterScanOptions, filters: ReportFilters) -> dict[tuple[str, str, str], Result]:
    """Configuration results of the live objects, keyed by (namespace, kind, name)."""
    from vigil.analyzers.misconf.scan import scan_files
    from vigil.pipeline.inputs import load_misconf_options

    kinds = (MISCONF_KINDS if "misconfig" in opts.scanners else frozenset()) | \
        (RBAC_KINDS if "rbac" in opts.scanners else frozenset())
    if not kinds:
        return {}
    files: dict[str, bytes] = {}
    keys: dict[str, tuple[str, str, str]] = {}
    objects = [(w.namespace, w.kind, w.name, w.manifest) for w in inv.workloads] + \
              [(r.namespace, r.kind, r.name, r.manifest) for r in inv.resources]
    for ns, kind, name, manifest in objects:
        if kind not in kinds or not manifest:
            continue
        target = f"{ns}/{kind}/{name}.yaml" if ns else f"{kind}/{name}.yaml"
        files[target] = manifest
        keys[target] = (ns, kind, name)
    misconf, _ = load_misconf_options(msgspec.structs.replace(opts.scan, scanners=("misconfig",)))
    out = scan_files(files, misconf)
    results: dict[tuple[str, str, str], Result] = {}
    for res in out.results:
        key = keys.get(res.target)
        if key is not None:
            results[key] = msgspec.structs.replace(res, target=f"{key[1]}/{key[2]}")
    return results


def audit_inventory(inv: Inventory, opts: ClusterScanOptions,
                    filters: ReportFilters) -> dict[tuple[str, str, str], Result]:
    """The configuration (and RBAC) checks of the inventory's live objects, keyed by (namespace, kind, name): what
    `vigil k8s` reports and the operator writes as ConfigAuditReports and RbacAssessmentReports."""
    return _audit(inv, opts, filters)


_CORE_VERSION = re.compile(r"^v?(\d+\.\d+\.\d+)")


def _component_targets(inv: Inventory) -> list[tuple[str, str, str, str]]:
    """(kind, name, component, version) of the Kubernetes binaries whose versions the cluster reports: the API
    server (/version) and each node's kubelet and kube-proxy. Vendor suffixes ("+k3s1", "-eks-61c0bbb") are
    dropped: advisories for k8s.io/kubernetes are ranged on the upstream release."""
    out = []
    if inv.server_version:
        out.append(("ControlPlane", "kube-apiserver", "k8s.io/kubernetes", inv.server_version))
    for n in inv.nodes:
        for comp, version in (("kubelet", n.kubelet_version), ("kube-proxy", n.kube_proxy_version)):
            if version:
                out.append(("Node", n.name, comp, version))
    return out


def _component_vulns(inv: Inventory, opts: ClusterScanOptions, backend_factory: Callable[[], Backend],
                     filters: ReportFilters) -> dict[tuple[str, str], list[Result]]:
    """Vulnerabilities of the API server, kubelets and kube-proxies, matched like any Go module against the
    advisories for k8s.io/kubernetes: one detection over a synthetic inventory, results keyed by (kind, name)."""
    from vigil.findings.analysis import ArtifactInfo, BlobInfo, content_key
    from vigil.inventory.records import Application, Package
    from vigil.pipeline.scan import detection_options

    targets = _component_targets(inv)
    if "vuln" not in opts.scanners or not targets:
        return {}
    apps = []
    for kind, name, comp, version in targets:
        m = _CORE_VERSION.match(version)
        if m is None:
            continue
        apps.append(Application(type="kubernetes", file_path=f"{kind}/{name} ({comp})", packages=(
            Package(ecosystem="go", name="k8s.io/kubernetes", version=f"v{m.group(1)}",
                    purl=f"pkg:golang/k8s.io/kubernetes@v{m.group(1)}"),)))
    if not apps:
        return {}
    blob = BlobInfo(diff_id="", applications=tuple(apps))
    key = content_key(blob)  # what a server checks an upload against
    be = backend_factory()
    try:
        be.put(key, blob)
        so = msgspec.structs.replace(opts.scan, scanners=("vuln",))
        report = be.scan(ArtifactInfo(name=inv.cluster_name, type="sbom"), [key], detection_options(so))
    finally:
        be.close()
    report = apply_filters(report, msgspec.structs.replace(filters, warnings=()))
    out: dict[tuple[str, str], list[Result]] = {}
    for res in report.results:
        kind, _, rest = res.target.partition("/")
        name = rest.rsplit(" (", 1)[0]
        out.setdefault((kind, name), []).append(res)
    return out


def _filtered(results: tuple[Result, ...], name: str, filters: ReportFilters) -> tuple[Result, ...]:
    if not results:
        return ()
    report = Report(artifact_name=name, artifact_type="filesystem", results=results)
    return apply_filters(report, msgspec.structs.replace(filters, warnings=())).results


def scan_cluster(inv: Inventory, opts: ClusterScanOptions, backend_factory: Callable[[], Backend],
                 on_image: Callable[[str], None] | None = None, times: PhaseTimes | None = None) -> ClusterReport:
    import time

    from vigil import __version__

    filters = load_filters(opts.scan)  # a bad ignore file or VEX document fails before any pull
    t0 = time.perf_counter()
    outcomes = _scan_images(inv, opts, backend_factory, on_image)
    t1 = time.perf_counter()
    audited = _audit(inv, opts, filters)
    t2 = time.perf_counter()
    if times is not None:
        times.scan, times.audit = t1 - t0, t2 - t1
    resources: list[ResourceReport] = []
    containers = 0
    for w in inv.workloads:
        images: list[ResourceImage] = []
        results: list[Result] = []
        for c in w.containers:
            containers += 1
            oc = outcomes.get(c.key)
            images.append(ResourceImage(container=c.container, container_type=c.container_type, image=c.spec_image,
                                        digest=c.digest, pull_ref=c.pull_ref, injected=not c.in_spec,
                                        state=c.state, error=oc.error if oc is not None else ""))
            if oc is not None and oc.report is not None:
                results.extend(oc.report.results)
        conf = audited.get((w.namespace, w.kind, w.name))
        if conf is not None:
            results.extend(_filtered((conf,), w.name, filters))
        errors = "; ".join(f"{i.container}: {i.error}" for i in images if i.error)
        resources.append(ResourceReport(namespace=w.namespace, kind=w.kind, name=w.name, images=tuple(images),
                                        results=tuple(results), error=errors))
    for r in inv.resources:
        conf = audited.get((r.namespace, r.kind, r.name))
        if conf is None:
            continue
        resources.append(ResourceReport(namespace=r.namespace, kind=r.kind, name=r.name,
                                        results=_filtered((conf,), r.name, filters)))
    for (kind, name), res in _component_vulns(inv, opts, backend_factory, filters).items():
        resources.append(ResourceReport(kind=kind, name=name, results=tuple(res)))
    resources.sort(key=lambda r: (r.namespace, r.kind, r.name))
    stats = ScanStats(workloads=len(inv.workloads), containers=containers, distinct_images=len(inv.images_by_key()),
                      images_scanned=sum(1 for o in outcomes.values() if o.report is not None),
                      images_failed=sum(1 for o in outcomes.values() if o.error))
    return ClusterReport(
        vigil_version=__version__,
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        cluster_name=inv.cluster_name,
        server_version=inv.server_version,
        resources=tuple(resources),
        nodes=tuple(ClusterNode(name=n.name, kubelet_version=n.kubelet_version,
                                kube_proxy_version=n.kube_proxy_version, container_runtime=n.container_runtime,
                                kernel_version=n.kernel_version, os_image=n.os_image, architecture=n.architecture)
                    for n in inv.nodes),
        components=tuple(ClusterComponent(name=c.name, version=c.version, image=c.image, digest=c.digest)
                         for c in inv.components),
        gaps=tuple(ScanGap(verb=g.verb, resource=g.resource, namespace=g.namespace, reason=g.reason)
                   for g in inv.gaps),
        stats=stats,
    )
