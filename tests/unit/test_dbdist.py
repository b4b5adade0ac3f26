"""DB artifact pack/verify/unpack and the update lock (vigil.dbdist), on DBs built by the real builder from the
fixture feeds. Network paths are in tests/integration/test_db_distribution.py."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from vigil.dbdist import update
from vigil.dbdist.artifact import (
    COMPRESSED_FILENAME,
    ArtifactError,
    check_db,
    decode_metadata,
    decompress,
    file_sha256,
    pack,
    require_complete,
)
from vigil.dbdist.prepare import DBPrepareError
from vigil.dbdist.prepare import prepare_db as _prepare
from vigil.dbdist.update import LOCK_FILENAME, UpdateError, db_lock, ensure_db
from vigil.settings import db_options, db_path_of, repositories_of
from vigil.vulndb.schema import SCHEMA_VERSION


def prepare_db(values: dict[str, object]) -> Path | None:
    """The scan commands' DB step from resolved CLI values."""
    return _prepare(db_options(values))


@pytest.fixture
def build_dir(fixture_db: Path, tmp_path: Path) -> Path:
    d = tmp_path / "out"
    shutil.copytree(fixture_db.parent, d)
    return d


def test_pack_writes_zstd_and_digests(build_dir: Path) -> None:
    meta = pack(build_dir)
    db = build_dir / "vigil.db"
    sha, size = file_sha256(db)
    assert (meta.db_sha256, meta.db_size) == (sha, size)
    zst = build_dir / COMPRESSED_FILENAME
    assert (meta.compressed_sha256, meta.compressed_size) == file_sha256(zst)
    assert meta.compressed_size < meta.db_size / 3  # the DB compresses well
    assert meta.schema_version == SCHEMA_VERSION and meta.built_at == "2026-01-01T00:00:00Z"
    assert meta.logical_digest.startswith("sha256:")
    doc = json.loads((build_dir / "metadata.json").read_text())
    assert doc["db_sha256"] == sha and doc["feeds"]  # the builder's fields are kept
    require_complete(meta, "x")
    # round trip: decompressing gives back the DB byte for byte
    out = build_dir / "roundtrip.db"
    decompress(zst, out, meta, "test")
    assert file_sha256(out) == (sha, size)
    assert check_db(out, "test") == SCHEMA_VERSION


def test_pack_is_idempotent(build_dir: Path) -> None:
    pack(build_dir)
    zst = build_dir / COMPRESSED_FILENAME
    before = zst.stat().st_mtime_ns
    time.sleep(0.01)
    meta = pack(build_dir)
    assert zst.stat().st_mtime_ns == before  # not recompressed
    assert meta.compressed_sha256 == file_sha256(zst)[0]


def test_pack_refuses_incomplete_dirs(tmp_path: Path, build_dir: Path) -> None:
    with pytest.raises(ArtifactError, match=r"no vigil.db"):
        pack(tmp_path)
    (build_dir / "metadata.json").unlink()
    with pytest.raises(ArtifactError, match=r"no metadata.json"):
        pack(build_dir)
    (build_dir / "metadata.json").write_text("[]")
    with pytest.raises(ArtifactError, match="not a JSON object"):
        pack(build_dir)
    (build_dir / "vigil.db").write_bytes(b"not sqlite" * 100)
    (build_dir / "metadata.json").write_text("{}")
    with pytest.raises(ArtifactError, match="not a valid Vigil DB"):
        pack(build_dir)


def test_metadata_decoding_and_completeness() -> None:
    with pytest.raises(ArtifactError, match=r"malformed metadata.json"):
        decode_metadata(b"{", "m")
    with pytest.raises(ArtifactError, match=r"malformed metadata.json"):
        decode_metadata(b'{"schema_version": "x", "built_at": "", "next_update": ""}', "m")
    bare = decode_metadata(b'{"schema_version": 2, "built_at": "a", "next_update": "b", "extra": 1}', "m")
    with pytest.raises(ArtifactError, match="not packed"):
        require_complete(bare, "m")


def test_decompress_refuses_tampering_and_bombs(build_dir: Path) -> None:
    import msgspec

    meta = pack(build_dir)
    zst = build_dir / COMPRESSED_FILENAME
    out = build_dir / "x.db"
    with pytest.raises(ArtifactError, match="more than the 1000 bytes"):
        decompress(zst, out, msgspec.structs.replace(meta, db_size=1000), "t")
    with pytest.raises(ArtifactError, match="sha256 mismatch"):
        decompress(zst, out, msgspec.structs.replace(meta, db_sha256="0" * 64), "t")
    data = bytearray(zst.read_bytes())
    data[len(data) // 2] ^= 0xFF
    zst.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"corrupt zstd|sha256 mismatch"):
        decompress(zst, out, meta, "t")


