"""The process pool (vigil.analysis.parallel.fork_map) and how a large directory is cut into batches for it."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import msgspec
import pytest

from vigil.analysis.parallel import fork_map


def _where(state: str, item: int) -> tuple[int, int, str]:
    """Where the item ran. Each side waits (up to 10 s) for the other to have started an item: however fast or
    slow the worker is to start, both take part."""
    parent, flag = state.split(":", 1)
    here, there = (flag + ".parent", flag + ".worker") if os.getpid() == int(parent) else (flag + ".worker",
                                                                                            flag + ".parent")
    Path(here).touch()
    _wait_for(there)
    return item, os.getpid(), state


def _wait_for(flag: str) -> None:
    for _ in range(10_000):  # up to 10 s: the other side has started by then
        if os.path.exists(flag):
            return
        time.sleep(0.001)


def _decode(raw: bytes) -> tuple[int, int, str]:
    item, pid, state = msgspec.msgpack.decode(raw, type=tuple[int, int, str])
    return item, pid, state


def test_this_process_takes_items_from_the_back_and_results_keep_their_order(tmp_path: Path) -> None:
    state = f"{os.getpid()}:{tmp_path / 'flag'}"
    results = list(fork_map(_where, list(range(40)), state, 2, _decode))
    assert [r[0] for r in results] == list(range(40))
    assert {r[2] for r in results} == {state}  # each process has the state
    pids = [r[1] for r in results]
    here = [i for i, p in enumerate(pids) if p == os.getpid()]
    assert pids[0] != os.getpid()  # the workers take from the front
    assert len(set(pids)) == 2  # this process and one worker: a pool of workers - 1
    # this process's items are a run at the end of the list
    assert here and here == list(range(40 - len(here), 40))
    assert multiprocessing.active_children() == []


def _pid(state: None, item: int) -> int:
    return os.getpid()


def test_one_worker_or_one_item_runs_here_without_a_pool() -> None:
    assert set(fork_map(_pid, [1, 2, 3], None, 1, msgspec.msgpack.decode)) == {os.getpid()}
    assert set(fork_map(_pid, [1], None, 4, msgspec.msgpack.decode)) == {os.getpid()}


def _fail_here(state: int, item: int) -> int:
    if os.getpid() == state:
        raise ValueError(f"item {item}")
    return item


def test_an_error_here_stops_the_pool() -> None:
    with pytest.raises(ValueError, match="item 19"):
        list(fork_map(_fail_here, list(range(20)), os.getpid(), 2, msgspec.msgpack.decode))
    assert multiprocessing.active_children() == []  # shut down, its remaining items dropped


def test_batches_are_runs_of_similar_bytes_in_walk_order(tmp_path: Path) -> None:
    from vigil.pipeline.analyze import _FILE_COST, _batches
    from vigil.sources.fs import FsEntry

    sizes = [100] * 200 + [3_000_000] + [100] * 200 + [1_000_000] * 3 + [10] * 300
    entries = []
    for i, size in enumerate(sizes):
        p = tmp_path / f"f{i}"
        p.write_bytes(b"x" * size)
        entries.append(FsEntry(path=f"f{i}", abs_path=p, mode=0o644))
    batches = _batches(entries, 16)
    assert [e for run, _ in batches for e in run] == entries  # every entry once, in order
    assert all(len(run) <= 64 for run, _ in batches)
    assert [cost for _, cost in batches] == [sum(sizes[int(e.path[1:])] + _FILE_COST for e in run)
                                             for run, _ in batches]
    big = next(run for run, _ in batches if any(e.path == "f200" for e in run))
    assert big[-1].path == "f200"  # the 3 MB file closes its batch: the files after it go to the next one
    # a run of equal file counts would have put the four large files in one or two batches
    assert sum(1 for run, _ in batches if any(sizes[int(e.path[1:])] >= 1_000_000 for e in run)) == 4


def _go_wrong(state: str, item: int) -> int:
    """This process waits until the worker has taken an item; the worker then fails ("fail") or is killed."""
    how, parent, flag = state.split(":", 2)
    if os.getpid() == int(parent):
        _wait_for(flag)
        return item
    Path(flag).touch()
    if how == "fail":
        raise ValueError("bad item")
    os.kill(os.getpid(), 9)  # as the kernel's out-of-memory killer would
    return item


def test_a_worker_that_fails_fails_the_map_without_a_traceback(tmp_path: Path,
                                                                capfd: pytest.CaptureFixture[str]) -> None:
    state = f"fail:{os.getpid()}:{tmp_path / 'flag'}"
    with pytest.raises(RuntimeError, match="an analysis worker failed: ValueError: bad item"):
        list(fork_map(_go_wrong, list(range(20)), state, 2, msgspec.msgpack.decode))
    assert "Traceback" not in capfd.readouterr().err
    assert multiprocessing.active_children() == []


def test_a_worker_that_dies_fails_the_map(tmp_path: Path) -> None:
    state = f"die:{os.getpid()}:{tmp_path / 'flag'}"
    with pytest.raises(RuntimeError, match=r"exited unexpectedly \(exit code -9\)"):
        list(fork_map(_go_wrong, list(range(20)), state, 2, msgspec.msgpack.decode))
    assert multiprocessing.active_children() == []
