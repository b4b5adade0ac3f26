"""Work budgets for tests: bound how much a piece of code does, not how long it takes.

Wall-clock limits fail on a loaded machine and pass a regression on a fast one. A line budget counts the Python
lines executed in Vigil's own source files (the `vigil` package), which is the same number on every machine and
under any load, and it stops a runaway loop deterministically: past the limit, the next line raises
`WorkBudgetExceeded`. That is a BaseException, so no `except Exception` guard (the analyzer guard turns every
exception into an Unknown) can swallow it. Work done in C (hashing, decompression, SQLite) is not counted;
bound that by its own measure (bytes, VM steps, calls). Budgets do not nest (one tracer at a time).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import vigil

SRC = str(Path(vigil.__file__).parent) + "/"  # as code objects spell their file names


class WorkBudgetExceeded(BaseException):
    pass


@dataclass
class WorkCount:
    limit: int
    used: int = 0


@contextmanager
def line_budget(limit: int) -> Iterator[WorkCount]:
    """Counts the lines of the `vigil` package executed inside the block (in this thread) and raises WorkBudgetExceeded
    on the first line past `limit`. The count is available afterwards as `.used`."""
    with _budget(limit, "lines") as count:
        yield count


@contextmanager
def call_budget(limit: int) -> Iterator[WorkCount]:
    """Like line_budget, but counts calls of `vigil` functions (and generator resumptions): a coarser unit
    that costs about half as much to count, for blocks that run millions of lines."""
    with _budget(limit, "calls") as count:
        yield count


@contextmanager
def any_call_budget(limit: int) -> Iterator[WorkCount]:
    """Like call_budget, but counts calls of Python functions of any package: for work Vigil hands to a library
    (an SBOM library's serialiser), whose cost a budget of Vigil's own calls cannot see."""
    with _budget(limit, "calls", anywhere=True) as count:
        yield count


@contextmanager
def _budget(limit: int, unit: str, *, anywhere: bool = False) -> Iterator[WorkCount]:
    count = WorkCount(limit)
    own: dict[str, bool] = {}

    def tick() -> None:
        count.used += 1
        if count.used > limit:
            raise WorkBudgetExceeded(f"more than {limit} {unit} of {'Python' if anywhere else 'Vigil'} code executed")

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            tick()
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        name = frame.f_code.co_filename
        mine = own.get(name)
        if mine is None:
            mine = own[name] = anywhere or name.startswith(SRC)
        if not mine:
            return None
        if unit == "calls":
            tick()
            return None
        return local

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield count
    finally:
        sys.settrace(previous)


def count_calls(monkeypatch: Any, owner: object, name: str) -> WorkCount:
    """Wraps `owner.<name>` for the rest of the test: each call is counted in the returned WorkCount's `used` (its
    limit is not enforced) and passed on unchanged. For a method, patch the class: the wrapper passes `self` on."""
    count = WorkCount(limit=0)
    real = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        count.used += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return count
