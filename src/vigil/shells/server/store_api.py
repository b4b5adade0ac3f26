"""The report store's HTTP API on `vigil server` (the web UI, ui.py, sits on the same access rules).

    POST /v1/reports                        publish a report (PublishRequest) -> PublishResult        write
    GET  /v1/targets                        list/search targets (q, kind, label=k=v, stale_days, sort) read
    GET  /v1/targets/{id}                   one target                                                read
    GET  /v1/targets/{id}/scans             its scans, newest first                                   read
    GET  /v1/targets/{id}/trend             its daily history                                         read
    GET  /v1/scans/{id}                     one scan; /v1/scans/{id}/report: its full JSON report     read
    GET  /v1/findings                       findings with filters (target, scan, severity, status,   read
                                            fixable, kev, package, version, id, kind, since, q)
    GET  /v1/findings/export                the same as CSV or JSON, every page                       read
    GET  /v1/diff?from_scan=&to_scan=       what changed between two scans                            read
    GET  /v1/where?id=CVE-X | package=P&version=V   the targets where it is open now               read
    GET  /v1/trends                         every target's daily history summed                        read
    GET  /v1/suppressions                   what the newest scans suppressed, soonest expiry first     read
    GET  /v1/ignore-rules                   the suppressions kept on the server                        read
    POST /v1/ignore-rules                   add one (IgnoreRuleIn)                                     write
    GET|PUT|DELETE /v1/ignore-rules/{id}    one of them: read, change, remove                          r/w
    GET  /v1/targets/{id}/remediation       the newest scan's remediation plan                         read
    GET  /v1/scans/{id}/layers              the scanned image's layers                                 read

Access: the server's tokens (--token-file) may read and publish; read-only tokens (--read-only-token-file) may
only read. Behind an authenticating proxy (oauth2-proxy and the like), --auth-proxy-user-header names the header
that carries the signed-in user and --auth-proxy-groups-header their groups (comma-separated): a user in one of
--auth-proxy-read-groups may read, in --auth-proxy-write-groups also publish. The proxy must strip those headers
from what clients send: the server believes them. With no token and no proxy configured, everyone may do
everything (as for the rest of the server).
"""

from __future__ import annotations

import csv
import datetime as dt
import hmac
import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from vigil.findings.wire import ErrorBody
from vigil.log import get_logger
from vigil.store import Gone, NotFound, PublishRequest, Store, StoreError
from vigil.store.records import (
    FindingPage,
    IgnoreRuleIn,
    IgnoreRuleOut,
    IgnoreRulePage,
    LayerOut,
    PublishResult,
    RemediationPlan,
    ScanDiff,
    ScanOut,
    ScanPage,
    SuppressionPage,
    TargetOut,
    TargetPage,
    Trend,
)

log = get_logger(__name__)
JSON = "application/json"
MAX_REPORT_BYTES = 64 << 20  # one published report (an image with every finding is a few MB)
STORE_PREFIXES = ("/v1/reports", "/v1/targets", "/v1/scans", "/v1/findings", "/v1/diff", "/v1/where",
                  "/v1/trends", "/v1/suppressions", "/v1/ignore-rules", "/ui", "/static")
SCHEMA_TYPES: tuple[type, ...] = (PublishRequest, PublishResult, TargetPage, TargetOut, ScanPage, ScanOut,
                                  FindingPage, ScanDiff, Trend, SuppressionPage, IgnoreRuleIn, IgnoreRuleOut,
                                  IgnoreRulePage, RemediationPlan, LayerOut)
