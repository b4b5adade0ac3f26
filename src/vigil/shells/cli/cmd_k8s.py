"""`vigil k8s`: scan a running Kubernetes cluster — the images that actually run (by digest, each once), the live
objects' configuration, RBAC — and print the summary table, every finding, JSON, SARIF or a CycloneDX KBOM.

    vigil k8s --report summary
    vigil k8s --context prod --include-namespaces 'team-*' --scanners vuln --severity CRITICAL --exit-code 1
    vigil k8s --format cyclonedx -o kbom.json

The work is in vigil.sources.k8s (the cluster) and vigil.pipeline.k8s (the scan); this module parses and prints.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import click

from vigil.log import get_logger
from vigil.shells.cli.common import add_options, fail, resolve_or_exit

log = get_logger("vigil.k8s")
K8S_SCANNERS = ("vuln", "misconfig", "secret", "rbac")
K8S_FORMATS = ("table", "json", "sarif", "cyclonedx")


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(x.strip() for v in values for x in v.split(",") if x.strip())


@click.command("k8s", context_settings={"show_default": False})
@click.option("--kubeconfig", "kubeconfig", multiple=True, metavar="PATH",
              help="kubeconfig file(s); repeat or use KUBECONFIG=a:b (default: in-cluster, then ~/.kube/config)")
@click.option("--context", "kube_context", default="", metavar="NAME", help="kubeconfig context (default: current)")
@click.option("--api-server", "api_server", default="", metavar="URL",
              help="Kubernetes API server URL (overrides the context's server)")
@click.option("--include-namespaces", multiple=True, metavar="GLOB,…", help="namespaces to scan (globs)")
@click.option("--exclude-namespaces", multiple=True, metavar="GLOB,…", help="namespaces to skip (globs)")
@click.option("--include-kinds", multiple=True, metavar="KIND,…", help="resource kinds to scan (e.g. Deployment,Pod)")
@click.option("--exclude-kinds", multiple=True, metavar="KIND,…", help="resource kinds to skip")
@click.option("--report", "report_mode", type=click.Choice(["summary", "all"]), default="summary",
              help="table output: the summary, or the summary and every finding (default: summary)")
@click.option("--scanners", "k8s_scanners", multiple=True, metavar="A,…",
              help="what to scan for: vuln,misconfig,secret,rbac (default: all four)")
@click.option("--parallel", "k8s_parallel", type=int, default=5, metavar="N",
              help="images scanned at once (default: 5)")
@click.option("--skip-init-containers", is_flag=True, help="leave init containers out")
@click.option("--scan-pull-secrets", is_flag=True,
              help="read the imagePullSecrets the workloads name (of their pods and service accounts) to pull private "
                   "images; without it no Secret is read and pulls use the local docker config")
@add_options("k8s")
def k8s_cmd(kubeconfig: tuple[str, ...], kube_context: str, api_server: str, include_namespaces: tuple[str, ...],
            exclude_namespaces: tuple[str, ...], include_kinds: tuple[str, ...], exclude_kinds: tuple[str, ...],
            report_mode: str, k8s_scanners: tuple[str, ...], k8s_parallel: int, skip_init_containers: bool,
            scan_pull_secrets: bool, **kwargs: Any) -> None:
    """Scan a Kubernetes cluster: the images that run, the live objects' configuration, RBAC."""
    from vigil.shells.cli.output import db_ready

    values = resolve_or_exit("k8s", kwargs)
    _once_per_message()
    scanners = _split(k8s_scanners) or K8S_SCANNERS
    bad = [s for s in scanners if s not in K8S_SCANNERS]
    if bad:
        fail(f"--scanners: unknown scanner {bad[0]!r} (expected {', '.join(K8S_SCANNERS)})")
    fmt = values.get("format") or "table"
    if fmt not in K8S_FORMATS:
        fail(f"--format {fmt}: vigil k8s writes {', '.join(K8S_FORMATS)}")
    if k8s_parallel < 1:
        fail("--parallel must be at least 1")
    from vigil.sources.k8s.inventory import KIND_NAMES

    inc = {k.lower() for k in _split(include_kinds)}
    exc = {k.lower() for k in _split(exclude_kinds)}
    unknown = sorted((inc | exc) - set(KIND_NAMES))
    if unknown:
        fail(f"unknown kind {unknown[0]!r} (known: {', '.join(sorted(k.kind for k in KIND_NAMES.values()))})")
    kinds = frozenset((inc or set(KIND_NAMES)) - exc)
    values = {**values, "scanners": tuple(s for s in scanners if s in ("vuln", "secret", "misconfig"))}
    if "vuln" in scanners and not db_ready(values):
        return  # --download-db-only
    _run(values, kubeconfig, kube_context, api_server, _split(include_namespaces), _split(exclude_namespaces),
         kinds, report_mode, frozenset(scanners), k8s_parallel, skip_init_containers, scan_pull_secrets)


