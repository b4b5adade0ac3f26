"""Trivy's client/server protocol on `vigil server`: the Twirp services a `trivy ... --server URL` client and Trivy
Operator (ClientServer mode) call, served next to Vigil's own API.

    POST /twirp/trivy.cache.v1.Cache/{PutArtifact,PutBlob,MissingBlobs,DeleteBlobs}
    POST /twirp/trivy.scanner.v1.Scanner/Scan

Twirp: a POST whose body is one message, protobuf ("application/protobuf") or JSON ("application/json"), answered
in the same encoding; an error is JSON {"code", "msg"} with the HTTP status of its code. A Trivy client retries
"unavailable" (503) with backoff, so "busy" answers say that.

Trust: the token (the server's --token-header, or Trivy's own Trivy-Token header) names the tenant, as for
Vigil's API. The server can check none of a Trivy client's blobs against their IDs (Trivy hashes its own Go
encoding, or a random UUID for directories), so every Trivy blob and artifact is kept per token: one token's
uploads are never served to another's client. They live in the same cache as Vigil's blobs, converted once on
upload into Vigil's BlobInfo (twirp.convert), and a scan runs the server's one scan path (app.run_scan: the
pipeline's local backend with the server's DB), bounded like Vigil's own scans (the decode budget, the upload
buffer, the body caps).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import TYPE_CHECKING, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import Response
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from starlette.concurrency import run_in_threadpool

from vigil.findings.analysis import ArtifactInfo, BlobInfo
from vigil.findings.records import Report
from vigil.findings.wire import BLOB_KEY_PATTERN, MAX_KEYS, ScanRequest
from vigil.log import get_logger
from vigil.shells.server.state import MAX_REQUEST_BYTES, BudgetExceeded, ServerState
from vigil.shells.server.twirp import convert
from vigil.shells.server.twirp.gen import cache_pb2, scanner_pb2

if TYPE_CHECKING:
    from prometheus_client import Counter

    from vigil.shells.server.app import _UploadBuffer

log = get_logger(__name__)
M = TypeVar("M", bound=Message)

PREFIX = "/twirp/"
TRIVY_TOKEN_HEADER = "Trivy-Token"  # what Trivy clients send by default (trivy --token-header)
CACHE_SERVICE = "trivy.cache.v1.Cache"
SCANNER_SERVICE = "trivy.scanner.v1.Scanner"
PROTOBUF = "application/protobuf"
JSON = "application/json"
# Twirp's error codes and their HTTP statuses (the Twirp wire spec)
STATUS = {"canceled": 408, "invalid_argument": 400, "malformed": 400, "deadline_exceeded": 408, "not_found": 404,
          "bad_route": 404, "already_exists": 409, "permission_denied": 403, "unauthenticated": 401,
          "resource_exhausted": 429, "failed_precondition": 412, "aborted": 409, "out_of_range": 400,
          "unimplemented": 501, "internal": 500, "unavailable": 503, "data_loss": 500}
# Vigil's own refusals (app._Fail statuses) as Twirp codes: 503 stays "unavailable" so Trivy clients retry
_CODE_OF_STATUS = {400: "malformed", 401: "unauthenticated", 404: "not_found", 409: "failed_precondition",
                   413: "resource_exhausted", 422: "invalid_argument", 503: "unavailable"}
_ID_RE = re.compile(BLOB_KEY_PATTERN)
BLOB_PREFIX = "trivy:"  # cache keys of Trivy blobs (per token), apart from Vigil's own layer keys
ARTIFACT_PREFIX = "trivy-artifact:"


class TwirpError(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def error_response(code: str, msg: str) -> Response:
    import json

    return Response(json.dumps({"code": code, "msg": msg}), status_code=STATUS.get(code, 500), media_type=JSON)


def is_twirp(path: str) -> bool:
    return path.startswith(PREFIX)


def _encoding(request: Request) -> str:
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype in (PROTOBUF, "application/x-protobuf"):
        return PROTOBUF
    if ctype == JSON:
        return JSON
    raise TwirpError("bad_route", f"unexpected Content-Type: {ctype or '(none)'}")


def _parse(body: bytes, encoding: str, msg: M) -> M:
    try:
        if encoding == PROTOBUF:
            msg.ParseFromString(body)
        else:
            json_format.Parse(body or b"{}", msg, ignore_unknown_fields=True)  # Twirp ignores unknown fields
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise TwirpError("malformed", f"the request body does not decode as {msg.DESCRIPTOR.full_name}: "
                                      f"{str(e)[:200]}") from None
    return msg


def _encode(msg: Message, encoding: str) -> Response:
    if encoding == PROTOBUF:
        return Response(msg.SerializeToString(), media_type=PROTOBUF)
    return Response(json_format.MessageToJson(msg, indent=None), media_type=JSON)


def _gzipped(resp: Response, accepted: bool) -> Response:
    """A scan's answer compressed when the client takes gzip (Go's HTTP client asks for it and inflates it, as
    Trivy's server answers): an image's report is megabytes of repetitive text."""
    if accepted and len(resp.body) > 1400:
        import gzip

        resp.body = gzip.compress(bytes(resp.body), compresslevel=5)
        resp.headers["Content-Encoding"] = "gzip"
        resp.headers["Content-Length"] = str(len(resp.body))
        resp.headers["Vary"] = "Accept-Encoding"
    return resp


def _check_ids(ids: list[str], what: str) -> list[str]:
    if len(ids) > MAX_KEYS:
        raise TwirpError("invalid_argument", f"{len(ids)} {what}, over the limit of {MAX_KEYS}")
    for i in ids:
        if not _ID_RE.fullmatch(i):
            raise TwirpError("invalid_argument", f"invalid {what[:-1]} {i[:80]!r} (expected sha256:<64 hex>)")
    return list(dict.fromkeys(ids))


class _Metrics:
    def __init__(self, state: ServerState) -> None:
        from prometheus_client import Counter

        self.calls: Counter = Counter("vigil_twirp_requests", "Trivy-protocol (Twirp) calls by method and code",
                                      ["method", "code"], registry=state.metrics.registry)
        self.unsupported: Counter = Counter(
            "vigil_twirp_unsupported", "Things a Trivy client asked for that the server does not do, by kind "
            "(scanner, pkg_type, option, blob field, ...)", ["kind"], registry=state.metrics.registry)


_METHODS = {CACHE_SERVICE: ("PutArtifact", "PutBlob", "MissingBlobs", "DeleteBlobs"), SCANNER_SERVICE: ("Scan",)}


def add_routes(app: FastAPI, state: ServerState, uploads: _UploadBuffer, decoding: threading.Lock) -> None:
    """Register the Twirp services on the server's app (auth and request metrics come from its middleware)."""
    from vigil.shells.server.app import _Fail, _read_capped, _Reservation

    metrics = _Metrics(state)

    def note_unsupported(unsupported: convert.Unsupported, where: str) -> None:
        for kind, value in dict.fromkeys(unsupported.items):
            metrics.unsupported.labels(kind).inc()
            # a scan option changes what the user gets: a warning; a blob field (every Debian layer carries
            # license files) would flood the log
            log.log(logging.WARNING if where == "scan" else logging.INFO,
                    "Trivy client %s: unsupported %s %r ignored", where, kind, value)

    def decode_blob(body: bytes, encoding: str, tenant: str) -> None:
        """PutBlob: protobuf -> Vigil's BlobInfo, stored per token; one decode at a time, within the budget."""
        try:
            with state.decode_budget.reserve(len(body)) as reservation:
                reservation.take(len(body))
                with decoding:
                    req = _parse(body, encoding, cache_pb2.PutBlobRequest())
                    (blob_id,) = _check_ids([req.diff_id], "blob ids")
                    if not req.HasField("blob_info"):
                        raise TwirpError("invalid_argument", "empty blob info")
                    unsupported = convert.Unsupported()
                    blob = convert.blob_info(req.blob_info, unsupported)
                    del req
                note_unsupported(unsupported, "blob")
                if not state.put_blob("layer", BLOB_PREFIX + blob_id, tenant, blob):
                    log.info("Trivy blob %s already uploaded with this token: the first upload stays", blob_id)
        except BudgetExceeded:
            raise TwirpError("unavailable", "the server is decoding too many blobs at once; retry later") from None
        except MemoryError:
            raise TwirpError("unavailable", "the server is short of memory; retry later") from None

    def put_artifact(body: bytes, encoding: str, tenant: str) -> None:
        req = _parse(body, encoding, cache_pb2.PutArtifactRequest())
        (art_id,) = _check_ids([req.artifact_id], "artifact ids")
        if not req.HasField("artifact_info"):
            raise TwirpError("invalid_argument", "empty artifact info")
        state.put_blob("layer", ARTIFACT_PREFIX + art_id, tenant, convert.artifact_blob(req.artifact_info))

    def publish(report: Report, tenant: str) -> None:
        """A Trivy client's scan goes to the report store like a `--publish` one (its target: the name the client
        scanned). The store being unable to take it never fails the client's scan: it is logged."""
        from vigil.store import PublishRequest, TargetSpec

        svc = state.store_service
        try:
            result = svc.store.publish(PublishRequest(report=report, target=TargetSpec(name=report.artifact_name),
                                                      source="trivy"), publisher="token:" + tenant[:12])
        except Exception as e:  # the store's database (disk full, PostgreSQL down): the scan's answer stands
            log.warning("a Trivy client's report was not stored: %s", e)
            return
        if svc.notifier is not None:
            svc.notifier.published(result)

    def scan(body: bytes, encoding: str, tenant: str) -> scanner_pb2.ScanResponse:
        from vigil.cache import decode_blob as decode_stored
        from vigil.shells.server.app import _ScanBlobs, run_scan

        req = _parse(body, encoding, scanner_pb2.ScanRequest())
        ids = [req.blob_ids[i] for i in range(len(req.blob_ids))]
        if not ids:
            raise TwirpError("invalid_argument", "a scan names at least one blob")
        keys = _check_ids(ids, "blob ids")
        if len(keys) > state.max_scan_blobs:
            raise TwirpError("resource_exhausted", f"the scan names {len(keys)} distinct blobs, over the limit "
                                                   f"of {state.max_scan_blobs}")
        unsupported = convert.Unsupported()
        options = convert.detection_options(req.options, unsupported)
        note_unsupported(unsupported, "scan")
        blobs: dict[str, BlobInfo] = {}
        with state.decode_budget.reserve(state.max_scan_blob_bytes) as reservation:
            missing: list[str] = []
            for k in keys:
                raw = state.get_raw("layer", BLOB_PREFIX + k, tenant)
                if raw is None:
                    missing.append(k)
                    continue
                try:
                    reservation.take(len(raw))
                except BudgetExceeded as e:
                    if e.per_request:
                        raise TwirpError("resource_exhausted", f"the blobs of this scan are over the "
                                         f"{state.max_scan_blob_bytes}-byte limit of one scan") from e
                    raise TwirpError("unavailable", "the server is decoding too many blobs at once; "
                                                    "retry later") from e
                state.metrics.blob_decodes.inc()
                blob = decode_stored(k, raw)
                del raw
                if blob is None:
                    state.drop_blob("layer", BLOB_PREFIX + k, tenant)
                    missing.append(k)
                else:
                    blobs[k] = blob
            if missing:
                raise TwirpError("not_found", f"{len(missing)} blob(s) not on the server, upload them first "
                                              f"(first: {missing[0]})")
            ordered = [blobs[i] for i in ids]
            # Trivy's directory and SBOM artifacts are one blob whose ID is also the artifact's; an image's layers
            # carry their DiffIDs
            image = len(ids) > 1 or (bool(ordered[0].diff_id) and req.artifact_id not in ids)
            art_blob = None
            if image and req.artifact_id:
                raw = state.get_raw("layer", ARTIFACT_PREFIX + req.artifact_id, tenant)
                art_blob = decode_stored(req.artifact_id, raw) if raw is not None else None
            if art_blob is not None and art_blob.secrets:  # the image config's secrets: with the top layer's
                import msgspec

                top = ordered[-1]
                blobs = {**blobs, ids[-1]: msgspec.structs.replace(top, secrets=top.secrets + art_blob.secrets)}
            forced = convert.distro(req.options)
            if forced is not None:
                blobs = convert.with_distro(blobs, ids[-1], forced)
            art = ArtifactInfo(name=req.target, type="container_image" if image else "filesystem",
                               layers=tuple(convert.layer_info(b) for b in ordered) if image else ())
            try:
                report = run_scan(_ScanBlobs(state, blobs), ScanRequest(artifact=art, blob_keys=tuple(ids),
                                                                         options=options))
            except _Fail as e:
                raise TwirpError(_CODE_OF_STATUS.get(e.status, "internal"), str(e)) from e
            except MemoryError:
                raise TwirpError("unavailable", "the server is short of memory; retry later") from None
        if state.store_service is not None and req.target:
            publish(report, tenant)
        return convert.scan_response(report, list(req.options.vuln_severity_sources),
                                     vulnerabilities=not convert.packages_only(req.options))

    async def handle(service: str, method: str, request: Request) -> Response:
        start = time.perf_counter()
        code = "ok"
        try:
            if request.method != "POST":
                raise TwirpError("bad_route", f"unsupported method {request.method} (only POST is allowed)")
            if method not in _METHODS.get(service, ()):
                raise TwirpError("bad_route", f"no handler for path {request.url.path}")
            encoding = _encoding(request)
            tenant: str = request.state.tenant
            if method == "PutBlob":
                with _Reservation(uploads, tenant) as reservation:
                    body = await _read_capped(request, state.max_blob_bytes, reservation)
                    await run_in_threadpool(decode_blob, body, encoding, tenant)  # off the event loop
                state.metrics.blobs_uploaded.inc()
                state.metrics.blob_bytes.inc(len(body))
                return _encode(_empty(), encoding)
            body = await _read_capped(request, MAX_REQUEST_BYTES)
            if method == "PutArtifact":
                await run_in_threadpool(put_artifact, body, encoding, tenant)
                return _encode(_empty(), encoding)
            if method == "MissingBlobs":
                mreq = _parse(body, encoding, cache_pb2.MissingBlobsRequest())
                ids = _check_ids(list(mreq.blob_ids), "blob ids")
                keys = [BLOB_PREFIX + i for i in ids]
                art = [ARTIFACT_PREFIX + a for a in _check_ids([mreq.artifact_id], "artifact ids")] \
                    if mreq.artifact_id else []
                missing = set(await run_in_threadpool(state.missing, keys + art, tenant))
                state.metrics.blobs_missing.inc(len(missing & set(keys)))
                state.metrics.blobs_present.inc(len(set(keys) - missing))
                resp = cache_pb2.MissingBlobsResponse(
                    missing_artifact=bool(art) and art[0] in missing,
                    missing_blob_ids=[i for i, k in zip(ids, keys, strict=True) if k in missing])
                return _encode(resp, encoding)
            if method == "DeleteBlobs":
                dreq = _parse(body, encoding, cache_pb2.DeleteBlobsRequest())
                for i in _check_ids(list(dreq.blob_ids), "blob ids"):
                    await run_in_threadpool(state.drop_blob, "layer", BLOB_PREFIX + i, tenant)
                return _encode(_empty(), encoding)
            gzip_ok = "gzip" in request.headers.get("accept-encoding", "")
            answer = await run_in_threadpool(lambda: _gzipped(_encode(scan(body, encoding, tenant), encoding),
                                                              gzip_ok))
            state.metrics.scan_seconds.labels("trivy").observe(time.perf_counter() - start)
            return answer
        except TwirpError as e:
            code = e.code
            return error_response(e.code, e.msg)
        except _Fail as e:
            code = _CODE_OF_STATUS.get(e.status, "internal")
            return error_response(code, str(e))
        except Exception:  # a bug: one line to the client, the traceback in the server log
            code = "internal"
            log.exception("internal error on Twirp %s/%s", service, method)
            return error_response("internal", "internal server error (see the server log)")
        finally:
            metrics.calls.labels(method if method in _METHODS.get(service, ()) else "other", code).inc()

    for service in _METHODS:
        path = f"{PREFIX}{service}/{{method}}"

        async def endpoint(method: str, request: Request, service: str = service) -> Response:
            return await handle(service, method, request)

        app.add_api_route(path, endpoint, methods=["POST", "GET", "PUT", "DELETE", "PATCH"],
                          include_in_schema=False, response_class=Response)

    async def no_route(rest: str, request: Request) -> Response:  # another service: Twirp's answer, not Vigil's
        metrics.calls.labels("other", "bad_route").inc()
        return error_response("bad_route", f"no handler for path {request.url.path[:200]}")

    app.add_api_route(PREFIX + "{rest:path}", no_route, methods=["POST", "GET", "PUT", "DELETE", "PATCH"],
                      include_in_schema=False, response_class=Response)


def _empty() -> Message:
    from google.protobuf import empty_pb2

    return empty_pb2.Empty()


def unauthenticated() -> Response:
    """What Trivy's own server answers to a missing or wrong token."""
    return error_response("unauthenticated", "invalid token")