def test_check_db_refuses_other_schemas(build_dir: Path) -> None:
    db = build_dir / "vigil.db"
    conn = sqlite3.connect(db)
    row = conn.execute("SELECT value FROM metadata WHERE key='metadata'").fetchone()
    doc = json.loads(row[0])
    doc["schema_version"] = SCHEMA_VERSION + 1
    conn.execute("UPDATE metadata SET value=? WHERE key='metadata'", (json.dumps(doc),))
    conn.commit()
    conn.close()
    with pytest.raises(ArtifactError, match=f"DB schema {SCHEMA_VERSION + 1}, this Vigil needs {SCHEMA_VERSION}"):
        check_db(db, "t")


class _Clock:
    """Stands in for the `time` module of vigil.dbdist.update: sleeping advances a virtual clock at once, and
    `on_sleep(n)` runs at the n-th sleep. The lock's timeout and waiting are then counted in polls, not seconds."""

    def __init__(self, on_sleep: Callable[[int], None] = lambda n: None) -> None:
        self.now, self.sleeps, self.on_sleep = 0.0, 0, on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        self.on_sleep(self.sleeps)


def test_lock_is_exclusive_across_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from vigil.dbdist.update import db_lock\n"
         f"with db_lock(Path({str(tmp_path)!r})):\n    print('held', flush=True); sys.stdin.readline()\n"
         "print('released', flush=True)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    stdin, stdout = holder.stdin, holder.stdout
    try:
        assert stdout.readline().strip() == "held"
        clock = _Clock()
        monkeypatch.setattr(update, "time", clock)
        with pytest.raises(UpdateError, match="another Vigil process"), db_lock(tmp_path, timeout=0.3):
            pass
        assert 0.3 <= clock.now <= 0.35 + 1e-9  # gave up once the timeout had passed, and no later

        def release_at_the_third_poll(n: int) -> None:
            if n == 3:
                stdin.write("\n")
                stdin.flush()
                assert stdout.readline().strip() == "released"

        clock = _Clock(release_at_the_third_poll)
        monkeypatch.setattr(update, "time", clock)
        with db_lock(tmp_path, timeout=10):  # waits for the holder, then gets it
            assert clock.sleeps == 3
    finally:
        stdin.close()
        holder.wait(timeout=10)  # only stops a hung test
    assert (tmp_path / LOCK_FILENAME).exists()


def test_lock_is_released_when_the_holder_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import os, time; from pathlib import Path; from vigil.dbdist.update import db_lock\n"
         f"with db_lock(Path({str(tmp_path)!r})):\n    print('held', flush=True); time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=10)
    with db_lock(tmp_path, timeout=2):
        pass


def test_missing_db_messages(tmp_path: Path) -> None:
    db = tmp_path / "db" / "vigil.db"
    with pytest.raises(UpdateError, match="vigil db build --feeds"):
        ensure_db(db, [], skip_update=False, offline=False)
    with pytest.raises(UpdateError, match="vigil db pull --db-repository"):
        ensure_db(db, ["https://mirror.invalid/db/"], skip_update=False, offline=True)
    db.parent.mkdir()
    db.write_bytes(b"")  # e.g. a truncated copy
    with pytest.raises(UpdateError, match="is not a readable Vigil DB and updates are disabled"):
        ensure_db(db, [], skip_update=True, offline=False)
    with pytest.raises(UpdateError, match="unsupported DB repository 'ftp://x/'"):
        ensure_db(db, ["ftp://x/"], skip_update=False, offline=False)


def test_db_present_and_current_needs_no_repository_call(fixture_db: Path) -> None:
    # next_update of the fixture DB is 2026-01-02; an unreachable repository is never asked before that
    before = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    res = ensure_db(fixture_db, ["https://mirror.invalid/db/"], skip_update=False, offline=False, now=before)
    assert not res.checked and not res.updated and res.db_path == fixture_db


def test_prepare_db_values(tmp_path: Path, fixture_db: Path) -> None:
    assert db_path_of({"cache_dir": tmp_path}) == tmp_path / "db" / "vigil.db"
    assert db_path_of({"db_path": str(fixture_db)}) == fixture_db
    assert repositories_of({"db_repository": ("oci://a/b:1,https://c/d/", "https://e/")}) == (
        "oci://a/b:1", "https://c/d/", "https://e/")
    assert prepare_db({"db_path": str(fixture_db), "skip_db_update": True}) == fixture_db
    assert prepare_db({"db_path": str(tmp_path / "none.db"), "scanners": ("secret",)}) == tmp_path / "none.db"
    # client mode: the server matches, no local DB needed
    assert prepare_db({"db_path": str(tmp_path / "none.db"), "server": "http://vigil:4954"}) == tmp_path / "none.db"
    with pytest.raises(DBPrepareError, match="cannot be combined"):
        prepare_db({"db_path": str(fixture_db), "download_db_only": True, "offline_scan": True})
    with pytest.raises(DBPrepareError, match="no vulnerability DB"):
        prepare_db({"cache_dir": tmp_path, "offline_scan": True})


