"""kopf wiring of the operator.

- Event handlers on Pods and the workload kinds only compare `trigger_key` (pod template, running digests) with the
  last one seen and wake the reconciler when it changed: status heartbeats and label edits do no work. A pod
  whose digests all have a current result gets its workload's reports at once (`Reconciler.on_pod`: a GET per
  controller above it, no re-list of the cluster, no pass). Events of
  the operator's own scan Jobs wake it too (a Job ended).
- The reconcile loop runs as a kopf daemon on the operator's own Namespace object. kopf stops daemons while the
  operator is paused by peering (another replica with a higher priority is alive), so with `--peering` two
  replicas never both act: the one with the higher `--priority` leads, the other takes over when its peering
  record expires.
- /metrics: prometheus-client's HTTP server on `--metrics-listen`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from vigil.log import get_logger
from vigil.operator.config import OperatorConfig

log = get_logger(__name__)

WATCHED = (("", "v1", "pods"), ("apps", "v1", "replicasets"), ("apps", "v1", "deployments"),
           ("apps", "v1", "statefulsets"), ("apps", "v1", "daemonsets"), ("batch", "v1", "jobs"),
           ("batch", "v1", "cronjobs"), ("", "v1", "replicationcontrollers"))


@dataclass(frozen=True)
class RunOptions:
    api_server: str = ""  # talk to this API server without credentials (tests, kubectl proxy)
    kubeconfig: tuple[str, ...] = ()
    context: str = ""
    peering: str = ""  # kopf peering object name; "" = standalone (a single replica)
    priority: int = 0
    metrics_listen: str = ""  # HOST:PORT; "" = no /metrics
    interval: float = 30.0
    server_token: str = ""


def run(cfg: OperatorConfig, opts: RunOptions) -> None:
    import kopf

    from vigil.operator.metrics import Metrics
    from vigil.operator.reconciler import Reconciler, StoreReader, trigger_key
    from vigil.sources.k8s.client import ClusterClient
    from vigil.sources.k8s.kubeconfig import KubeconfigOptions, load_config

    registry = kopf.OperatorRegistry()
    metrics = Metrics(trivy_names=cfg.trivy_metric_names, vuln_id=cfg.metrics_vuln_id)
    seen: dict[str, str] = {}
    current: dict[str, Reconciler] = {}

    def wake() -> None:
        for rec in current.values():
            rec.wake.set()

    async def on_workload(body: Any, type: str | None, **_: Any) -> None:
        meta = body.get("metadata") or {}
        if not cfg.watched(str(meta.get("namespace", ""))):
            return
        key = f"{body.get('kind')}/{meta.get('namespace')}/{meta.get('name')}"
        if type == "DELETED":
            seen.pop(key, None)
            return
        k = trigger_key(dict(body))
        if seen.get(key) != k:
            seen[key] = k
            rec = current.get("leader")
            # a pod of known digests: its reports from the results at hand, without re-listing the cluster
            if body.get("kind") == "Pod" and rec is not None and await rec.on_pod(dict(body)):
                return
            wake()

    for group, version, plural in WATCHED:
        kopf.on.event(group, version, plural, registry=registry)(on_workload)

    async def on_scan_job(**_: Any) -> None:
        wake()

    kopf.on.event("batch", "v1", "jobs", registry=registry,
                  labels={"app.kubernetes.io/managed-by": "vigil-operator"})(on_scan_job)

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # no Kubernetes Events for every handler run
        settings.peering.priority = opts.priority
        if opts.metrics_listen:
            from prometheus_client import start_http_server

            host, _sep, port = opts.metrics_listen.rpartition(":")
            start_http_server(int(port), host or "0.0.0.0", registry=metrics.registry)

    if opts.api_server:
        @kopf.on.login(registry=registry)
        def login(**_: Any) -> kopf.ConnectionInfo:
            return kopf.ConnectionInfo(server=opts.api_server, insecure=True)

    @kopf.daemon("", "v1", "namespaces", registry=registry,
                 when=lambda name, **_: name == cfg.namespace)
    async def leader(stopped: kopf.DaemonStopped, **_: Any) -> None:
        kc = load_config(KubeconfigOptions(kubeconfig=opts.kubeconfig, context=opts.context,
                                           server=opts.api_server))
        async with ClusterClient(kc) as client:
            store = StoreReader(cfg.server, token=opts.server_token)
            rec = Reconciler(cfg, client, store)
            rec.metrics = metrics
            current["leader"] = rec
            rec.wake.set()
            task = asyncio.create_task(rec.run(interval=opts.interval))
            try:
                while not stopped:
                    await asyncio.sleep(0.5)
            finally:
                current.pop("leader", None)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await store.close()

    clusterwide = cfg.install_mode == "AllNamespaces"
    namespaces: list[str] = [] if clusterwide else list(cfg.include_globs)
    if not clusterwide and cfg.namespace not in namespaces:
        namespaces.append(cfg.namespace)
    logging.getLogger("kopf").setLevel(logging.WARNING)
    kopf.run(registry=registry, clusterwide=clusterwide, namespaces=namespaces,
             standalone=not opts.peering, peering_name=opts.peering or None, priority=opts.priority)
