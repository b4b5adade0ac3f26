"""The one process pool: map a function over items in forked workers, with the scan's state handed over once.

Analysis is CPU-bound Python (parsers, the secret engine's exact matching), so threads do not help; worker
processes do. The state (the analyzer set with its compiled secret engine, the image's layers) is not picklable —
a hyperscan database is not — so workers are forked and inherit it as their target's argument: the parent's
module globals are never touched, so two scans in two threads of one process cannot see each other's state.
Results travel back as msgpack bytes (cheaper than pickling msgspec records).

This process is one of the workers. The forked ones take items from the front of the list, this one from the
back, each claiming the next item under one lock, until they meet. Compared with a pool of `workers` processes and
a parent that only waits for results, one process fewer competes for the CPUs, and what this process analyses is
neither encoded nor decoded. A pool with a queue of pending calls (concurrent.futures) would not do: its workers
claim items ahead of the one they run, which on the lockfile corpus left this process idle for a third of a
second at the end while a worker finished items it had claimed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

_FAILED = -1  # a worker's message: it failed, the payload says how
_FINISHED = -2  # a worker's message: no item is left for it


def workers_for(requested: int) -> int:
    return requested or (os.cpu_count() or 1)


def fork_map(fn: Callable[[S, T], R], items: Sequence[T], state: S, workers: int,
             decode: Callable[[bytes], R]) -> Iterator[R]:
    """fn(state, item) for each item, in order, shared between this process and up to `workers - 1` forked ones
    (all here when one worker or one item is enough). `fn` must be a module-level function. A worker's result comes
    back as msgpack, which `decode` reads (records decoded by msgspec compare, and are omitted as defaults in a
    report, exactly like records built here; unpickled ones do not). A worker that fails or dies fails the map."""
    n = min(workers, len(items))
    if n <= 1:
        for it in items:
            yield fn(state, it)
        return
    # imported here: the multiprocessing machinery is a tenth of a small scan's start-up, and most scans of a
    # small directory never fork
    import gc
    import mmap
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("fork")
    # [next item from the front, end of the items left at the back]: the workers take bounds[0], this process
    # bounds[1] - 1, under `lock`. Anonymous shared memory, which forked processes share (no file behind it).
    bounds = memoryview(mmap.mmap(-1, 16)).cast("q")
    bounds[0], bounds[1] = 0, len(items)
    lock = ctx.Lock()
    results: Any = ctx.Queue()  # a worker's puts go through its own feeder thread: it never waits for this one
    procs = [ctx.Process(target=_work, args=(fn, items, state, bounds, lock, results), daemon=True)
             for _ in range(n - 1)]
    done: dict[int, R] = {}
    finished = 0

    def receive(block: bool) -> bool:
        nonlocal finished
        try:
            i, raw = results.get(block, 1.0)
        except queue.Empty:
            if block:  # a worker that died without a word (killed: out of memory) would be waited for forever
                for p in procs:
                    if p.exitcode not in (None, 0):
                        raise RuntimeError(f"an analysis worker exited unexpectedly (exit code {p.exitcode})") from None
            return False
        if i == _FAILED:
            raise RuntimeError(f"an analysis worker failed: {raw.decode(errors='replace')}")
        if i == _FINISHED:
            finished += 1
        else:
            done[i] = decode(raw)
        return True

    # The workers inherit every object of this process. Frozen, those are left out of the workers' collections:
    # a full collection in a worker would otherwise walk all of them, writing to each one's header and so copying
    # the page it sits on (CPU time that grew with the parent's heap, not with the worker's work). Unfrozen once the
    # workers are done, they are collectable here again.
    gc.freeze()
    try:
        for p in procs:
            p.start()
        while True:
            # what the workers have sent is decoded between this process's items, while they still work, not
            # after its last one
            while receive(block=False):
                pass
            with lock:
                if bounds[0] >= bounds[1]:
                    break
                bounds[1] -= 1
                i = bounds[1]
            done[i] = fn(state, items[i])
        while finished < len(procs):
            receive(block=True)
        for i in range(len(items)):
            yield done.pop(i)
    finally:
        # on an error (or a consumer that stopped early) the workers are stopped, their remaining items dropped
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()
        results.close()
        gc.unfreeze()


def _work(fn: Callable[[S, T], Any], items: Sequence[T], state: S, bounds: memoryview, lock: Any,
          results: Any) -> None:
    """A forked worker: the next item from the front, until none is left."""
    import msgspec

    try:
        while True:
            with lock:
                i = bounds[0]
                if i >= bounds[1]:
                    break
                bounds[0] = i + 1
            results.put((i, msgspec.msgpack.encode(fn(state, items[i]))))
    except BaseException as e:  # said to the parent, which fails the map; no traceback from here
        results.put((_FAILED, f"{type(e).__name__}: {e}".encode()))
        raise SystemExit(1) from None
    results.put((_FINISHED, b""))
