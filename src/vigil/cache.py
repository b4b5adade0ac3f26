"""Analysis cache: BlobInfo records keyed by a digest of
diff_id + blob schema version + analyzer names/versions + the options that change what analysis finds,
so a second scan of an image, or of another image sharing its base layers, re-analyses
nothing, and bumping an analyzer's version invalidates exactly the blobs it produced.

Backends:
- `fs`: one SQLite file (WAL, busy timeout) under the cache dir. SQLite gives atomic puts and safe concurrent
  readers/writers across processes (two scans at once is the case Trivy's BoltDB cache fails, trivy#3525-style
  "timeout" errors); values are msgpack-encoded BlobInfo records (the same msgspec schema as the wire).
- `memory`: a dict, for one process (tests, `--cache-backend memory`), bounded in bytes (least recently used
  entries go first) and dropping expired entries.
- `redis://host:port/db`: shared by many scanners (CI runners, the server); values expire after the TTL
  (Redis EX); an unreachable server at open is a clear error, a failing command later is a miss, never a crash.
`ttl` (seconds, 0 = forever): entries older than that are misses (fs/memory check the write time; Redis expires).
A corrupt or undecodable value is treated as a miss (and overwritten), never an error.

`put` replaces an entry (the local cache: the scanner trusts its own analysis); `add` stores only where no live
entry is (the server's per-token entries, which it cannot check: a second upload never replaces the first).
`get_raw` gives the stored encoding, so a caller can weigh a blob before paying for its decoding. The local
backends (fs, memory) also keep detection's reports under `report_key`s (`put_raw`, see pipeline.backend).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Protocol

import msgspec

from vigil.errors import UserError
from vigil.findings.analysis import BLOB_SCHEMA_VERSION, BlobInfo
from vigil.log import get_logger

log = get_logger(__name__)

CACHE_FILENAME = "analysis.sqlite"
_ENCODER = msgspec.msgpack.Encoder()


class _BlobDecoder:
    """msgspec's BlobInfo decoder, built on the first decode: building it walks every record type of a blob
    (~1 ms), and a cold scan, which only stores blobs, never decodes one."""

    _decoder: msgspec.msgpack.Decoder[BlobInfo] | None = None

    def decode(self, raw: bytes) -> BlobInfo:
        if self._decoder is None:
            self._decoder = msgspec.msgpack.Decoder(BlobInfo)
        return self._decoder.decode(raw)


_DECODER = _BlobDecoder()


class CacheError(UserError):
    """The cache cannot be opened at all (unwritable directory, not a SQLite file)."""


def blob_key(diff_id: str, analyzers: list[str], options: dict[str, object]) -> str:
    """The cache key of one layer's analysis. `analyzers` are "name/version" strings (plus rule-set digests such
    as the secret rules'); `options` the analysis-relevant options (scanners, size caps, skip globs)."""
    h = hashlib.sha256()
    h.update(f"blob-schema/{BLOB_SCHEMA_VERSION}\n{diff_id}\n".encode())
    for a in sorted(analyzers):
        h.update(a.encode() + b"\n")
    h.update(msgspec.json.encode(dict(sorted(options.items()))))
    return "sha256:" + h.hexdigest()


class BlobCache(Protocol):
    def get(self, key: str) -> BlobInfo | None: ...

    def get_raw(self, key: str) -> bytes | None: ...

    def put(self, key: str, blob: BlobInfo) -> None: ...

    def add(self, key: str, blob: BlobInfo) -> bool: ...

    def delete(self, key: str) -> None: ...

    def missing(self, keys: list[str]) -> list[str]: ...

    def clear(self) -> int: ...

    def close(self) -> None: ...


def encode_blob(blob: BlobInfo) -> bytes:
    return _ENCODER.encode(blob)


def decode_blob(key: str, raw: bytes | None) -> BlobInfo | None:
    """A stored value as a BlobInfo; None for no value or an undecodable one (a miss, never an error)."""
    return None if raw is None else _decode(key, raw)


