"""Analysis cache (issue 4; backends extended by issue 8): BlobInfo records keyed by a digest of
diff_id + blob schema version + analyzer names/versions + the options that change what analysis finds
(ARCHITECTURE.md §8), so a second scan of an image, or of another image sharing its base layers, re-analyses
nothing, and bumping an analyzer's version invalidates exactly the blobs it produced.

Backends:
- `fs`: one SQLite file (WAL, busy timeout) under the cache dir. SQLite gives atomic puts and safe concurrent
  readers/writers across processes (two scans at once is the case Trivy's BoltDB cache fails, trivy#3525-style
  "timeout" errors); values are msgpack-encoded BlobInfo records (the same msgspec schema as the wire).
- `memory`: a dict, for one process (tests, `--cache-backend memory`).
A corrupt or undecodable value is treated as a miss (and overwritten), never an error.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from pathlib import Path
from typing import Protocol

import msgspec

from vigil.findings.blob import BLOB_SCHEMA_VERSION, BlobInfo

log = logging.getLogger(__name__)

CACHE_FILENAME = "analysis.sqlite"
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(BlobInfo)


class CacheError(Exception):
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

    def put(self, key: str, blob: BlobInfo) -> None: ...

    def missing(self, keys: list[str]) -> list[str]: ...

    def close(self) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self._d: dict[str, bytes] = {}

    def get(self, key: str) -> BlobInfo | None:
        raw = self._d.get(key)
        return None if raw is None else _DECODER.decode(raw)

    def put(self, key: str, blob: BlobInfo) -> None:
        self._d[key] = _ENCODER.encode(blob)

    def missing(self, keys: list[str]) -> list[str]:
        return [k for k in keys if k not in self._d]

    def close(self) -> None:
        pass


class FSCache:
    """SQLite-backed cache at <dir>/analysis.sqlite."""

    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.path = directory / CACHE_FILENAME
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, value BLOB NOT NULL, created REAL NOT NULL)"
            )
        except (OSError, sqlite3.Error) as e:
            raise CacheError(f"cannot open analysis cache in {directory}: {e}") from None

    def get(self, key: str) -> BlobInfo | None:
        try:
            row = self._db.execute("SELECT value FROM blobs WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as e:
            log.warning("analysis cache read failed (%s); analysing again", e)
            return None
        if row is None:
            return None
        try:
            return _DECODER.decode(row[0])
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.debug("analysis cache entry %s undecodable; treated as a miss", key)
            return None

    def put(self, key: str, blob: BlobInfo) -> None:
        try:
            self._db.execute("INSERT OR REPLACE INTO blobs (key, value, created) VALUES (?, ?, ?)",
                             (key, _ENCODER.encode(blob), time.time()))
        except sqlite3.Error as e:  # a full disk or a locked file must not fail the scan
            log.warning("analysis cache write failed: %s", e)

    def missing(self, keys: list[str]) -> list[str]:
        have: set[str] = set()
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            q = f"SELECT key FROM blobs WHERE key IN ({','.join('?' * len(part))})"
            try:
                have.update(r[0] for r in self._db.execute(q, part))
            except sqlite3.Error:
                pass
        return [k for k in keys if k not in have]

    def clear(self) -> None:
        self._db.execute("DELETE FROM blobs")

    def close(self) -> None:
        self._db.close()


def open_cache(backend: str, cache_dir: Path) -> BlobCache:
    """`--cache-backend`: "fs" (default) or "memory"."""
    if backend == "memory":
        return MemoryCache()
    if backend in ("fs", ""):
        return FSCache(cache_dir / "analysis")
    raise CacheError(f"unknown cache backend {backend!r} (expected fs or memory)")