Access = Literal["read", "write"]
_DECODER = msgspec.json.Decoder(PublishRequest)
_RULE_DECODER = msgspec.json.Decoder(IgnoreRuleIn)
MAX_RULE_BYTES = 64 << 10
# ids and offsets: the store's integer columns are 32-bit on PostgreSQL (a larger bound value is an error there)
MAX_ID = 2**31 - 1
# parameter types at module level: FastAPI resolves the (string) annotations in this module's namespace
_ID = Annotated[int, PathParam(ge=1, le=MAX_ID)]
_OptID = Annotated[int | None, Query(ge=1, le=MAX_ID)]
_Str = Annotated[str, Query(max_length=512)]
Sort = Literal["name", "last_scan", "critical", "high", "risk"]
Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]
Status = Literal["open", "fixed", "all"]
Kind = Literal["", "vulnerability", "misconfiguration", "secret"]
# what the server's active suppressions hide: hidden (the default), only the hidden ones, or everything
Suppressed = Literal["hide", "only", "all"]
_Layer = Annotated[str, Query(max_length=80, description="the DiffID of the image layer that brought the finding")]
# dates as strings in a format: pydantic's date types would also take a number as a Unix time, which the
# document does not say; msgspec parses them (RFC 3339, like every time the API returns)
_Date = Annotated[str | None, Query(max_length=10, json_schema_extra={"format": "date"})]
_Since = Annotated[str | None, Query(max_length=64, json_schema_extra={"format": "date-time"})]
TargetKind = Literal["", "image", "repository", "workload", "filesystem", "sbom"]


def is_store_path(path: str) -> bool:
    """Paths whose access this module decides (the server's own guard leaves them to it)."""
    return path == "/" or path.startswith(STORE_PREFIXES)


@dataclass
class StoreService:
    store: Store
    write_tokens: tuple[str, ...] = ()
    read_tokens: tuple[str, ...] = ()
    token_header: str = "Vigil-Token"
    proxy_user_header: str = ""
    proxy_groups_header: str = ""
    proxy_read_groups: frozenset[str] = frozenset()
    proxy_write_groups: frozenset[str] = frozenset()
    secret: bytes = field(default_factory=lambda: __import__("os").urandom(32))  # signs the UI's CSRF tokens
    notifier: Any = None  # notify.Notifier when webhooks are configured
    prune_interval: float = 3600.0  # seconds between retention passes over every target; 0: none
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _pruner: threading.Thread | None = field(default=None, init=False)

    def start_pruning(self) -> None:
        """Apply the report retention every prune_interval. A publish prunes only the target it writes, so the
        reports of a target nobody publishes to any more (a deleted workload, a retired branch) would be kept
        for ever without this pass. A failing pass (the database away) is logged and retried next time."""
        if self.prune_interval <= 0 or self._pruner is not None:
            return

        def loop() -> None:
            while not self._stop.wait(self.prune_interval):
                try:
                    n = self.store.prune()
                except StoreError as e:
                    log.warning("report retention pass failed: %s", e)
                    continue
                if n:
                    log.info("report retention: dropped the full reports of %d scans older than %d days", n,
                             self.store.retention_days)

        self._pruner = threading.Thread(target=loop, name="vigil-store-prune", daemon=True)
        self._pruner.start()

    def close(self) -> None:
        self._stop.set()
        if self._pruner is not None:
            self._pruner.join(10)
        if self.notifier is not None:
            self.notifier.close()
        self.store.close()

    @property
    def open_access(self) -> bool:
        return not (self.write_tokens or self.read_tokens or self.proxy_user_header)

    def access(self, headers: Any, cookie_token: str = "") -> tuple[Access | None, str]:
        """(what the request may do, who it is)."""
        if self.open_access:
            return "write", "anonymous"
        got = (headers.get(self.token_header) or cookie_token or "").encode("utf-8", "replace")
        if got:
            found: tuple[Access, str] | None = None
            for level, toks in (("write", self.write_tokens), ("read", self.read_tokens)):
                for t in toks:  # every token compared, whichever matches
                    if hmac.compare_digest(got, t.encode("utf-8")) and found is None:
                        from vigil.shells.server.state import tenant_of

                        found = (level, "token:" + tenant_of(t)[:12])  # type: ignore[assignment]
            if found is not None:
                return found
        if self.proxy_user_header:
            user = headers.get(self.proxy_user_header, "")
            if user:
                groups = {g.strip() for g in headers.get(self.proxy_groups_header, "").split(",") if g.strip()}
                if groups & self.proxy_write_groups:
                    return "write", "user:" + user[:200]
                if groups & self.proxy_read_groups:
                    return "read", "user:" + user[:200]
        return None, ""


