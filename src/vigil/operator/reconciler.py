"""The operator's reconcile: what runs in the cluster → one scan per image digest → reports for every workload.

Level-based: each pass reads the cluster (the shared inventory reader: pods with their running digests, grouped
by top controller), the operator's scan Jobs, and acts on the difference, so a restarted operator (or a second
replica taking over the lease) continues from what the cluster and the store hold, never from memory:

- a digest with a fresh result (in memory, or in the store: published by a Job, perhaps while the operator was
  down) → reports written for every (workload, container) running it, at once, no Job;
- a digest with a Job: Complete → read the report from the store, write the reports, delete the Job; Failed →
  delete it, retry after a backoff that doubles, and after `scan_job_retries` failures write a failure report;
- a digest with neither → queued; Jobs are created while fewer than `scan_jobs_concurrent_limit` run;
- a result matched against another DB than the server's (its report's Metadata.DbBuiltAt vs GET /version) → its
  packages matched again on the server and the result published to the store (no Job); only reports whose content
  changed are written, here and everywhere (the operator keeps the content digest of each report it wrote).

Events (kopf) only wake the loop; `trigger_key` tells which changes are worth a pass: a pod template or the
digests the pods run, nothing else.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec

from vigil.log import get_logger
from vigil.operator import jobs, reports
from vigil.operator.config import OperatorConfig
from vigil.sources.k8s.client import ClusterClient, Conflict, Kind
from vigil.sources.k8s.images import parse_image_id, resolve
from vigil.sources.k8s.inventory import (
    CONFIGMAPS,
    CRONJOBS,
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    NAMESPACES,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    SECRETS,
    STATEFULSETS,
    InventoryOptions,
    collect_inventory,
)
from vigil.sources.k8s.model import ContainerImage, Inventory, Workload

log = get_logger(__name__)

VULNERABILITYREPORTS = Kind(reports.GROUP, reports.VERSION, "VulnerabilityReport", "vulnerabilityreports")
EXPOSEDSECRETREPORTS = Kind(reports.GROUP, reports.VERSION, "ExposedSecretReport", "exposedsecretreports")
CONFIGAUDITREPORTS = Kind(reports.GROUP, reports.VERSION, "ConfigAuditReport", "configauditreports")
RBACASSESSMENTREPORTS = Kind(reports.GROUP, reports.VERSION, "RbacAssessmentReport", "rbacassessmentreports")
CLUSTERRBACASSESSMENTREPORTS = Kind(reports.GROUP, reports.VERSION, "ClusterRbacAssessmentReport",
                                    "clusterrbacassessmentreports", namespaced=False)
SBOMREPORTS = Kind(reports.GROUP, reports.VERSION, "SbomReport", "sbomreports")
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
    scanned_at: float  # epoch seconds: when the image was analysed (a re-match against a new DB keeps it)
    ref: str
    vuln: dict[str, Any]  # the CR's `report:` (owner-independent)
    secret: dict[str, Any]
    sbom: dict[str, Any] | None = None
    db_built_at: str = ""  # the DB the findings were matched against (the report's Metadata.DBBuiltAt)
    vuln_ids: tuple[tuple[str, str], ...] = ()  # (vulnerability ID, severity) of every finding, not only the CR's
    reported_at: float = 0.0  # when the current findings were produced (scan or re-match), epoch seconds
    keys: dict[str, str] = field(default_factory=dict)  # CR kind → digest of its content (what changes a CR)

    def __post_init__(self) -> None:
        for kind, body in (("vuln", self.vuln), ("secret", self.secret), ("sbom", self.sbom)):
            if body is not None:
                stable = {k: v for k, v in body.items() if k not in ("updateTimestamp", "fullReport")}
                if isinstance(stable.get("components"), dict):  # the BOM's own timestamp
                    stable["components"] = {k: v for k, v in stable["components"].items() if k != "metadata"}
                self.keys[kind] = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:24]
        if not self.reported_at:
            self.reported_at = self.scanned_at


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
    rematches: dict[str, int] = field(default_factory=dict)  # "changed" | "unchanged" | "failed" → count
    scan_seconds: list[float] = field(default_factory=list)  # Job durations not yet handed to the metrics


@dataclass(frozen=True)
class DBVersion:
    built_at: str
    next_update: str


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

    async def db_version(self) -> DBVersion | None:
        """The DB the server detects with now (GET /version), None when it has none."""
        resp = await self._http.get("/version")
        resp.raise_for_status()
        db = resp.json().get("DB") or {}
        if not db.get("BuiltAt"):
            return None
        return DBVersion(built_at=str(db["BuiltAt"]), next_update=str(db.get("NextUpdate") or ""))

    async def rematch(self, scan_id: int, digest: str) -> tuple[int, dict[str, Any]] | None:
        """Match the packages of stored scan `scan_id` against the server's current DB (the server detects; no
        image, no Job) and publish the result as the digest's newest scan: (its id, the report), or None when
        the stored report is gone or lists no packages (then only a new scan can help)."""
        from vigil.findings.records import Report
        from vigil.findings.wire import MissingBlobsRequest
        from vigil.operator.rematch import has_packages, rematched, sbom_blob, scan_request
        from vigil.store import PublishRequest, TargetSpec

        resp = await self._http.get(f"/v1/scans/{scan_id}/report")
        if resp.status_code in (404, 410):
            return None
        resp.raise_for_status()
        old = msgspec.json.decode(resp.content, type=Report)
        if not has_packages(old):
            return None
        blob = sbom_blob(old)
        missing = await self._http.post("/v1/blobs/missing", content=msgspec.json.encode(
            MissingBlobsRequest(blob_keys=(blob.diff_id,))), headers={"Content-Type": "application/json"})
        missing.raise_for_status()
        if missing.json().get("MissingBlobKeys"):
            put = await self._http.put(f"/v1/blobs/{blob.diff_id}", content=msgspec.msgpack.encode(blob),
                                       headers={"Content-Type": "application/msgpack"})
            put.raise_for_status()
        scanned = await self._http.post("/v1/scan", content=msgspec.json.encode(scan_request(old, blob)),
                                        headers={"Content-Type": "application/json"})
        scanned.raise_for_status()
        new = rematched(old, msgspec.json.decode(scanned.content, type=Report))
        body = PublishRequest(report=new, target=TargetSpec(name=old.artifact_name,
                                                            labels={jobs.STORE_LABEL: digest}), source="operator")
        pub = await self._http.post("/v1/reports", content=msgspec.json.encode(body),
                                    headers={"Content-Type": "application/json"})
        pub.raise_for_status()
        return int(pub.json()["scan_id"]), msgspec.to_builtins(new)


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
        self.skipped_namespaces: frozenset[str] = frozenset()  # labelled so (read at each pass)
        self.audits: dict[tuple[str, str, str, str], dict[str, int]] = {}  # (CR kind, ns, kind, name) → summary
        # (CR kind, ns, kind, name) → the (check ID, severity) pairs the object fails, each once
        self.audit_failures: dict[tuple[str, str, str, str], frozenset[tuple[str, str]]] = {}
        self.db: DBVersion | None = None  # the server's DB, as last read
        self.job_started: dict[str, float] = {}  # digest → when this operator created its Job
        self.schedule_checked: float | None = None  # the rescan schedule was looked at up to this time
        self.policies: dict[str, str] = {}  # the custom checks' ConfigMap data, as last read
        self.policy_dir: Path | None = None  # where they are written for the checks loader
        self.policy_error = ""  # why the current custom checks could not be used (logged once)
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
        if not self.cfg.watched(w.namespace) or w.namespace in self.skipped_namespaces:
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
        return self._skip_labels(labels)

    def _skip_labels(self, labels: dict[str, Any]) -> bool:
        """`<skip_label>: "true"`, or any of Trivy Operator's skipResourceByLabels keys, whatever its value."""
        return (str(labels.get(self.cfg.skip_label, "")).lower() == "true"
                or any(k in labels for k in self.cfg.skip_resource_by_labels))

    async def _read_skipped_namespaces(self) -> frozenset[str]:
        """The namespaces whose own labels opt them out. Without the right to list namespaces (a namespaced
        install), the last answer stands."""
        try:
            items = await self.client.list_all(NAMESPACES)
        except Exception as e:  # forbidden or unreachable: keep what was known
            log.debug("cannot list namespaces for skip labels: %s", e)
            return self.skipped_namespaces
        return frozenset(str((o.get("metadata") or {}).get("name", "")) for o in items
                         if self._skip_labels((o.get("metadata") or {}).get("labels") or {}))

    async def _read_db(self) -> None:
        try:
            self.db = await self.store.db_version() or self.db
        except httpx.HTTPError as e:  # the server restarting: the next pass reads it again
            log.warning("cannot read the server's DB version: %s", e)

    async def reconcile_once(self) -> Stats:
        """One pass; returns counters (also exported as metrics)."""
        inv = await self.inventory()
        self.skipped_namespaces = await self._read_skipped_namespaces()
        await self._read_db()
        if self.cfg.config_audit:
            await self._read_policies()
            await self._audit(inv)
            self.forget_gone(inv)
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
        self._scheduled_rescan(now)
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
                res = await self._rematch_if_stale(digest, res)
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
                    res = await self._rematch_if_stale(digest, res)
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

    def _scheduled_rescan(self, now: float) -> None:
        """When the rescan schedule fired since the last pass, every known result is due: each digest in use gets
        a Job (within the concurrency limit), as when its TTL expires. The first pass only starts the clock."""
        if not self.cfg.rescan_schedule:
            return
        from vigil.operator.schedule import Cron

        if self.schedule_checked is not None and Cron.parse(self.cfg.rescan_schedule).fired(
                self.schedule_checked, now):
            log.info("rescan schedule %r fired: %d digests due", self.cfg.rescan_schedule, len(self.results))
            for res in self.results.values():
                res.scanned_at = -float("inf")
        self.schedule_checked = now

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
        self.job_started[digest] = self.clock()
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
        took = _job_seconds(job)
        started = self.job_started.pop(digest, None)
        if took is None and started is not None:  # no start/completion times in the status: as this operator saw it
            took = max(0.0, self.clock() - started)
        if took is not None:
            self.stats.scan_seconds.append(took)
            del self.stats.scan_seconds[:-1000]  # handed to the metrics at each pass; bounded without them
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
        res = self._result(digest, scan_id, rep, ref, scanned_at=self.clock() if just_scanned else at)
        self.results[digest] = res
        return res

    def _result(self, digest: str, scan_id: int, rep: dict[str, Any], ref: str, scanned_at: float,
                reported_at: float = 0.0) -> DigestResult:
        """A digest's owner-independent report bodies from its store report."""
        now = self._now()
        fake = {"kind": "Pod", "namespace": "", "name": "x", "apiVersion": "v1", "uid": ""}
        url = self.store.report_url(scan_id)
        vuln = reports.vulnerability_report(self.cfg, rep, owner=fake, container="", ref=ref, digest=digest,
                                            full_report_url=url, now=now)["report"]
        secret = reports.exposed_secret_report(self.cfg, rep, owner=fake, container="", ref=ref, digest=digest,
                                               full_report_url=url, now=now)["report"]
        sbom = reports.sbom_report(self.cfg, rep, owner=fake, container="", ref=ref, digest=digest,
                                   full_report_url=url, now=now)["report"] if self.cfg.sbom_reports else None
        ids = sorted({(str(v.get("VulnerabilityID", "")), str(v.get("Severity") or "UNKNOWN"))
                      for r in rep.get("Results") or () for v in r.get("Vulnerabilities") or ()})
        return DigestResult(scan_id=scan_id, scanned_at=scanned_at, ref=ref, vuln=vuln, secret=secret, sbom=sbom,
                            db_built_at=str((rep.get("Metadata") or {}).get("DbBuiltAt") or ""),
                            vuln_ids=tuple(ids), reported_at=reported_at or scanned_at)

    async def _rematch_if_stale(self, digest: str, res: DigestResult) -> DigestResult | None:
        """When the server has a DB other than the one `res` was matched against: its packages matched again
        (on the server, from the stored report: no Job), the result published to the store and returned. None:
        the stored report cannot be re-matched (gone, or without packages), so the digest needs a scan."""
        if self.db is None or not res.db_built_at or res.db_built_at == self.db.built_at:
            return res
        try:
            got = await self.store.rematch(res.scan_id, digest)
        except (httpx.HTTPError, msgspec.DecodeError, msgspec.ValidationError, KeyError) as e:
            self.stats.rematches["failed"] = self.stats.rematches.get("failed", 0) + 1
            log.warning("re-matching %s against the new DB failed: %s", digest, e)
            return res  # the old findings stand; the next pass tries again
        if got is None:
            log.info("the stored report of %s cannot be re-matched: scanning it again", digest)
            self.results.pop(digest, None)
            return None
        scan_id, rep = got
        new = self._result(digest, scan_id, rep, res.ref, scanned_at=res.scanned_at, reported_at=self.clock())
        outcome = "unchanged" if new.keys.get("vuln") == res.keys.get("vuln") else "changed"
        self.stats.rematches[outcome] = self.stats.rematches.get(outcome, 0) + 1
        log.info("%s re-matched against the DB built at %s: %s", digest, self.db.built_at, outcome)
        if outcome == "unchanged":  # the CRs stay as they are; the workloads' report time too
            new.reported_at = res.reported_at
        self.results[digest] = new
        return new

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
        """Each (workload, container)'s reports from the digest's result. A CR is written only when its content
        changed (timestamps and the store link aside): a re-match that finds nothing new, or a TTL rescan of an
        image that did not change, writes nothing to the API server."""
        for w, c in used:
            owner = self._owner(w)
            vuln = reports.vulnerability_report(self.cfg, {}, owner=owner, container=c.container, ref=res.ref,
                                                digest=digest, full_report_url="", now="")
            vuln["report"] = res.vuln
            await self._apply(VULNERABILITYREPORTS, vuln, ("vuln", w.namespace, w.kind, w.name, c.container),
                              f"{digest}:{res.keys['vuln']}")
            sec = reports.exposed_secret_report(self.cfg, {}, owner=owner, container=c.container, ref=res.ref,
                                                digest=digest, full_report_url="", now="")
            sec["report"] = res.secret
            await self._apply(EXPOSEDSECRETREPORTS, sec, ("secret", w.namespace, w.kind, w.name, c.container),
                              f"{digest}:{res.keys['secret']}")
            if res.sbom is not None:
                sbom = reports.sbom_report(self.cfg, {}, owner=owner, container=c.container, ref=res.ref,
                                           digest=digest, full_report_url="", now="")
                sbom["report"] = res.sbom
                await self._apply(SBOMREPORTS, sbom, ("sbom", w.namespace, w.kind, w.name, c.container),
                                  f"{digest}:{res.keys['sbom']}")

    async def _read_policies(self) -> None:
        """The custom checks' ConfigMap: when its data changed, written to the checks directory and every object
        audited again."""
        try:
            cm = await self.client.get(CONFIGMAPS, self.cfg.policies_config_map, self.cfg.namespace)
            data = {str(k): str(v) for k, v in (cm.get("data") or {}).items()}
        except Exception as e:  # absent (no custom checks), forbidden or unreachable (keep the ones in use)
            if "answered 404" not in str(e):
                log.warning("cannot read the checks ConfigMap %s: %s", self.cfg.policies_config_map, e)
                return  # keep the checks in use
            data = {}
        if data == self.policies:
            return
        self.policies = data
        self.policy_error = ""
        if self.policy_dir is None:
            self.policy_dir = Path(tempfile.mkdtemp(prefix="vigil-operator-checks-"))
        for old in self.policy_dir.iterdir():
            old.unlink()
        for key, text in data.items():
            if key.endswith((".rego", ".json", ".yaml", ".yml")) and "/" not in key and not key.startswith("."):
                (self.policy_dir / key).write_text(text, encoding="utf-8")
        log.info("custom checks changed (%d keys): auditing every object again", len(data))
        self.audited.clear()

    async def _audit(self, inv: Inventory) -> None:
        """Config audit and RBAC assessment in-process (no Jobs): only objects whose manifest changed since they
        were last audited are checked again (all of them when the custom checks changed)."""
        from vigil.errors import UserError
        from vigil.pipeline.k8s import ClusterScanOptions, audit_inventory
        from vigil.pipeline.report import ReportFilters
        from vigil.settings import ScanOptions

        objs: list[tuple[str, str, str, str, bytes, str]] = []  # kind, ns, name, uid, manifest, hash
        for w in inv.workloads:
            if not self._skipped(w) and w.manifest:
                objs.append((w.kind, w.namespace, w.name, w.uid, w.manifest, ""))
        for r in inv.resources:
            if r.kind in ("Role", "ClusterRole") and r.manifest and (not r.namespace or (
                    self.cfg.watched(r.namespace) and r.namespace not in self.skipped_namespaces)):
                objs.append((r.kind, r.namespace, r.name, "", r.manifest, r.api_version))
        todo = [o for o in objs if self.audited.get((o[0], o[1], o[2])) != hashlib.sha256(o[4]).hexdigest()]
        if not todo:
            return
        sub = Inventory(cluster_name=inv.cluster_name,
                        workloads=tuple(w for w in inv.workloads if (w.kind, w.namespace, w.name) in
                                        {(o[0], o[1], o[2]) for o in todo}),
                        resources=tuple(r for r in inv.resources if (r.kind, r.namespace, r.name) in
                                        {(o[0], o[1], o[2]) for o in todo}))
        checks = [p for p in self.policy_dir.iterdir()] if self.policy_dir is not None else []
        opts = ClusterScanOptions(scanners=frozenset({"misconfig", "rbac"}), scan=ScanOptions(
            target=Path(inv.cluster_name), db_path=Path(inv.cluster_name), scanners=("misconfig",),
            config_check=tuple(p for p in checks if p.suffix == ".rego"),
            config_data=tuple(p for p in checks if p.suffix != ".rego"),
            check_namespaces=tuple(self.cfg.check_namespaces)))
        try:
            results = await asyncio.to_thread(audit_inventory, sub, opts,
                                              ReportFilters(severities=reports.SEVERITIES))
        except UserError as e:  # a custom check that does not load: the reports stay as they are until fixed
            if str(e) != self.policy_error:
                self.policy_error = str(e)
                log.error("custom checks in ConfigMap %s: %s", self.cfg.policies_config_map, e)
            return
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
            content = {k: v for k, v in cr["report"].items() if k != "updateTimestamp"}
            version = hashlib.sha256(json.dumps([cr["metadata"].get("labels"), content],
                                                sort_keys=True).encode()).hexdigest()
            await self._apply(k8s_kind, cr, (cr_kind, ns, kind, name, ""), version)
            self.audited[(kind, ns, name)] = digest
            self.audits[(cr_kind, ns, kind, name)] = dict(cr["report"]["summary"])
            # every failed check, also those a bounded report leaves out
            self.audit_failures[(cr_kind, ns, kind, name)] = frozenset(
                (str(m.get("ID", "")), str(m.get("Severity", "UNKNOWN"))) for m in misconf if m.get("Status") == "FAIL")

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

    def forget_gone(self, inv: Inventory) -> None:
        """Drop audit summaries of objects no longer in the cluster (their CRs go with them: owner references)."""
        present = {(w.namespace, w.kind, w.name) for w in inv.workloads if not self._skipped(w)}
        present |= {(r.namespace, r.kind, r.name) for r in inv.resources}
        for key in [k for k in self.audits if (k[1], k[2], k[3]) not in present]:
            del self.audits[key]
            self.audit_failures.pop(key, None)

    # -- one pod, without a pass ----------------------------------------------------------------------------------
    async def on_pod(self, pod: dict[str, Any]) -> bool:
        """Write the reports of a pod's workload straight from the known results, reading only the pod's chain of
        controllers (a GET each), not the cluster: a new pod of an already-scanned digest gets its reports at
        once. False when it needs a full pass (a digest without a fresh result, an old ReplicaSet revision, a
        controller that cannot be read): then nothing was written."""
        meta = pod.get("metadata") or {}
        ns = str(meta.get("namespace", ""))
        if not self.cfg.watched(ns) or ns in self.skipped_namespaces:
            return True  # nothing to do, and no pass either
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        used: list[tuple[str, ContainerImage]] = []
        for key, status_key, ctype in (("containers", "containerStatuses", "container"),
                                       ("initContainers", "initContainerStatuses", "init")):
            statuses = {str(st.get("name")): st for st in status.get(status_key) or ()}
            for c in spec.get(key) or ():
                image_id = str((statuses.get(str(c.get("name"))) or {}).get("imageID") or "")
                digest, pull_ref = resolve(str(c.get("image") or ""), image_id)
                if not digest:
                    if ctype == "container":
                        return False  # not running yet: the pass after its next event
                    continue
                res = self.results.get(digest)
                if res is None or self.clock() - res.scanned_at >= self.cfg.report_ttl_seconds or (
                        self.db is not None and res.db_built_at and res.db_built_at != self.db.built_at):
                    return False
                used.append((digest, ContainerImage(container=str(c.get("name")), container_type=ctype,  # type: ignore[arg-type]
                                                    spec_image=str(c.get("image") or ""), image_id=image_id,
                                                    digest=digest, pull_ref=pull_ref)))
        if not used:
            return False
        w = await self._top_controller(pod)
        if w is None:
            return False
        if not isinstance(w, Workload):  # labelled "skip"
            return True
        for digest, c in used:
            await self._write_reports(digest, [(w, c)], self.results[digest])
        return True

    async def _top_controller(self, pod: dict[str, Any]) -> Workload | str | None:
        """The workload the pod is reported under (its highest controller, as the inventory groups pods), "skip"
        when it is labelled so, None when it is not the current revision or cannot be read."""
        kinds = {"ReplicaSet": REPLICASETS, "Deployment": DEPLOYMENTS, "StatefulSet": STATEFULSETS,
                 "DaemonSet": DAEMONSETS, "Job": JOBS, "CronJob": CRONJOBS,
                 "ReplicationController": REPLICATIONCONTROLLERS}
        ns = str((pod.get("metadata") or {}).get("namespace", ""))
        chain: list[tuple[str, dict[str, Any]]] = [("Pod", pod)]
        for _ in range(4):
            refs = [r for r in (chain[-1][1].get("metadata") or {}).get("ownerReferences") or ()
                    if r.get("controller")]
            if not refs or refs[0].get("kind") not in kinds:
                break
            try:
                obj = await self.client.get(kinds[str(refs[0]["kind"])], str(refs[0]["name"]), ns)
            except Exception:  # gone, or not readable: an inventory would not see it as the controller either
                break
            chain.append((str(refs[0]["kind"]), obj))
        kind, top = chain[-1]
        if kind == "Deployment":
            rs = chain[-2][1]
            rev = "deployment.kubernetes.io/revision"
            if ((rs.get("metadata") or {}).get("annotations") or {}).get(rev) != \
                    ((top.get("metadata") or {}).get("annotations") or {}).get(rev):
                return None  # perhaps an old revision still terminating: the pass decides
        if any(self._skip_labels((o.get("metadata") or {}).get("labels") or {}) for _, o in chain[1:]):
            return "skip"
        m = top.get("metadata") or {}
        return Workload(kind=kind, namespace=ns, name=str(m.get("name", "")), uid=str(m.get("uid", "")))

    # -- the loop --------------------------------------------------------------------------------------------------
    async def run(self, interval: float = 30.0, debounce: float = 0.2) -> None:
        """Reconcile whenever woken (debounced: a burst of events is one pass), every `interval` seconds (Job
        status, TTL expiry), and as soon as the server's DB changed: between passes its version is read every
        `db_poll_seconds` (one small GET), so a new DB is re-matched within that time."""
        last_pass = -float("inf")
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=min(interval, self.cfg.db_poll_seconds))
                await asyncio.sleep(debounce)
            except TimeoutError:
                if time.monotonic() - last_pass < interval:
                    before = self.db
                    await self._read_db()
                    if self.db == before:
                        continue
                    log.info("the server's DB changed (built at %s): re-matching",
                             self.db.built_at if self.db else "?")
            self.wake.clear()
            last_pass = time.monotonic()
            try:
                await self.reconcile_once()
            except Exception as e:  # a pass that fails is retried by the next; the loop never dies
                log.error("reconcile failed: %s: %s", type(e).__name__, str(e).splitlines()[0] if str(e) else "")

def _job_seconds(job: dict[str, Any]) -> float | None:
    """A finished Job's run time from its status (startTime → completionTime, or the last condition's time)."""
    status = job.get("status") or {}
    start = status.get("startTime")
    end = status.get("completionTime") or max((str(c.get("lastTransitionTime") or "")
                                               for c in status.get("conditions") or ()), default="")
    if not start or not end:
        return None
    try:
        t0 = dt.datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        t1 = dt.datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (t1 - t0).total_seconds())