def _decode(key: str, raw: bytes) -> BlobInfo | None:
    try:
        return _DECODER.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        log.debug("analysis cache entry %s undecodable; treated as a miss", key)
        return None


DEFAULT_MEMORY_BYTES = 256 << 20


class MemoryCache:
    """Blobs in a dict, for one process, bounded: an expired entry is dropped when it is next looked at (and in a
    sweep every `ttl` seconds), and beyond `max_bytes` of stored encodings the least recently used entries go (a
    long-running `vigil server --cache-backend memory` would otherwise keep every upload forever). An entry larger
    than the whole bound is not kept."""

    def __init__(self, ttl: float = 0, max_bytes: int = DEFAULT_MEMORY_BYTES) -> None:
        from collections import OrderedDict

        self._d: OrderedDict[str, tuple[float, bytes]] = OrderedDict()  # least recently used first
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.size = 0  # bytes of the stored encodings
        self._swept = time.time()

    def _live(self, key: str) -> bytes | None:
        got = self._d.get(key)
        if got is None:
            return None
        if self._expired(got[0], time.time()):
            self.delete(key)
            return None
        self._d.move_to_end(key)
        return got[1]

    def _expired(self, written: float, now: float) -> bool:
        return bool(self.ttl) and now - written > self.ttl

    def get(self, key: str) -> BlobInfo | None:
        return decode_blob(key, self._live(key))

    def get_raw(self, key: str) -> bytes | None:
        return self._live(key)

    def put(self, key: str, blob: BlobInfo) -> None:
        self._store(key, _ENCODER.encode(blob))

    def put_raw(self, key: str, raw: bytes) -> None:
        self._store(key, raw)

    def _store(self, key: str, raw: bytes) -> bool:
        self.delete(key)
        if len(raw) > self.max_bytes:
            log.warning("analysis %s (%d bytes) is larger than the memory cache (%d bytes): not kept", key,
                        len(raw), self.max_bytes)
            return False
        now = time.time()
        if self.ttl and now - self._swept > self.ttl:
            self._swept = now
            for k in [k for k, (t, _) in self._d.items() if self._expired(t, now)]:
                self.delete(k)
        while self._d and self.size + len(raw) > self.max_bytes:
            _, (_, old) = self._d.popitem(last=False)
            self.size -= len(old)
        self._d[key] = (now, raw)
        self.size += len(raw)
        return True

    def add(self, key: str, blob: BlobInfo) -> bool:
        if self._live(key) is not None:
            return False
        return self._store(key, _ENCODER.encode(blob))

    def delete(self, key: str) -> None:
        got = self._d.pop(key, None)
        if got is not None:
            self.size -= len(got[1])

    def missing(self, keys: list[str]) -> list[str]:
        return [k for k in keys if self._live(k) is None]

    def __len__(self) -> int:
        return len(self._d)

    def clear(self) -> int:
        n = len(self._d)
        self._d.clear()
        self.size = 0
        return n

    def close(self) -> None:
        pass