class _Fail(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(obj: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(obj), status_code=status, media_type=JSON)


def _error(status: int, message: str) -> Response:
    return _json(ErrorBody(error=message), status)


def _content(t: type) -> dict[str, Any]:
    return {"content": {JSON: {"schema": {"$ref": f"#/components/schemas/{t.__name__}"}}}}


_TEXT = {400: "Bad request (a parameter out of range or of the wrong form)", 401: "Missing or wrong token",
         403: "This token or user may only read", 404: "No such target, scan or suppression",
         410: "The scan is older than the report retention: its findings list is gone",
         413: "Report over the size limit", 422: "Body does not decode as the record this endpoint takes",
         500: "Internal error (a bug; the traceback is in the server log)",
         503: "This server keeps no report store, or the store is unreachable"}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"description": _TEXT[c], **_content(ErrorBody)} for c in codes}


def _ok(t: type, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, **_content(t)}}


_READ_ERRORS = (400, 401, 500, 503)


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _decode_publish(raw: bytes) -> PublishRequest:
    """Strict, except that 1.0 is the integer 1 (as JSON Schema, and so the API document, says)."""
    try:
        return _DECODER.decode(raw)
    except msgspec.ValidationError:
        loose = msgspec.json.decode(raw)
        if not isinstance(loose, dict):
            raise
        return msgspec.convert(_integral(loose), PublishRequest)


def _date(text: str | None) -> dt.date | None:
    try:
        return msgspec.json.decode(msgspec.json.encode(text), type=dt.date) if text is not None else None
    except msgspec.ValidationError as e:
        raise _Fail(400, f"invalid date {text!r} (expected YYYY-MM-DD): {e}") from e


def _time(text: str | None) -> dt.datetime | None:
    try:
        t = msgspec.json.decode(msgspec.json.encode(text), type=dt.datetime) if text is not None else None
    except msgspec.ValidationError as e:
        raise _Fail(400, f"invalid time {text!r} (expected an RFC 3339 time): {e}") from e
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t


def _csv_cell(v: Any) -> str:
    """Spreadsheets run a cell that starts with = + - @ as a formula: package names and titles are the
    scanned project's text, so such cells get a leading quote."""
    s = "" if v is None else (v.isoformat() if isinstance(v, dt.datetime) else str(v))
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


EXPORT_COLUMNS = ("target_name", "kind", "finding_id", "severity", "status", "pkg_name", "pkg_version",
                  "fixed_version", "location", "fixable", "kev", "title", "first_seen", "last_seen", "fixed_at")


