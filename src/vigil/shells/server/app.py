"""`vigil server` HTTP API: the server half of the client/server mode (as in Trivy's client/server mode).

    GET  /healthz               readiness: 200 when a usable DB is in place, else 503 and why (no token)
    GET  /metrics               Prometheus text (no token)
    GET  /version               vigil version + metadata of the DB in use
    POST /v1/blobs/missing      MissingBlobsRequest -> MissingBlobsResponse (which blobs to upload)
    PUT  /v1/blobs/{key}        body: one msgpack BlobInfo, stored in the blob cache under `key`
    POST /v1/scan               ScanRequest -> Report (JSON), detection with the server's DB

Every body is a vigil.findings record (wire.py): the same msgspec schema as the cache and the report. The server
detects unfiltered; the client applies its severity/ignore/VEX filters. Token auth (header configurable,
constant-time compare) on everything but /healthz and /metrics; each accepted token is a tenant: fs/sbom blobs are
checked against their key (the digest of their encoding) and shared, image layer blobs, which the server cannot
check, are served only to the token that uploaded them (state.cache_key; README "Trust model"). The OpenAPI
document (docs/openapi.json, tools/gen_openapi.py) is FastAPI's, with the request/response schemas generated from
the msgspec records.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import msgspec
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from vigil.findings.analysis import BLOB_SCHEMA_VERSION, BlobInfo
from vigil.findings.records import Report
from vigil.findings.schema_text import clean_schema_text
from vigil.findings.wire import (
    BLOB_KEY_PATTERN,
    WIRE_SCHEMA_VERSION,
    DBInfo,
    ErrorBody,
    Health,
    MissingBlobsRequest,
    MissingBlobsResponse,
    ScanRequest,
    VersionInfo,
)
from vigil.log import get_logger
from vigil.shells.server.state import MAX_REQUEST_BYTES, BlobKind, BudgetExceeded, ServerState, tenant_of
from vigil.shells.server.store_api import install as install_store
from vigil.shells.server.store_api import is_store_path

log = get_logger(__name__)
T = TypeVar("T")

PUBLIC_PATHS = frozenset({"/healthz", "/metrics"})
_KEY_RE = re.compile(BLOB_KEY_PATTERN)  # used with fullmatch: a key is the whole path segment, nothing after it
_BLOB_DECODER = msgspec.msgpack.Decoder(BlobInfo)
_SCAN_DECODER = msgspec.json.Decoder(ScanRequest)
_MISSING_DECODER = msgspec.json.Decoder(MissingBlobsRequest)
JSON = "application/json"
MSGPACK = "application/msgpack"
# Metric labels come from fixed sets: a label value is a time series the process keeps forever, and the method
# and path of a request are the client's choice (h11 takes any token as a method), token or not.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
_STATUSES = frozenset({200, 204, 400, 401, 404, 405, 409, 413, 422, 500, 503})


class _Fail(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(obj: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(obj), status_code=status, media_type=JSON)


def _error(status: int, message: str) -> Response:
    return _json(ErrorBody(error=message), status)


class _UploadBuffer:
    """The bytes of upload bodies being received at once, all requests together (event-loop thread only), and
    what each client (token) holds of them: one client may hold at most `share`, so a client whose uploads stall
    cannot leave the others without room."""

    def __init__(self, limit: int, share: int) -> None:
        self.limit = limit
        self.share = share
        self.used = 0
        self.by_client: dict[str, int] = {}


class _Reservation:
    """One request's share of the _UploadBuffer, given back when the request is done with its body."""

    def __init__(self, buffer: _UploadBuffer, client: str) -> None:
        self.buffer = buffer
        self.client = client
        self.held = 0

    def take(self, n: int) -> None:
        b = self.buffer
        if b.used + n > b.limit:
            raise _Fail(503, "the server is receiving too many uploads at once; retry later")
        mine = b.by_client.get(self.client, 0)
        if mine + n > b.share:
            raise _Fail(503, "this token's uploads in progress hold its share of the upload buffer; retry later")
        b.used += n
        b.by_client[self.client] = mine + n
        self.held += n

    def __enter__(self) -> _Reservation:
        return self

    def __exit__(self, *exc: object) -> None:
        b = self.buffer
        b.used -= self.held
        left = b.by_client.pop(self.client, 0) - self.held
        if left:
            b.by_client[self.client] = left
        self.held = 0


