"""Pausing the cyclic garbage collector while one file is parsed.

A lockfile parse allocates its whole document (a JSON or YAML tree of up to hundreds of thousands of containers)
before dropping it. With the collector on, those short-lived containers outlive a few young collections, are
promoted to the oldest generation and count towards the next full collection, which then walks every object of
the process: on the lockfile corpus the collector took about a sixth of the scan's CPU, almost all of it in full
collections triggered by parse trees that were freed by reference counting moments later.

Parse trees have no reference cycles, so the collector has nothing to find in them. Inside `paused()` it does not
run; what the parse leaves behind is examined by the first young collection afterwards. Cyclic garbage made during
a parse (if any) is bounded by that one file's parse and is collected then.

Nested and concurrent pauses (threads of a server scanning in parallel) share one count: the collector resumes
when the last pause ends, and only if it was on when the first began (a process that turned it off keeps it off).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def paused() -> Iterator[None]:
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
