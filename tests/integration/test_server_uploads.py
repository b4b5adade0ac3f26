"""Upload memory bounds of `vigil server` (PUT /v1/blobs/{key}): the app on a real uvicorn on 127.0.0.1 (in a
thread, so the test can give the state small limits), raw sockets for uploads that stall half-way."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from tests.pipeline_helpers import content_addressed

from vigil.cache import open_cache
from vigil.findings.analysis import BlobInfo
from vigil.shells.server.app import create_app
from vigil.shells.server.state import ServerState

TOKEN = "upload-test-token"
KEY = "sha256:" + "ab" * 32


@pytest.fixture
def small_server(fixture_db: Path, tmp_path: Path) -> Iterator[tuple[str, int]]:
    import uvicorn

    state = ServerState(db_path=fixture_db, cache=open_cache("memory", tmp_path, 0), token=TOKEN,
                        max_blob_bytes=1 << 20, max_upload_buffer=2 << 20)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(state), host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield "127.0.0.1", port
    server.should_exit = True
    t.join(10)
    state.close()


def _stalled_upload(host: str, port: int, declared: int, sent: int) -> socket.socket:
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(f"PUT /v1/blobs/{KEY} HTTP/1.1\r\nHost: x\r\nVigil-Token: {TOKEN}\r\n"
              f"Content-Type: application/msgpack\r\nContent-Length: {declared}\r\n\r\n".encode())
    s.sendall(b"\x00" * sent)
    return s


def _status(s: socket.socket) -> int:
    data = s.recv(4096)
    return int(data.split(b" ", 2)[1])


def test_bodies_received_at_once_share_a_bounded_buffer(small_server: tuple[str, int]) -> None:
    import select

    host, port = small_server
    # three uploads stall after 0.9 MB each: 2.7 MB would be held, the buffer is 2 MB
    stalled = [_stalled_upload(host, port, 1_000_000, 900_000) for _ in range(3)]
    ready, _, _ = select.select(stalled, [], [], 10)
    assert len(ready) == 1 and _status(ready[0]) == 503  # one is refused (retryable), not buffered beyond the limit
    others = [s for s in stalled if s is not ready[0]]
    assert select.select(others, [], [], 0.5)[0] == []  # the others are still being received
    for s in stalled:
        s.close()
    # the stalled uploads gave their share back: a real upload goes through. The server sees the closed
    # connections when it next reads them, so the upload is retried while it answers 503 (buffer still full);
    # the deadline only stops a hung test
    blob = content_addressed(BlobInfo(diff_id="", whiteouts=("etc/x",)))
    deadline = time.monotonic() + 20
    while True:
        r = httpx.put(f"http://{host}:{port}/v1/blobs/{blob.diff_id}", content=msgspec.msgpack.encode(blob),
                      headers={"Vigil-Token": TOKEN}, timeout=10)
        if r.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status_code == 204, r.text
    # and the health check answers while uploads are in flight
    stalled = _stalled_upload(host, port, 1_000_000, 500_000)
    assert httpx.get(f"http://{host}:{port}/healthz", timeout=5).status_code == 200
    stalled.close()