def test_download_db_only_without_a_repository_is_an_error(fixture_db: Path) -> None:
    """--download-db-only with no repository configured downloads nothing: an error, not a silent success (a CI
    step warming the DB would otherwise leave the old one in place unnoticed)."""
    with pytest.raises(DBPrepareError, match="needs --db-repository"):
        prepare_db({"db_path": str(fixture_db), "download_db_only": True})


# --- limits on what DB metadata can say -------------------------------------------------------------------------


def _db_with_metadata(fixture_db: Path, dest: Path, **fields: str) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fixture_db, dest)
    con = sqlite3.connect(dest)
    doc = json.loads(con.execute("SELECT value FROM metadata WHERE key = 'metadata'").fetchone()[0])
    doc.update(fields)
    con.execute("UPDATE metadata SET value = ? WHERE key = 'metadata'", (json.dumps(doc),))
    con.commit()
    con.close()
    return dest


def test_next_update_is_trusted_for_a_week_at_most() -> None:
    from vigil.dbdist.update import next_update_due

    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    now = t + dt.timedelta(hours=2)
    assert next_update_due("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", now) == t + dt.timedelta(days=1)
    assert next_update_due("2026-01-01T00:00:00Z", "2026-01-06T00:00:00Z", now) == t + dt.timedelta(days=5)
    # far beyond the build (2099: "never"): due a day after the build, as if the publisher had said nothing
    assert next_update_due("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z", now) == t + dt.timedelta(days=1)
    assert next_update_due("2026-01-01T00:00:00Z", "2026-01-09T00:00:01Z", now) == t + dt.timedelta(days=1)
    # built "in the future" with a next update right after it: nothing to measure from, due now
    assert next_update_due("2099-01-01T00:00:00Z", "2099-01-02T00:00:00Z", now) is None
    assert next_update_due("garbage", "2099-01-02T00:00:00Z", now) is None
    assert next_update_due("2026-01-01T00:00:00Z", "garbage", now) is None


def test_far_future_next_update_does_not_stop_updates(fixture_db: Path, tmp_path: Path) -> None:
    db = _db_with_metadata(fixture_db, tmp_path / "db" / "vigil.db", next_update="2099-01-01T00:00:00Z")
    a_day_later = dt.datetime(2026, 1, 2, 1, tzinfo=dt.UTC)  # the fixture DB was built 2026-01-01T00:00Z
    res = ensure_db(db, ["https://127.0.0.1:9/db/"], skip_update=False, offline=False, now=a_day_later)
    assert res.checked and res.message == "update failed"  # it tried (nothing listens there) and kept the DB
    earlier = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    other = _db_with_metadata(fixture_db, tmp_path / "db2" / "vigil.db", next_update="2099-01-01T00:00:00Z")
    assert ensure_db(other, ["https://127.0.0.1:9/db/"], skip_update=False, offline=False,
                     now=earlier).message == "DB is current"


def test_future_built_at_warns_once(fixture_db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = _db_with_metadata(fixture_db, tmp_path / "db" / "vigil.db", built_at="2099-01-01T00:00:00Z",
                           next_update="2099-01-02T00:00:00Z")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with caplog.at_level("WARNING", logger="vigil.dbdist.update"):
        for _ in range(3):
            ensure_db(db, [], skip_update=True, offline=False, now=now)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "built at 2099-01-01T00:00:00Z, in the future" in warnings[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="vigil.dbdist.update"):
        ensure_db(fixture_db, [], skip_update=True, offline=False, now=now)  # built 2026-01-01: not in the future
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_plain_http_repository_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="vigil.dbdist.update"):
        for url in ("http://mirror.invalid/vigil-db/", "http://mirror.invalid/vigil-db/", "https://mirror.invalid/x/"):
            update.open_repository(url).close()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "http://mirror.invalid/vigil-db/ is plain HTTP" in warnings[0]
    assert "https://" in warnings[0] and "\n" not in warnings[0]


def test_loopback_http_repository_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    """A mirror on this machine has no network path to tamper with (the integration tests' mirrors are such)."""
    with caplog.at_level("WARNING", logger="vigil.dbdist.update"):
        for url in ("http://127.0.0.1:8080/db/", "http://[::1]:8080/db/", "http://localhost/db/"):
            update.open_repository(url).close()
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
