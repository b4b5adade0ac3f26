"""Analysis cache: keys, round trips, persistence, corruption, concurrent processes."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import msgspec
import pytest

from vigil import cache
from vigil.cache import CacheError, FSCache, MemoryCache, blob_key, open_cache
from vigil.findings.analysis import BlobInfo, OSRelease
from vigil.inventory.records import Application, OSInfo, Package

BLOB = BlobInfo(
    diff_id="sha256:" + "a" * 64,
    os_releases=(OSRelease(file_path="etc/os-release", os=OSInfo(family="debian", name="12")),),
    applications=(Application(type="pip", file_path="app/requirements.txt",
                              packages=(Package(ecosystem="pypi", name="django", version="3.2.0"),)),),
    whiteouts=("etc/motd",),
)


def test_key_changes_with_every_input() -> None:
    base = blob_key("sha256:1", ["pip/1", "npm/2"], {"scanners": ["vuln"]})
    assert base == blob_key("sha256:1", ["npm/2", "pip/1"], {"scanners": ["vuln"]})  # order-insensitive
    assert base != blob_key("sha256:2", ["pip/1", "npm/2"], {"scanners": ["vuln"]})
    assert base != blob_key("sha256:1", ["pip/2", "npm/2"], {"scanners": ["vuln"]})  # analyzer version bump
    assert base != blob_key("sha256:1", ["pip/1", "npm/2"], {"scanners": ["vuln", "secret"]})


@pytest.mark.parametrize("backend", ["fs", "memory"])
def test_round_trip_and_missing(backend: str, tmp_path: Path) -> None:
    c = open_cache(backend, tmp_path)
    assert c.get("k1") is None
    c.put("k1", BLOB)
    assert c.get("k1") == BLOB
    assert c.missing(["k1", "k2"]) == ["k2"]
    c.close()


def test_fs_cache_persists_and_survives_corruption(tmp_path: Path) -> None:
    c = FSCache(tmp_path)
    c.put("k", BLOB)
    c._db.execute("INSERT OR REPLACE INTO blobs (key, value, created) VALUES ('bad', x'00ff', 0)")
    c.close()
    c2 = FSCache(tmp_path)
    assert c2.get("k") == BLOB
    assert c2.get("bad") is None  # undecodable: a miss, not an error
    c2.close()


@pytest.mark.parametrize("damage", ["garbage", "zeros", "torn"])
def test_a_damaged_cache_file_is_replaced_with_a_warning(tmp_path: Path, damage: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """Its writes are not synced, so a power cut can damage the file: the next open starts a new one (and drops
    the old WAL, whose frames would be replayed into it) instead of failing every scan until `vigil clean`."""
    c = FSCache(tmp_path)
    c.put("k", BLOB)
    c.close()
    db = tmp_path / cache.CACHE_FILENAME
    if damage == "garbage":
        db.write_bytes(bytes(range(256)) * 64)
    elif damage == "zeros":
        db.write_bytes(bytes(8192))
    else:  # the header survives, the pages after it do not
        raw = db.read_bytes()
        db.write_bytes(raw[:100] + b"\xff" * (len(raw) - 100))
    (tmp_path / f"{cache.CACHE_FILENAME}-wal").write_bytes(b"\x37\x7f\x06\x82" + bytes(60))
    c2 = FSCache(tmp_path)
    assert "is damaged" in caplog.text and "starting a new one" in caplog.text
    assert c2.get("k") is None  # a new, empty cache …
    c2.put("k2", BLOB)
    c2.close()
    c3 = FSCache(tmp_path)
    assert c3.get("k2") == BLOB  # … that works and persists
    c3.close()


def test_a_file_refused_for_another_reason_is_not_removed(tmp_path: Path) -> None:
    db = tmp_path / cache.CACHE_FILENAME
    db.mkdir()  # "unable to open database file": no proof of damage, and nothing to remove
    (db / "keep").write_text("x")
    with pytest.raises(CacheError, match="cannot open analysis cache"):
        FSCache(tmp_path)
    assert (db / "keep").read_text() == "x"


def test_missing_reads_no_value(tmp_path: Path) -> None:
    """Which keys are held is answered from an index of keys and dates: never by reading the values (megabytes for
    a big layer, stored before the date in the row). Also for a cache made before the index existed."""
    c = FSCache(tmp_path)
    c._db.execute("DROP INDEX blobs_key_created")
    c.put("k", BLOB)
    c.close()
    c = FSCache(tmp_path)
    q = "SELECT key FROM blobs WHERE created >= ? AND key IN (?, ?)"
    plan = " ".join(str(r[-1]) for r in c._db.execute("EXPLAIN QUERY PLAN " + q, (0, "k", "x")))
    assert "COVERING INDEX" in plan, plan
    assert c.missing(["k", "x"]) == ["x"]
    c.close()


def test_cache_writes_are_not_synced(tmp_path: Path) -> None:
    c = FSCache(tmp_path)
    assert c._db.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF
    assert c._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    c.close()


def test_unusable_cache_dir_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(CacheError, match="cannot open analysis cache"):
        FSCache(f / "sub")
    with pytest.raises(CacheError, match="unknown cache backend"):
        open_cache("s3", tmp_path)


def _writer(args: tuple[str, int]) -> int:
    d, n = args
    c = FSCache(Path(d))
    for i in range(20):
        c.put(f"w{n}-{i}", BLOB)
        assert c.get(f"w{n}-{i}") == BLOB
    c.close()
    return n


def test_concurrent_processes_share_one_cache(tmp_path: Path) -> None:
    # 8 scans opening one fresh cache at the same moment and writing while the others read (issue 8)
    with mp.get_context("fork").Pool(8) as pool:
        assert sorted(pool.map(_writer, [(str(tmp_path), n) for n in range(8)])) == list(range(8))
    c = FSCache(tmp_path)
    assert c.missing([f"w{n}-{i}" for n in range(8) for i in range(20)]) == []
    assert isinstance(MemoryCache().missing(["x"]), list)
    c.close()


def test_ttl_expires_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a virtual clock: the entry's age is what the test says, however slow the machine is
    now = [1_800_000_000.0]
    monkeypatch.setattr(cache, "time", SimpleNamespace(time=lambda: now[0], sleep=lambda s: None))
    for c in (FSCache(tmp_path, ttl=0.2), MemoryCache(ttl=0.2)):
        c.put("k", BLOB)
        now[0] += 0.15
        assert c.get("k") == BLOB and c.missing(["k"]) == []
        now[0] += 0.15
        assert c.get("k") is None and c.missing(["k"]) == ["k"]
        c.close()


def test_clear_removes_everything(tmp_path: Path) -> None:
    c = FSCache(tmp_path)
    c.put("a", BLOB)
    c.put("b", BLOB)
    assert c.clear() == 2
    assert c.missing(["a", "b"]) == ["a", "b"]
    c.close()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    import shutil
    import socket
    import subprocess
    import time

    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("backend", ["fs", "memory", "redis"])
def test_add_never_replaces_a_live_entry(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """`add` is what the server stores blobs it cannot check with: a second upload under a key never replaces
    the first (put, the local cache's write, does); get_raw gives the stored encoding; delete removes one key."""
    url = request.getfixturevalue("redis_url") if backend == "redis" else backend
    c = open_cache(url, tmp_path)
    other = msgspec.structs.replace(BLOB, whiteouts=())
    assert c.add("k", BLOB) is True
    assert c.add("k", other) is False
    assert c.get("k") == BLOB
    raw = c.get_raw("k")
    assert raw is not None and msgspec.msgpack.decode(raw, type=BlobInfo) == BLOB
    c.put("k", other)
    assert c.get("k") == other
    c.delete("k")
    assert c.get_raw("k") is None and c.missing(["k"]) == ["k"]
    assert c.add("k", BLOB) is True and c.get("k") == BLOB
    c.clear()
    c.close()


def test_add_replaces_an_expired_entry(tmp_path: Path) -> None:
    import time

    for c in (FSCache(tmp_path, ttl=0.2), MemoryCache(ttl=0.2)):
        assert c.add("k", BLOB) is True
        time.sleep(0.3)
        other = msgspec.structs.replace(BLOB, whiteouts=())
        assert c.add("k", other) is True
        assert c.get("k") == other
        c.close()


def test_memory_cache_drops_expired_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    """An expired entry is gone from memory, not only hidden: when it is looked at, and in the sweep a later write
    makes (entries nobody looks at again)."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(cache, "time", SimpleNamespace(time=lambda: now[0], sleep=lambda s: None))
    c = MemoryCache(ttl=10)
    c.put("looked-at", BLOB)
    c.put("forgotten", BLOB)
    now[0] += 11
    assert c.get("looked-at") is None
    assert len(c) == 1
    c.put("new", BLOB)
    assert len(c) == 1 and c.get("new") == BLOB
    assert c.size == len(cache.encode_blob(BLOB))


def test_memory_cache_is_bounded_least_recently_used_first() -> None:
    one = len(cache.encode_blob(BLOB))
    c = MemoryCache(max_bytes=3 * one)
    for k in ("a", "b", "c"):
        c.put(k, BLOB)
    assert c.get("a") == BLOB  # a is now the most recently used
    c.put("d", BLOB)
    assert c.missing(["a", "b", "c", "d"]) == ["b"]
    assert c.size <= 3 * one and len(c) == 3
    many = MemoryCache(max_bytes=50 * one)
    for i in range(1000):
        assert many.add(f"k{i}", BLOB) is True
    assert len(many) == 50 and many.size == 50 * one
    big = msgspec.structs.replace(BLOB, whiteouts=tuple(f"f{i}" for i in range(1000)))
    assert c.add("big", big) is False and c.get("big") is None  # larger than the whole cache: not kept
    assert open_cache("memory", Path("."), 0, memory_bytes=one).add("x", BLOB) is True


def test_storing_blobs_builds_no_decoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold scan stores its blobs and asks which are missing, and decodes none: the BlobInfo decoder (building it
    walks every record type of a blob) is built by the first read."""
    monkeypatch.setattr(cache._DECODER, "_decoder", None)
    c = FSCache(tmp_path)
    c.put("k", BLOB)
    assert c.missing(["k", "other"]) == ["other"]
    assert cache._DECODER._decoder is None
    assert c.get("k") == BLOB
    assert cache._DECODER._decoder is not None
    c.close()
