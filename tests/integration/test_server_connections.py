"""What a connection may hold of `vigil server` (shells/server/connections.py): request heads that never finish
(slowloris, no token needed), a flood of connections up to the open-file limit, request bodies that stop arriving
(stalled uploads holding the upload buffer), one token's share of that buffer, and TCP_NODELAY on accepted sockets.

Real servers on 127.0.0.1: `vigil server` processes for the connection flood (one with a small open-file limit),
the app on the guarded uvicorn in a thread where a test needs small limits. Timeouts are given small values; the
tests wait for what the server does (a socket closed, a request answered) with deadlines that only stop a hung
test, and never measure how long anything took."""

from __future__ import annotations

import resource
import select
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from tests.integration.test_server import start_server
from tests.pipeline_helpers import content_addressed

from vigil.cache import open_cache
from vigil.findings.analysis import BlobInfo
from vigil.shells.server.app import create_app
from vigil.shells.server.connections import ConnectionLimits, listen_socket, uvicorn_config
from vigil.shells.server.state import ServerState

TOKEN_A = "connections-test-token-a"
TOKEN_B = "connections-test-token-b"
KEY = "sha256:" + "ab" * 32


def _closed_by_server(s: socket.socket) -> bool:
    """True once the server has closed `s` (EOF or reset); False while it is open. Never blocks."""
    if not select.select([s], [], [], 0)[0]:
        return False
    try:
        return s.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def _wait_closed(socks: list[socket.socket], deadline_s: float, trickle: Callable[[socket.socket], None]
                 ) -> list[socket.socket]:
    """Keep trickling on every open socket until the server has closed them all; the ones still open when the
    deadline (a hung-test stop, not a measurement) passes are returned."""
    open_ = list(socks)
    deadline = time.monotonic() + deadline_s
    while open_ and time.monotonic() < deadline:
        for s in list(open_):
            if _closed_by_server(s):
                open_.remove(s)
                continue
            try:
                trickle(s)
            except (BrokenPipeError, ConnectionResetError):
                open_.remove(s)
        select.select(open_, [], [], 0.2)
    return open_


@pytest.fixture
def db(tmp_path: Path, fixture_db: Path) -> Path:
    d = tmp_path / "db"
    d.mkdir()
    shutil.copy2(fixture_db, d / "vigil.db")
    return d / "vigil.db"


# --- request heads: slowloris ----------------------------------------------------------------------------------


def test_slow_and_silent_request_heads_are_closed_and_real_requests_get_through(db: Path, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN_A)
    srv = start_server(tmp_path, db, "--token-file", str(tmp_path / "token"), "--header-timeout", "1",
                       "--max-connections", "40")
    socks: list[socket.socket] = []
    try:
        for i in range(60):  # more than the server keeps open
            s = socket.create_connection(("127.0.0.1", int(srv.url.rsplit(":", 1)[1])), timeout=10)
            if i % 2:
                s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n")  # a head that is never finished
            socks.append(s)
        # a real client gets through while they are open (the longest-waiting slow ones make room)
        assert httpx.get(srv.url + "/healthz", timeout=20).status_code == 200
        assert httpx.get(srv.url + "/version", headers={"Vigil-Token": TOKEN_A}, timeout=20).status_code == 200
        # a header line every 0.2 s does not keep a connection: every slow one is closed
        still_open = _wait_closed(socks, 60, lambda s: s.sendall(b"X-Slow: 1\r\n"))
        assert still_open == [], f"{len(still_open)} of {len(socks)} slow connections still open"
        assert srv.metric('vigil_connections_closed_total{reason="header_timeout"}') >= 1
        assert httpx.get(srv.url + "/healthz", timeout=20).status_code == 200
    finally:
        for s in socks:
            s.close()
        srv.stop()


def test_a_connection_flood_at_the_open_file_limit_neither_refuses_clients_nor_floods_the_log(
        db: Path, tmp_path: Path) -> None:
    """The server may open 128 files: 150 silent connections would take them all. It keeps its connections below the
    limit (closing the longest-waiting silent ones), so accept() never fails and a real request is answered."""
    def small_fd_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    (tmp_path / "token").write_text(TOKEN_A)
    srv = start_server(tmp_path, db, "--token-file", str(tmp_path / "token"), preexec_fn=small_fd_limit)
    port = int(srv.url.rsplit(":", 1)[1])
    socks: list[socket.socket] = []
    try:
        for _ in range(150):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        for _ in range(3):
            assert httpx.get(srv.url + "/healthz", timeout=20).status_code == 200
        assert srv.metric('vigil_connections_closed_total{reason="evicted"}') >= 1
    finally:
        for s in socks:
            s.close()
        srv.stop()
    log = srv.log.read_text(errors="replace")
    assert "accept" not in log and "Too many open files" not in log, log[:2000]


# --- request bodies: stalled uploads ---------------------------------------------------------------------------


class Guarded:
    def __init__(self, state: ServerState, port: int, server: Any) -> None:
        self.state, self.port, self.server = state, port, server
        self.url = f"http://127.0.0.1:{port}"

    def stalled_upload(self, token: str, declared: int, sent: int) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(f"PUT /v1/blobs/{KEY} HTTP/1.1\r\nHost: x\r\nVigil-Token: {token}\r\n"
                  f"Content-Type: application/msgpack\r\nContent-Length: {declared}\r\n\r\n".encode())
        s.sendall(b"\x00" * sent)
        return s

    def upload(self, token: str, blob: BlobInfo) -> httpx.Response:
        return httpx.put(f"{self.url}/v1/blobs/{blob.diff_id}", content=msgspec.msgpack.encode(blob),
                         headers={"Vigil-Token": token}, timeout=20)