async def _read_capped(request: Request, cap: int, reservation: _Reservation | None = None) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise _Fail(413, f"request body of {declared} bytes is over the {cap}-byte limit")
    parts: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > cap:
                raise _Fail(413, f"request body is over the {cap}-byte limit")
            if reservation is not None:
                reservation.take(len(chunk))
            parts.append(chunk)
    except ClientDisconnect:
        # the client closed the connection, or the server did (a body that stopped arriving, protocol.py): no
        # one reads the answer, and it is not a server error
        raise _Fail(400, "the connection closed before the request body ended") from None
    return b"".join(parts)


def _decode_error(what: str, e: Exception) -> _Fail:
    return _Fail(422, f"invalid {what}: {e}")


def _decode_json(decoder: msgspec.json.Decoder[T], body: bytes, what: str) -> T:
    """Strict decode. The typed fields bound their integers (the document says so); a free-form field
    (ImageConfig) may hold any JSON number, but msgpack (the cache's encoding) carries 64-bit integers only, so a
    wider integer there is kept as its decimal text."""
    try:
        value = decoder.decode(body)
        msgspec.msgpack.encode(value)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise _decode_error(what, e) from e
    except OverflowError:
        value = _decode_wide_integers(decoder, body, what)
    except RecursionError:  # free-form fields (ImageConfig) nested deeper than msgspec's recursion limit
        raise _nested(what) from None
    return value


def _wide_int(text: str) -> int | str:
    n = int(text)
    return n if -(1 << 63) <= n < (1 << 64) else text


def _decode_wide_integers(decoder: msgspec.json.Decoder[T], body: bytes, what: str) -> T:
    import json

    try:
        value: T = msgspec.convert(json.loads(body, parse_int=_wide_int), type=decoder.type)
        msgspec.msgpack.encode(value)
    except (ValueError, msgspec.ValidationError) as e:
        raise _decode_error(what, e) from e
    except OverflowError:
        raise _Fail(422, f"invalid {what}: an integer is out of the 64-bit range") from None
    except RecursionError:
        raise _nested(what) from None
    return value


def _nested(what: str) -> _Fail:
    return _Fail(422, f"invalid {what}: nested too deeply")


def method_label(method: str) -> str:
    return method if method in _METHODS else "other"


def status_label(status: int) -> str:
    return str(status) if status in _STATUSES else "other"


class ScanSource(Protocol):
    """What run_scan reads: the DB and the blobs of the request."""

    @property
    def db_path(self) -> Path: ...

    def db_info(self) -> DBInfo | None: ...

    def get_blob(self, key: str) -> BlobInfo | None: ...


class _ScanBlobs:
    """One scan's blobs, each distinct key looked up in the requesting token's view of the cache and decoded
    once (an image may list a layer twice; a hostile request may list one 4096 times)."""

    def __init__(self, state: ServerState, blobs: dict[str, BlobInfo]) -> None:
        self.state = state
        self.blobs = blobs

    @property
    def db_path(self) -> Path:
        return self.state.db_path

    def db_info(self) -> DBInfo | None:
        return self.state.db_info()

    def get_blob(self, key: str) -> BlobInfo | None:
        return self.blobs.get(key)


def _busy(what: str) -> _Fail:
    return _Fail(503, f"the server is {what}; retry later")


