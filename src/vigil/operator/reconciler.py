"""The operator's reconcile: what runs in the cluster → one scan per image digest → reports for every workload.

Level-based: each pass reads the cluster (the shared inventory reader: pods with their running digests, grouped
by top controller), the operator's scan Jobs, and acts on the difference, so a restarted operator (or a second
replica taking over the lease) continues from what the cluster and the store hold, never from memory:

- a digest with a fresh result (in memory, or in the store: published by a Job, perhaps while the operator was
  down) → reports written for every (workload, container) running it, at once, no Job;
- a digest with a Job: Complete → read the report from the store, write the reports, delete the Job; Failed →
  delete it, retry after a backoff that doubles, and after `scan_job_retries` failures write a failure report;
- a digest with neither → queued; Jobs are created while fewer than `scan_jobs_concurrent_limit` run.

Events (kopf) only wake the loop; `trigger_key` tells which changes are worth a pass: a pod template or the
digests the pods run, nothing else.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from vigil.operator import jobs, reports
from vigil.operator.config import OperatorConfig
from vigil.sources.k8s.client import ClusterClient, Conflict, Kind
from vigil.sources.k8s.images import parse_image_id
from vigil.sources.k8s.inventory import JOBS, SECRETS, InventoryOptions, collect_inventory
from vigil.sources.k8s.model import ContainerImage, Inventory, Workload

log = logging.getLogger(__name__)

VULNERABILITYREPORTS = Kind(reports.GROUP, reports.VERSION, "VulnerabilityReport", "vulnerabilityreports")
EXPOSEDSECRETREPORTS = Kind(reports.GROUP, reports.VERSION, "ExposedSecretReport", "exposedsecretreports")
CONFIGAUDITREPORTS = Kind(reports.GROUP, reports.VERSION, "ConfigAuditReport", "configauditreports")
RBACASSESSMENTREPORTS = Kind(reports.GROUP, reports.VERSION, "RbacAssessmentReport", "rbacassessmentreports")
CLUSTERRBACASSESSMENTREPORTS = Kind(reports.GROUP, reports.VERSION, "ClusterRbacAssessmentReport",
                                    "clusterrbacassessmentreports", namespaced=False)
AUDIT_KINDS = frozenset({"role", "clusterrole", "rolebinding", "clusterrolebinding"})
WORKLOAD_KINDS = frozenset({"pod", "replicaset", "deployment", "statefulset", "daemonset", "job", "cronjob",
                            "replicationcontroller", "serviceaccount"})
_API_VERSIONS = {"Pod": "v1", "ReplicationController": "v1", "ReplicaSet": "apps/v1", "Deployment": "apps/v1",
                 "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}


def trigger_key(obj: dict[str, Any]) -> str:
    """What of a workload or pod decides its scan: the pod template (workloads) and the running digests (pods).
    Equal keys → the event changes nothing worth a reconcile (status heartbeats, labels, replica counts)."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    template = spec.get("template", {}).get("spec") if "template" in spec else None
    digests = sorted(str(s.get("imageID") or "") for key in ("containerStatuses", "initContainerStatuses")
                     for s in (obj.get("status") or {}).get(key) or ())
    if obj.get("kind") == "Pod":
        template = {"containers": [c.get("image") for c in spec.get("containers") or ()]}
    return hashlib.sha256(json.dumps([template, digests], sort_keys=True).encode()).hexdigest()


@dataclass
class DigestResult:
    scan_id: int
    scanned_at: float  # epoch seconds
    ref: str
    vuln: dict[str, Any]  # the CR's `report:` (owner-independent)
    secret: dict[str, Any]


@dataclass
class Failure:
    attempts: int = 0
    next_try: float = 0.0
    reason: str = ""


@dataclass
class Stats:
    jobs_created: int = 0
    jobs_running: int = 0
    queue: int = 0
    reports_written: int = 0
    reports_unchanged: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # reason → count


