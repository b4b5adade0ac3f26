"""The report store: every published report kept, findings tracked per target over time.

    store = Store("sqlite:////var/lib/vigil/store.db")        # or "postgresql://vigil@db/vigil"
    result = store.publish(PublishRequest(report=report, target=TargetSpec(name="web", labels={"team": "a"})))
    store.findings(target_id=result.target_id, severity=("CRITICAL",), status="open")

One code path for SQLite (WAL, the embedded default) and PostgreSQL (several server replicas): SQLAlchemy Core, no
dialect-specific SQL except the target upsert. A publish is one transaction that locks its target's row, so two
replicas publishing for one target take turns and findings never get two rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from vigil.findings.records import SEVERITIES as SEVERITY_LEVELS
from vigil.findings.records import Report
from vigil.store.engine import Gone, NotFound, StoreError, create_engines, upgrade
from vigil.store.extract import FindingRow, findings_of, layers_of, locate, remediation_plan, stable_key
from vigil.store.records import (
    FindingOut,
    FindingPage,
    IgnoreRuleIn,
    IgnoreRuleOut,
    IgnoreRulePage,
    LayerOut,
    PublishRequest,
    PublishResult,
    RemediationPlan,
    ScanDiff,
    ScanOut,
    ScanPage,
    SeverityCounts,
    SuppressionOut,
    SuppressionPage,
    TargetOut,
    TargetPage,
    TargetSpec,
    Trend,
    TrendPoint,
)
from vigil.store.schema import (
    findings,
    ignore_rules,
    rollup_totals,
    rollups,
    scan_findings,
    scans,
    suppressions,
    targets,
)

_T = TypeVar("_T")
SEVERITIES: tuple[str, ...] = SEVERITY_LEVELS
DEFAULT_RETENTION_DAYS = 90
MAX_PAGE = 1000
MAX_SUPPRESSIONS = 10000  # per scan: a report may list every finding an ignore rule hid
_UNTIL = re.compile(r"\(until (\d{4}-\d{2}-\d{2})\)")  # how vigil.findings.suppress writes an entry's expiry
_CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's bound-parameter limits
_SEV_ORDER = tuple(reversed(SEVERITIES))  # CRITICAL first
_SEV_RANK = case({s: i for i, s in enumerate(SEVERITIES)}, value=findings.c.severity, else_=0)
TARGET_SORTS = ("name", "last_scan", "critical", "high", "risk")
FINDING_SORTS = ("severity", "first_seen", "last_seen", "id", "package")
SUPPRESSED = ("hide", "only", "all")  # findings lists: what the server's active suppressions hide
MAX_IGNORE_RULES = 10000
# the columns a publish compares with what the scan says (and updates when they changed)
_TRACKED = (findings.c.id, findings.c.key, findings.c.fixed_at, findings.c.first_seen, findings.c.severity,
            findings.c.fixed_version, findings.c.title, findings.c.kev, findings.c.fixable, findings.c.layer)
_PLAN = msgspec.json.Decoder(RemediationPlan)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _naive_utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    return t.replace(tzinfo=dt.UTC) if t is not None else None


def _scan_time(report: Report, received: dt.datetime) -> dt.datetime:
    """The report's own creation time (UTC), never later than its arrival (a skewed or hostile clock)."""
    try:
        t = _naive_utc(dt.datetime.fromisoformat(report.created_at)) if report.created_at else received
    except ValueError:
        t = received
    return min(t, received)