class _Once(logging.Filter):
    """Each distinct warning once: 300 images of one end-of-life OS would print the same line 300 times."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if msg in self.seen:
            return False
        self.seen.add(msg)
        return True


def _once_per_message() -> None:
    # real(): runs the CLI's deferred set-up, so that its handler is there to take the filter
    log.real()
    for h in logging.getLogger("vigil").handlers:
        h.addFilter(_Once())


def _run(values: dict[str, Any], kubeconfig: tuple[str, ...], context: str, api_server: str,
         include_ns: tuple[str, ...], exclude_ns: tuple[str, ...], kinds: frozenset[str], report_mode: str,
         scanners: frozenset[str], parallel: int, skip_init: bool, pull_secrets: bool) -> None:
    import asyncio

    import msgspec

    from vigil.pipeline.k8s import ClusterScanOptions, PhaseTimes, scan_cluster
    from vigil.settings import scan_options
    from vigil.shells.cli.output import _backend
    from vigil.sources.image import RegistryOptions
    from vigil.sources.k8s.client import ClusterClient
    from vigil.sources.k8s.inventory import InventoryOptions, collect_inventory
    from vigil.sources.k8s.kubeconfig import KubeconfigOptions, load_config

    config = load_config(KubeconfigOptions(kubeconfig=kubeconfig, context=context, server=api_server))
    inv_opts = InventoryOptions(include_namespaces=include_ns, exclude_namespaces=exclude_ns, kinds=kinds,
                                skip_init_containers=skip_init, scan_pull_secrets=pull_secrets)

    async def collect() -> Any:
        async with ClusterClient(config) as client:
            return await collect_inventory(client, inv_opts)

    t0 = time.perf_counter()
    inv = asyncio.run(collect())
    t1 = time.perf_counter()
    opts = scan_options(Path(inv.cluster_name), values)
    registry = RegistryOptions(username=values.get("username") or "", password=values.get("password") or "",
                               registry_token=values.get("registry_token") or "",
                               insecure=bool(values.get("insecure")), platform=values.get("platform") or "",
                               ca_file=str(values["cacert"]) if values.get("cacert") else "")
    cso = ClusterScanOptions(scanners=scanners, scan=msgspec.structs.replace(opts, artifact_name=inv.cluster_name),
                             registry=registry, parallel=parallel, pull_secrets_read=pull_secrets)
    times = PhaseTimes()
    with _progress(len(inv.images_by_key()) if scanners & {"vuln", "secret"} else 0,
                   not values.get("quiet") and sys.stderr.isatty()) as advance:
        report = scan_cluster(inv, cso, lambda: _backend(values, opts, True), on_image=advance, times=times)
    t2 = time.perf_counter()
    _emit(report, values, report_mode)
    if values.get("publish"):
        from vigil.shells.cli.publish import publish_cluster

        publish_cluster(report, values)
    log.debug("k8s: list %.2fs, scan %.2fs (%d image scans), audit %.2fs, render %.2fs", t1 - t0, times.scan,
              report.stats.images_scanned + report.stats.images_failed, times.audit, time.perf_counter() - t2)
    if values.get("exit_code") and report.findings_count() > 0:
        sys.exit(values["exit_code"])


class _progress:
    """A progress bar over the distinct images on a terminal (stderr); nothing otherwise."""

    def __init__(self, total: int, show: bool) -> None:
        self.total, self.show = total, show and total > 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if self.show:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(TextColumn("images"), BarColumn(), MofNCompleteColumn(),
                                 console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("images", total=self.total)
        return self._advance

    def _advance(self, _key: str) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _emit(report: Any, values: dict[str, Any], report_mode: str) -> None:
    from vigil.reporters.k8s import renderer
    from vigil.shells.cli.output import write_report

    write_report(renderer(values.get("format") or "table", report_mode), report, values.get("output"))
