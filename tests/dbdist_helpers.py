"""Fixtures for the DB distribution tests: packed artifact dirs built from the fixture feeds, a loopback HTTP mirror
(ETag / If-None-Match, request log, switchable failure status) and a server that answers every request with one
status (429). Real sockets on 127.0.0.1 only."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.registry_helpers import free_port


def build_artifact(feeds: Path, out: Path, when: dt.datetime) -> Path:
    """`vigil db build` + `vigil db pack` through the library: an artifact dir built `when`."""
    from vigil.dbdist.artifact import pack
    from vigil.vulndb.build.builder import build

    res = build(feeds, out, now=when, vigil_version="test")
    assert not [f for f in res.feeds if f.status == "failed"]
    pack(out)
    return out


@dataclass
class Mirror:
    """A threaded http.server over `root`. `fail_with` makes every request answer that status."""

    root: Path
    url: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, status)
    fail_with: int = 0
    etags: bool = True
    _server: http.server.ThreadingHTTPServer | None = None

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def start_mirror(root: Path, fail_with: int = 0) -> Mirror:
    mirror = Mirror(root=root, fail_with=fail_with)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            mirror.requests.append((self.path, str(code)))
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            if mirror.fail_with:
                self._send(mirror.fail_with, b"busy", {"Retry-After": "60"})
                return
            name = self.path.split("?", 1)[0].lstrip("/")
            f = mirror.root / name
            if "/" in name or not name or not f.is_file():
                self._send(404, b"not found")
                return
            data = f.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
            if mirror.etags and self.headers.get("If-None-Match") == etag:
                self._send(304, b"", {"ETag": etag})
                return
            self._send(200, data, {"ETag": etag} if mirror.etags else {})

        do_HEAD = do_GET

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    mirror._server = server
    mirror.url = f"http://127.0.0.1:{port}/"
    return mirror


@pytest.fixture(scope="session", name="artifact_a")
def artifact_a_fixture(feeds_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_artifact(feeds_dir, tmp_path_factory.mktemp("artifact-a"), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


@pytest.fixture(scope="session", name="artifact_b")
def artifact_b_fixture(feeds_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Same advisories, built a day later (another DB file, next_update a day later)."""
    return build_artifact(feeds_dir, tmp_path_factory.mktemp("artifact-b"), dt.datetime(2026, 1, 2, tzinfo=dt.UTC))


@pytest.fixture(name="mirror_factory")
def mirror_factory_fixture(tmp_path: Path) -> Iterator[object]:
    started: list[Mirror] = []

    def make(src: Path | None = None, fail_with: int = 0) -> Mirror:
        root = tmp_path / f"mirror{len(started)}"
        if src is not None:
            shutil.copytree(src, root)
        else:
            root.mkdir()
        m = start_mirror(root, fail_with)
        started.append(m)
        return m

    yield make
    for m in started:
        m.stop()


def damaged_copy(db: Path, dest: Path, how: str) -> Path:
    """A copy of `db` that opens (metadata readable) but fails when advisories are read: "pages" overwrites the
    advisories table's and index's pages with garbage (SQLite: "database disk image is malformed"), "blobs"
    replaces every advisory record with bytes that are not JSON."""
    import sqlite3

    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, dest)
    con = sqlite3.connect(dest)
    if how == "blobs":
        con.execute("UPDATE advisories SET data = x'00ff7b7b'")
        con.commit()
        con.close()
        return dest
    assert how == "pages", how
    page_size = int(con.execute("PRAGMA page_size").fetchone()[0])
    roots = [int(r) for (r,) in con.execute(
        "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'advisories' AND rootpage > 0")]
    con.close()
    assert roots
    with dest.open("r+b") as f:
        for page in roots:
            f.seek((page - 1) * page_size)
            f.write(b"\xa5" * page_size)
    return dest
