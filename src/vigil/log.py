"""Vigil's loggers: stand-ins that import the standard library's `logging` only when a record is to be written.

Importing `logging` (with the traceback, string and weakref modules it pulls in) is about 4 % of the CPU of a
small scan, and most scans log nothing at the levels shown: an empty directory, a clean image, a rootfs without
end-of-life warnings. Every module therefore takes its logger from `get_logger(__name__)`, which has the methods of
`logging.Logger` that Vigil uses and hands each call to the real logger of the same name.

Without `defer_setup` (a library user, the tests, the server's own set-up) every call goes straight to `logging`,
so records, levels, handlers and `caplog` behave exactly as with `logging.getLogger`. The CLI instead calls
`defer_setup(level, setup)`: a record below `level` is dropped here (the real "vigil" logger would drop it too:
the set-up gives it that level), and the first record at `level` or above first runs `setup` (the handler with
the CLI's format and secret masking), then is logged. Every `vigil.*` logger goes through this module, so no
record reaches a handler before the set-up has run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partialmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

# the standard library's level numbers (fixed by its documentation), so callers need not import it to name one
DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40

_threshold = 0  # below this a record is dropped without asking logging (0: nothing is dropped here)
_pending: Callable[[], None] | None = None  # the CLI's handler set-up, not run yet
_setup_lock = threading.Lock()


def cli_level(quiet: bool, debug: bool) -> int:
    """The level the CLI shows: everything with --debug, errors only with --quiet, else warnings and above."""
    return DEBUG if debug else ERROR if quiet else WARNING


def defer_setup(level: int, setup: Callable[[], None]) -> None:
    """Run `setup` when the first record at `level` or above is logged by a Vigil logger; drop lower records."""
    global _threshold, _pending
    with _setup_lock:
        _threshold, _pending = level, setup


def _run_pending_setup() -> None:
    global _pending
    with _setup_lock:
        setup, _pending = _pending, None
        if setup is not None:
            setup()


class Logger:
    """`logging.getLogger(name)` for the calls Vigil makes, resolved on first use."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: logging.Logger | None = None

    def real(self) -> logging.Logger:
        """The standard library's logger (importing logging, and running a deferred set-up, if not done yet)."""
        if _pending is not None:
            _run_pending_setup()
        lg = self._logger
        if lg is None:
            import logging

            lg = self._logger = logging.getLogger(self.name)
        return lg

    def isEnabledFor(self, level: int) -> bool:
        return level >= _threshold and self.real().isEnabledFor(level)

    # stacklevel=2: the record names the caller of these methods, not this module, as a direct call would (the
    # level methods are partials of this one, which add no Python frame)
    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level >= _threshold:
            self.real().log(level, msg, *args, stacklevel=2, **kwargs)

    debug = partialmethod(log, DEBUG)
    info = partialmethod(log, INFO)
    warning = partialmethod(log, WARNING)
    error = partialmethod(log, ERROR)
    exception = partialmethod(log, ERROR, exc_info=True)


def get_logger(name: str) -> Logger:
    return Logger(name)
