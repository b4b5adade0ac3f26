"""How `vigil server` notices a replaced DB file: one real swap is one swap, whatever order concurrent requests
reach the check in."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from vigil.cache import open_cache
from vigil.shells.server.state import ServerState


def test_a_request_that_saw_the_old_file_does_not_count_or_undo_a_swap(
        fixture_db: Path, feeds_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Request 1 stats the DB, then stalls; the file is replaced; request 2 sees the new file. Whichever order they
    finish in, the server has seen exactly one swap and serves the new DB (a stale stat taken before the lock used to
    count a second swap and make the next request count a third)."""
    from vigil.vulndb.build.builder import build

    db_dir = tmp_path / "db"
    db_dir.mkdir()
    db = db_dir / "vigil.db"
    shutil.copy2(fixture_db, db)
    newer = build(feeds_dir, tmp_path / "newer", now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
                  vigil_version="test").db_path
    state = ServerState(db_path=db, cache=open_cache("memory", tmp_path, 0), token="t")
    try:
        first = state.db_info()
        assert first is not None and first.built_at == "2026-01-01T00:00:00Z"

        real_stat = os.stat
        stalled = threading.Event()
        go = threading.Event()
        stall_thread: list[int] = []

        def stat(path: Any, *a: Any, **kw: Any) -> os.stat_result:
            st = real_stat(path, *a, **kw)
            if threading.get_ident() in stall_thread and os.fspath(path) == str(db):
                stall_thread.clear()
                stalled.set()
                go.wait(30)
            return st

        monkeypatch.setattr(os, "stat", stat)

        def run_slow() -> None:
            stall_thread[:] = [threading.get_ident()]
            state.db_info()

        slow = threading.Thread(target=run_slow)
        slow.start()
        assert stalled.wait(30)  # request 1 holds the old file's stat
        os.replace(shutil.copy2(newer, db_dir / "new.tmp"), db)
        fast = threading.Thread(target=state.db_info)
        fast.start()
        fast.join(1)  # with the stat under the lock, request 2 waits for request 1 here; before, it finished
        go.set()
        slow.join(30)
        fast.join(30)
        assert not slow.is_alive() and not fast.is_alive()
        after = state.db_info()
        assert after is not None and after.built_at == "2026-06-01T00:00:00Z"
        assert state.metrics.db_swaps._value.get() == 1
    finally:
        state.close()
