"""What one connection may hold of `vigil server` before and while the app reads its request.

uvicorn's h11 protocol waits forever for a request head that never completes (no bytes, or a header line every few
seconds) and for a request body that stops arriving, and accepts connections until the process runs out of file
descriptors; past that, every client is refused and asyncio logs an error for each accept() it retries. The first
and last need no token (slowloris); the second holds the upload buffer (a token holder's stalled uploads).

The guard is uvicorn's own h11 protocol with timers, not an ASGI middleware: the app sees nothing until a request
head is complete, and ending a connection needs its transport. It closes

- a connection whose request line and headers are not complete `header_timeout` seconds after it became ready for
  a request (accepted, or its previous response sent). The deadline is fixed when the wait starts, so trickling
  bytes does not extend it; a silent keep-alive connection goes earlier, after uvicorn's keep-alive timeout;
- a connection whose request body receives nothing for `body_timeout` seconds while it is being read (time the app
  itself has not taken the bytes waiting for it does not count). The app then sees the client gone, and an upload
  gives its share of the upload buffer back;
- beyond `max_connections` open connections, the connection that has waited longest without a complete request
  head: a real client sends its head at once, so it gets through a flood of slow ones. When every connection is
  busy with a request, the new one is answered 503 (retry later) and closed. The limit stays below the open-file
  limit, so accept() never fails for lack of descriptors.

Every accepted socket gets TCP_NODELAY: a keep-alive client's next request would otherwise wait for the delayed
ACK of the previous response (about 40 ms each on Linux).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import uvicorn

Reason = Literal["header_timeout", "body_timeout", "evicted", "refused"]
CLOSE_REASONS: tuple[Reason, ...] = ("header_timeout", "body_timeout", "evicted", "refused")
_Phase = Literal["head", "body", "app"]


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 0  # 0: from the open-file limit (default_max_connections)


def raise_fd_limit() -> None:
    """Use the hard open-file limit: the soft one (often 1024) is what a connection flood runs into."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


def _fd_limit() -> int:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 16 if soft == resource.RLIM_INFINITY else int(soft)


def _fds_open() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 64