def install(app: FastAPI, service_of: Callable[[], StoreService | None]) -> None:
    """Add the store's routes and its access check to the server's app."""

    def service() -> StoreService:
        s = service_of()
        if s is None:
            raise _Fail(503, "this server keeps no report store (start it with --store)")
        return s

    def need(request: Request, level: Access) -> StoreService:
        s = service()
        got, who = s.access(request.headers, request.cookies.get("vigil_session", ""))
        if got is None:
            raise _Fail(401, f"missing or wrong token (header {s.token_header})")
        if level == "write" and got != "write":
            raise _Fail(403, "this token or user may only read")
        request.state.store_identity = who
        return s

    @app.exception_handler(_Fail)
    async def on_fail(request: Request, exc: _Fail) -> Response:
        return _error(exc.status, str(exc))

    async def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        try:
            return await run_in_threadpool(fn, *args, **kw)
        except NotFound as e:
            raise _Fail(404, str(e)) from e
        except Gone as e:
            raise _Fail(410, str(e)) from e
        except StoreError as e:
            raise _Fail(503 if "failed" in str(e) else 400, str(e)) from e

    @app.post("/v1/reports", summary="Publish a report to the store", status_code=201, response_class=Response,
              openapi_extra={"requestBody": {"required": True, "description": "The report and what it is of",
                                             **_content(PublishRequest)}},
              responses={201: {"description": "Stored", **_content(PublishResult)},
                         **_errors(400, 401, 403, 413, 422, 500, 503)})
    async def publish(request: Request) -> Response:
        s = need(request, "write")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_REPORT_BYTES:
            raise _Fail(413, f"report of {declared} bytes is over the {MAX_REPORT_BYTES}-byte limit")
        parts, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > MAX_REPORT_BYTES:
                raise _Fail(413, f"report is over the {MAX_REPORT_BYTES}-byte limit")
            parts.append(chunk)
        try:
            req = _decode_publish(b"".join(parts))
            msgspec.msgpack.encode(req)  # integers beyond 64 bits (which the document's bounds refuse) too
        except OverflowError:
            raise _Fail(422, "invalid PublishRequest: an integer is out of the 64-bit range") from None
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise _Fail(422, f"invalid PublishRequest: {e}") from e
        except RecursionError:
            raise _Fail(422, "invalid PublishRequest: nested too deeply") from None
        result = await call(s.store.publish, req, publisher=request.state.store_identity)
        if s.notifier is not None:
            s.notifier.published(result)
        return _json(result, 201)

    @app.get("/v1/targets", summary="List and search targets", response_class=Response,
             responses={**_ok(TargetPage, "A page of targets"), **_errors(*_READ_ERRORS)})
    async def list_targets(request: Request, q: Annotated[str, Query(max_length=200)] = "",
                           kind: TargetKind = "",
                           label: Annotated[list[str] | None, Query(max_length=20, description="KEY=VALUE, or KEY: has that label")] = None,
                           stale_days: Annotated[int | None, Query(ge=0, le=36500)] = None,
                           sort: Sort = "name", desc: bool = False,
                           limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                           offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> Response:
        s = need(request, "read")
        labels: dict[str, str | None] = {}
        for kv in label or []:  # KEY=VALUE, or KEY for any value
            k, sep, v = kv.partition("=")
            if k:
                labels[k] = v if sep else None
        return _json(await call(s.store.targets, q=q, kind=kind, labels=labels, stale_days=stale_days,
                                sort=sort, desc=desc, limit=limit, offset=offset))

    @app.get("/v1/targets/{target_id}", summary="One target", response_class=Response,
             responses={**_ok(TargetOut, "The target"), **_errors(*_READ_ERRORS, 404)})
    async def get_target(request: Request, target_id: _ID) -> Response:
        s = need(request, "read")
        t = await call(s.store.target, target_id)
        if t is None:
            raise _Fail(404, f"no target {target_id}")
        return _json(t)

    @app.get("/v1/targets/{target_id}/scans", summary="The scans of a target, newest first",
             response_class=Response, responses={**_ok(ScanPage, "A page of scans"), **_errors(*_READ_ERRORS)})
    async def target_scans(request: Request, target_id: _ID, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                           offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> Response:
        s = need(request, "read")
        return _json(await call(s.store.scans, target_id, limit=limit, offset=offset))

    @app.get("/v1/targets/{target_id}/trend", summary="A target's daily history", response_class=Response,
             responses={**_ok(Trend, "One point per day"), **_errors(*_READ_ERRORS)})
    async def target_trend(request: Request, target_id: _ID, days: Annotated[int, Query(ge=1, le=3660)] = 30,
                           end: _Date = None) -> Response:
        s = need(request, "read")
        return _json(await call(s.store.trend, days=days, end=_date(end), target_id=target_id))

    @app.get("/v1/scans/{scan_id}", summary="One scan", response_class=Response,
             responses={**_ok(ScanOut, "The scan"), **_errors(*_READ_ERRORS, 404)})
    async def get_scan(request: Request, scan_id: _ID) -> Response:
        s = need(request, "read")
        got = await call(s.store.scan, scan_id)
        if got is None:
            raise _Fail(404, f"no scan {scan_id}")
        return _json(got)

    @app.get("/v1/scans/{scan_id}/report", summary="A scan's full JSON report (within the retention)",
             response_class=Response,
             responses={200: {"description": "The report as published",
                              "content": {JSON: {"schema": {"$ref": "#/components/schemas/Report"}}}},
                        **_errors(*_READ_ERRORS, 404, 410)})
    async def scan_report(request: Request, scan_id: _ID) -> Response:
        s = need(request, "read")
        raw = await call(s.store.scan_report, scan_id)
        if raw is None:
            if await call(s.store.scan, scan_id) is None:
                raise _Fail(404, f"no scan {scan_id}")
            raise _Fail(410, f"scan {scan_id} is past the report retention: its report is gone")
        return Response(raw, media_type=JSON)

    def filters(target_id: int | None, scan_id: int | None, severity: list[Severity] | None, status: str,
                fixable: bool | None, kev: bool | None, package: str, version: str, id_: str, kind: str,
                since: str | None, q: str, layer: str = "", suppressed: str = "hide") -> dict[str, Any]:
        return {"target_id": target_id, "scan_id": scan_id, "severity": tuple(severity or ()), "status": status,
                "fixable": fixable, "kev": kev, "package": package, "version": version, "finding_id": id_,
                "kind": kind, "since": _time(since), "q": q, "layer": layer, "suppressed": suppressed}

    @app.get("/v1/findings", summary="Findings, filtered, sorted and paged", response_class=Response,
             responses={**_ok(FindingPage, "A page of findings"), **_errors(*_READ_ERRORS)})
    async def list_findings(request: Request, target_id: _OptID = None, scan_id: _OptID = None,
                            severity: Annotated[list[Severity] | None, Query()] = None, status: Status = "open",
                            fixable: bool | None = None, kev: bool | None = None, package: _Str = "",
                            version: _Str = "", id: _Str = "", kind: Kind = "",
                            since: _Since = None, q: _Str = "", layer: _Layer = "", suppressed: Suppressed = "hide",
                            sort: Literal["severity", "first_seen", "last_seen", "id", "package"] = "severity",
                            desc: bool = True, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                            offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> Response:
        s = need(request, "read")
        f = filters(target_id, scan_id, severity, status, fixable, kev, package, version, id, kind, since, q,
                    layer, suppressed)
        return _json(await call(s.store.findings, sort=sort, desc=desc, limit=limit, offset=offset, **f))

    @app.get("/v1/findings/export", summary="Findings as CSV or JSON (every match, no paging)",
             response_class=Response,
             responses={200: {"description": "text/csv (a header row, then one row per finding) or a JSON array "
                                             "of FindingOut",
                              "content": {"text/csv": {"schema": {"type": "string"}},
                                          JSON: {"schema": {"type": "array", "items": {
                                              "$ref": "#/components/schemas/FindingOut"}}}}},
                        **_errors(*_READ_ERRORS)})
    async def export_findings(request: Request, format: Literal["csv", "json"] = "csv", target_id: _OptID = None,
                              scan_id: _OptID = None, severity: Annotated[list[Severity] | None, Query()] = None,
                              status: Status = "open", fixable: bool | None = None, kev: bool | None = None,
                              package: _Str = "", version: _Str = "", id: _Str = "", kind: Kind = "",
                              since: _Since = None, q: _Str = "", layer: _Layer = "",
                              suppressed: Suppressed = "hide") -> Response:
        s = need(request, "read")
        f = filters(target_id, scan_id, severity, status, fixable, kev, package, version, id, kind, since, q,
                    layer, suppressed)

        def rows() -> Iterator[bytes]:
            if format == "json":
                yield b"["
                first = True
                for item in s.store.iter_findings(**f):
                    yield (b"" if first else b",") + msgspec.json.encode(item)
                    first = False
                yield b"]"
                return
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow(EXPORT_COLUMNS)
            for item in s.store.iter_findings(**f):
                w.writerow([_csv_cell(getattr(item, c)) for c in EXPORT_COLUMNS])
                if buf.tell() > 65536:
                    yield buf.getvalue().encode("utf-8")
                    buf.seek(0)
                    buf.truncate()
            yield buf.getvalue().encode("utf-8")

        media = JSON if format == "json" else "text/csv; charset=utf-8"
        return StreamingResponse(iterate_in_threadpool(rows()), media_type=media, headers={
            "Content-Disposition": f'attachment; filename="findings.{format}"'})

    @app.get("/v1/diff", summary="What changed between two scans", response_class=Response,
             responses={**_ok(ScanDiff, "Added, removed and unchanged findings"),
                        **_errors(*_READ_ERRORS, 404, 410)})
    async def diff(request: Request, from_scan: Annotated[int, Query(ge=1, le=MAX_ID)],
                   to_scan: Annotated[int, Query(ge=1, le=MAX_ID)]) -> Response:
        s = need(request, "read")
        return _json(await call(s.store.diff, from_scan, to_scan))

    @app.get("/v1/where", summary="Where a vulnerability or a package is open now", response_class=Response,
             responses={**_ok(FindingPage, "The open findings, with their targets"), **_errors(*_READ_ERRORS)})
    async def where(request: Request, id: _Str = "", package: _Str = "", version: _Str = "",
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> Response:
        s = need(request, "read")
        if not id and not package:  # nothing asked: nothing found (not every finding of every target)
            return _json(FindingPage(total=0, items=[]))
        return _json(await call(s.store.findings, finding_id=id, package=package, version=version, status="open",
                                sort="id", desc=False, limit=limit, offset=offset))

    @app.get("/v1/trends", summary="Daily history of every target, summed", response_class=Response,
             responses={**_ok(Trend, "One point per day"), **_errors(*_READ_ERRORS)})
    async def trends(request: Request, days: Annotated[int, Query(ge=1, le=3660)] = 30,
                     end: _Date = None) -> Response:
        s = need(request, "read")
        return _json(await call(s.store.trend, days=days, end=_date(end)))

    @app.get("/v1/suppressions", summary="What the targets' newest scans suppressed (ignore file, VEX)",
             response_class=Response,
             responses={**_ok(SuppressionPage, "Soonest expiry first"), **_errors(*_READ_ERRORS)})
    async def list_suppressions(request: Request, target_id: _OptID = None, q: _Str = "",
                                expiring_within: Annotated[int | None, Query(ge=0, le=36500)] = None,
                                limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                                offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> Response:
        s = need(request, "read")
        return _json(await call(s.store.suppressions, target_id=target_id, q=q, expiring_within=expiring_within,
                                limit=limit, offset=offset))

    @app.get("/v1/targets/{target_id}/remediation", summary="The remediation plan of a target's newest scan",
             response_class=Response,
             responses={**_ok(RemediationPlan, "Package upgrades, most CRITICAL findings fixed first, and the base "
                                               "image"), **_errors(*_READ_ERRORS, 404)})
    async def target_remediation(request: Request, target_id: _ID) -> Response:
        s = need(request, "read")
        t = await call(s.store.target, target_id)
        plan = await call(s.store.remediation, t.last_scan_id) if t is not None and t.last_scan_id else None
        if plan is None:
            raise _Fail(404, f"no target {target_id}, or it has no scan")
        return _json(plan)

    @app.get("/v1/scans/{scan_id}/layers", summary="The layers of a scanned image", response_class=Response,
             responses={200: {"description": "The image's layers, base first (empty for other scans)",
                              "content": {JSON: {"schema": {"type": "array", "items": {
                                  "$ref": "#/components/schemas/LayerOut"}}}}},
                        **_errors(*_READ_ERRORS, 404)})
    async def scan_layers(request: Request, scan_id: _ID) -> Response:
        s = need(request, "read")
        if await call(s.store.scan, scan_id) is None:
            raise _Fail(404, f"no scan {scan_id}")
        return _json(await call(s.store.layers, scan_id))

    async def rule_body(request: Request) -> IgnoreRuleIn:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_RULE_BYTES:
                raise _Fail(413, f"body over the {MAX_RULE_BYTES}-byte limit")
        try:
            return _RULE_DECODER.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise _Fail(422, f"invalid IgnoreRuleIn: {e}") from e

    _RULE_BODY = {"requestBody": {"required": True, "description": "The suppression", **_content(IgnoreRuleIn)}}

    @app.get("/v1/ignore-rules", summary="The suppressions kept on the server", response_class=Response,
             responses={**_ok(IgnoreRulePage, "Active first, soonest expiry first"), **_errors(*_READ_ERRORS)})
    async def list_rules(request: Request, q: _Str = "", active: bool | None = None,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                         offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> Response:
        s = need(request, "read")
        return _json(await call(s.store.ignore_rules, q=q, active=active, limit=limit, offset=offset))

    @app.post("/v1/ignore-rules", summary="Add a suppression", status_code=201, response_class=Response,
              openapi_extra=_RULE_BODY, responses={201: {"description": "Added", **_content(IgnoreRuleOut)},
                                                   **_errors(400, 401, 403, 404, 413, 422, 500, 503)})
    async def add_rule(request: Request) -> Response:
        s = need(request, "write")
        rule = await rule_body(request)
        return _json(await call(s.store.add_ignore_rule, rule, author=request.state.store_identity), 201)

    @app.get("/v1/ignore-rules/{rule_id}", summary="One suppression", response_class=Response,
             responses={**_ok(IgnoreRuleOut, "The suppression"), **_errors(*_READ_ERRORS, 404)})
    async def get_rule(request: Request, rule_id: _ID) -> Response:
        s = need(request, "read")
        got = await call(s.store.ignore_rule, rule_id)
        if got is None:
            raise _Fail(404, f"no suppression {rule_id}")
        return _json(got)

    @app.put("/v1/ignore-rules/{rule_id}", summary="Change a suppression", response_class=Response,
             openapi_extra=_RULE_BODY, responses={**_ok(IgnoreRuleOut, "Changed"),
                                                  **_errors(400, 401, 403, 404, 413, 422, 500, 503)})
    async def put_rule(request: Request, rule_id: _ID) -> Response:
        s = need(request, "write")
        rule = await rule_body(request)
        return _json(await call(s.store.update_ignore_rule, rule_id, rule, author=request.state.store_identity))

    @app.delete("/v1/ignore-rules/{rule_id}", summary="Remove a suppression", status_code=204,
                response_class=Response, responses={204: {"description": "Removed"},
                                                    **_errors(400, 401, 403, 404, 500, 503)})
    async def delete_rule(request: Request, rule_id: _ID) -> Response:
        s = need(request, "write")
        await call(s.store.delete_ignore_rule, rule_id)
        return Response(status_code=204)

    from vigil.shells.server.ui import install_ui

    install_ui(app, service_of)

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = base_openapi()
            _, components = msgspec.json.schema_components(SCHEMA_TYPES, ref_template="#/components/schemas/{name}")
            schemas = spec["components"]["schemas"]
            for name, sch in components.items():  # the records the server already describes (Report) stay as they are
                schemas.setdefault(name, sch)
            from vigil.findings.schema_text import clean_schema_text

            app.openapi_schema = clean_schema_text(spec)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