class StoreReader:
    """Reads a digest's newest scan from the vigil server's report store (what the scan Jobs published)."""

    def __init__(self, server: str, token: str = "", token_header: str = "Vigil-Token") -> None:
        self.server = server.rstrip("/")
        headers = {token_header: token} if token else {}
        self._http = httpx.AsyncClient(base_url=self.server, headers=headers, timeout=60)

    async def close(self) -> None:
        await self._http.aclose()

    async def latest(self, digest: str) -> tuple[int, float] | None:
        """(scan id, scanned at) of the newest scan published for `digest`, or None."""
        resp = await self._http.get("/v1/targets", params={
            "kind": "image", "label": f"{jobs.STORE_LABEL}={digest}", "sort": "last_scan", "desc": "true",
            "limit": "1"})
        resp.raise_for_status()
        items = resp.json().get("items") or []
        if not items or not items[0].get("last_scan_id"):
            return None
        at = dt.datetime.fromisoformat(str(items[0]["last_scan_at"]).replace("Z", "+00:00"))
        return int(items[0]["last_scan_id"]), at.timestamp()

    async def all_latest(self) -> dict[str, tuple[int, float]]:
        """digest → (scan id, scanned at) of every image target the scan Jobs published: one paged listing instead
        of a lookup per digest (what a restarted operator needs for every digest it sees)."""
        out: dict[str, tuple[int, float]] = {}
        offset = 0
        while True:
            resp = await self._http.get("/v1/targets", params={
                "kind": "image", "label": jobs.STORE_LABEL, "limit": "1000", "offset": str(offset)})
            resp.raise_for_status()
            page = resp.json()
            items = page.get("items") or []
            for t in items:
                d = str((t.get("labels") or {}).get(jobs.STORE_LABEL, ""))
                if d and t.get("last_scan_id"):
                    at = dt.datetime.fromisoformat(str(t["last_scan_at"]).replace("Z", "+00:00")).timestamp()
                    if d not in out or at > out[d][1]:
                        out[d] = (int(t["last_scan_id"]), at)
            offset += len(items)
            if not items or offset >= int(page.get("total") or 0):
                return out

    async def report(self, scan_id: int) -> dict[str, Any]:
        resp = await self._http.get(f"/v1/scans/{scan_id}/report")
        resp.raise_for_status()
        data = resp.json()
        return data if isinstance(data, dict) else {}

    def report_url(self, scan_id: int) -> str:
        return f"{self.server}/v1/scans/{scan_id}/report"