def is_fs_cache(path: Path) -> bool:
    """True when `path` is an analysis cache FSCache wrote: a regular file, an SQLite DB whose `blobs` table has
    FSCache's columns. Opened read-only, so a file that is not one is left exactly as it was (FSCache itself
    would create its table in it)."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            cols = [r[1] for r in db.execute("PRAGMA table_info(blobs)")]
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return cols == ["key", "value", "created"]


class FSCache:
    """SQLite-backed cache at <dir>/analysis.sqlite.

    Everything in it can be computed again, so its writes are never synced to disk (synchronous=OFF): an OS crash
    or a power cut may lose the last scans' entries or damage the file, and a file SQLite finds damaged when the
    cache is opened is removed, with a warning, and a new one started. Syncing cost every scan that opened a fresh
    cache (a CI runner's first) a few milliseconds of waiting, at the file's creation and at the checkpoint on
    close. Locking between processes is unaffected."""

    def __init__(self, directory: Path, ttl: float = 0) -> None:
        self.ttl = ttl
        self.path = directory / CACHE_FILENAME
        # Switching to WAL needs a moment of exclusive access, and SQLite does not run the busy handler for it:
        # when several scans open a fresh cache at once, all but one see "database is locked". Retry briefly; once
        # the file is in WAL mode (persistent), later opens skip the switch.
        err: Exception | None = None
        discarded = False
        for attempt in range(50):
            try:
                directory.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                self._db.execute("PRAGMA synchronous=OFF")  # first: the switch to WAL below writes too
                if self._db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("CREATE TABLE IF NOT EXISTS blobs "
                                 "(key TEXT PRIMARY KEY, value BLOB NOT NULL, created REAL NOT NULL)")
                # `missing` asks which keys are there and fresh: answered from this index alone. From the table,
                # reading `created` walked the overflow pages of the value stored before it (a big image's layer
                # blob is megabytes).
                self._db.execute("CREATE INDEX IF NOT EXISTS blobs_key_created ON blobs (key, created)")
                return
            except sqlite3.OperationalError as e:
                err = e
                if "locked" not in str(e) and "busy" not in str(e):
                    break
                time.sleep(0.02 * (attempt + 1))
            except sqlite3.DatabaseError as e:
                err = e
                # only proof of damage: not a database, or corrupt (an extended code such as SQLITE_CORRUPT_INDEX too)
                if discarded or not e.sqlite_errorname.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
                    break
                self._discard(e)
                discarded = True
            except (OSError, sqlite3.Error) as e:
                err = e
                break
        raise CacheError(f"cannot open analysis cache in {directory}: {err}")

    def _discard(self, why: Exception) -> None:
        """Remove a damaged cache file and its WAL (whose frames would otherwise be replayed into the new file)."""
        log.warning("analysis cache %s is damaged (%s); starting a new one", self.path, why)
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")

    def get(self, key: str) -> BlobInfo | None:
        return decode_blob(key, self.get_raw(key))

    def get_raw(self, key: str) -> bytes | None:
        try:
            row = self._db.execute("SELECT value FROM blobs WHERE key = ? AND created >= ?",
                                   (key, self._oldest())).fetchone()
        except sqlite3.Error as e:
            log.warning("analysis cache read failed (%s); analysing again", e)
            return None
        return None if row is None else bytes(row[0])

    def _oldest(self) -> float:
        return time.time() - self.ttl if self.ttl else 0.0

    def put(self, key: str, blob: BlobInfo) -> None:
        self.put_raw(key, _ENCODER.encode(blob))

    def put_raw(self, key: str, raw: bytes) -> None:
        try:
            self._db.execute("INSERT OR REPLACE INTO blobs (key, value, created) VALUES (?, ?, ?)",
                             (key, raw, time.time()))
        except sqlite3.Error as e:  # a full disk or a locked file must not fail the scan
            log.warning("analysis cache write failed: %s", e)

    def add(self, key: str, blob: BlobInfo) -> bool:
        # one statement: two processes adding the same key at once cannot both win; an expired entry is replaced
        try:
            cur = self._db.execute("INSERT INTO blobs (key, value, created) VALUES (?, ?, ?) ON CONFLICT(key) "
                                   "DO UPDATE SET value = excluded.value, created = excluded.created "
                                   "WHERE blobs.created < ?",
                                   (key, _ENCODER.encode(blob), time.time(), self._oldest()))
        except sqlite3.Error as e:
            log.warning("analysis cache write failed: %s", e)
            return False
        return bool(cur.rowcount)

    def delete(self, key: str) -> None:
        try:
            self._db.execute("DELETE FROM blobs WHERE key = ?", (key,))
        except sqlite3.Error as e:
            log.warning("analysis cache delete failed: %s", e)

    def missing(self, keys: list[str]) -> list[str]:
        have: set[str] = set()
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            q = f"SELECT key FROM blobs WHERE created >= ? AND key IN ({','.join('?' * len(part))})"
            try:
                have.update(r[0] for r in self._db.execute(q, [self._oldest(), *part]))
            except sqlite3.Error:
                pass
        return [k for k in keys if k not in have]

    def clear(self) -> int:
        n: int = self._db.execute("DELETE FROM blobs").rowcount
        self._db.execute("VACUUM")
        return n

    def close(self) -> None:
        self._db.close()


class RedisCache:
    """Blobs in Redis under "<prefix><key>"; msgpack values, EX = ttl."""

    def __init__(self, url: str, ttl: float = 0, prefix: str = "vigil:blob:") -> None:
        import redis

        self.ttl, self.prefix = ttl, prefix
        self._redis_error: type[Exception] = redis.RedisError
        try:
            self._r = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
            self._r.ping()
        except (redis.RedisError, ValueError) as e:
            raise CacheError(f"cannot reach the Redis cache at {_redact(url)}: {e}") from e

    def get(self, key: str) -> BlobInfo | None:
        return decode_blob(key, self.get_raw(key))

    def get_raw(self, key: str) -> bytes | None:
        try:
            raw = self._r.get(self.prefix + key)
        except self._redis_error as e:
            log.warning("Redis cache read failed (%s); analysing again", e)
            return None
        return None if raw is None else bytes(raw)  # type: ignore[arg-type]

    def _set(self, key: str, blob: BlobInfo, nx: bool) -> bool:
        try:
            # EX counts whole seconds: round a fractional TTL up (int(0.5) == 0 would mean "never expires")
            done = self._r.set(self.prefix + key, _ENCODER.encode(blob), nx=nx,
                               ex=math.ceil(self.ttl) if self.ttl > 0 else None)
        except self._redis_error as e:
            log.warning("Redis cache write failed: %s", e)
            return False
        return bool(done)

    def put(self, key: str, blob: BlobInfo) -> None:
        self._set(key, blob, nx=False)

    def add(self, key: str, blob: BlobInfo) -> bool:
        return self._set(key, blob, nx=True)

    def delete(self, key: str) -> None:
        try:
            self._r.delete(self.prefix + key)
        except self._redis_error as e:
            log.warning("Redis cache delete failed: %s", e)

    def missing(self, keys: list[str]) -> list[str]:
        if not keys:
            return []
        try:
            pipe = self._r.pipeline()
            for k in keys:
                pipe.exists(self.prefix + k)
            found = pipe.execute()
        except self._redis_error:
            return list(keys)
        return [k for k, f in zip(keys, found, strict=True) if not f]

    def clear(self) -> int:
        n = 0
        for k in self._r.scan_iter(match=self.prefix + "*", count=500):
            n += int(self._r.delete(k))  # type: ignore[arg-type]
        return n

    def close(self) -> None:
        self._r.close()


def _redact(url: str) -> str:
    """redis://user:secret@host -> redis://user:***@host (never log a password)."""
    import re

    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def open_cache(backend: str, cache_dir: Path, ttl: float = 0, memory_bytes: int = DEFAULT_MEMORY_BYTES) -> BlobCache:
    """`--cache-backend`: "fs" (default), "memory" (at most `memory_bytes` of encoded blobs) or a redis:// /
    rediss:// URL."""
    if backend == "memory":
        return MemoryCache(ttl, memory_bytes)
    if backend in ("fs", ""):
        return FSCache(cache_dir / "analysis", ttl)
    if backend.startswith(("redis://", "rediss://", "unix://")):
        return RedisCache(backend, ttl)
    raise CacheError(f"unknown cache backend {backend!r} (expected fs, memory or redis://HOST:PORT)")

