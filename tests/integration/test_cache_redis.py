"""The shared analysis cache on a real redis-server (Debian package) started on a free loopback port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli_helpers import run

from vigil.cache import CacheError, FSCache, RedisCache, open_cache
from vigil.findings.analysis import BlobInfo

BLOB = BlobInfo(diff_id="sha256:" + "b" * 64, whiteouts=("etc/motd",))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server not installed (apt-get install redis-server; .ci/run does)")
    port = _free_port()
    d = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(d)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def test_round_trip_missing_ttl_clear(redis_url: str) -> None:
    c = open_cache(redis_url, Path("."), ttl=1)
    assert isinstance(c, RedisCache)
    c.clear()
    assert c.get("k") is None
    c.put("k", BLOB)
    assert c.get("k") == BLOB
    assert c.missing(["k", "other"]) == ["other"]
    time.sleep(2.1)  # Redis expires it (EX 1)
    assert c.get("k") is None
    c.put("a", BLOB)
    c.put("b", BLOB)
    assert c.clear() == 2
    c.close()


def test_shared_between_two_clients(redis_url: str) -> None:
    a, b = RedisCache(redis_url), RedisCache(redis_url)
    a.put("shared", BLOB)
    assert b.get("shared") == BLOB
    a.close()
    b.close()


def test_unreachable_redis_is_a_clear_error() -> None:
    with pytest.raises(CacheError, match=r"cannot reach the Redis cache at redis://u:\*\*\*@127.0.0.1"):
        RedisCache(f"redis://u:secret@127.0.0.1:{_free_port()}/0")


def test_clean_command_clears_redis(redis_url: str, tmp_path: Path) -> None:
    c = RedisCache(redis_url)
    c.clear()
    c.put("x", BLOB)
    p = run("clean", "--scan-cache", "--cache-backend", redis_url, "--cache-dir", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "removed 1 entries" in p.stderr
    assert c.get("x") is None
    c.close()
    p = run("clean", "--cache-dir", str(tmp_path))
    assert p.returncode == 2 and "--all" in p.stderr


def test_reports_are_not_kept_in_a_shared_cache(redis_url: str, tmp_path: Path, fixture_db: Path) -> None:
    """Runners sharing a Redis cache share layer analyses, never whole reports (one runner's entry would stand for
    another's whole result); the same scan with the local fs cache keeps its report."""
    from tests.oci_builder import layer_tar, write_layout

    layout = write_layout(tmp_path / "img", [layer_tar({"etc/os-release": b"ID=alpine\nVERSION_ID=3.16.0\n"})])
    c = RedisCache(redis_url)
    c.clear()
    for backend in (redis_url, "fs"):
        for _ in range(2):
            p = run("image", "--input", str(layout), "--scanners", "vuln", "-q", "--skip-db-update", "--db-path",
                    str(fixture_db), "--cache-backend", backend, "--cache-dir", str(tmp_path / "cache"))
            assert p.returncode == 0, p.stderr
    keys = [k.decode() for k in c._r.scan_iter(match="*")]  # type: ignore[union-attr]
    assert keys and not [k for k in keys if "report:" in k], keys
    local = open_cache("fs", tmp_path / "cache")
    assert isinstance(local, FSCache)
    try:
        assert local._db.execute("SELECT count(*) FROM blobs WHERE key LIKE 'report:%'").fetchone()[0] == 1
    finally:
        local.close()
        c.clear()
        c.close()
