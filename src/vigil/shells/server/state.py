"""What a running `vigil server` holds: the DB path, the shared blob cache, the tokens (one tenant each), the
metrics and the DB refresh thread.

The DB is never held open across requests: detection opens the read-only Store for each scan (vigil.pipeline.backend),
so when the refresh thread (or an operator) replaces the file with os.replace(), requests already running keep
reading the old inode and the next ones open the new file. No request fails during a swap and none needs a lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vigil.findings.analysis import BlobInfo
from vigil.findings.wire import DBInfo
from vigil.log import get_logger
from vigil.settings import RegistryAuth

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    from vigil.cache import BlobCache

log = get_logger(__name__)

DEFAULT_TOKEN_HEADER = "Vigil-Token"
# An RPM image's package DB layer with file lists is a few MB (the 78 MB Debian test image's biggest layer blob is
# 0.3 MB); this is a guard only. Decoding costs up to ~17x the body in memory (a list of empty strings), so uploads
# are decoded one at a time, and the bodies being received at once share MAX_UPLOAD_BUFFER (503 beyond: the client
# retries with backoff): the memory a flood of uploads can take is bounded.
MAX_BLOB_BYTES = 64 << 20
MAX_UPLOAD_BUFFER = 4 * MAX_BLOB_BYTES
# What one token's uploads in progress may hold of that buffer when the server has several tokens (0: half the
# buffer, at least one maximal blob), so one token's stalled uploads cannot refuse everyone else's; with one token
# (or none) there is no one else, and that token may use the whole buffer. A body that stops arriving is cut off by
# the connection guard (protocol.py), which gives its reservation back.
MAX_UPLOAD_SHARE = 0
MAX_REQUEST_BYTES = 16 << 20  # scan / missing-blobs requests (JSON)
# What a scan may decode: its distinct blobs' stored bytes (413 beyond: retrying cannot help), and the stored bytes of
# all blobs being decoded or held decoded at once, scans and uploads together (503 beyond: retry later). A real
# image's layer blobs add up to a few MB; one scan may decode as much as one maximal upload.
MAX_SCAN_BLOB_BYTES = MAX_BLOB_BYTES
MAX_DECODE_BUFFER = 2 * MAX_BLOB_BYTES
MAX_SCAN_BLOBS = 512  # distinct blobs in one scan: Docker's layer limit is 127

# Where the server keeps a blob in its cache. A blob stored under the digest of its own encoding (fs/sbom) is
# checked on upload and shared by everyone ("ca/<key>"): nobody can put other content under that key. An image
# layer's key hashes the layer DiffID with the client's analyzer versions and options, and the server never sees
# the layer, so it cannot check the analysis against it: those blobs are kept per token ("t/<tenant>/<key>"), and
# one token's uploads are never served to a client of another token.
BlobKind = Literal["content", "layer"]


def tenant_of(token: str) -> str:
    """The namespace of one token's layer blobs: a digest, so the cache never holds the token itself."""
    return hashlib.sha256(b"vigil-tenant\0" + token.encode("utf-8")).hexdigest()[:32]


def cache_key(kind: BlobKind, key: str, tenant: str) -> str:
    return f"ca/{key}" if kind == "content" else f"t/{tenant}/{key}"


class BudgetExceeded(Exception):
    def __init__(self, per_request: bool) -> None:
        super().__init__("over the limit of one request" if per_request else "over the limit of all requests")
        self.per_request = per_request


class DecodeBudget:
    """The stored bytes of the blobs being decoded or held decoded, all requests together (any thread)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    @contextmanager
    def reserve(self, cap: int) -> Iterator[Reservation]:
        """One request's share, at most `cap` bytes, given back when the block ends."""
        r = Reservation(self, cap)
        try:
            yield r
        finally:
            r.release()


class Reservation:
    def __init__(self, budget: DecodeBudget, cap: int) -> None:
        self.budget, self.cap, self.held = budget, cap, 0

    def take(self, n: int) -> None:
        if self.held + n > self.cap:
            raise BudgetExceeded(per_request=True)
        b = self.budget
        with b._lock:
            if b.used + n > b.limit:
                raise BudgetExceeded(per_request=False)
            b.used += n
        self.held += n

    def release(self) -> None:
        with self.budget._lock:
            self.budget.used -= self.held
        self.held = 0