def _check_key_count(req: ScanRequest) -> None:
    """run_scan's own first check, made before any blob is read."""
    art = req.artifact
    if art.type in ("filesystem", "sbom", "repository") and len(req.blob_keys) != 1:
        raise _Fail(409, f"a {art.type} scan takes exactly one blob key, got {len(req.blob_keys)}")
    if art.type == "container_image" and len(req.blob_keys) != len(art.layers):
        raise _Fail(409, f"an image scan takes one blob key per layer: {len(art.layers)} layers, "
                         f"{len(req.blob_keys)} keys")


def scan_with_budget(state: ServerState, req: ScanRequest, tenant: str) -> Report:
    """run_scan over the request's blobs, bounded: each distinct blob is decoded once; the stored bytes of one
    scan's blobs are capped (413) and so are those decoded at once by all requests (503); a fs/sbom blob must
    still hash to its key, and an image layer blob is read from the requesting token's own uploads only."""
    from vigil.cache import decode_blob
    from vigil.findings.analysis import content_key

    _check_key_count(req)
    content = req.artifact.type != "container_image"
    # A fs/sbom blob is looked up among the checked ones first, then among this token's uploads: an upload under
    # a fs key that did not hash to it landed there, and must not make "missing" say "present" forever.
    kinds: tuple[BlobKind, ...] = ("content", "layer") if content else ("layer",)
    keys = list(dict.fromkeys(req.blob_keys))
    if len(keys) > state.max_scan_blobs:
        raise _Fail(413, f"the scan names {len(keys)} distinct blobs, over the limit of {state.max_scan_blobs}")
    with state.decode_budget.reserve(state.max_scan_blob_bytes) as reservation:
        raws: dict[str, tuple[BlobKind, bytes]] = {}
        missing: list[str] = []
        for k in keys:
            found = next(((kind, raw) for kind in kinds if (raw := state.get_raw(kind, k, tenant)) is not None),
                         None)
            if found is None:
                missing.append(k)
                continue
            try:
                reservation.take(len(found[1]))
            except BudgetExceeded as e:
                if e.per_request:
                    raise _Fail(413, f"the blobs of this scan are over the {state.max_scan_blob_bytes}-byte "
                                     "limit of one scan") from e
                raise _busy("decoding too many blobs at once") from e
            raws[k] = found
        blobs: dict[str, BlobInfo] = {}
        for k in list(raws):
            kind, raw = raws.pop(k)  # each stored encoding is let go once decoded
            state.metrics.blob_decodes.inc()
            try:
                blob = decode_blob(k, raw)
            except MemoryError:
                raise _busy("short of memory") from None
            del raw
            if blob is None or (content and content_key(blob) != k):
                # undecodable, or not the content its key names: gone, so the client's next run uploads it again
                log.warning("dropping cached blob %s: it does not decode to the content its key names", k)
                state.drop_blob(kind, k, tenant)
                missing.append(k)
            else:
                blobs[k] = blob
        if missing:
            raise _Fail(404, f"{len(missing)} blob(s) not on the server, upload them first (first: {missing[0]})")
        try:
            return run_scan(_ScanBlobs(state, blobs), req)
        except MemoryError:
            raise _busy("short of memory") from None


def _version() -> str:
    from vigil import __version__

    return __version__


class _StateBlobs:
    """A scan's blobs (already read and checked by scan_with_budget) as the local backend's blob store."""

    def __init__(self, source: ScanSource) -> None:
        self.source = source

    def get(self, key: str) -> BlobInfo | None:
        return self.source.get_blob(key)

    def missing(self, keys: list[str]) -> list[str]:
        return [k for k in keys if self.get(k) is None]

    def put(self, key: str, blob: BlobInfo) -> None:
        raise NotImplementedError("a scan only reads blobs")

    def close(self) -> None:
        return None


