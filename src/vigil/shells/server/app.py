"""`vigil server` HTTP API: the server half of the client/server mode (as in Trivy's client/server mode).

    GET  /healthz               liveness (no token)
    GET  /metrics               Prometheus text (no token)
    GET  /version               vigil version + metadata of the DB in use
    POST /v1/blobs/missing      MissingBlobsRequest -> MissingBlobsResponse (which blobs to upload)
    PUT  /v1/blobs/{key}        body: one msgpack BlobInfo, stored in the shared blob cache under `key`
    POST /v1/scan               ScanRequest -> Report (JSON), detection with the server's DB

Every body is a vigil.findings record (wire.py): the same msgspec schema as the cache and the report. The server
detects unfiltered; the client applies its severity/ignore/VEX filters. Token auth (header configurable,
constant-time compare) on everything but /healthz and /metrics. The OpenAPI document (docs/openapi.json,
tools/gen_openapi.py) is FastAPI's, with the request/response schemas generated from the msgspec records.
"""

from __future__ import annotations

import hmac
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from vigil.findings.blob import BLOB_SCHEMA_VERSION, BlobInfo
from vigil.findings.records import Report
from vigil.findings.wire import (
    BLOB_KEY_PATTERN,
    WIRE_SCHEMA_VERSION,
    ErrorBody,
    Health,
    MissingBlobsRequest,
    MissingBlobsResponse,
    ScanRequest,
    VersionInfo,
)
from vigil.shells.server.state import MAX_REQUEST_BYTES, ServerState

log = logging.getLogger(__name__)
T = TypeVar("T")

PUBLIC_PATHS = frozenset({"/healthz", "/metrics"})
_KEY_RE = re.compile(BLOB_KEY_PATTERN)
_BLOB_DECODER = msgspec.msgpack.Decoder(BlobInfo)
_SCAN_DECODER = msgspec.json.Decoder(ScanRequest)
_MISSING_DECODER = msgspec.json.Decoder(MissingBlobsRequest)
JSON = "application/json"
MSGPACK = "application/msgpack"


class _Fail(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(obj: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(obj), status_code=status, media_type=JSON)


def _error(status: int, message: str) -> Response:
    return _json(ErrorBody(error=message), status)


class _UploadBuffer:
    """The bytes of upload bodies being received at once, all requests together (event-loop thread only)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0


class _Reservation:
    """One request's share of the _UploadBuffer, given back when the request is done with its body."""

    def __init__(self, buffer: _UploadBuffer) -> None:
        self.buffer = buffer
        self.held = 0

    def take(self, n: int) -> None:
        if self.buffer.used + n > self.buffer.limit:
            raise _Fail(503, "the server is receiving too many uploads at once; retry later")
        self.buffer.used += n
        self.held += n

    def __enter__(self) -> _Reservation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.buffer.used -= self.held
        self.held = 0


async def _read_capped(request: Request, cap: int, reservation: _Reservation | None = None) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise _Fail(413, f"request body of {declared} bytes is over the {cap}-byte limit")
    parts: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            raise _Fail(413, f"request body is over the {cap}-byte limit")
        if reservation is not None:
            reservation.take(len(chunk))
        parts.append(chunk)
    return b"".join(parts)


def _decode_error(what: str, e: Exception) -> _Fail:
    return _Fail(422, f"invalid {what}: {e}")


def _decode_json(decoder: msgspec.json.Decoder[T], body: bytes, what: str) -> T:
    """Strict decode; integers beyond msgpack's range (the cache's encoding) are refused too."""
    try:
        value = decoder.decode(body)
        msgspec.msgpack.encode(value)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise _decode_error(what, e) from None
    except OverflowError:
        raise _Fail(422, f"invalid {what}: an integer is out of the 64-bit range") from None
    return value


def _version() -> str:
    from vigil import __version__

    return __version__


def run_scan(state: ServerState, req: ScanRequest) -> Report:
    """Detection over blobs in the cache, unfiltered (every severity, no ignore file, no VEX)."""
    from vigil import engine, image_engine
    from vigil.settings import SEVERITY_NAMES, ScanOptions

    art = req.artifact
    state.db_info()  # notices (and counts) a replaced DB file; detection below opens whatever file is there now
    if art.type in ("filesystem", "sbom") and len(req.blob_keys) != 1:
        raise _Fail(409, f"a {art.type} scan takes exactly one blob key, got {len(req.blob_keys)}")
    if art.type == "container_image" and len(req.blob_keys) != len(art.layers):
        raise _Fail(409, f"an image scan takes one blob key per layer: {len(art.layers)} layers, "
                         f"{len(req.blob_keys)} keys")
    blobs: list[BlobInfo] = []
    missing: list[str] = []
    for k in req.blob_keys:
        b = state.get_blob(k)
        if b is None:
            missing.append(k)
        else:
            blobs.append(b)
    if missing:
        raise _Fail(404, f"{len(missing)} blob(s) not on the server, upload them first (first: {missing[0]})")
    o = req.options
    opts = ScanOptions(
        target=Path(art.name or "."),
        db_path=state.db_path,
        scanners=tuple(o.scanners),
        severities=SEVERITY_NAMES,
        include_dev_deps=o.include_dev_deps,
        list_all_pkgs=o.list_all_pkgs,
        artifact_name=art.name,
        pkg_types=tuple(o.pkg_types),
        pkg_relationships=tuple(o.pkg_relationships),
        dependency_tree=o.dependency_tree,
        ignored_licenses=o.ignored_licenses,
        license_categories=dict(o.license_categories),
    )
    try:
        if art.type == "container_image":
            return image_engine.report_from_blobs(opts, art, blobs, art.name)
        return engine.report_from_blob(opts, blobs[0], art.type)
    except engine.ScanError as e:  # the DB is missing or unreadable: the server's problem, retryable
        raise _Fail(503, str(e)) from None


# --- OpenAPI: schemas from the msgspec records -------------------------------------------------------------------

_REF = "#/components/schemas/{name}"


def _ref(t: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=t.__name__)}


