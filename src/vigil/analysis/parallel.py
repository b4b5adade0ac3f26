"""The one process pool: map a function over items in forked workers, with the scan's state handed over once.

Analysis is CPU-bound Python (parsers, the secret engine's exact matching), so threads do not help; worker
processes do. The state (the analyzer set with its compiled secret engine, the image's layers) is not picklable —
a hyperscan database is not — so workers are forked and receive it through the pool's initializer: the parent's
module globals are never touched, so two scans in two threads of one process cannot see each other's state.
Results travel back as msgpack bytes (cheaper than pickling msgspec records).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

_state: Any = None  # set in each worker by _init, never in the parent


def _init(state: object) -> None:
    global _state
    _state = state


def _call(fn: Callable[[Any, T], Any], item: T) -> bytes:
    return _encode(fn(_state, item))


def _encode(result: object) -> bytes:
    import msgspec

    return msgspec.msgpack.encode(result)


def workers_for(requested: int) -> int:
    return requested or (os.cpu_count() or 1)


def fork_map(fn: Callable[[S, T], R], items: Sequence[T], state: S, workers: int,
             decode: Callable[[bytes], R]) -> Iterator[R]:
    """fn(state, item) for each item, in order, shared between this process and up to `workers - 1` forked ones
    (all here when one worker or one item is enough). `fn` must be a module-level function. A worker's result comes
    back as msgpack, which `decode` reads (records decoded by msgspec compare, and are omitted as defaults in a
    report, exactly like records built here; unpickled ones do not).

    This process is one of the workers: the pool takes items from the front, this process from the back, until
    they meet (an item the pool has not started is taken back from it). Compared with a pool of `workers`
    processes and a parent that only waits and decodes, one process fewer runs at a time, and what this process
    analyses is neither encoded nor decoded (on the lockfile corpus, ~10 % of the CPU time of the parallel scan)."""
    n = min(workers, len(items))
    if n <= 1:
        for it in items:
            yield fn(state, it)
        return
    # imported here: the pool machinery (multiprocessing, concurrent.futures) is a tenth of a small scan's
    # start-up, and most scans of a small directory never fork
    import gc
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # The workers inherit every object of this process. Frozen, those are left out of the workers' collections:
    # a full collection in a worker would otherwise walk all of them, writing to each one's header and so copying
    # the page it sits on (CPU time that grew with the parent's heap, not with the worker's work). Unfrozen once the
    # pool is done, they are collectable here again.
    gc.freeze()
    pool = ProcessPoolExecutor(max_workers=n - 1, mp_context=mp.get_context("fork"), initializer=_init,
                               initargs=(state,))
    try:
        futures = [pool.submit(_call, fn, it) for it in items]
        done: dict[int, R] = {}
        front = 0  # the pool's results before this one are decoded
        for i in range(len(items) - 1, 0, -1):  # the first item is the pool's: it has started on it
            # what the pool has finished is decoded between this process's items, not after the last one, while
            # the pool still works: the pool then takes more of the items
            while front < i and futures[front].done():
                done[front] = decode(futures[front].result())
                front += 1
            if not futures[i].cancel():  # the pool has reached this item: everything before it is its
                break
            done[i] = fn(state, items[i])
        for i, f in enumerate(futures):
            yield done.pop(i) if i in done else decode(f.result())
    finally:
        # on an error here (or a consumer that stopped early) the pool's remaining items are dropped, not run
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
