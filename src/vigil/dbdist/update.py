"""Keep the local DB current: `ensure_db()` is the one entry point of the CLI and the server.

Rules (Trivy's, tightened):
- `offline` or `skip_update`: never touch the network; a missing DB is an error that says how to get one.
- No repositories configured: use the DB on disk (a locally built one), error if there is none.
- A usable DB whose `next_update` has not passed: no network. `next_update` is trusted up to 7 days after the
  build (and after now); beyond that it counts as built_at + 24 h (next_update_due).
- Otherwise (or `force`): at most one attempt per RETRY_INTERVAL (recorded in `.vigil-db-state.json` beside the DB)
  while a usable DB exists; repositories are tried in order, any failure of one (429/5xx/timeout/connection refused,
  404, digest mismatch, an older schema) moves on to the next; the one that served is reported. A newer schema than
  this Vigil's is an error asking to upgrade vigil. When every repository fails the old DB is kept with a warning.
- Installing: download into temp files in the DB's own directory (same filesystem), verify size and sha256 of the
  compressed file and of the decompressed DB, open it with SQLite and check its schema, then os.replace() it over the
  old one. All of that happens under an exclusive flock on `<db dir>/.lock`: concurrent updaters queue, and the ones
  that waited find the fresh DB and do nothing. Scans take no lock: rename is atomic, so a scan opens either the old
  or the new file, and one that already has the old file open keeps reading it (its inode lives on until closed).
- Incremental: when metadata.json lists a delta whose base is the local DB's logical digest (vigil.vulndb.delta),
  only the delta is fetched and applied; the result must have the published logical digest. Any failure there
  falls back to the full download.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from vigil.log import get_logger
from vigil.vulndb.errors import DBError
from vigil.vulndb.schema import DB_FILENAME, METADATA_FILENAME, SCHEMA_VERSION

# The download machinery (artifact checks, repositories, deltas, temporary files) is imported by the functions
# that download: every scan checks the installed DB through this module, and with --skip-db-update or a current DB
# (the common case) nothing is downloaded — those imports were a tenth of the start-up of a small scan.
if TYPE_CHECKING:
    from vigil.dbdist.artifact import ArtifactMetadata
    from vigil.dbdist.source import Repository
    from vigil.settings import RegistryAuth

log = get_logger(__name__)

STATE_FILENAME = ".vigil-db-state.json"
LOCK_FILENAME = ".lock"
# Written into a DB directory Vigil creates, so that `vigil clean` can tell it from a project's own `db/` folder.
MARKER_FILENAME = ".vigil-db"
RETRY_INTERVAL = dt.timedelta(hours=1)
# Bounds on what DB metadata can say about its own next update (see next_update_due).
MAX_NEXT_UPDATE = dt.timedelta(days=7)
DEFAULT_UPDATE_INTERVAL = dt.timedelta(hours=24)
FUTURE_TOLERANCE = dt.timedelta(hours=1)  # clock skew between the builder and this machine
LOCK_TIMEOUT = 600.0


class UpdateError(DBError):
    """The DB cannot be made available (one line, for the user)."""


class SchemaTooNew(UpdateError):
    """A repository serves a DB schema newer than this Vigil understands."""


class UpdateResult(msgspec.Struct, frozen=True):
    db_path: Path
    updated: bool = False  # a new DB was installed
    checked: bool = False  # a repository was asked
    source: str = ""  # the repository that served the DB (now, or when it was installed)
    delta: bool = False  # installed from an incremental delta
    downloaded: int = 0  # bytes fetched for the DB itself
    message: str = ""
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------- lock


@contextmanager
def db_lock(db_dir: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Exclusive flock on <db dir>/.lock (released when the process dies, so a crash never leaves it held)."""
    _make_db_dir(db_dir)
    fd = os.open(db_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise UpdateError(
                        f"{db_dir / LOCK_FILENAME}: another Vigil process has been updating the DB for "
                        f"{timeout:.0f}s; try again later"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _make_db_dir(db_dir: Path) -> None:
    """Create the DB directory with Vigil's marker in it. A directory that already exists gets no marker: it may
    be someone else's (`--cache-dir .` in a project with a `db/` folder)."""
    db_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        db_dir.mkdir()
    except FileExistsError:
        return
    (db_dir / MARKER_FILENAME).write_text("vigil vulnerability DB directory (vigil clean removes it)\n",
                                          encoding="utf-8")


# Every name Vigil writes into a DB directory (the DB, its metadata, the lock, the update state, the marker,
# SQLite's side files, a `vigil db build`'s delta, and the temporary files of an interrupted update or build).
def _own_names() -> tuple[frozenset[str], tuple[str, ...]]:
    from vigil.dbdist.artifact import COMPRESSED_FILENAME
    from vigil.vulndb.delta import DELTA_SUFFIX

    names = frozenset({DB_FILENAME, f"{DB_FILENAME}-journal", f"{DB_FILENAME}-wal", f"{DB_FILENAME}-shm",
                       METADATA_FILENAME, COMPRESSED_FILENAME, LOCK_FILENAME, STATE_FILENAME, MARKER_FILENAME,
                       ".delta.tmp"})
    patterns = (".vigil.db.*.tmp", ".vigil.db.zst.*.tmp", ".vigil.delta.*.tmp", ".vigil-db-*.tmp",
                f".{METADATA_FILENAME}.*.tmp", f".{STATE_FILENAME}.*.tmp", "delta-*" + DELTA_SUFFIX)
    return names, patterns


def is_vigil_db_dir(db_dir: Path) -> bool:
    """True for a directory Vigil made: its marker, its update state, or (installs older than the marker) a
    vigil.db next to a metadata.json."""
    return ((db_dir / MARKER_FILENAME).is_file() or (db_dir / STATE_FILENAME).is_file()
            or ((db_dir / DB_FILENAME).is_file() and (db_dir / METADATA_FILENAME).is_file()))


def remove_db_files(db_dir: Path) -> tuple[int, list[str]]:
    """Delete the files Vigil wrote in `db_dir` (by name: nothing else, never a subdirectory), then the directory
    if that emptied it. Returns how many files were removed and the names of the entries that were kept.
    The caller checks is_vigil_db_dir first. Raises OSError."""
    import fnmatch

    own_names, own_patterns = _own_names()
    removed, kept = 0, []
    for entry in sorted(os.scandir(db_dir), key=lambda e: e.name):
        own = entry.name in own_names or any(fnmatch.fnmatchcase(entry.name, p) for p in own_patterns)
        if own and not entry.is_dir(follow_symlinks=False):
            os.unlink(entry.path)  # a symlink is removed, never what it points to
            removed += 1
        else:
            kept.append(entry.name)
    if not kept:
        os.rmdir(db_dir)
    return removed, kept


# --------------------------------------------------------------------------------------------- local state


class _Local(msgspec.Struct, frozen=True):
    schema_version: int
    built_at: str
    next_update: str
    identity: tuple[int, int, int]  # (inode, size, mtime_ns): tells whether the file changed under us


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _local(db_path: Path) -> _Local | None:
    """What the DB on disk says about itself; None when missing or unreadable."""
    try:
        ident = _identity(db_path)
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM metadata WHERE key = 'metadata'").fetchone()
        finally:
            conn.close()
        doc = msgspec.json.decode(row[0])  # DecodeError is a ValueError
        return _Local(int(doc["schema_version"]), str(doc.get("built_at", "")), str(doc.get("next_update", "")),
                      ident)
    except (OSError, sqlite3.DatabaseError, TypeError, ValueError, KeyError):
        return None


def _parse_time(s: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def next_update_due(built_at: str, next_update: str, now: dt.datetime) -> dt.datetime | None:
    """When the DB is due for an update (None: now). `next_update` comes from the DB's publisher and is trusted
    only within MAX_NEXT_UPDATE: one more than MAX_NEXT_UPDATE after `built_at`, or after `now`, would stop updates
    for as long as it says (2099: forever), so it counts as DEFAULT_UPDATE_INTERVAL after `built_at` (a built_at in
    the future, or unreadable, makes it due now)."""
    due = _parse_time(next_update)
    if due is None:
        return None
    built = _parse_time(built_at)
    if (built is not None and due - built > MAX_NEXT_UPDATE) or due - now > MAX_NEXT_UPDATE:
        return built + DEFAULT_UPDATE_INTERVAL if built is not None and built <= now else None
    return due


def _due(local: _Local, now: dt.datetime) -> bool:
    t = next_update_due(local.built_at, local.next_update, now)
    return t is None or now >= t


_warned: set[tuple[str, str]] = set()  # what this process has warned about once: (kind, subject)


def _warn_once(kind: str, subject: str, message: str) -> None:
    if (kind, subject) not in _warned:
        _warned.add((kind, subject))
        log.warning("%s", message)


def _check_built_at(db_path: Path, built_at: str, now: dt.datetime) -> None:
    """A build time in the future means a wrong clock here or metadata that lies; either way the age of the DB
    and its next update cannot be judged, so say so (once per DB and process)."""
    built = _parse_time(built_at)
    if built is not None and built - now > FUTURE_TOLERANCE:
        _warn_once("built_at", f"{db_path} {built_at}",
                   f"the DB at {db_path} says it was built at {built_at}, in the future (check this machine's "
                   "clock, or the DB's origin); it is updated as if it were due")


def read_state(db_dir: Path) -> dict[str, Any]:
    try:
        doc = msgspec.json.decode((db_dir / STATE_FILENAME).read_bytes())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _write_state(db_dir: Path, state: dict[str, Any]) -> None:
    import json  # the standard library's sorted, indented text (a scan that updates nothing never loads it)

    tmp = db_dir / f".{STATE_FILENAME}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, db_dir / STATE_FILENAME)
    except OSError as e:
        log.debug("cannot record the DB update state: %s", e)
        with suppress(OSError):
            tmp.unlink()


def _installed(state: dict[str, Any], local: _Local | None) -> dict[str, Any]:
    """The state's record of the installed DB, if it still describes the file on disk."""
    inst = state.get("installed")
    if local is None or not isinstance(inst, dict) or inst.get("identity") != list(local.identity):
        return {}
    return inst


def installed_source(db_path: Path) -> str:
    """The repository the DB at `db_path` was downloaded from ("" when built locally or unknown)."""
    inst = _installed(read_state(db_path.parent), _local(db_path))
    return str(inst.get("repository", ""))


# --------------------------------------------------------------------------------------------- entry point


def open_repository(url: str, registry: RegistryAuth | None = None) -> Repository:
    """`registry`: the command's --username/--password/--registry-token/--insecure/--cacert (what they leave empty
    comes from the environment)."""
    if url.startswith("oci://"):
        from vigil.dbdist.oci import OCIRepository, registry_options

        return OCIRepository(url, registry_options(auth=registry))
    if url.startswith(("https://", "http://")):
        from vigil.dbdist.http import HTTPRepository

        if url.startswith("http://") and not _loopback(url):
            # the sha256 values that verify the download come from the same repository: over plain HTTP anyone
            # on the path can serve another DB with matching digests (a loopback mirror has no path to attack)
            _warn_once("http", url, f"DB repository {url} is plain HTTP: the DB and the digests that verify it "
                                    "can be replaced in transit; use https:// or oci:// (registries use TLS)")
        return HTTPRepository(url, insecure=bool(registry and registry.insecure),
                              cacert=registry.cacert if registry else "")
    raise UpdateError(f"unsupported DB repository {url!r}: use oci://HOST/REPO:TAG or https://HOST/DIR/")


def _loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    from vigil.net import is_loopback

    return is_loopback(urlsplit(url).hostname or "")


def _no_db_message(db_path: Path, offline: bool) -> str:
    what = f"{db_path} is not a readable Vigil DB" if db_path.exists() else f"no vulnerability DB at {db_path}"
    if offline:
        return (f"{what} and updates are disabled (--skip-db-update/--offline-scan): "
                "download one on a connected machine ('vigil db pull --db-repository URL') and copy it there, "
                "or build one with 'vigil db build --feeds DIR'")
    return (f"{what}. Build one with 'vigil db build --feeds <advisories dir>' or download "
            "one with --db-repository oci://HOST/REPO:TAG or https://HOST/DIR/")


def ensure_db(
    db_path: Path,
    repositories: list[str],
    *,
    skip_update: bool,
    offline: bool,
    force: bool = False,
    progress: bool = False,
    now: dt.datetime | None = None,
    registry: RegistryAuth | None = None,
) -> UpdateResult:
    """Make sure a usable DB is at `db_path` (see the module doc for the rules). Raises UpdateError."""
    for url in repositories:
        if not url.startswith(("oci://", "https://", "http://")):
            raise UpdateError(f"unsupported DB repository {url!r}: use oci://HOST/REPO:TAG or https://HOST/DIR/")
    now = now or dt.datetime.now(dt.UTC)
    local = _local(db_path)
    if local is not None:
        _check_built_at(db_path, local.built_at, now)
    if offline or skip_update:
        if local is None:
            raise UpdateError(_no_db_message(db_path, True))
        return UpdateResult(db_path, source=installed_source(db_path), message="updates disabled")
    if not repositories:
        if local is None:
            raise UpdateError(_no_db_message(db_path, False))
        if _due(local, now):
            log.info("the DB's next update (%s) has passed; no --db-repository to download from", local.next_update)
        return UpdateResult(db_path, source=installed_source(db_path), message="no repository configured")
    usable = local is not None and local.schema_version == SCHEMA_VERSION
    if usable and not force:
        assert local is not None
        if not _due(local, now):
            return UpdateResult(db_path, source=installed_source(db_path), message="DB is current")
        if _recently_attempted(read_state(db_path.parent), now):
            return UpdateResult(db_path, source=installed_source(db_path),
                                message="update attempted less than an hour ago")
    db_dir = db_path.parent
    try:
        return _locked_update(db_path, repositories, local, force, progress, now, registry)
    except OSError as e:  # a read-only DB dir (shared, mounted): scan with what is there
        if not usable:
            raise UpdateError(f"cannot update the DB in {db_dir}: {e.strerror or e}") from e
        warning = f"cannot update the DB in {db_dir} ({e.strerror or e}); using the DB on disk"
        log.warning("%s", warning)
        return UpdateResult(db_path, source=installed_source(db_path), message="update failed",
                            warnings=(warning,))


def _locked_update(db_path: Path, repositories: list[str], local: _Local | None, force: bool, progress: bool,
                   now: dt.datetime, registry: RegistryAuth | None) -> UpdateResult:
    db_dir = db_path.parent
    with db_lock(db_dir):
        fresh = _local(db_path)
        if fresh is not None and fresh.schema_version == SCHEMA_VERSION and (
            fresh.identity != (local.identity if local else None)
            or (not force and (not _due(fresh, now) or _recently_attempted(read_state(db_dir), now)))
        ):
            # Someone else installed a DB (or tried) while we waited for the lock: theirs is as fresh as ours.
            return UpdateResult(db_path, source=installed_source(db_path), message="updated by another process")
        return _update_locked(db_path, repositories, fresh, progress, now, registry)


def _recently_attempted(state: dict[str, Any], now: dt.datetime) -> bool:
    last = _parse_time(str(state.get("last_attempt", "")))
    return last is not None and now - last < RETRY_INTERVAL and last <= now


def _update_locked(
    db_path: Path, repositories: list[str], local: _Local | None, progress: bool, now: dt.datetime,
    registry: RegistryAuth | None = None,
) -> UpdateResult:
    from vigil.dbdist.artifact import ArtifactError
    from vigil.vulndb.tempfiles import remove_stale

    db_dir = db_path.parent
    usable = local is not None and local.schema_version == SCHEMA_VERSION
    remove_stale(db_dir)  # temp DBs of builds and updates killed before their rename
    state = read_state(db_dir)
    state["last_attempt"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    _write_state(db_dir, state)
    errors: list[str] = []
    for url in repositories:
        try:
            repo = open_repository(url, registry)
        except (ArtifactError, UpdateError) as e:
            errors.append(str(e))
            continue
        try:
            res = _from_repository(repo, db_path, local if usable else None, state, progress)
        except SchemaTooNew:
            raise
        except (ArtifactError, OSError) as e:
            msg = str(e) if str(e).startswith(url) else f"{url}: {e}"
            errors.append(msg)
            log.info("DB repository failed, trying the next one: %s", msg)
            continue
        finally:
            repo.close()
        _write_state(db_dir, state)
        return res
    summary = "; ".join(errors)
    if usable:
        assert local is not None
        warning = f"DB update failed, keeping the DB built at {local.built_at}: {summary}"
        log.warning("%s", warning)
        return UpdateResult(db_path, checked=True, source=installed_source(db_path), message="update failed",
                            warnings=(warning,))
    raise UpdateError(f"cannot download the vulnerability DB: {summary}")


def _from_repository(
    repo: Repository, db_path: Path, local: _Local | None, state: dict[str, Any], progress: bool
) -> UpdateResult:
    """Fetch and install from one repository (state is updated in place). Raises RepoError/ArtifactError."""
    import tempfile

    from vigil.dbdist.artifact import COMPRESSED_FILENAME, check_db, decompress, require_complete
    from vigil.dbdist.source import Progress, RepoError
    from vigil.vulndb.tempfiles import COMPRESSED, DB
    from vigil.vulndb.tempfiles import prefix as temp_prefix

    url = repo.url
    inst = _installed(state, local)
    etags = state.setdefault("etags", {})
    known = etags.get(url)
    etag = str(known[0]) if isinstance(known, list) and len(known) == 2 and inst and known[1] == inst.get(
        "db_sha256") else ""
    meta, new_etag = repo.fetch_metadata(etag)
    if meta is None:
        return UpdateResult(db_path, checked=True, source=url, message=f"no newer DB at {url}")
    if meta.schema_version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{url} serves DB schema {meta.schema_version}, newer than this Vigil supports ({SCHEMA_VERSION}): "
            "upgrade vigil"
        )
    if meta.schema_version < SCHEMA_VERSION:
        raise RepoError(f"{url} serves DB schema {meta.schema_version}, older than this Vigil needs "
                        f"({SCHEMA_VERSION}); skipped")
    require_complete(meta, url)
    # The published build is the installed one: same file, or (installed from a delta, whose bytes differ from the
    # published file) the same rows and the same build time.
    if inst and (inst.get("db_sha256") == meta.db_sha256 or (
            meta.logical_digest and inst.get("logical_digest") == meta.logical_digest
            and inst.get("built_at") == meta.built_at)):
        etags[url] = [new_etag, inst.get("db_sha256")]
        return UpdateResult(db_path, checked=True, source=url, message=f"the DB at {url} is the one installed")
    db_dir = db_path.parent
    if local is not None and meta.deltas and meta.logical_digest:
        res = _try_delta(repo, db_path, local, inst, meta, state, progress)
        if res is not None:
            etags[url] = [new_etag, state["installed"]["db_sha256"]]
            return res
    fd_z, tmp_z = tempfile.mkstemp(prefix=temp_prefix(COMPRESSED), suffix=".tmp", dir=db_dir)
    fd_d, tmp_d = tempfile.mkstemp(prefix=temp_prefix(DB), suffix=".tmp", dir=db_dir)
    os.close(fd_z)
    os.close(fd_d)
    try:
        repo.download(COMPRESSED_FILENAME, Path(tmp_z), meta.compressed_sha256, meta.compressed_size,
                      Progress(progress))
        decompress(Path(tmp_z), Path(tmp_d), meta, f"{url} {COMPRESSED_FILENAME}")
        check_db(Path(tmp_d), f"{url} {COMPRESSED_FILENAME}")
        _install(Path(tmp_d), db_path, meta, url, meta.db_sha256, state)
    finally:
        for t in (tmp_z, tmp_d):
            with suppress(FileNotFoundError):
                os.unlink(t)
    etags[url] = [new_etag, meta.db_sha256]
    log.info("DB built at %s installed from %s", meta.built_at, url)
    return UpdateResult(db_path, updated=True, checked=True, source=url, downloaded=meta.compressed_size,
                        message=f"downloaded from {url}")


def _try_delta(
    repo: Repository, db_path: Path, local: _Local, inst: dict[str, Any], meta: ArtifactMetadata,
    state: dict[str, Any], progress: bool,
) -> UpdateResult | None:
    """Apply a published delta to the local DB; None (-> full download) when none fits or anything fails."""
    import tempfile

    from vigil.dbdist.artifact import ArtifactError, DeltaRef, check_db, file_sha256, logical_digest
    from vigil.dbdist.source import Progress
    from vigil.vulndb.tempfiles import DB, DELTA
    from vigil.vulndb.tempfiles import prefix as temp_prefix

    try:
        from vigil.vulndb import delta as delta_mod  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return None
    apply = getattr(delta_mod, "apply_delta", None)
    if not callable(apply):
        return None
    current = str(inst.get("logical_digest", "")) or logical_digest(db_path)
    ref: DeltaRef | None = next((d for d in meta.deltas if current and d.base == current), None)
    if ref is None:
        return None
    db_dir = db_path.parent
    fd_p, tmp_p = tempfile.mkstemp(prefix=temp_prefix(DELTA), suffix=".tmp", dir=db_dir)
    fd_d, tmp_d = tempfile.mkstemp(prefix=temp_prefix(DB), suffix=".tmp", dir=db_dir)
    os.close(fd_p)
    os.close(fd_d)
    try:
        repo.download(ref.file, Path(tmp_p), ref.sha256, ref.size, Progress(progress))
        os.unlink(tmp_d)  # apply_delta writes a new file
        apply(db_path, Path(tmp_p), Path(tmp_d))
        check_db(Path(tmp_d), f"{repo.url} {ref.file}")
        got = logical_digest(Path(tmp_d))
        if got != meta.logical_digest:
            raise ArtifactError(f"{repo.url} {ref.file}: the patched DB has logical digest {got}, "
                                f"metadata.json says {meta.logical_digest}")
        sha, _ = file_sha256(Path(tmp_d))
        _install(Path(tmp_d), db_path, meta, repo.url, sha, state)
    except Exception as e:  # a delta is only an optimisation: any failure means a full download
        log.info("incremental update from %s failed (%s); downloading the full DB", repo.url, e)
        return None
    finally:
        for t in (tmp_p, tmp_d):
            with suppress(FileNotFoundError):
                os.unlink(t)
    log.info("DB built at %s installed from %s (delta of %d bytes)", meta.built_at, repo.url, ref.size)
    return UpdateResult(db_path, updated=True, checked=True, source=repo.url, delta=True, downloaded=ref.size,
                        message=f"delta from {repo.url}")


def _install(tmp_db: Path, db_path: Path, meta: ArtifactMetadata, url: str, sha: str,
             state: dict[str, Any]) -> None:
    """fsync and rename into place (caller holds the lock), then record what was installed."""
    fd = os.open(tmp_db, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp_db, 0o644)
    os.replace(tmp_db, db_path)
    import msgspec

    meta_tmp = db_path.parent / f".{METADATA_FILENAME}.{os.getpid()}.tmp"
    meta_tmp.write_bytes(msgspec.json.format(msgspec.json.encode(meta)))
    os.replace(meta_tmp, db_path.parent / METADATA_FILENAME)
    state["installed"] = {
        "repository": url,
        "db_sha256": sha,
        "logical_digest": meta.logical_digest,
        "built_at": meta.built_at,
        "identity": list(_identity(db_path)),
    }