def default_backlog() -> int:
    """The listen() queue, which is also how many connections asyncio accepts in one go before any of them is seen
    by the guard: small against a small open-file limit."""
    return min(128, max(8, _fd_limit() // 8))


# Descriptors kept out of the connection budget whatever is open at start: the DB and analysis-cache files (SQLite
# with its WAL and shared memory), one DB connection per request thread, the log, and what readiness probes open.
_FD_HEADROOM = 64


def default_max_connections() -> int:
    """Three quarters of the descriptors not open now, not taken by one accept burst and not kept for the files
    the server opens later: the rest is for the connections being closed."""
    return max(8, (_fd_limit() - _fds_open() - default_backlog() - _FD_HEADROOM) * 3 // 4)


def listen_socket(host: str, port: int) -> socket.socket:
    """The listening socket, TCP_NODELAY set: Linux hands the option down to every socket accept() returns (and
    asyncio sets it only on sockets created with proto=IPPROTO_TCP, which socket.create_server does not)."""
    sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _Guard:
    """State the connections of one server share."""

    def __init__(self, limits: ConnectionLimits, on_close: Callable[[Reason], None]) -> None:
        self.header_timeout = limits.header_timeout
        self.body_timeout = limits.body_timeout
        self.max_connections = limits.max_connections or default_max_connections()
        self.on_close = on_close
        # connections without a complete request head, the longest waiting first
        self.waiting: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
        # closed by the guard, not yet gone (connection_lost comes on a later loop iteration)
        self.closing: set[GuardedH11Protocol] = set()


_BUSY_BODY = b'{"Error":"the server has too many connections; retry later"}'
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
         b"content-length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY))


class GuardedH11Protocol(H11Protocol):
    guard: ClassVar[_Guard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._phase: _Phase = "app"
        self._last_data = 0.0

    # --- uvicorn's hooks --------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        g = self.guard
        # Connections the guard closed still hold their descriptor until connection_lost (a later loop iteration),
        # and asyncio accepts a whole burst before any connection_made: count them, or a fast flood runs the
        # process out of descriptors between the close and its release.
        if len(self.connections) > g.max_connections:
            if g.waiting:
                next(iter(g.waiting))._close("evicted")
            else:
                transport.write(_BUSY)
                self._close("refused")
                return
        self._update_phase()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        self.guard.waiting.pop(self, None)
        self.guard.closing.discard(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._last_data = self.loop.time()
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        self._update_phase()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._update_phase()

    # --- the guard --------------------------------------------------------------------------------------------

    def _update_phase(self) -> None:
        if self.transport.is_closing():
            self._cancel()
            self.guard.waiting.pop(self, None)
            return
        state = self.conn.their_state
        phase: _Phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else "app"
        if phase == self._phase:
            return
        self._phase = phase
        self._cancel()
        g = self.guard
        g.waiting.pop(self, None)
        now = self.loop.time()
        if phase == "head":
            g.waiting[self] = None
            self._timer = self.loop.call_at(now + g.header_timeout, self._head_timeout)
        elif phase == "body":
            self._last_data = now
            self._timer = self.loop.call_at(now + g.body_timeout, self._body_check)

    def _head_timeout(self) -> None:
        self._timer = None
        if self._phase == "head":
            self._close("header_timeout")

    def _body_check(self) -> None:
        self._timer = None
        if self._phase != "body" or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused:  # the app has not taken what already arrived: the wait is not the client's
            self._last_data = now
        if now - self._last_data >= self.guard.body_timeout:
            self._close("body_timeout")
        else:
            self._timer = self.loop.call_at(self._last_data + self.guard.body_timeout, self._body_check)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _close(self, reason: Reason) -> None:
        self._cancel()
        g = self.guard
        g.waiting.pop(self, None)
        if self.transport.is_closing():
            return
        g.closing.add(self)
        g.on_close(reason)
        self.transport.close()


class RateLimitedLog(logging.Filter):
    """At most `per_minute` records of one kind (the first line of the message) a minute from a logger a client can
    make speak (asyncio's accept() errors, uvicorn's "Invalid HTTP request"), then one line saying how many were
    dropped: a flood of bad connections must not become a flood of log."""

    def __init__(self, per_minute: int = 10, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, tuple[float, int]] = {}  # kind -> (window start, records in it)

    def filter(self, record: logging.LogRecord) -> bool:
        kind = str(record.msg).split("\n", 1)[0][:200]
        now = self.clock()
        start, n = self._seen.get(kind, (now, 0))
        if now - start >= 60:
            if n > self.per_minute:
                record.msg = f"{n - self.per_minute} more like the next were not logged in the last minute\n" \
                             f"{record.msg}"
            start, n = now, 0
        if len(self._seen) > 1000 and kind not in self._seen:  # kinds are a few fixed texts; stay bounded anyway
            self._seen.clear()
        self._seen[kind] = (start, n + 1)
        return n < self.per_minute


def quiet_flooding_loggers() -> None:
    for name in ("asyncio", "uvicorn.error"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, RateLimitedLog) for f in lg.filters):
            lg.addFilter(RateLimitedLog())


def uvicorn_config(app: Any, limits: ConnectionLimits, on_close: Callable[[Reason], None],
                   **kwargs: Any) -> uvicorn.Config:
    """uvicorn's Config for `app` with the guarded h11 protocol (one guard per call: per server)."""
    import uvicorn

    protocol = type("VigilH11Protocol", (GuardedH11Protocol,), {"guard": _Guard(limits, on_close)})
    kwargs.setdefault("backlog", default_backlog())
    return uvicorn.Config(app, http=protocol, **kwargs)