def _content(t: type) -> dict[str, Any]:
    return {"content": {JSON: {"schema": _ref(t)}}}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "Bad request", 401: "Missing or wrong token", 404: "A blob of the scan is not on the server "
            "(upload it first)", 409: "Schema version not supported, or keys that do not fit the artifact",
            413: "Body over the size limit", 422: "Body does not decode as the record, or a blob key that does "
            "not match the blob's content", 503: "No usable vulnerability DB on the server"}
    return {c: {"description": text[c], **_content(ErrorBody)} for c in codes}


def _json_body(t: type, description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description, **_content(t)}}


def _int64_bounds(node: Any) -> None:
    """Integers travel as msgpack integers (int64 or uint64), the cache's encoding: say so."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("minimum", -(2**63))
            node.setdefault("maximum", 2**64 - 1)
        for v in node.values():
            _int64_bounds(v)
    elif isinstance(node, list):
        for v in node:
            _int64_bounds(v)


def _patch_openapi(spec: dict[str, Any], token_header: str) -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [ScanRequest, MissingBlobsRequest, MissingBlobsResponse, ErrorBody, VersionInfo, Health, Report, BlobInfo],
        ref_template=_REF)
    _int64_bounds(components)
    comps = spec.setdefault("components", {})
    schemas = comps.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(components)
    comps["securitySchemes"] = {"token": {"type": "apiKey", "in": "header", "name": token_header}}
    for path, ops in spec.get("paths", {}).items():
        for op in ops.values():
            for resp in op.get("responses", {}).values():
                s = resp.get("content", {}).get(JSON, {}).get("schema", {})
                if "HTTPValidationError" in s.get("$ref", ""):
                    resp["content"] = _content(ErrorBody)["content"]
                    resp["description"] = "Bad request"
            for p in op.get("parameters", []):
                if p.get("name") == "key":
                    p["schema"] = {"type": "string", "pattern": BLOB_KEY_PATTERN}
            if path not in PUBLIC_PATHS:
                op["security"] = [{"token": []}]
    return spec


def create_app(state: ServerState) -> FastAPI:
    app = FastAPI(title="Vigil server", version=_version(), docs_url=None, redoc_url=None,
                  description="Client/server mode of the Vigil scanner: clients analyse locally, upload the "
                              "analysis blobs the server lacks and ask it to detect with its vulnerability DB.")
    token = state.token.encode("utf-8")
    uploads = _UploadBuffer(state.max_upload_buffer)
    decoding = threading.Lock()  # one blob decoded at a time: decoding multiplies a body's size in memory

    def decode_and_store(key: str, body: bytes) -> None:
        from vigil.engine import content_addressed

        with decoding:
            try:
                blob = _BLOB_DECODER.decode(body)
            except (msgspec.DecodeError, msgspec.ValidationError) as e:
                raise _decode_error("BlobInfo (msgpack)", e) from None
        if blob.schema_version != BLOB_SCHEMA_VERSION:
            raise _Fail(409, f"blob schema {blob.schema_version} is not supported (server: {BLOB_SCHEMA_VERSION})")
        # A filesystem/SBOM blob is content-addressed: its key is its DiffID, the digest of its own encoding.
        # (An image layer's key is derived from the layer DiffID and the client's analyzer set, vigil.cache.blob_key.)
        addressed = content_addressed(blob).diff_id
        if (blob.diff_id == addressed or key == blob.diff_id) and key != addressed:
            raise _Fail(422, f"blob key {key} does not match the blob's content digest {addressed}")
        state.put_blob(key, blob)

    def endpoint_of(request: Request) -> str:
        for r in app.router.routes:
            m, _ = r.matches(request.scope)
            if m == Match.FULL:
                return str(getattr(r, "path", request.url.path))
        return "other"

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if token and path not in PUBLIC_PATHS:
            got = request.headers.get(state.token_header, "").encode("latin-1", "replace")
            if not hmac.compare_digest(got, token):
                resp: Response = _error(401, f"missing or wrong token (header {state.token_header})")
                state.metrics.requests.labels(endpoint_of(request), request.method, "401").inc()
                return resp
        try:
            resp = await call_next(request)
        except Exception:  # a bug: one line to the client, the traceback in the server log
            log.exception("internal error on %s %s", request.method, path)
            resp = _error(500, "internal server error (see the server log)")
        state.metrics.requests.labels(endpoint_of(request), request.method, str(resp.status_code)).inc()
        return resp

    @app.exception_handler(_Fail)
    async def on_fail(request: Request, exc: _Fail) -> Response:
        return _error(exc.status, str(exc))

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        return _error(400, "invalid request: " + "; ".join(str(e.get("msg", e)) for e in exc.errors())[:500])

    @app.get("/healthz", summary="Liveness", responses={200: {"description": "Alive", **_content(Health)}},
             response_class=Response)
    def healthz() -> Response:
        return _json(Health())

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses={200: {"description": "Prometheus text exposition format",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/version", summary="Vigil version and DB metadata", response_class=Response,
             responses={200: {"description": "Version", **_content(VersionInfo)}, **_errors(401)})
    def version() -> Response:
        return _json(VersionInfo(version=_version(), blob_schema_version=BLOB_SCHEMA_VERSION, db=state.db_info()))

    @app.post("/v1/blobs/missing", summary="Which blobs the server lacks", response_class=Response,
              openapi_extra=_json_body(MissingBlobsRequest, "Blob keys the client is about to scan"),
              responses={200: {"description": "The keys to upload", **_content(MissingBlobsResponse)},
                         **_errors(401, 409, 413, 422)})
    async def blobs_missing(request: Request) -> Response:
        body = await _read_capped(request, MAX_REQUEST_BYTES)
        req = _decode_json(_MISSING_DECODER, body, "MissingBlobsRequest")
        if req.schema_version != WIRE_SCHEMA_VERSION:
            raise _Fail(409, f"wire schema {req.schema_version} is not supported (server: {WIRE_SCHEMA_VERSION})")
        keys = list(dict.fromkeys(req.blob_keys))
        missing = await run_in_threadpool(state.missing, keys)
        state.metrics.blobs_missing.inc(len(missing))
        state.metrics.blobs_present.inc(len(keys) - len(missing))
        return _json(MissingBlobsResponse(missing_blob_keys=tuple(missing)))

    @app.put("/v1/blobs/{key}", summary="Upload one analysis blob", status_code=204, response_class=Response,
             openapi_extra={"requestBody": {"required": True, "description": "One BlobInfo record, msgpack-encoded",
                                            "content": {MSGPACK: {"schema": _ref(BlobInfo)}}}},
             responses={204: {"description": "Stored"}, **_errors(400, 401, 409, 413, 422)})
    async def put_blob(key: str, request: Request) -> Response:
        if key == "missing":  # POST-only sibling path, not a key
            return Response(status_code=405, headers={"Allow": "POST"})
        if not _KEY_RE.match(key):
            raise _Fail(400, f"invalid blob key {key[:80]!r} (expected sha256:<64 hex>)")
        with _Reservation(uploads) as reservation:
            body = await _read_capped(request, state.max_blob_bytes, reservation)
            await run_in_threadpool(decode_and_store, key, body)  # off the event loop: other requests go on
        state.metrics.blobs_uploaded.inc()
        state.metrics.blob_bytes.inc(len(body))
        return Response(status_code=204)

    @app.post("/v1/scan", summary="Detect vulnerabilities over uploaded blobs", response_class=Response,
              openapi_extra=_json_body(ScanRequest, "The artifact and its blob keys"),
              responses={200: {"description": "The unfiltered report", **_content(Report)},
                         **_errors(401, 404, 409, 413, 422, 503)})
    async def scan(request: Request) -> Response:
        body = await _read_capped(request, MAX_REQUEST_BYTES)
        req = _decode_json(_SCAN_DECODER, body, "ScanRequest")
        if req.schema_version != WIRE_SCHEMA_VERSION:
            raise _Fail(409, f"wire schema {req.schema_version} is not supported (server: {WIRE_SCHEMA_VERSION})")
        if req.artifact.schema_version != BLOB_SCHEMA_VERSION:
            raise _Fail(409, f"artifact schema {req.artifact.schema_version} is not supported "
                             f"(server: {BLOB_SCHEMA_VERSION})")
        start = time.perf_counter()
        report = await run_in_threadpool(run_scan, state, req)
        state.metrics.scan_seconds.labels(req.artifact.type).observe(time.perf_counter() - start)
        return _json(report)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            spec = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=app.routes)
            app.openapi_schema = _patch_openapi(spec, state.token_header)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
