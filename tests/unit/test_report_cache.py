"""Reports kept by the local backend: a rescan of the same blobs with the same options and the same DB file is a
cache lookup; anything detection reads that changes (the DB file, the options, the blobs, the artifact, the date)
makes it detect again. Checked by counting detection runs, never by time."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from pathlib import Path

import msgspec
import pytest

from vigil.cache import MemoryCache
from vigil.findings.analysis import ArtifactInfo, BlobInfo, OSRelease
from vigil.findings.records import LayerInfo, Report
from vigil.findings.wire import DetectionOptions
from vigil.inventory.records import OSInfo
from vigil.pipeline import backend as backend_mod
from vigil.pipeline.backend import DBUnavailable, LocalBackend, report_key

ART = ArtifactInfo(name="img:1", image_id="sha256:" + "a" * 64,
                   layers=(LayerInfo(diff_id="sha256:" + "b" * 64),))
KEYS = ("sha256:" + "c" * 64,)
# an Alpine release long past its end of life (a warning detection logs) with a package the fixture feeds know
BLOB = BlobInfo(diff_id=ART.layers[0].diff_id,
                os_releases=(OSRelease(file_path="etc/os-release", os=OSInfo(family="alpine", name="3.10.0")),),
                package_dbs=())
OPTS = DetectionOptions(scanners=("vuln",))


@pytest.fixture
def db(fixture_db: Path, tmp_path: Path) -> Path:
    """A private copy of the fixture DB: the tests change its file."""
    p = tmp_path / "vigil.db"
    shutil.copyfile(fixture_db, p)
    return p


@pytest.fixture
def detections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The artifact names detection ran for."""
    runs: list[str] = []
    real = backend_mod.detect

    def counting(art: ArtifactInfo, *a: object, **k: object) -> Report:
        runs.append(art.name)
        return real(art, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(backend_mod, "detect", counting)
    return runs


def _scan(cache: MemoryCache, db: Path, art: ArtifactInfo = ART, opts: DetectionOptions = OPTS) -> Report:
    with LocalBackend(db, cache, close_blobs=False, reports=cache) as b:
        b.put(KEYS[0], BLOB)
        return b.scan(art, KEYS, opts)


def _same(a: Report, b: Report) -> bool:
    return msgspec.structs.replace(a, created_at="") == msgspec.structs.replace(b, created_at="")


def test_rescan_is_a_lookup_and_reports_the_same(db: Path, detections: list[str]) -> None:
    cache = MemoryCache()
    first = _scan(cache, db)
    again = _scan(cache, db)
    assert detections == ["img:1"]
    assert _same(first, again)
    assert first.metadata.db_built_at  # matched against the DB, so the kept report is not an empty one


def test_rescan_says_the_warnings_again(db: Path, detections: list[str], caplog: pytest.LogCaptureFixture) -> None:
    cache = MemoryCache()
    with caplog.at_level(logging.WARNING):
        first = _scan(cache, db)
    said = [r.getMessage() for r in caplog.records]
    assert first.metadata.warnings and said  # the fixture's warnings exist, so the check below is not vacuous
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _scan(cache, db)
    assert detections == ["img:1"]
    assert [r.getMessage() for r in caplog.records] == said


def test_a_changed_db_file_detects_again(db: Path, detections: list[str]) -> None:
    cache = MemoryCache()
    _scan(cache, db)
    st = db.stat()
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # rewritten in place
    _scan(cache, db)
    fresh = db.with_name("new.db")
    shutil.copyfile(db, fresh)
    os.replace(fresh, db)  # installed as a new file (what an update does)
    _scan(cache, db)
    assert detections == ["img:1"] * 3


def test_options_artifact_and_blobs_are_part_of_the_key(db: Path, detections: list[str]) -> None:
    cache = MemoryCache()
    _scan(cache, db)
    _scan(cache, db, opts=DetectionOptions(scanners=("vuln",), pkg_types=("os",)))
    _scan(cache, db, art=msgspec.structs.replace(ART, name="img:2"))
    assert detections == ["img:1", "img:1", "img:2"]
    base = report_key(ART, KEYS, OPTS, db)
    assert report_key(ART, ("sha256:" + "d" * 64,), OPTS, db) != base
    assert report_key(ART, KEYS, OPTS, db, today=dt.date(2030, 1, 1)) != report_key(
        ART, KEYS, OPTS, db, today=dt.date(2030, 1, 2))


def test_without_the_vuln_scanner_the_db_is_not_in_the_key(tmp_path: Path) -> None:
    opts = DetectionOptions(scanners=("secret",))
    assert report_key(ART, KEYS, opts, tmp_path / "absent.db") == report_key(ART, KEYS, opts, tmp_path / "x.db")
    # with it, a DB that is not there keeps nothing (detection says why it cannot run)
    assert report_key(ART, KEYS, OPTS, tmp_path / "absent.db") is None


def test_missing_db_is_still_reported_as_unavailable(tmp_path: Path, detections: list[str]) -> None:
    cache = MemoryCache()
    with pytest.raises(DBUnavailable):
        _scan(cache, tmp_path / "absent.db")
    assert not any(k.startswith("report:") for k in cache._d)


def test_undecodable_entry_is_a_miss_and_is_replaced(db: Path, detections: list[str]) -> None:
    cache = MemoryCache()
    key = report_key(ART, KEYS, OPTS, db)
    assert key is not None
    cache.put_raw(key, b"\xc1not msgpack")
    first = _scan(cache, db)
    assert detections == ["img:1"]
    raw = cache.get_raw(key)
    assert raw is not None and _same(msgspec.msgpack.decode(raw, type=Report), first)
    _scan(cache, db)
    assert detections == ["img:1"]


def test_kept_report_is_dated_now(db: Path, detections: list[str]) -> None:
    cache = MemoryCache()
    first = _scan(cache, db)
    key = report_key(ART, KEYS, OPTS, db)
    assert key is not None
    old = msgspec.structs.replace(first, created_at="2001-01-01T00:00:00Z")
    cache.put_raw(key, msgspec.msgpack.encode(old))
    again = _scan(cache, db)
    assert detections == ["img:1"]
    assert again.created_at != "2001-01-01T00:00:00Z" and again.created_at[:4] >= "2026"


def test_backend_without_a_report_store_detects_every_time(db: Path, detections: list[str]) -> None:
    cache = MemoryCache()
    for _ in range(2):
        with LocalBackend(db, cache, close_blobs=False) as b:
            b.put(KEYS[0], BLOB)
            b.scan(ART, KEYS, OPTS)
    assert detections == ["img:1", "img:1"]
    assert not any(k.startswith("report:") for k in cache._d)