class Metrics:
    """Prometheus metrics on a registry of their own (one per server, so tests can run several)."""

    def __init__(self, state: ServerState) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry: CollectorRegistry = CollectorRegistry()
        self.requests: Counter = Counter("vigil_requests", "HTTP requests by endpoint and status",
                                         ["endpoint", "method", "status"], registry=self.registry)
        self.scan_seconds: Histogram = Histogram(
            "vigil_scan_duration_seconds", "Time to answer POST /v1/scan (detection on the server)",
            ["artifact_type"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.blobs_uploaded: Counter = Counter("vigil_blobs_uploaded", "Blobs stored by PUT /v1/blobs/{key}",
                                               registry=self.registry)
        self.blob_bytes: Counter = Counter("vigil_blob_upload_bytes", "Bytes of blobs stored by PUT",
                                           registry=self.registry)
        self.blob_decodes: Counter = Counter("vigil_blob_decodes", "Stored blobs decoded to answer scans",
                                             registry=self.registry)
        self.blobs_missing: Counter = Counter("vigil_blobs_missing", "Keys POST /v1/blobs/missing reported missing",
                                              registry=self.registry)
        self.blobs_present: Counter = Counter("vigil_blobs_present",
                                              "Keys POST /v1/blobs/missing found in the cache (uploads saved)",
                                              registry=self.registry)
        self.connections_closed: Counter = Counter(
            "vigil_connections_closed", "Connections the server closed: request head or body too slow "
            "(header_timeout, body_timeout), or too many connections (evicted: one waiting for its head; refused)",
            ["reason"], registry=self.registry)
        self.db_swaps: Counter = Counter("vigil_db_swaps", "Times the server saw a new DB file",
                                         registry=self.registry)
        self.db_refresh_errors: Counter = Counter("vigil_db_refresh_errors", "Scheduled DB refreshes that failed",
                                                  registry=self.registry)
        age = Gauge("vigil_db_age_seconds", "Seconds since the DB in use was built (-1: no DB)",
                    registry=self.registry)
        age.set_function(lambda: _age(state.db_info()))


def _age(info: DBInfo | None) -> float:
    return -1.0 if info is None else info.age_seconds


def _parse_time(text: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


@dataclass
class ServerState:
    db_path: Path
    cache: BlobCache
    token: str = ""
    more_tokens: tuple[str, ...] = ()  # further accepted tokens: each is a tenant of its own
    token_header: str = DEFAULT_TOKEN_HEADER
    db_repositories: tuple[str, ...] = ()
    db_registry: RegistryAuth | None = None  # --username/--password/--registry-token/--insecure/--cacert
    skip_db_update: bool = False
    update_interval: float = 3600.0
    max_blob_bytes: int = MAX_BLOB_BYTES
    max_upload_buffer: int = MAX_UPLOAD_BUFFER
    max_upload_share: int = MAX_UPLOAD_SHARE
    max_scan_blob_bytes: int = MAX_SCAN_BLOB_BYTES
    max_decode_buffer: int = MAX_DECODE_BUFFER
    max_scan_blobs: int = MAX_SCAN_BLOBS
    store_service: Any = None  # the report store (store_api.StoreService), None when the server keeps none
    metrics: Metrics = field(init=False)
    decode_budget: DecodeBudget = field(init=False)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _db_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _db_seen: tuple[int, ...] | None = field(default=None, init=False)  # the DB file's identity
    _db_info: DBInfo | None = field(default=None, init=False)
    _db_opened: bool = field(default=False, init=False)  # a DB file opened before: the next one is a swap
    _db_error: str = field(default="", init=False)  # why the DB file at db_path is not usable (for /healthz)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.metrics = Metrics(self)
        self.decode_budget = DecodeBudget(self.max_decode_buffer)

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for t in (self.token, *self.more_tokens) if t))

    def upload_share(self) -> int:
        """The bytes of the upload buffer one token's uploads in progress may hold at once."""
        if self.max_upload_share > 0:
            return min(self.max_upload_share, self.max_upload_buffer)
        if len(self.tokens) <= 1:
            return self.max_upload_buffer
        return min(self.max_upload_buffer, max(self.max_blob_bytes, self.max_upload_buffer // 2))

    # --- blob cache (one lock: the fs backend shares one SQLite connection between request threads) ----------

    def missing(self, keys: list[str], tenant: str) -> list[str]:
        """The keys neither a checked content-addressed blob nor a blob of this tenant answers."""
        shared = [cache_key("content", k, tenant) for k in keys]
        with self._cache_lock:
            not_shared = set(self.cache.missing(shared))
            todo = [k for k, c in zip(keys, shared, strict=True) if c in not_shared]
            own = [cache_key("layer", k, tenant) for k in todo]
            not_own = set(self.cache.missing(own))
        return [k for k, c in zip(todo, own, strict=True) if c in not_own]

    def get_raw(self, kind: BlobKind, key: str, tenant: str) -> bytes | None:
        with self._cache_lock:
            return self.cache.get_raw(cache_key(kind, key, tenant))

    def put_blob(self, kind: BlobKind, key: str, tenant: str, blob: BlobInfo) -> bool:
        """Store a blob; False when a layer blob of this tenant was already there (the first upload stays)."""
        with self._cache_lock:
            if kind == "content":  # checked: whatever was stored under the key is this very content, or garbage
                self.cache.put(cache_key(kind, key, tenant), blob)
                return True
            return self.cache.add(cache_key(kind, key, tenant), blob)

    def drop_blob(self, kind: BlobKind, key: str, tenant: str) -> None:
        with self._cache_lock:
            self.cache.delete(cache_key(kind, key, tenant))

    # --- the DB --------------------------------------------------------------------------------------------------

    def db_info(self) -> DBInfo | None:
        """The metadata of the DB file now at db_path; re-read only when the file was replaced (inode/mtime)."""
        from vigil.vulndb.store import DBError, Store

        # The stat is taken under the lock: a request that stat-ed the old file and reached the lock after one
        # that saw the new file would otherwise "replace" the new DB with the old stat and count swaps that never
        # happened (and reopen the file on the next request).
        with self._db_lock:
            try:
                st = os.stat(self.db_path)
            except OSError as e:
                self._db_error = f"no vulnerability DB at {self.db_path}: {e.strerror or e}"
                return None
            # inode numbers get reused; a rename (os.replace) always sets the ctime
            seen = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
            if seen != self._db_seen:
                # A file that does not open is remembered as such until it is replaced: /healthz (no token) asks
                # on every probe, and must neither reopen it nor log each time.
                self._db_seen = seen
                try:
                    store = Store(self.db_path)
                except DBError as e:
                    log.warning("%s", e)
                    self._db_info, self._db_error = None, str(e)
                    return None
                md = store.metadata
                store.close()
                if self._db_opened:
                    self.metrics.db_swaps.inc()
                    log.info("DB replaced: now built at %s", md.built_at)
                self._db_error, self._db_opened = "", True
                self._db_info = DBInfo(schema_version=md.schema_version, built_at=md.built_at,
                                       next_update=md.next_update, vigil_version=md.vigil_version)
            info = self._db_info
        if info is None:
            return None
        built = _parse_time(info.built_at)
        age = (dt.datetime.now(dt.UTC) - built).total_seconds() if built is not None else 0.0
        return DBInfo(schema_version=info.schema_version, built_at=info.built_at, next_update=info.next_update,
                      vigil_version=info.vigil_version, age_seconds=round(age, 3))

    def db_problem(self) -> str:
        """Why no DB is usable ("" when one is): the readiness answer of /healthz."""
        if self.db_info() is not None:
            return ""
        with self._db_lock:
            return self._db_error or f"no usable vulnerability DB at {self.db_path}"

    def refresh_db(self, force: bool = False) -> bool:
        """One update check (vigil.dbdist.update.ensure_db swaps the file atomically under its lock). Returns
        False when it failed; never raises (a failed refresh keeps serving the DB on disk)."""
        if self.skip_db_update or not self.db_repositories:
            return True
        try:
            from vigil.dbdist.update import ensure_db
        except ImportError:
            log.warning("DB updates are not available in this build; serving the DB on disk")
            return False
        try:
            res = ensure_db(self.db_path, list(self.db_repositories), skip_update=False, offline=False, force=force,
                            registry=self.db_registry)
        except Exception as e:  # network, registry, disk: log, count, keep the current DB
            self.metrics.db_refresh_errors.inc()
            log.warning("scheduled DB update failed: %s", e)
            return False
        if res.warnings:  # every repository failed: the DB on disk stays in use
            self.metrics.db_refresh_errors.inc()
            for w in res.warnings:
                log.warning("scheduled DB update: %s", w)
        elif res.updated:
            log.info("DB updated from %s", res.source)
        self.db_info()
        return not res.warnings

    def start_refresh(self) -> None:
        if self.skip_db_update or not self.db_repositories or self.update_interval <= 0:
            return

        def loop() -> None:
            while not self._stop.wait(self.update_interval):
                self.refresh_db()

        self._thread = threading.Thread(target=loop, name="vigil-db-refresh", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self.store_service is not None:
            self.store_service.close()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._cache_lock:
            self.cache.close()