def run_scan(state: ScanSource, req: ScanRequest) -> Report:
    """Detection over blobs in the cache, unfiltered (every severity, no ignore file, no VEX): the local backend,
    with the options exactly as the client sent them."""
    from vigil.pipeline.backend import BlobsMissing, DBUnavailable, LocalBackend

    art = req.artifact
    state.db_info()  # notices (and counts) a replaced DB file; detection below opens whatever file is there now
    if art.type in ("filesystem", "sbom", "repository") and len(req.blob_keys) != 1:
        raise _Fail(409, f"a {art.type} scan takes exactly one blob key, got {len(req.blob_keys)}")
    if art.type == "container_image" and len(req.blob_keys) != len(art.layers):
        raise _Fail(409, f"an image scan takes one blob key per layer: {len(art.layers)} layers, "
                         f"{len(req.blob_keys)} keys")
    backend = LocalBackend(state.db_path, _StateBlobs(state), close_blobs=False)
    try:
        return backend.scan(art, req.blob_keys, req.options)
    except BlobsMissing as e:
        raise _Fail(404, str(e)) from e
    except DBUnavailable as e:  # the DB is missing or unreadable: the server's problem, retryable
        raise _Fail(503, str(e)) from e
    finally:
        backend.close()


# --- OpenAPI: schemas from the msgspec records -------------------------------------------------------------------

_REF = "#/components/schemas/{name}"


def _ref(t: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=t.__name__)}


def _content(t: type) -> dict[str, Any]:
    return {"content": {JSON: {"schema": _ref(t)}}}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "Bad request", 401: "Missing or wrong token", 404: "A blob of the scan is not on the server "
            "(upload it first)", 409: "Schema version not supported, or keys that do not fit the artifact",
            413: "Body over the size limit, or a scan over the limits of one scan (distinct blobs, their "
            "size)", 422: "Body does not decode as the record, or a blob key that does not match the blob's "
            "content", 405: "Method not allowed here (the key \"missing\" names POST /v1/blobs/missing)",
            500: "Internal error (a bug; the traceback is in the server log)",
            503: "No usable vulnerability DB on the server, or the server is busy: retry later"}
    return {c: {"description": text[c], **_content(ErrorBody)} for c in codes}


