"""Where blobs go and where detection runs: this process or a `vigil server`, behind one protocol.

The pipeline analyses a source into blobs, asks the backend which blobs it lacks, hands it those, and asks it for the
Report of the artifact. `LocalBackend` keeps blobs in the analysis cache (or in memory) and detects with the local
DB; `RemoteBackend` uploads them to a server, whose scan endpoint runs a LocalBackend. Both take the same typed
`DetectionOptions` — the object that travels on the wire is the one the local path uses, so no option can be
forgotten in a hand-written conversion.

A LocalBackend given a `reports` store also keeps the reports it detects, keyed by everything detection reads (see
`report_key`): a rescan of an image whose layers are cached and whose DB has not changed since is a cache lookup,
with no DB opened and nothing matched — the case of an operator or a CI fleet scanning the same image for every
workload or pipeline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

import msgspec

from vigil.errors import UserError
from vigil.findings.analysis import ArtifactInfo, BlobInfo
from vigil.findings.records import Report
from vigil.findings.wire import DetectionOptions
from vigil.pipeline.detect import created_now, detect
from vigil.pipeline.detect import log as detect_log

if TYPE_CHECKING:
    from vigil.server_client import RemoteClient, ServerOptions
    from vigil.vulndb.store import Store


class BlobsMissing(UserError):
    """A scan named blobs the backend does not hold (a client must upload them first)."""

    def __init__(self, keys: Sequence[str]) -> None:
        super().__init__(f"{len(keys)} blob(s) not on the server, upload them first (first: {keys[0]})")
        self.keys = tuple(keys)


class DBUnavailable(UserError):
    """No usable vulnerability DB to detect with."""


class BlobStore(Protocol):
    def get(self, key: str) -> BlobInfo | None: ...

    def missing(self, keys: list[str]) -> list[str]: ...

    def put(self, key: str, blob: BlobInfo) -> None: ...

    def close(self) -> None: ...


class ReportStore(Protocol):
    """Where a LocalBackend keeps the reports it detected: the local analysis cache (fs or memory)."""

    def get_raw(self, key: str) -> bytes | None: ...

    def put_raw(self, key: str, raw: bytes) -> None: ...


class Backend(Protocol):
    def missing(self, keys: Sequence[str]) -> list[str]: ...

    def put(self, key: str, blob: BlobInfo) -> None: ...

    def scan(self, art: ArtifactInfo, keys: Sequence[str], options: DetectionOptions) -> Report: ...

    def close(self) -> None: ...


def open_store(db_path: Path, options: DetectionOptions) -> Store | None:
    """The DB for one report (None when vulnerabilities are not scanned). One report reads one Store: a DB swapped
    in by an update between two opens would mix two DBs in one report."""
    if "vuln" not in options.scanners:
        return None
    from vigil.vulndb.store import DBError, Store

    try:
        return Store(db_path)
    except DBError as e:
        raise DBUnavailable(str(e)) from e


class LocalBackend:
    """Blobs in `blobs` (the analysis cache; None: this scan's memory only), detection with the DB at db_path.
    Blobs this scan put or read are kept decoded, so nothing is decoded twice.

    A blob in the cache is read and decoded only when detection needs it: `missing` asks the cache which keys it
    holds, and a rescan whose report is kept returns that report without reading a layer's blob (a big image's
    are megabytes). A blob that then proves undecodable or gone makes `gather` raise BlobsMissing and counts as
    missing from then on, so that `vigil.pipeline.scan` analyses it again."""

    def __init__(self, db_path: Path, blobs: BlobStore | None = None, *, close_blobs: bool = True,
                 reports: ReportStore | None = None) -> None:
        self.db_path = db_path
        self.blobs = blobs
        self.close_blobs = close_blobs  # False when the store outlives this backend (a server's cache)
        self.reports = reports
        self._held: dict[str, BlobInfo] = {}
        self._bad: set[str] = set()  # found undecodable or gone by gather

    def missing(self, keys: Sequence[str]) -> list[str]:
        todo = [k for k in keys if k not in self._held]
        if self.blobs is None:
            return todo
        absent = set(self.blobs.missing([k for k in todo if k not in self._bad]))
        return [k for k in todo if k in absent or k in self._bad]

    def put(self, key: str, blob: BlobInfo) -> None:
        self._held[key] = blob
        if self.blobs is not None:
            self.blobs.put(key, blob)

    def gather(self, keys: Sequence[str]) -> list[BlobInfo]:
        lost = []
        for k in dict.fromkeys(keys):
            if k in self._held:
                continue
            got = self.blobs.get(k) if self.blobs is not None else None
            if got is None:
                lost.append(k)
                self._bad.add(k)
            else:
                self._held[k] = got
        if lost:
            raise BlobsMissing(lost)
        return [self._held[k] for k in keys]

    def scan(self, art: ArtifactInfo, keys: Sequence[str], options: DetectionOptions) -> Report:
        reports = self.reports
        rkey = report_key(art, keys, options, self.db_path) if reports is not None else None
        # a kept report is the detection of blobs with exactly these keys: they need not be read again
        kept = _kept_report(reports, rkey) if reports is not None and rkey is not None else None
        if kept is not None:
            return kept
        report = self._detect(art, self.gather(keys), options)
        if reports is not None and rkey is not None:
            reports.put_raw(rkey, msgspec.msgpack.encode(report))
        return report

    def _detect(self, art: ArtifactInfo, blobs: list[BlobInfo], options: DetectionOptions) -> Report:
        store = open_store(self.db_path, options)
        if store is None:  # vulnerabilities not scanned: no DB to read, nor its module to import
            return detect(art, blobs, options, None)
        from vigil.vulndb.store import DBError

        try:
            return detect(art, blobs, options, store)
        except DBError as e:
            # a page or record that proves unreadable only once detection reads it: as unusable as a DB that
            # does not open (a server answers 503 for both)
            raise DBUnavailable(str(e)) from e
        finally:
            store.close()

    def close(self) -> None:
        self._held.clear()
        if self.close_blobs and self.blobs is not None:
            self.blobs.close()
            self.blobs = None

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


# Bumped whenever detection reports differently for the same blobs, options and DB (a matcher's rule, a field
# of the report): every kept report then misses, as bumping an analyzer's version does for its blobs.
REPORT_CACHE_VERSION = 1


def report_key(art: ArtifactInfo, keys: Sequence[str], options: DetectionOptions, db_path: Path,
               today: dt.date | None = None) -> str | None:
    """The key of the report detection makes of these blobs: the artifact as described, the blob keys (which
    already name the analyzers, their versions and the analysis options), the detection options, the DB file's
    identity (device, inode, size, modification time: an update installs a new file, a rebuild rewrites it) and
    today's date (an OS release's end of life is judged against it). None when the DB file cannot be looked at:
    nothing is kept, and detection reports the DB as it always does."""
    import hashlib
    import os

    from vigil import __version__

    db = "-"
    if "vuln" in options.scanners:
        try:
            st = os.stat(db_path)
        except OSError:
            return None
        db = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    h = hashlib.sha256(f"report/{REPORT_CACHE_VERSION}/{__version__}\n{db}\n"
                       f"{(today or dt.datetime.now(dt.UTC).date()).isoformat()}\n".encode())
    h.update(msgspec.msgpack.encode((art, tuple(keys), options)))
    return "report:sha256:" + h.hexdigest()


def _kept_report(reports: ReportStore, key: str) -> Report | None:
    """A kept report, dated now and with its warnings said again as detection said them; None for none or an
    undecodable one (a miss, then overwritten)."""
    raw = reports.get_raw(key)
    if raw is None:
        return None
    try:
        report = msgspec.msgpack.decode(raw, type=Report)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    for w in report.metadata.warnings:
        detect_log.warning("%s", w)
    return msgspec.structs.replace(report, created_at=created_now())


class RemoteBackend:
    """A `vigil server`: blobs are uploaded, detection runs there with its DB."""

    def __init__(self, server: ServerOptions) -> None:
        from vigil.server_client import RemoteClient

        self.client: RemoteClient = RemoteClient(server)

    def missing(self, keys: Sequence[str]) -> list[str]:
        return self.client.missing(list(dict.fromkeys(keys)))

    def put(self, key: str, blob: BlobInfo) -> None:
        self.client.put(key, blob)

    def scan(self, art: ArtifactInfo, keys: Sequence[str], options: DetectionOptions) -> Report:
        from vigil.findings.wire import ScanRequest

        return self.client.scan(ScanRequest(artifact=art, blob_keys=tuple(keys), options=options))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RemoteBackend:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