@pytest.fixture
def guarded(fixture_db: Path, tmp_path: Path) -> Iterator[Callable[..., Guarded]]:
    started: list[tuple[Any, threading.Thread, ServerState, socket.socket]] = []

    def start(limits: ConnectionLimits, **state_kw: Any) -> Guarded:
        import uvicorn

        state = ServerState(db_path=fixture_db, cache=open_cache("memory", tmp_path, 0), token=TOKEN_A,
                            more_tokens=(TOKEN_B,), **state_kw)
        sock = listen_socket("127.0.0.1", 0)
        config = uvicorn_config(create_app(state), limits,
                                lambda reason: state.metrics.connections_closed.labels(reason).inc(),
                                log_level="warning")
        server = uvicorn.Server(config)
        t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        t.start()
        started.append((server, t, state, sock))
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        return Guarded(state, int(sock.getsockname()[1]), server)

    yield start
    for server, t, state, sock in started:
        server.should_exit = True
        t.join(10)
        state.close()
        sock.close()


def _big_blob(n_bytes: int) -> BlobInfo:
    return content_addressed(BlobInfo(diff_id="", whiteouts=tuple(f"d/{i:07d}" for i in range(n_bytes // 10))))


def _closed_count(g: Guarded, reason: str) -> float:
    return g.state.metrics.registry.get_sample_value("vigil_connections_closed_total", {"reason": reason}) or 0.0


def test_a_body_that_stops_arriving_is_cut_off_and_gives_its_buffer_back(guarded: Callable[..., Guarded]) -> None:
    g = guarded(ConnectionLimits(header_timeout=5, body_timeout=0.5), max_blob_bytes=1 << 20,
                max_upload_buffer=2 << 20)
    stalled = [g.stalled_upload(TOKEN_A, 1_000_000, 900_000), g.stalled_upload(TOKEN_B, 1_000_000, 900_000)]
    # the server closes both, though the client keeps them open
    assert _wait_closed(stalled, 30, lambda s: None) == []
    assert _closed_count(g, "body_timeout") == 2
    deadline = time.monotonic() + 20  # the app sees the disconnect on its next read: poll, do not sleep a guess
    while True:
        r = g.upload(TOKEN_A, _big_blob(900_000))
        if r.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status_code == 204, r.text
    for s in stalled:
        s.close()


def test_one_tokens_stalled_uploads_leave_room_for_the_others(guarded: Callable[..., Guarded]) -> None:
    # no body timeout within the test: the share alone must keep token B's upload going
    g = guarded(ConnectionLimits(header_timeout=60, body_timeout=60), max_blob_bytes=1 << 20,
                max_upload_buffer=2 << 20)
    stalled = [g.stalled_upload(TOKEN_A, 1_000_000, 900_000) for _ in range(3)]
    # A's share is half the buffer: one stalled body fits, the next are refused (503, retry later)
    answered: list[socket.socket] = []
    deadline = time.monotonic() + 20
    while len(answered) < 2 and time.monotonic() < deadline:
        for s in select.select([s for s in stalled if s not in answered], [], [], 0.2)[0]:
            assert s.recv(4096).split(b" ", 2)[1] == b"503"
            answered.append(s)
    assert len(answered) == 2
    assert select.select([s for s in stalled if s not in answered], [], [], 0.5)[0] == []  # still being received
    r = g.upload(TOKEN_B, _big_blob(600_000))  # 1.8 MB would be too much for what A's three uploads would hold
    assert r.status_code == 204, r.text
    for s in stalled:
        s.close()


# --- TCP_NODELAY -----------------------------------------------------------------------------------------------


def test_accepted_connections_have_tcp_nodelay(guarded: Callable[..., Guarded]) -> None:
    """Without it, each request after the first on a kept-alive connection waits for the delayed ACK."""
    g = guarded(ConnectionLimits())
    with httpx.Client(timeout=10) as c:
        for _ in range(2):
            assert c.get(g.url + "/healthz").status_code == 200
        conns = list(g.server.server_state.connections)
        assert conns
        for p in conns:
            sock = p.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    # and the listening socket hands it down itself (Linux), whoever serves the accepted socket
    with listen_socket("127.0.0.1", 0) as lst, socket.create_connection(lst.getsockname()):
        accepted, _ = lst.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_errors_a_client_can_provoke_are_logged_at_most_ten_a_minute() -> None:
    """asyncio logs every failed accept() (and uvicorn every invalid request): a flood of connections must not
    become a flood of log. A virtual clock: the minute is what the test says."""
    import logging

    from vigil.shells.server.connections import RateLimitedLog

    now = [1000.0]
    f = RateLimitedLog(per_minute=10, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, None)

    accept = "socket.accept() out of system resource\nsocket: <fd=6>"
    assert sum(f.filter(record(accept)) for _ in range(5000)) == 10
    assert f.filter(record("Invalid HTTP request received.")) is True  # another kind has its own count
    now[0] += 61
    first = record(accept)
    assert f.filter(first) is True and "4990 more like the next were not logged" in first.getMessage()