class Reconciler:
    def __init__(self, cfg: OperatorConfig, client: ClusterClient, store: StoreReader,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.client = client
        self.store = store
        self.clock = clock
        self.results: dict[str, DigestResult] = {}
        self.failures: dict[str, Failure] = {}
        self.written: dict[tuple[str, str, str, str, str], str] = {}  # (cr kind, ns, kind, name, container) → key
        self.checked_store: set[str] = set()
        self.audited: dict[tuple[str, str, str], str] = {}
        self._skip_cache: dict[tuple[str, str, str, str], bool] = {}  # (kind, ns, name) → manifest hash
        self.stats = Stats()
        self.metrics: Any = None  # vigil.operator.metrics.Metrics, when exported
        self.wake = asyncio.Event()

    # -- one pass -------------------------------------------------------------------------------------------------
    async def inventory(self) -> Inventory:
        opts = InventoryOptions(include_namespaces=self.cfg.include_globs,
                                exclude_namespaces=tuple(self.cfg.exclude_namespaces),
                                kinds=WORKLOAD_KINDS | (AUDIT_KINDS if self.cfg.config_audit else frozenset()),
                                scan_pull_secrets=True)
        return await collect_inventory(self.client, opts)

    def _skipped(self, w: Workload) -> bool:
        if not self.cfg.watched(w.namespace):
            return True
        if not w.manifest:
            return False
        key = (w.kind, w.namespace, w.name, hashlib.sha256(w.manifest).hexdigest())
        if key not in self._skip_cache:
            self._skip_cache[key] = self._skip_label_set(w)
        return self._skip_cache[key]

    def _skip_label_set(self, w: Workload) -> bool:
        """Whether the workload's own labels say "skip" (or it is one of our scan Jobs); parsed once per manifest."""
        from vigil.yaml_safe import safe_load as yaml_load  # our own YAML (stripped live objects)

        try:
            meta = (yaml_load(w.manifest) or {}).get("metadata") or {}
        except Exception:
            return False
        labels = meta.get("labels") or {}
        if labels.get(jobs.LABEL_MANAGED) == jobs.MANAGED_BY:  # our own scan Jobs
            return True
        return str(labels.get(self.cfg.skip_label, "")).lower() == "true"

    async def reconcile_once(self) -> Stats:
        """One pass; returns counters (also exported as metrics)."""
        inv = await self.inventory()
        if self.cfg.config_audit:
            await self._audit(inv)
        uses: dict[str, list[tuple[Workload, ContainerImage]]] = {}
        for w in inv.workloads:
            if self._skipped(w):
                continue
            for c in w.containers:
                if c.digest:
                    uses.setdefault(c.digest, []).append((w, c))
        our_jobs = {str((j.get("metadata") or {}).get("annotations", {}).get(jobs.ANN_DIGEST, "")): j
                    for j in await self.client.list_all(JOBS, self.cfg.namespace)
                    if ((j.get("metadata") or {}).get("labels") or {}).get(jobs.LABEL_MANAGED) == jobs.MANAGED_BY}
        now = self.clock()
        unchecked = [d for d in uses if d not in self.results and d not in self.checked_store and d not in our_jobs]
        known = await self.store.all_latest() if unchecked else {}
        queue: list[str] = []
        running = 0
        for digest, used in sorted(uses.items()):
            job = our_jobs.get(digest)
            if job is not None:
                state = jobs.job_state(job)
                if state == "running":
                    running += 1
                    continue
                await self._finish_job(digest, job, state)
            res = self.results.get(digest)
            if res is not None and now - res.scanned_at < self.cfg.report_ttl_seconds:
                await self._write_reports(digest, used, res)
                continue
            fail = self.failures.get(digest)
            if fail is not None and fail.attempts >= self.cfg.scan_job_retries:
                await self._write_failure(digest, used, fail)
                continue
            if fail is not None and fail.next_try > now:
                continue
            if res is None and digest not in self.checked_store:
                self.checked_store.add(digest)
                res = await self._from_store(digest, used[0][1], found=known.get(digest)) \
                    if digest in known else None
                if res is not None and now - res.scanned_at < self.cfg.report_ttl_seconds:
                    await self._write_reports(digest, used, res)
                    continue
            queue.append(digest)
        for digest in queue[:max(0, self.cfg.scan_jobs_concurrent_limit - running)]:
            await self._create_job(digest, uses[digest], inv)
            running += 1
        for digest in our_jobs:  # Jobs of digests nothing runs any more
            if digest not in uses:
                await self._delete_job(digest)
        self.stats.jobs_running = running
        self.stats.queue = max(0, len(queue) - self.cfg.scan_jobs_concurrent_limit)
        if self.metrics is not None:
            self.metrics.update(self, uses)
        return self.stats

    # -- Jobs ------------------------------------------------------------------------------------------------------
    async def _create_job(self, digest: str, used: list[tuple[Workload, ContainerImage]], inv: Inventory) -> None:
        c = used[0][1]
        repo, _ = parse_image_id(c.image_id)
        ref = c.pull_ref if "@" in c.pull_ref else f"{repo}@{digest}"
        pull = self._pull_config(ref, used, inv)
        attempt = self.failures.get(digest, Failure()).attempts
        if pull is not None:
            try:
                await self.client.create(SECRETS, jobs.pull_secret(self.cfg, digest, pull))
            except Conflict:
                await self.client.merge_patch(SECRETS, jobs.pull_secret_name(digest), self.cfg.namespace,
                                              {"data": jobs.pull_secret(self.cfg, digest, pull)["data"]})
        try:
            await self.client.create(JOBS, jobs.scan_job(self.cfg, digest, ref, attempt=attempt, pull_config=pull))
        except Conflict:  # another pass (or replica) created it: it is running
            return
        self.stats.jobs_created += 1
        log.info("scan Job %s for %s (attempt %d)", jobs.job_name(digest), ref, attempt + 1)

    def _pull_config(self, ref: str, used: list[tuple[Workload, ContainerImage]], inv: Inventory) -> bytes | None:
        """The docker config of the first pull secret (of any workload running the digest) for its registry."""
        registry = reports.split_ref(ref)[0]
        by_name = {(s.namespace, s.name): s for s in inv.pull_secrets}
        for w, _ in used:
            for name in w.pull_secrets:
                s = by_name.get((w.namespace, name))
                if s is None:
                    continue
                auths = (json.loads(s.docker_config) or {}).get("auths") or {}
                if any(k.removeprefix("https://").removeprefix("http://").split("/")[0] == registry for k in auths):
                    return s.docker_config
        return None

    async def _finish_job(self, digest: str, job: dict[str, Any], state: str) -> None:
        ann = (job.get("metadata") or {}).get("annotations") or {}
        reason = ""
        if state == "succeeded":
            res = await self._from_store(digest, None, ref=str(ann.get(jobs.ANN_REF, "")), just_scanned=True)
            if res is None:
                state, reason = "failed", "NoReportPublished"
            else:
                self.failures.pop(digest, None)
        if state == "failed":
            reason = reason or jobs.failure_reason(job)
            fail = self.failures.setdefault(digest, Failure())
            fail.attempts = max(fail.attempts, int(ann.get(jobs.ANN_ATTEMPT, "0") or 0)) + 1
            fail.reason = reason
            fail.next_try = self.clock() + self.cfg.scan_job_retry_backoff_seconds * 2 ** (fail.attempts - 1)
            self.stats.failures[reason] = self.stats.failures.get(reason, 0) + 1
            log.warning("scan Job %s failed (%s), attempt %d of %d", jobs.job_name(digest), reason, fail.attempts,
                        self.cfg.scan_job_retries)
        await self._delete_job(digest)

    async def _delete_job(self, digest: str) -> None:
        await self.client.delete(JOBS, jobs.job_name(digest), self.cfg.namespace)
        await self.client.delete(SECRETS, jobs.pull_secret_name(digest), self.cfg.namespace)

    # -- results and reports ---------------------------------------------------------------------------------------
    async def _from_store(self, digest: str, c: ContainerImage | None, ref: str = "",
                          just_scanned: bool = False,
                          found: tuple[int, float] | None = None) -> DigestResult | None:
        """The digest's newest result in the store. `just_scanned`: its Job has just ended, so the result's age
        counts from now (on the operator's clock, which the TTL is measured with)."""
        if found is None:
            found = await self.store.latest(digest)
        if found is None:
            return None
        scan_id, at = found
        rep = await self.store.report(scan_id)
        if not ref:
            ref = str(rep.get("ArtifactName") or (c.pull_ref if c else ""))
        now = self._now()
        fake = {"kind": "Pod", "namespace": "", "name": "x", "apiVersion": "v1", "uid": ""}
        url = self.store.report_url(scan_id)
        vuln = reports.vulnerability_report(self.cfg, rep, owner=fake, container="", ref=ref, digest=digest,
                                            full_report_url=url, now=now)["report"]
        secret = reports.exposed_secret_report(self.cfg, rep, owner=fake, container="", ref=ref, digest=digest,
                                               full_report_url=url, now=now)["report"]
        res = DigestResult(scan_id=scan_id, scanned_at=self.clock() if just_scanned else at, ref=ref, vuln=vuln, secret=secret)
        self.results[digest] = res
        return res

    def _now(self) -> str:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @staticmethod
    def _owner(w: Workload) -> dict[str, str]:
        return {"kind": w.kind, "namespace": w.namespace, "name": w.name, "uid": w.uid,
                "apiVersion": _API_VERSIONS.get(w.kind, "v1")}

    async def _apply(self, kind: Kind, cr: dict[str, Any], key: tuple[str, str, str, str, str], version: str) -> None:
        if self.written.get(key) == version:
            self.stats.reports_unchanged += 1
            return
        meta = cr["metadata"]
        try:
            await self.client.create(kind, cr)
        except Conflict:
            await self.client.merge_patch(kind, meta["name"], meta.get("namespace", ""),
                                          {"metadata": {"labels": meta["labels"],
                                                        "annotations": meta.get("annotations", {})},
                                           "report": cr["report"]})
        self.written[key] = version
        self.stats.reports_written += 1

    async def _write_reports(self, digest: str, used: list[tuple[Workload, ContainerImage]],
                             res: DigestResult) -> None:
        for w, c in used:
            owner = self._owner(w)
            version = f"{digest}:{res.scan_id}"
            vuln = reports.vulnerability_report(self.cfg, {}, owner=owner, container=c.container, ref=res.ref,
                                                digest=digest, full_report_url="", now="")
            vuln["report"] = res.vuln
            await self._apply(VULNERABILITYREPORTS, vuln, ("vuln", w.namespace, w.kind, w.name, c.container),
                              version)
            sec = reports.exposed_secret_report(self.cfg, {}, owner=owner, container=c.container, ref=res.ref,
                                                digest=digest, full_report_url="", now="")
            sec["report"] = res.secret
            await self._apply(EXPOSEDSECRETREPORTS, sec, ("secret", w.namespace, w.kind, w.name, c.container),
                              version)

    async def _audit(self, inv: Inventory) -> None:
        """Config audit and RBAC assessment in-process (no Jobs): only objects whose manifest changed since they
        were last audited are checked again."""
        from pathlib import Path

        from vigil.pipeline.k8s import ClusterScanOptions, audit_inventory
        from vigil.pipeline.report import ReportFilters
        from vigil.settings import ScanOptions

        objs: list[tuple[str, str, str, str, bytes, str]] = []  # kind, ns, name, uid, manifest, hash
        for w in inv.workloads:
            if not self._skipped(w) and w.manifest:
                objs.append((w.kind, w.namespace, w.name, w.uid, w.manifest, ""))
        for r in inv.resources:
            if r.kind in ("Role", "ClusterRole") and r.manifest and (not r.namespace or self.cfg.watched(r.namespace)):
                objs.append((r.kind, r.namespace, r.name, "", r.manifest, r.api_version))
        todo = [o for o in objs if self.audited.get((o[0], o[1], o[2])) != hashlib.sha256(o[4]).hexdigest()]
        if not todo:
            return
        sub = Inventory(cluster_name=inv.cluster_name,
                        workloads=tuple(w for w in inv.workloads if (w.kind, w.namespace, w.name) in
                                        {(o[0], o[1], o[2]) for o in todo}),
                        resources=tuple(r for r in inv.resources if (r.kind, r.namespace, r.name) in
                                        {(o[0], o[1], o[2]) for o in todo}))
        opts = ClusterScanOptions(scanners=frozenset({"misconfig", "rbac"}), scan=ScanOptions(
            target=Path(inv.cluster_name), db_path=Path(inv.cluster_name), scanners=("misconfig",)))
        results = await asyncio.to_thread(audit_inventory, sub, opts, ReportFilters(severities=reports.SEVERITIES))
        uids = {(r.kind, r.namespace, r.name): self._uid(r.manifest) for r in sub.resources}
        for kind, ns, name, uid, manifest, api_version in todo:
            res = results.get((ns, kind, name))
            misconf = [msgspec.to_builtins(m) for m in res.misconfigurations] if res is not None else []
            owner = {"kind": kind, "namespace": ns, "name": name, "uid": uid or uids.get((kind, ns, name), ""),
                     "apiVersion": api_version or _API_VERSIONS.get(kind, "v1")}
            cr_kind, k8s_kind = (("ClusterRbacAssessmentReport", CLUSTERRBACASSESSMENTREPORTS) if kind == "ClusterRole"
                                 else ("RbacAssessmentReport", RBACASSESSMENTREPORTS) if kind == "Role"
                                 else ("ConfigAuditReport", CONFIGAUDITREPORTS))
            digest = hashlib.sha256(manifest).hexdigest()
            cr = reports.audit_report(self.cfg, cr_kind, misconf, owner=owner, spec_hash=digest[:16], now=self._now())
            await self._apply(k8s_kind, cr, (cr_kind, ns, kind, name, ""), digest)
            self.audited[(kind, ns, name)] = digest

    @staticmethod
    def _uid(manifest: bytes) -> str:
        from vigil.yaml_safe import safe_load

        try:
            return str(((safe_load(manifest) or {}).get("metadata") or {}).get("uid") or "")
        except Exception:
            return ""

    async def _write_failure(self, digest: str, used: list[tuple[Workload, ContainerImage]], fail: Failure) -> None:
        for w, c in used:
            cr = reports.failure_report(owner=self._owner(w), container=c.container, ref=c.pull_ref, digest=digest,
                                        reason=fail.reason, attempts=fail.attempts, now=self._now())
            await self._apply(VULNERABILITYREPORTS, cr, ("vuln", w.namespace, w.kind, w.name, c.container),
                              f"{digest}:failed:{fail.attempts}")

    # -- the loop --------------------------------------------------------------------------------------------------
    async def run(self, interval: float = 30.0, debounce: float = 0.2) -> None:
        """Reconcile whenever woken (debounced: a burst of events is one pass), and every `interval` seconds
        (Job status, TTL expiry)."""
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=interval)
                await asyncio.sleep(debounce)
            except TimeoutError:
                pass
            self.wake.clear()
            try:
                await self.reconcile_once()
            except Exception as e:  # a pass that fails is retried by the next; the loop never dies
                log.error("reconcile failed: %s: %s", type(e).__name__, str(e).splitlines()[0] if str(e) else "")
