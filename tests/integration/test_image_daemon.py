"""The docker/podman daemon source over a unix socket.

No Docker engine can run on the test machines (no daemon, no privileges), so these tests serve a small Engine-API
double on an AF_UNIX socket: `GET /images/{name}/json` (inspect) and `GET /images/{name}/get` (the `docker save`
stream, chunked like the real engine) for one real docker-archive, ../shared/data/images/alpine-like.docker.tar.
The HTTP client, the socket transport, the streaming to disk and the archive reader are all the real code.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import socketserver
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from vigil.sources.image import daemon
from vigil.sources.image.daemon import daemon_socket, open_daemon_image

ARCHIVE = Path(__file__).resolve().parents[3] / "shared" / "data" / "images" / "alpine-like.docker.tar"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _archive_facts() -> tuple[str, list[str]]:
    with tarfile.open(ARCHIVE) as tf:
        mf = tf.extractfile("manifest.json")
        assert mf is not None
        manifest = json.loads(mf.read())[0]
        cf = tf.extractfile(manifest["Config"])
        assert cf is not None
        raw = cf.read()
    return _sha(raw), json.loads(raw)["rootfs"]["diff_ids"]


CONFIG_DIGEST, DIFF_IDS = _archive_facts()
REPO_DIGEST = "fixture/alpine-like@sha256:" + "c" * 64
KNOWN = {"fixture/alpine-like:3.16.0", "docker.io/fixture/alpine-like:3.16.0", CONFIG_DIGEST}


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class EngineDouble:
    def __init__(self, path: str) -> None:
        self.path = path
        self.requests: list[str] = []
        self.inspect_status = 200
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # AF_UNIX peers have no address to log

            def _json(self, status: int, obj: object) -> None:
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                double.requests.append(self.path)
                if not self.path.startswith("/images/"):
                    self._json(404, {"message": "page not found"})
                    return
                name, _, op = unquote(self.path[len("/images/") :]).rpartition("/")
                if name not in KNOWN:
                    self._json(404, {"message": f"No such image: {name}"})
                    return
                if op == "json":
                    if double.inspect_status != 200:
                        self._json(double.inspect_status, {"message": "server error"})
                        return
                    self._json(
                        200,
                        {
                            "Id": CONFIG_DIGEST,
                            "RepoTags": ["fixture/alpine-like:3.16.0", "<none>:<none>"],
                            "RepoDigests": [REPO_DIGEST],
                        },
                    )
                elif op == "get":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-tar")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    with open(ARCHIVE, "rb") as f:
                        while chunk := f.read(4096):
                            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self._json(404, {"message": "page not found"})

        self.server = _UnixHTTPServer(path, Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sockdir() -> Iterator[Path]:
    # A short path: AF_UNIX socket paths are limited to ~108 bytes, pytest's tmp_path can be longer.
    d = Path(tempfile.mkdtemp(prefix="vigil-sock-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def engine(sockdir: Path) -> Iterator[EngineDouble]:
    e = EngineDouble(str(sockdir / "docker.sock"))
    yield e
    e.close()


@pytest.fixture
def no_system_sockets(monkeypatch: pytest.MonkeyPatch, sockdir: Path) -> None:
    """Make the machine's own socket locations point nowhere, whatever host runs the tests."""
    monkeypatch.setattr(
        daemon, "SYSTEM_SOCKETS", (str(sockdir / "none-docker.sock"), str(sockdir / "none-podman"))
    )
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(sockdir / "xdg"))
    monkeypatch.delenv("DOCKER_HOST", raising=False)


def test_image_from_daemon(engine: EngineDouble, tmp_path: Path) -> None:
    img = open_daemon_image("fixture/alpine-like:3.16.0", tmp_path, socket_path=engine.path)
    assert img is not None
    try:
        assert engine.requests == [
            "/images/fixture/alpine-like:3.16.0/json",
            "/images/fixture/alpine-like:3.16.0/get",
        ]
        save = tmp_path / "daemon-save.tar"
        assert _sha(save.read_bytes()) == _sha(ARCHIVE.read_bytes())
        assert img.name == "fixture/alpine-like:3.16.0"
        assert img.config_digest == CONFIG_DIGEST
        assert [lb.diff_id for lb in img.layers] == DIFF_IDS
        assert img.repo_tags == ["fixture/alpine-like:3.16.0"]  # "<none>:<none>" is not a tag
        assert img.repo_digests == [REPO_DIGEST]
        with img.layers[0].open() as f:
            assert _sha(f.read()) == DIFF_IDS[0]  # docker-archive layers are uncompressed tars
    finally:
        img.close()
    assert not (tmp_path / "daemon-save.tar").exists()


@pytest.mark.parametrize("ref", [CONFIG_DIGEST, "docker.io/fixture/alpine-like:3.16.0"])
def test_image_from_daemon_by_id_or_a_name_the_save_stream_spells_differently(
    engine: EngineDouble, tmp_path: Path, ref: str
) -> None:
    # The daemon resolves the name (an image ID, a digest, podman's "localhost/" short names...) and its save
    # stream holds exactly that image, whatever RepoTags it lists: the name must not be re-matched against them.
    img = open_daemon_image(ref, tmp_path, socket_path=engine.path)
    assert img is not None
    try:
        assert img.name == ref
        assert img.config_digest == CONFIG_DIGEST
        assert [lb.diff_id for lb in img.layers] == DIFF_IDS
    finally:
        img.close()


def test_image_the_daemon_does_not_have_is_none(engine: EngineDouble, tmp_path: Path) -> None:
    assert open_daemon_image("python:3.12-slim", tmp_path, socket_path=engine.path) is None
    assert engine.requests == ["/images/python:3.12-slim/json"]  # never asked to save
    engine.inspect_status = 500
    assert open_daemon_image("fixture/alpine-like:3.16.0", tmp_path, socket_path=engine.path) is None
    assert not (tmp_path / "daemon-save.tar").exists()


def test_daemon_socket_discovery(
    engine: EngineDouble, no_system_sockets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert daemon_socket() is None
    monkeypatch.setenv("DOCKER_HOST", f"unix://{engine.path}")
    assert daemon_socket() == engine.path
    # tcp:// daemons are not a local socket: ignored.
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert daemon_socket() is None
    # The rootless podman location.
    monkeypatch.delenv("DOCKER_HOST")
    xdg = Path(engine.path).parent / "xdg"
    (xdg / "podman").mkdir(parents=True)
    podman = EngineDouble(str(xdg / "podman" / "podman.sock"))
    try:
        assert daemon_socket() == podman.path
    finally:
        podman.close()


def test_stale_socket_file_is_not_a_daemon(
    sockdir: Path, no_system_sockets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = sockdir / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()  # the file stays, nobody listens: what a crashed daemon leaves behind
    monkeypatch.setenv("DOCKER_HOST", f"unix://{stale}")
    assert stale.exists()
    assert daemon_socket() is None


def test_no_socket_means_none(no_system_sockets: None, tmp_path: Path) -> None:
    assert open_daemon_image("fixture/alpine-like:3.16.0", tmp_path) is None
    assert list(tmp_path.iterdir()) == []