def _no_route() -> dict[int | str, dict[str, Any]]:
    return {404: {"description": "No such path (a key that holds a '/', once decoded)", **_content(ErrorBody)}}


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
    tokens = [t.encode("utf-8") for t in state.tokens]
    tenants = [tenant_of(t) for t in state.tokens]
    open_tenant = tenant_of("")  # no token configured: one namespace for every client
    uploads = _UploadBuffer(state.max_upload_buffer, state.upload_share())
    decoding = threading.Lock()  # one blob decoded at a time: decoding multiplies a body's size in memory
    from vigil.shells.server.twirp import routes as twirp  # Trivy's protocol (Twirp), beside this API

    def decode_and_store(key: str, body: bytes, tenant: str) -> None:
        from vigil.findings.analysis import content_key

        try:
            with state.decode_budget.reserve(len(body)) as reservation:
                reservation.take(len(body))
                with decoding:
                    try:
                        blob = _BLOB_DECODER.decode(body)
                    except (msgspec.DecodeError, msgspec.ValidationError) as e:
                        raise _decode_error("BlobInfo (msgpack)", e) from e
                if blob.schema_version != BLOB_SCHEMA_VERSION:
                    raise _Fail(409, f"blob schema {blob.schema_version} is not supported "
                                     f"(server: {BLOB_SCHEMA_VERSION})")
                # A filesystem/SBOM blob is content-addressed: its key is its DiffID, the digest of its own
                # encoding; stored under that key it is shared. A blob that claims to be content-addressed under
                # another key is refused. Anything else is an image layer's analysis (key: layer DiffID + the
                # client's analyzer set, vigil.cache.blob_key), which the server cannot check: kept per token.
                addressed = content_key(blob)
                kind: BlobKind = "content" if key == addressed else "layer"
                if kind == "layer" and blob.diff_id in (addressed, key):
                    raise _Fail(422, f"blob key {key} does not match the blob's content digest {addressed}")
                if not state.put_blob(kind, key, tenant, blob):
                    log.info("blob %s already uploaded with this token: the first upload stays", key)
        except BudgetExceeded:
            raise _busy("decoding too many blobs at once") from None
        except MemoryError:
            raise _busy("short of memory") from None
        except RecursionError:  # decoding or re-encoding (content_key) a blob nested too deeply
            raise _nested("BlobInfo (msgpack)") from None

    def endpoint_of(request: Request) -> str:
        for r in app.router.routes:
            m, _ = r.matches(request.scope)
            if m == Match.FULL:
                return str(getattr(r, "path", request.url.path))
        return "other"

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        request.state.tenant = open_tenant
        if tokens and path not in PUBLIC_PATHS and not is_store_path(path):  # the store checks its own access
            got = request.headers.get(state.token_header, "").encode("latin-1", "replace")
            if not got and (twirp.is_twirp(path) or path == "/version"):  # a Trivy client's own header
                got = request.headers.get(twirp.TRIVY_TOKEN_HEADER, "").encode("latin-1", "replace")
            matched = -1
            for i, t in enumerate(tokens):  # every token compared, whichever matches
                if hmac.compare_digest(got, t):
                    matched = i
            if matched < 0:
                resp: Response = twirp.unauthenticated() if twirp.is_twirp(path) else \
                    _error(401, f"missing or wrong token (header {state.token_header})")
                count(request, 401)
                return resp
            request.state.tenant = tenants[matched]
        try:
            resp = await call_next(request)
        except Exception:  # a bug: one line to the client, the traceback in the server log
            log.exception("internal error on %s %s", request.method, path)
            resp = _error(500, "internal server error (see the server log)")
        count(request, resp.status_code)
        return resp

    def count(request: Request, status: int) -> None:
        state.metrics.requests.labels(endpoint_of(request), method_label(request.method), status_label(status)).inc()

    @app.exception_handler(_Fail)
    async def on_fail(request: Request, exc: _Fail) -> Response:
        return _error(exc.status, str(exc))

    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Response:  # routing's 404 and 405: ErrorBody too
        resp = _error(exc.status_code, str(exc.detail))
        resp.headers.update(exc.headers or {})
        if exc.status_code == 405 and is_store_path(request.url.path):
            # Starlette names the methods of the first route that matched the path; a store path served by
            # several routes (one per method: GET and POST /v1/ignore-rules) allows all of theirs
            from starlette.routing import Match

            allowed: set[str] = set()
            for route in app.router.routes:
                methods = getattr(route, "methods", None)
                if methods and route.matches({"type": "http", "path": request.url.path,
                                              "method": ""})[0] != Match.NONE:
                    allowed |= set(methods)
            if allowed:
                resp.headers["Allow"] = ", ".join(sorted(allowed))
        return resp

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        return _error(400, "invalid request: " + "; ".join(str(e.get("msg", e)) for e in exc.errors())[:500])

    # A load balancer routes on /healthz: without a usable DB every scan would get 503. Liveness is any answer at
    # all (a TCP check, or /healthz answering 503): a missing DB alone does not call for a restart.
    @app.get("/healthz", summary="Readiness: a usable vulnerability DB is in place", response_class=Response,
             responses={200: {"description": "Ready", **_content(Health)}, **_errors(500),
                        503: {"description": "Not ready: no usable vulnerability DB (the reason)",
                              **_content(ErrorBody)}})
    def healthz() -> Response:
        problem = state.db_problem()
        return _error(503, f"not ready: {problem}") if problem else _json(Health())

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses={200: {"description": "Prometheus text exposition format",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}, **_errors(500)})
    def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/version", summary="Vigil version and DB metadata", response_class=Response,
             responses={200: {"description": "Version", **_content(VersionInfo)}, **_errors(401, 500)})
    def version() -> Response:
        return _json(VersionInfo(version=_version(), blob_schema_version=BLOB_SCHEMA_VERSION, db=state.db_info()))

    @app.post("/v1/blobs/missing", summary="Which blobs the server lacks", response_class=Response,
              openapi_extra=_json_body(MissingBlobsRequest, "Blob keys the client is about to scan"),
              responses={200: {"description": "The keys to upload", **_content(MissingBlobsResponse)},
                         **_errors(401, 409, 413, 422, 500)})
    async def blobs_missing(request: Request) -> Response:
        body = await _read_capped(request, MAX_REQUEST_BYTES)
        req = _decode_json(_MISSING_DECODER, body, "MissingBlobsRequest")
        if req.schema_version != WIRE_SCHEMA_VERSION:
            raise _Fail(409, f"wire schema {req.schema_version} is not supported (server: {WIRE_SCHEMA_VERSION})")
        keys = list(dict.fromkeys(req.blob_keys))
        missing = await run_in_threadpool(state.missing, keys, request.state.tenant)
        state.metrics.blobs_missing.inc(len(missing))
        state.metrics.blobs_present.inc(len(keys) - len(missing))
        return _json(MissingBlobsResponse(missing_blob_keys=tuple(missing)))

    @app.put("/v1/blobs/{key}", summary="Upload one analysis blob", status_code=204, response_class=Response,
             openapi_extra={"requestBody": {"required": True, "description": "One BlobInfo record, msgpack-encoded",
                                            "content": {MSGPACK: {"schema": _ref(BlobInfo)}}}},
             responses={204: {"description": "Stored (an image layer blob this token uploaded before is kept "
                                             "as it was)"}, **_errors(400, 401, 405, 409, 413, 422, 500, 503),
                        **_no_route()})
    async def put_blob(key: str, request: Request) -> Response:
        if key == "missing":  # POST-only sibling path, not a key
            resp = _error(405, "PUT is not allowed on /v1/blobs/missing (POST it)")
            resp.headers["Allow"] = "POST"
            return resp
        if not _KEY_RE.fullmatch(key):
            raise _Fail(400, f"invalid blob key {key[:80]!r} (expected sha256:<64 hex>)")
        with _Reservation(uploads, request.state.tenant) as reservation:
            body = await _read_capped(request, state.max_blob_bytes, reservation)
            await run_in_threadpool(decode_and_store, key, body, request.state.tenant)  # off the event loop
        state.metrics.blobs_uploaded.inc()
        state.metrics.blob_bytes.inc(len(body))
        return Response(status_code=204)

    @app.post("/v1/scan", summary="Detect vulnerabilities over uploaded blobs", response_class=Response,
              openapi_extra=_json_body(ScanRequest, "The artifact and its blob keys"),
              responses={200: {"description": "The unfiltered report", **_content(Report)},
                         **_errors(401, 404, 409, 413, 422, 500, 503)})
    async def scan(request: Request) -> Response:
        body = await _read_capped(request, MAX_REQUEST_BYTES)
        req = _decode_json(_SCAN_DECODER, body, "ScanRequest")
        if req.schema_version != WIRE_SCHEMA_VERSION:
            raise _Fail(409, f"wire schema {req.schema_version} is not supported (server: {WIRE_SCHEMA_VERSION})")
        if req.artifact.schema_version != BLOB_SCHEMA_VERSION:
            raise _Fail(409, f"artifact schema {req.artifact.schema_version} is not supported "
                             f"(server: {BLOB_SCHEMA_VERSION})")
        start = time.perf_counter()
        report = await run_in_threadpool(scan_with_budget, state, req, request.state.tenant)
        state.metrics.scan_seconds.labels(req.artifact.type).observe(time.perf_counter() - start)
        return _json(report)

    twirp.add_routes(app, state, uploads, decoding)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            spec = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=app.routes)
            app.openapi_schema = clean_schema_text(_patch_openapi(spec, state.token_header))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_store(app, lambda: state.store_service)  # the report store's API and web UI (store_api.py, ui.py)
    return app
