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


def _call(fn: Callable[[Any, T], R], item: T) -> R:
    return fn(_state, item)


def workers_for(requested: int) -> int:
    return requested or (os.cpu_count() or 1)


def fork_map(fn: Callable[[S, T], R], items: Sequence[T], state: S, workers: int) -> Iterator[R]:
    """fn(state, item) for each item, in order, in up to `workers` forked processes (in this process when one
    worker or one item is enough). `fn` must be a module-level function; its results must be picklable."""
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
    try:
        with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("fork"), initializer=_init,
                                 initargs=(state,)) as pool:
            yield from pool.map(_call, [fn] * len(items), items)
    finally:
        gc.unfreeze()