def _chunks(ids: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _counts(rows: Mapping[str, int]) -> SeverityCounts:
    return SeverityCounts(critical=rows.get("CRITICAL", 0), high=rows.get("HIGH", 0), medium=rows.get("MEDIUM", 0),
                          low=rows.get("LOW", 0), unknown=rows.get("UNKNOWN", 0))


def _n_columns(counts: Mapping[str, int]) -> dict[str, int]:
    return {f"n_{s.lower()}": counts.get(s, 0) for s in SEVERITIES}


def _row_counts(row: Any) -> SeverityCounts:
    return SeverityCounts(critical=row.n_critical, high=row.n_high, medium=row.n_medium, low=row.n_low,
                          unknown=row.n_unknown)


def _labels_json(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"), ensure_ascii=False)


class TargetIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """A target's identity columns and its key (sha256 of the canonical identity)."""

    identity: str
    kind: str
    name: str
    image_digest: str = ""
    repo_tags: tuple[str, ...] = ()
    repository: str = ""
    branch: str = ""
    cluster: str = ""
    namespace: str = ""
    workload: str = ""


def identify(report: Report, spec: TargetSpec) -> TargetIdentity:
    md = report.metadata
    digest = ""
    for rd in md.repo_digests:
        if "@" in rd:
            digest = rd.rpartition("@")[2]
            break
    digest = (digest or md.image_id)[:200]
    tags = tuple(t[:512] for t in md.repo_tags[:64])
    common: dict[str, Any] = {"image_digest": digest, "repo_tags": tags, "repository": spec.repository[:1024],
                              "branch": spec.branch[:512]}
    if spec.workload:
        parts = (spec.cluster[:256], spec.namespace[:256], spec.workload[:512])
        return TargetIdentity(identity=stable_key("workload", *parts), kind="workload",
                              name=spec.name[:1024] or "/".join(p for p in parts if p), cluster=parts[0],
                              namespace=parts[1], workload=parts[2], **common)
    art = report.artifact_type
    if art == "container_image":
        kind = "image"
        name = spec.name or report.artifact_name
    elif art in ("filesystem", "repository") and (spec.repository or art == "repository"):
        kind = "repository"
        repo = spec.repository or report.artifact_name
        name = spec.name or (f"{repo}@{spec.branch}" if spec.branch else repo)
    else:
        kind = "sbom" if art == "sbom" else "filesystem"
        name = spec.name or report.artifact_name
    name = name[:1024]
    return TargetIdentity(identity=stable_key(kind, name), kind=kind, name=name, cluster=spec.cluster[:256],
                          namespace=spec.namespace[:256], **common)


class Store:
    def __init__(self, url: str, *, retention_days: int = DEFAULT_RETENTION_DAYS, migrate: bool = True) -> None:
        self.url = url
        self.retention_days = retention_days
        self.writer, self.reader = create_engines(url)
        self.dialect = self.writer.dialect.name
        if migrate:
            try:
                upgrade(self.writer)
            except OperationalError as e:
                self.close()
                raise StoreError(f"cannot open the report store: {e.orig or e}") from e

    def close(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()

    # --- writing ---------------------------------------------------------------------------------------------

    def publish(self, req: PublishRequest, *, publisher: str = "", received_at: dt.datetime | None = None
                ) -> PublishResult:
        received = _naive_utc(received_at) if received_at else utcnow()
        try:
            with self.writer.begin() as c:
                return self._publish(c, req, publisher[:256], received)
        except SQLAlchemyError as e:
            raise StoreError(f"the report store failed: {e}") from e

    def _target_row(self, c: Connection, ident: TargetIdentity, spec: TargetSpec, now: dt.datetime) -> Any:
        values = {"identity": ident.identity, "kind": ident.kind, "name": ident.name, "created_at": now,
                  "labels": _labels_json(spec.labels), "repository": ident.repository, "branch": ident.branch,
                  "cluster": ident.cluster, "namespace": ident.namespace, "workload": ident.workload}
        from sqlalchemy.dialects import postgresql, sqlite

        # the one dialect-specific statement: both have INSERT ... ON CONFLICT DO NOTHING
        stmt: Any = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(targets)
        c.execute(stmt.values(**values).on_conflict_do_nothing(index_elements=["identity"]))
        return c.execute(select(targets).where(targets.c.identity == ident.identity).with_for_update()).one()

    def _publish(self, c: Connection, req: PublishRequest, publisher: str, received: dt.datetime) -> PublishResult:
        report = req.report
        ident = identify(report, req.target)
        t = self._target_row(c, ident, req.target, received)
        tid = t.id
        when = _scan_time(report, received)
        rows = findings_of(report)
        scan_counts: dict[str, int] = {}
        for r in rows:
            scan_counts[r.severity] = scan_counts.get(r.severity, 0) + 1
        sid = c.execute(insert(scans).values(
            target_id=tid, scanned_at=when, received_at=received, artifact_name=report.artifact_name[:1024],
            artifact_type=report.artifact_type, vigil_version=report.vigil_version[:64],
            image_digest=ident.image_digest, commit=req.commit[:64], pipeline_url=req.pipeline_url[:2048],
            source=req.source[:32], publisher=publisher, report=zlib.compress(msgspec.json.encode(report), 6),
            layers=json.dumps(layers_of(report)),
            remediation=msgspec.json.encode(remediation_plan(report, 0)).decode(),
            **_n_columns(scan_counts)).returning(scans.c.id)).scalar_one()
        existing = {r.key: r for r in c.execute(select(*_TRACKED).where(findings.c.target_id == tid))}
        latest = t.last_scan_at is None or when >= t.last_scan_at
        new = fixed = 0
        if latest:
            new, fixed = self._advance(c, tid, sid, when, rows, existing)
            open_counts: dict[str, int] = dict(c.execute(select(findings.c.severity, func.count())
                                         .where(findings.c.target_id == tid, findings.c.fixed_at.is_(None))
                                         .group_by(findings.c.severity)).all())
            c.execute(update(targets).where(targets.c.id == tid).values(
                last_scan_at=when, last_scan_id=sid, image_digest=ident.image_digest,
                repo_tags=json.dumps(list(ident.repo_tags)),
                **({"labels": _labels_json(req.target.labels)} if req.target.labels else {}),
                **_n_columns(open_counts)))
            self._record_suppressions(c, tid, sid, report)
        else:
            self._backfill(c, tid, sid, when, rows, existing)
            open_counts = {s: getattr(t, f"n_{s.lower()}") for s in SEVERITIES}
        ids = [existing[r.key].id for r in rows]  # every finding of the scan has its row by now
        if ids:
            c.execute(insert(scan_findings), [{"scan_id": sid, "finding_id": i} for i in ids])
        self._rollup(c, tid, when.date())
        self._prune_target(c, tid, received)
        return PublishResult(target_id=tid, scan_id=sid, new=new, fixed=fixed, open=sum(open_counts.values()))

    def _record_suppressions(self, c: Connection, tid: int, sid: int, report: Report) -> None:
        c.execute(delete(suppressions).where(suppressions.c.target_id == tid))
        seen: set[tuple[str, str, str, str]] = set()
        rows = []
        for sf in report.metadata.suppressed[:MAX_SUPPRESSIONS]:
            k = (sf.kind, sf.vulnerability_id, sf.pkg_name, sf.target)
            if k in seen:
                continue
            seen.add(k)
            m = _UNTIL.search(sf.reason)
            try:
                expires = dt.date.fromisoformat(m.group(1)) if m else None
            except ValueError:
                expires = None
            rows.append({"target_id": tid, "scan_id": sid, "kind": sf.kind[:16],
                         "finding_id": sf.vulnerability_id[:256], "pkg_name": sf.pkg_name[:512],
                         "location": sf.target[:1024], "reason": sf.reason[:2048], "expires": expires})
        if rows:
            c.execute(insert(suppressions), rows)

    def _insert_findings(self, c: Connection, tid: int, sid: int, when: dt.datetime, rows: list[FindingRow],
                         existing: dict[str, Any], fixed_at: dt.datetime | None) -> None:
        if not rows:
            return
        c.execute(insert(findings), [{
            "target_id": tid, "key": r.key, "kind": r.kind, "finding_id": r.finding_id, "pkg_name": r.pkg_name,
            "pkg_version": r.pkg_version, "location": r.location, "severity": r.severity,
            "fixed_version": r.fixed_version, "title": r.title, "fixable": r.fixable, "kev": r.kev,
            "first_seen": when, "last_seen": when, "fixed_at": fixed_at, "first_scan_id": sid, "last_scan_id": sid,
            "layer": r.layer,
        } for r in rows])
        keys = {r.key for r in rows}
        for chunk in _chunks(sorted(keys)):
            for row in c.execute(select(*_TRACKED).where(findings.c.target_id == tid, findings.c.key.in_(chunk))):
                existing[row.key] = row

    def _advance(self, c: Connection, tid: int, sid: int, when: dt.datetime, rows: list[FindingRow],
                 existing: dict[str, Any]) -> tuple[int, int]:
        """The newest scan of its target: open what is new, reopen what came back, fix what is gone."""
        present = {r.key for r in rows}
        gone = [r.id for k, r in existing.items() if r.fixed_at is None and k not in present]
        reopened = [existing[k].id for k in present if k in existing and existing[k].fixed_at is not None]
        changed = [{"fid": existing[r.key].id, "severity": r.severity, "fixed_version": r.fixed_version,
                    "title": r.title, "kev": r.kev, "fixable": r.fixable, "layer": r.layer}
                   for r in rows if r.key in existing and (
                       existing[r.key].severity, existing[r.key].fixed_version, existing[r.key].title,
                       bool(existing[r.key].kev), bool(existing[r.key].fixable), existing[r.key].layer)
                   != (r.severity, r.fixed_version, r.title, r.kev, r.fixable, r.layer)]
        for chunk in _chunks(gone):
            c.execute(update(findings).where(findings.c.id.in_(chunk)).values(fixed_at=when))
        for chunk in _chunks(reopened):
            c.execute(update(findings).where(findings.c.id.in_(chunk)).values(fixed_at=None))
        if changed:
            from sqlalchemy import bindparam

            c.execute(update(findings).where(findings.c.id == bindparam("fid")).values(
                severity=bindparam("severity"), fixed_version=bindparam("fixed_version"), title=bindparam("title"),
                kev=bindparam("kev"), fixable=bindparam("fixable"), layer=bindparam("layer")), changed)
        # every finding open now is one this scan saw: one statement instead of one per finding
        c.execute(update(findings).where(findings.c.target_id == tid, findings.c.fixed_at.is_(None))
                  .values(last_seen=when, last_scan_id=sid))
        fresh = [r for r in rows if r.key not in existing]
        self._insert_findings(c, tid, sid, when, fresh, existing, None)
        return len(fresh) + len(reopened), len(gone)

    def _backfill(self, c: Connection, tid: int, sid: int, when: dt.datetime, rows: list[FindingRow],
                  existing: dict[str, Any]) -> None:
        """A scan older than the target's newest (published late): it can only move first-seen earlier, and what
        it alone had was fixed by the next scan."""
        nxt = c.execute(select(func.min(scans.c.scanned_at))
                        .where(scans.c.target_id == tid, scans.c.scanned_at > when, scans.c.id != sid)).scalar()
        earlier = [existing[r.key].id for r in rows if r.key in existing and existing[r.key].first_seen > when]
        for chunk in _chunks(earlier):
            c.execute(update(findings).where(findings.c.id.in_(chunk)).values(first_seen=when, first_scan_id=sid))
        fresh = [r for r in rows if r.key not in existing]
        self._insert_findings(c, tid, sid, when, fresh, existing, nxt or when)

    def _rollup(self, c: Connection, tid: int, day: dt.date) -> None:
        """Recompute the roll-up of one target and day from its findings, and the delta of its next roll-up day."""
        start = dt.datetime.combine(day, dt.time())
        end = start + dt.timedelta(days=1)
        f = findings.c
        got = {row.severity: row for row in c.execute(select(
            f.severity,
            func.sum(case((and_(f.first_seen < end, or_(f.fixed_at.is_(None), f.fixed_at >= end)), 1), else_=0))
            .label("open"),
            func.sum(case((and_(f.first_seen >= start, f.first_seen < end), 1), else_=0)).label("new"),
            func.sum(case((and_(f.fixed_at >= start, f.fixed_at < end), 1), else_=0)).label("fixed"))
            .where(f.target_id == tid).group_by(f.severity))}
        prev_day = c.execute(select(func.max(rollups.c.day)).where(rollups.c.target_id == tid, rollups.c.day < day)
                             ).scalar()
        prev = self._open_on(c, tid, prev_day)
        before = {r.severity: r for r in c.execute(select(rollups).where(rollups.c.target_id == tid,
                                                                           rollups.c.day == day))}
        c.execute(delete(rollups).where(rollups.c.target_id == tid, rollups.c.day == day))
        now_open: dict[str, int] = {}
        values: list[dict[str, Any]] = []
        for s in SEVERITIES:
            row = got.get(s)
            n_open = int(row.open or 0) if row else 0
            now_open[s] = n_open
            values.append({"target_id": tid, "day": day, "severity": s, "open": n_open,
                           "open_delta": n_open - prev.get(s, 0), "new": int(row.new or 0) if row else 0,
                           "fixed": int(row.fixed or 0) if row else 0})
        c.execute(insert(rollups), values)
        for v in values:
            old = before.get(v["severity"])
            self._add_totals(c, day, v["severity"], v["open_delta"] - (old.open_delta if old else 0),
                             v["new"] - (old.new if old else 0), v["fixed"] - (old.fixed if old else 0))
        next_day = c.execute(select(func.min(rollups.c.day)).where(rollups.c.target_id == tid, rollups.c.day > day)
                             ).scalar()
        if next_day is not None:
            # totals rows are locked in one order (day, then SEVERITIES) by every publisher: no deadlock
            rows = {x.severity: x for x in c.execute(select(rollups).where(rollups.c.target_id == tid,
                                                                           rollups.c.day == next_day))}
            for nxt in (rows[sev] for sev in SEVERITIES if sev in rows):
                delta = nxt.open - now_open.get(nxt.severity, 0)
                c.execute(update(rollups).where(rollups.c.target_id == tid, rollups.c.day == next_day,
                                                rollups.c.severity == nxt.severity).values(open_delta=delta))
                self._add_totals(c, next_day, nxt.severity, delta - nxt.open_delta, 0, 0)

    def _add_totals(self, c: Connection, day: dt.date, severity: str, open_delta: int, new: int, fixed: int) -> None:
        """Add to the all-targets totals of one day: an atomic increment, so replicas publishing at once add up."""
        if not (open_delta or new or fixed):
            return
        from sqlalchemy.dialects import postgresql, sqlite

        stmt: Any = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(rollup_totals).values(
            day=day, severity=severity, open_delta=open_delta, new=new, fixed=fixed)
        c.execute(stmt.on_conflict_do_update(index_elements=["day", "severity"], set_={
            "open_delta": rollup_totals.c.open_delta + stmt.excluded.open_delta,
            "new": rollup_totals.c.new + stmt.excluded.new, "fixed": rollup_totals.c.fixed + stmt.excluded.fixed}))

    @staticmethod
    def _open_on(c: Connection, tid: int, day: dt.date | None) -> dict[str, int]:
        if day is None:
            return {}
        return dict(c.execute(select(rollups.c.severity, rollups.c.open)
                              .where(rollups.c.target_id == tid, rollups.c.day == day)).all())

    def _prune_target(self, c: Connection, tid: int, now: dt.datetime) -> int:
        """Drop the full report and the finding list of this target's scans past the retention (the newest scan
        always stays); scan rows, findings and roll-ups stay for the long history."""
        cutoff = now - dt.timedelta(days=self.retention_days)
        last = select(targets.c.last_scan_id).where(targets.c.id == tid).scalar_subquery()
        old = [i for (i,) in c.execute(select(scans.c.id).where(
            scans.c.target_id == tid, scans.c.scanned_at < cutoff, scans.c.report.is_not(None), scans.c.id != last))]
        for chunk in _chunks(old):
            c.execute(delete(scan_findings).where(scan_findings.c.scan_id.in_(chunk)))
            c.execute(update(scans).where(scans.c.id.in_(chunk)).values(report=None))
        return len(old)

    def prune(self, now: dt.datetime | None = None) -> int:
        """Apply the retention to every target (publishing applies it to the target it writes): the full reports
        and finding lists of scans past it are dropped; scan rows, findings (first seen, fixed at) and roll-ups
        stay. One short transaction per target that has something to drop, its row locked first as a publish
        locks it, so a prune running beside publishes (or on another replica) neither blocks them long nor
        deadlocks with them. Returns the number of scans whose report was dropped."""
        at = _naive_utc(now) if now else utcnow()
        cutoff = at - dt.timedelta(days=self.retention_days)
        try:
            with self.reader.connect() as c:
                due = [tid for (tid,) in c.execute(select(scans.c.target_id).distinct().where(
                    scans.c.scanned_at < cutoff, scans.c.report.is_not(None)).order_by(scans.c.target_id))]
            n = 0
            for tid in due:
                with self.writer.begin() as c:
                    c.execute(select(targets.c.id).where(targets.c.id == tid).with_for_update())
                    n += self._prune_target(c, tid, at)
        except SQLAlchemyError as e:
            raise StoreError(f"the report store failed: {e}") from e
        return n

    # --- reading ---------------------------------------------------------------------------------------------

    def _target_out(self, r: Any) -> TargetOut:
        return TargetOut(id=r.id, kind=r.kind, name=r.name, image_digest=r.image_digest,
                         repo_tags=json.loads(r.repo_tags), repository=r.repository, branch=r.branch,
                         cluster=r.cluster, namespace=r.namespace, workload=r.workload, labels=json.loads(r.labels),
                         created_at=_aware(r.created_at) or r.created_at, last_scan_at=_aware(r.last_scan_at),
                         last_scan_id=r.last_scan_id, open=_row_counts(r))

    def target(self, target_id: int) -> TargetOut | None:
        with self.reader.connect() as c:
            r = c.execute(select(targets).where(targets.c.id == target_id)).first()
        return self._target_out(r) if r is not None else None

    def targets(self, *, q: str = "", kind: str = "", labels: Mapping[str, str | None] | None = None,
                stale_days: int | None = None, sort: str = "name", desc: bool = False, limit: int = 50,
                offset: int = 0, now: dt.datetime | None = None) -> TargetPage:
        conds: list[ColumnElement[bool]] = []
        if q:
            conds.append(func.lower(targets.c.name).contains(q.lower(), autoescape=True))
        if kind:
            conds.append(targets.c.kind == kind)
        for k, v in (labels or {}).items():  # in the labels' canonical JSON: "k":"v" (or "k": for any value)
            frag = (json.dumps({k: v}, separators=(",", ":"), ensure_ascii=False)[1:-1] if v is not None
                    else json.dumps(k, ensure_ascii=False) + ":")
            conds.append(targets.c.labels.contains(frag, autoescape=True))
        if stale_days is not None:
            cutoff = (_naive_utc(now) if now else utcnow()) - dt.timedelta(days=stale_days)
            conds.append(or_(targets.c.last_scan_at.is_(None), targets.c.last_scan_at < cutoff))
        # risk: most CRITICAL first, then HIGH, MEDIUM, LOW (lexicographic: no weighted sum to overflow)
        t = targets.c
        keys: dict[str, list[Any]] = {"name": [t.name], "last_scan": [t.last_scan_at], "critical": [t.n_critical],
                                      "high": [t.n_high], "risk": [t.n_critical, t.n_high, t.n_medium, t.n_low]}
        if sort not in keys:
            raise StoreError(f"unknown sort {sort!r} (one of {', '.join(TARGET_SORTS)})")
        stmt = select(targets).where(*conds).order_by(*[k.desc() if desc else k.asc() for k in keys[sort]], t.id)
        with self.reader.connect() as c:
            total = c.execute(select(func.count()).select_from(targets).where(*conds)).scalar_one()
            rows = c.execute(stmt.limit(min(limit, MAX_PAGE)).offset(max(offset, 0))).all()
        return TargetPage(total=total, items=[self._target_out(r) for r in rows])

    def finding(self, finding_id: int) -> tuple[FindingOut, Any, Any] | None:
        """One finding, with its record and Result from the newest kept report that saw it (None, None when every
        such report is past the retention)."""
        f = findings.c
        with self.reader.connect() as c:
            row = c.execute(self._finding_query(status="all").where(f.id == finding_id)).first()
            if row is None:
                return None
            raw = c.execute(select(scans.c.report).join(scan_findings, scan_findings.c.scan_id == scans.c.id)
                            .where(scan_findings.c.finding_id == finding_id, scans.c.report.is_not(None))
                            .order_by(scans.c.scanned_at.desc()).limit(1)).scalar()
        found = locate(msgspec.json.decode(zlib.decompress(raw), type=Report), row.key) if raw is not None else None
        return self._finding_out(row), *(found or (None, None))

    def alerts(self, scan_id: int) -> list[FindingOut]:
        """What a scan brought to its target that calls for a notification: findings first seen in this scan (each
        (target, finding) once, so a finding present in every later scan never alerts again) that are CRITICAL,
        known exploited, or an exposed secret."""
        f = findings.c
        stmt = self._finding_query(status="all", suppressed="hide").where(
            f.first_scan_id == scan_id, or_(f.severity == "CRITICAL", f.kev.is_(True), f.kind == "secret"))
        with self.reader.connect() as c:
            return [self._finding_out(r) for r in c.execute(stmt.order_by(f.id).limit(MAX_PAGE))]

    def suppressions(self, *, target_id: int | None = None, q: str = "", expiring_within: int | None = None,
                     limit: int = 50, offset: int = 0, today: dt.date | None = None) -> SuppressionPage:
        """What the targets' newest scans suppressed, soonest expiry first (entries without one last)."""
        sp = suppressions.c
        conds: list[ColumnElement[bool]] = []
        if target_id is not None:
            conds.append(sp.target_id == target_id)
        if q:
            ql = q.lower()
            conds.append(or_(func.lower(sp.finding_id).contains(ql, autoescape=True),
                             func.lower(sp.pkg_name).contains(ql, autoescape=True),
                             func.lower(sp.reason).contains(ql, autoescape=True)))
        if expiring_within is not None:
            conds.append(sp.expires <= (today or utcnow().date()) + dt.timedelta(days=expiring_within))
        stmt = (select(suppressions, targets.c.name.label("target_name"))
                .join(targets, targets.c.id == sp.target_id).where(*conds))
        with self.reader.connect() as c:
            total = c.execute(select(func.count()).select_from(suppressions).where(*conds)).scalar_one()
            rows = c.execute(stmt.order_by(sp.expires.is_(None), sp.expires, sp.id)
                             .limit(min(limit, MAX_PAGE)).offset(max(offset, 0))).all()
        return SuppressionPage(total=total, items=[SuppressionOut(
            target_id=r.target_id, target_name=r.target_name, scan_id=r.scan_id, kind=r.kind,
            finding_id=r.finding_id, pkg_name=r.pkg_name, location=r.location, reason=r.reason, expires=r.expires)
            for r in rows])

    def open_totals(self) -> tuple[SeverityCounts, int]:
        """Open findings of every target by severity, and the number of targets."""
        t = targets.c
        with self.reader.connect() as c:
            r = c.execute(select(func.coalesce(func.sum(t.n_critical), 0).label("n_critical"),
                                 func.coalesce(func.sum(t.n_high), 0).label("n_high"),
                                 func.coalesce(func.sum(t.n_medium), 0).label("n_medium"),
                                 func.coalesce(func.sum(t.n_low), 0).label("n_low"),
                                 func.coalesce(func.sum(t.n_unknown), 0).label("n_unknown"),
                                 func.count().label("n"))).one()
        return SeverityCounts(critical=int(r.n_critical), high=int(r.n_high), medium=int(r.n_medium),
                              low=int(r.n_low), unknown=int(r.n_unknown)), int(r.n)

    @staticmethod
    def _scan_out(r: Any) -> ScanOut:
        return ScanOut(id=r.id, target_id=r.target_id, scanned_at=_aware(r.scanned_at) or r.scanned_at,
                       received_at=_aware(r.received_at) or r.received_at, artifact_name=r.artifact_name,
                       artifact_type=r.artifact_type, vigil_version=r.vigil_version, image_digest=r.image_digest,
                       commit=r.commit, pipeline_url=r.pipeline_url, source=r.source, publisher=r.publisher,
                       counts=_row_counts(r), report_kept=r.report_kept)

    def _scan_cols(self) -> list[Any]:
        return [c for c in scans.c if c.name not in ("report", "layers", "remediation")] + [
            scans.c.report.is_not(None).label("report_kept")]

    def scans(self, target_id: int, *, limit: int = 50, offset: int = 0) -> ScanPage:
        with self.reader.connect() as c:
            total = c.execute(select(func.count()).select_from(scans).where(scans.c.target_id == target_id)
                              ).scalar_one()
            rows = c.execute(select(*self._scan_cols()).where(scans.c.target_id == target_id)
                             .order_by(scans.c.scanned_at.desc(), scans.c.id.desc())
                             .limit(min(limit, MAX_PAGE)).offset(max(offset, 0))).all()
        return ScanPage(total=total, items=[self._scan_out(r) for r in rows])

    def scan(self, scan_id: int) -> ScanOut | None:
        with self.reader.connect() as c:
            r = c.execute(select(*self._scan_cols()).where(scans.c.id == scan_id)).first()
        return self._scan_out(r) if r is not None else None

    def scan_report(self, scan_id: int) -> bytes | None:
        """The scan's full JSON report, while within the retention."""
        with self.reader.connect() as c:
            raw = c.execute(select(scans.c.report).where(scans.c.id == scan_id)).scalar()
        return zlib.decompress(raw) if raw is not None else None

    def _finding_query(self, *, target_id: int | None = None, scan_id: int | None = None,
                       severity: Sequence[str] = (), status: str = "open", fixable: bool | None = None,
                       package: str = "", version: str = "", finding_id: str = "", kind: str = "",
                       since: dt.datetime | None = None, kev: bool | None = None, q: str = "", layer: str = "",
                       suppressed: str = "all", today: dt.date | None = None) -> Select[Any]:
        f = findings.c
        stmt = select(findings, targets.c.name.label("target_name")).join(targets, targets.c.id == f.target_id)
        if scan_id is not None:
            stmt = stmt.join(scan_findings, and_(scan_findings.c.finding_id == f.id,
                                                 scan_findings.c.scan_id == scan_id))
        elif status == "open":
            stmt = stmt.where(f.fixed_at.is_(None))
        elif status == "fixed":
            stmt = stmt.where(f.fixed_at.is_not(None))
        elif status != "all":
            raise StoreError(f"unknown status {status!r} (open, fixed or all)")
        if target_id is not None:
            stmt = stmt.where(f.target_id == target_id)
        if severity:
            stmt = stmt.where(f.severity.in_([s.upper() for s in severity]))
        if fixable is not None:
            stmt = stmt.where(f.fixable == fixable)
        if kev is not None:
            stmt = stmt.where(f.kev == kev)
        if package:
            stmt = stmt.where(f.pkg_name == package)
        if version:
            stmt = stmt.where(f.pkg_version == version)
        if finding_id:
            stmt = stmt.where(f.finding_id == finding_id)
        if kind:
            stmt = stmt.where(f.kind == kind)
        if since is not None:
            stmt = stmt.where(f.first_seen >= _naive_utc(since))
        if q:
            ql = q.lower()
            stmt = stmt.where(or_(func.lower(f.finding_id).contains(ql, autoescape=True),
                                  func.lower(f.pkg_name).contains(ql, autoescape=True),
                                  func.lower(f.title).contains(ql, autoescape=True)))
        if layer:
            stmt = stmt.where(f.layer == layer)
        if suppressed not in SUPPRESSED:
            raise StoreError(f"unknown suppressed {suppressed!r} (hide, only or all)")
        if suppressed != "all":
            hidden = self._suppressed(today)
            stmt = stmt.where(hidden if suppressed == "only" else ~hidden)
        return stmt

    @staticmethod
    def _suppressed(today: dt.date | None = None) -> ColumnElement[bool]:
        """A finding that one of the server's active suppressions (not expired today) hides."""
        ir, f = ignore_rules.c, findings.c
        day = today or utcnow().date()
        return select(ir.id).where(
            ir.finding_id == f.finding_id, or_(ir.pkg_name == "", ir.pkg_name == f.pkg_name),
            or_(ir.target_id.is_(None), ir.target_id == f.target_id),
            or_(ir.expires.is_(None), ir.expires > day)).exists()

    @staticmethod
    def _finding_out(r: Any) -> FindingOut:
        return FindingOut(id=r.id, target_id=r.target_id, target_name=r.target_name, kind=r.kind,
                          finding_id=r.finding_id, pkg_name=r.pkg_name, pkg_version=r.pkg_version,
                          location=r.location, severity=r.severity, fixed_version=r.fixed_version, title=r.title,
                          fixable=bool(r.fixable), kev=bool(r.kev), status="fixed" if r.fixed_at else "open",
                          first_seen=_aware(r.first_seen) or r.first_seen,
                          last_seen=_aware(r.last_seen) or r.last_seen, fixed_at=_aware(r.fixed_at), layer=r.layer)

    def findings(self, *, sort: str = "severity", desc: bool = True, limit: int = 50, offset: int = 0,
                 **filters: Any) -> FindingPage:
        stmt = self._finding_query(**{"suppressed": "hide", **filters})
        f = findings.c
        key = {"severity": _SEV_RANK, "first_seen": f.first_seen, "last_seen": f.last_seen, "id": f.finding_id,
               "package": f.pkg_name}.get(sort)
        if key is None:
            raise StoreError(f"unknown sort {sort!r} (one of {', '.join(FINDING_SORTS)})")
        with self.reader.connect() as c:
            total = c.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
            rows = c.execute(stmt.order_by(key.desc() if desc else key.asc(), f.id)
                             .limit(min(limit, MAX_PAGE)).offset(max(offset, 0))).all()
        return FindingPage(total=total, items=[self._finding_out(r) for r in rows])

    def iter_findings(self, **filters: Any) -> Iterator[FindingOut]:
        """Every matching finding, in id order, read in pages (exports)."""
        stmt = self._finding_query(**{"suppressed": "hide", **filters}).order_by(findings.c.id)
        last = 0
        while True:
            with self.reader.connect() as c:
                rows = c.execute(stmt.where(findings.c.id > last).limit(MAX_PAGE)).all()
            if not rows:
                return
            for r in rows:
                yield self._finding_out(r)
            last = rows[-1].id

    def diff(self, from_scan: int, to_scan: int) -> ScanDiff:
        """What changed between two scans of the retention (of one target or of two)."""
        with self.reader.connect() as c:
            kept: dict[int, bool] = dict(c.execute(select(scans.c.id, scans.c.report.is_not(None))
                                  .where(scans.c.id.in_([from_scan, to_scan]))).all())
            for s in (from_scan, to_scan):
                if s not in kept:
                    raise NotFound(f"no scan {s}")
                if not kept[s]:
                    raise Gone(f"scan {s} is past the report retention: its findings list is gone")

            def keys(sid: int) -> dict[str, Any]:
                stmt = self._finding_query(scan_id=sid, status="all")
                return {r.key: r for r in c.execute(stmt)}

            a, b = keys(from_scan), keys(to_scan)
        added = [self._finding_out(b[k]) for k in b.keys() - a.keys()]
        removed = [self._finding_out(a[k]) for k in a.keys() - b.keys()]
        order = {s: i for i, s in enumerate(_SEV_ORDER)}
        for lst in (added, removed):
            lst.sort(key=lambda x: (order.get(x.severity, 9), x.finding_id, x.pkg_name))
        return ScanDiff(from_scan=from_scan, to_scan=to_scan, added=added, removed=removed,
                        unchanged=len(a.keys() & b.keys()))

    def trend(self, *, days: int = 30, end: dt.date | None = None, target_id: int | None = None) -> Trend:
        """Per day: open findings by severity (every target's latest roll-up carried forward), new and fixed."""
        last = end or utcnow().date()
        first = last - dt.timedelta(days=max(days, 1) - 1)
        # one target: its roll-ups; every target: the totals kept beside them (one row per day and severity)
        r: Any = rollups.c if target_id is not None else rollup_totals.c
        where = [rollups.c.target_id == target_id] if target_id is not None else []
        with self.reader.connect() as c:
            base: dict[str, Any] = dict(c.execute(select(r.severity, func.sum(r.open_delta)).where(r.day < first, *where)
                                  .group_by(r.severity)).all())
            rows = c.execute(select(r.day, r.severity, func.sum(r.open_delta), func.sum(r.new), func.sum(r.fixed))
                             .where(r.day >= first, r.day <= last, *where).group_by(r.day, r.severity)).all()
        by_day: dict[dt.date, dict[str, tuple[int, int, int]]] = {}
        for day, sev, d, n, fx in rows:
            by_day.setdefault(day, {})[sev] = (int(d or 0), int(n or 0), int(fx or 0))
        running = {s: int(base.get(s) or 0) for s in SEVERITIES}
        points = []
        day = first
        while day <= last:
            got = by_day.get(day, {})
            for s, (d, _, _) in got.items():
                running[s] = running.get(s, 0) + d
            points.append(TrendPoint(day=day, open=_counts(running),
                                     new=_counts({s: v[1] for s, v in got.items()}),
                                     fixed=_counts({s: v[2] for s, v in got.items()})))
            day += dt.timedelta(days=1)
        return Trend(points=points)

    # --- the target page's extras ------------------------------------------------------------------------------

    def remediation(self, scan_id: int) -> RemediationPlan | None:
        """The scan's remediation plan (kept past the retention); None for no such scan."""
        with self.reader.connect() as c:
            raw = c.execute(select(scans.c.remediation).where(scans.c.id == scan_id)).scalar()
        if raw is None:
            return None
        try:
            plan = _PLAN.decode(raw)
        except msgspec.ValidationError:  # stored before revision 0005: "{}"
            return RemediationPlan(scan_id=scan_id)
        return msgspec.structs.replace(plan, scan_id=scan_id)

    def layers(self, scan_id: int) -> list[LayerOut]:
        with self.reader.connect() as c:
            raw = c.execute(select(scans.c.layers).where(scans.c.id == scan_id)).scalar()
        return [LayerOut(diff_id=str(d), created_by=str(b)) for d, b in json.loads(raw or "[]")]

    # --- suppressions kept on the server ---------------------------------------------------------------------

    def _rule_query(self, today: dt.date) -> Select[Any]:
        ir, f = ignore_rules.c, findings.c
        hides = (select(func.count()).select_from(findings).where(
            f.fixed_at.is_(None), f.finding_id == ir.finding_id, or_(ir.pkg_name == "", f.pkg_name == ir.pkg_name),
            or_(ir.target_id.is_(None), f.target_id == ir.target_id)).scalar_subquery())
        return (select(ignore_rules, func.coalesce(targets.c.name, "").label("target_name"), hides.label("hides"),
                       or_(ir.expires.is_(None), ir.expires > today).label("active"))
                .outerjoin(targets, targets.c.id == ir.target_id))

    @staticmethod
    def _rule_out(r: Any) -> IgnoreRuleOut:
        return IgnoreRuleOut(id=r.id, finding_id=r.finding_id, pkg_name=r.pkg_name, target_id=r.target_id,
                             target_name=r.target_name, statement=r.statement, author=r.author,
                             created_at=_aware(r.created_at) or r.created_at, updated_by=r.updated_by,
                             updated_at=_aware(r.updated_at) or r.updated_at, expires=r.expires,
                             active=bool(r.active), hides=int(r.hides or 0) if r.active else 0)

    def ignore_rules(self, *, q: str = "", active: bool | None = None, limit: int = 50, offset: int = 0,
                     today: dt.date | None = None) -> IgnoreRulePage:
        """The server's suppressions, active ones first, soonest expiry first (no expiry last)."""
        day = today or utcnow().date()
        ir = ignore_rules.c
        conds: list[ColumnElement[bool]] = []
        if q:
            ql = q.lower()
            conds.append(or_(func.lower(ir.finding_id).contains(ql, autoescape=True),
                             func.lower(ir.pkg_name).contains(ql, autoescape=True),
                             func.lower(ir.statement).contains(ql, autoescape=True)))
        is_active = or_(ir.expires.is_(None), ir.expires > day)
        if active is not None:
            conds.append(is_active if active else ~is_active)
        with self.reader.connect() as c:
            total = c.execute(select(func.count()).select_from(ignore_rules).where(*conds)).scalar_one()
            rows = c.execute(self._rule_query(day).where(*conds)
                             .order_by(case((is_active, 0), else_=1), ir.expires.is_(None), ir.expires, ir.id)
                             .limit(min(limit, MAX_PAGE)).offset(max(offset, 0))).all()
        return IgnoreRulePage(total=total, items=[self._rule_out(r) for r in rows])

    def ignore_rule(self, rule_id: int, *, today: dt.date | None = None) -> IgnoreRuleOut | None:
        with self.reader.connect() as c:
            r = c.execute(self._rule_query(today or utcnow().date()).where(ignore_rules.c.id == rule_id)).first()
        return self._rule_out(r) if r is not None else None

    @staticmethod
    def _rule_values(rule: IgnoreRuleIn) -> dict[str, Any]:
        fid, statement = rule.finding_id.strip(), rule.statement.strip()
        if not fid or len(fid) > 256:
            raise StoreError("a suppression needs a finding ID (CVE, check or secret rule ID) of at most 256 "
                             "characters")
        if not statement or len(statement) > 2048:
            raise StoreError("a suppression needs a statement (why it is suppressed) of at most 2048 characters")
        if len(rule.pkg_name) > 512:
            raise StoreError("package name over 512 characters")
        return {"finding_id": fid, "pkg_name": rule.pkg_name.strip(), "target_id": rule.target_id,
                "statement": statement, "expires": rule.expires}

    def add_ignore_rule(self, rule: IgnoreRuleIn, *, author: str, now: dt.datetime | None = None) -> IgnoreRuleOut:
        values = self._rule_values(rule)
        at = _naive_utc(now) if now else utcnow()
        try:
            with self.writer.begin() as c:
                _need_target(c, values["target_id"])
                if c.execute(select(func.count()).select_from(ignore_rules)).scalar_one() >= MAX_IGNORE_RULES:
                    raise StoreError(f"the store keeps at most {MAX_IGNORE_RULES} suppressions: remove some first")
                rid = c.execute(insert(ignore_rules).values(
                    **values, author=author[:256], created_at=at, updated_by=author[:256], updated_at=at)
                    .returning(ignore_rules.c.id)).scalar_one()
        except SQLAlchemyError as e:
            raise StoreError(f"the report store failed: {e}") from e
        got = self.ignore_rule(rid, today=at.date())
        assert got is not None
        return got

    def update_ignore_rule(self, rule_id: int, rule: IgnoreRuleIn, *, author: str,
                           now: dt.datetime | None = None) -> IgnoreRuleOut:
        values = self._rule_values(rule)
        at = _naive_utc(now) if now else utcnow()
        try:
            with self.writer.begin() as c:
                _need_target(c, values["target_id"])
                n = c.execute(update(ignore_rules).where(ignore_rules.c.id == rule_id).values(
                    **values, updated_by=author[:256], updated_at=at)).rowcount
        except SQLAlchemyError as e:
            raise StoreError(f"the report store failed: {e}") from e
        if not n:
            raise NotFound(f"no suppression {rule_id}")
        got = self.ignore_rule(rule_id, today=at.date())
        assert got is not None
        return got

    def delete_ignore_rule(self, rule_id: int) -> None:
        try:
            with self.writer.begin() as c:
                n = c.execute(delete(ignore_rules).where(ignore_rules.c.id == rule_id)).rowcount
        except SQLAlchemyError as e:
            raise StoreError(f"the report store failed: {e}") from e
        if not n:
            raise NotFound(f"no suppression {rule_id}")


def _need_target(c: Connection, target_id: int | None) -> None:
    """A suppression may name a target: it must exist (NotFound, a 404, otherwise)."""
    if target_id is not None and c.execute(select(targets.c.id).where(targets.c.id == target_id)).first() is None:
        raise NotFound(f"no target {target_id}")
