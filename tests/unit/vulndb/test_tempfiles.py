"""Temp DBs left in a DB directory by a build or an update that was killed (kill -9) before renaming its file into
place are removed by the next build or update: the writer's PID is in the name, and a file whose writer is gone (or
that nobody touched for a day) is stale."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli_helpers import run

from vigil.dbdist.update import UpdateError, ensure_db
from vigil.vulndb.tempfiles import BUILD, STALE_AFTER, prefix, remove_stale


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def leftovers(d: Path, pid: int) -> dict[str, Path]:
    """What a killed build and a killed update leave, plus files that must stay."""
    d.mkdir(parents=True, exist_ok=True)
    files = {
        "build_dead": d / f".vigil-db-{pid}-k3j2x9a1.tmp",
        "update_dead": d / f".vigil.db.zst.{pid}-q8w7e6r5.tmp",
        "build_live": d / f".vigil-db-{os.getppid()}-livebld1.tmp",  # the parent of this test: alive
        "legacy_fresh": d / ".vigil-db-abcd1234.tmp",  # an older Vigil's name, no PID: judged by age only
        "unrelated": d / ".my-own.tmp",
    }
    for p in files.values():
        p.write_bytes(b"SQLite format 3\0" + b"x" * 64)
    return files


def test_remove_stale_by_pid_and_age(tmp_path: Path) -> None:
    pid = 4_000_000  # above any pid_max: never a live process
    files = leftovers(tmp_path, pid)
    own = tmp_path / f"{prefix(BUILD)}mine.tmp"
    own.write_bytes(b"x")
    db = tmp_path / "vigil.db"
    db.write_bytes(b"x")
    mtime = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for p in tmp_path.iterdir():
        os.utime(p, (mtime.timestamp(), mtime.timestamp()))
    alive = {os.getppid()}.__contains__

    assert own.name.startswith(f".vigil-db-{os.getpid()}-")  # what the builder's mkstemp prefix gives
    removed = remove_stale(tmp_path, now=mtime + dt.timedelta(hours=1), alive=alive)
    assert sorted(removed) == sorted([files["build_dead"], files["update_dead"]])
    assert files["build_live"].exists() and files["legacy_fresh"].exists() and own.exists() and db.exists()

    # a day later even a live PID's file (a reused PID) and a PID-less one are stale; own files, the DB and
    # files that are not Vigil's temp files never are
    removed = remove_stale(tmp_path, now=mtime + STALE_AFTER + dt.timedelta(seconds=1), alive=alive)
    assert sorted(removed) == sorted([files["build_live"], files["legacy_fresh"]])
    assert own.exists() and db.exists() and files["unrelated"].exists()


def test_db_build_removes_temp_files_of_dead_builds(feeds_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "db"
    files = leftovers(out, dead_pid())
    p = run("db", "build", "--feeds", str(feeds_dir), "--output-dir", str(out), "--no-feed-cache", "--quiet",
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert not files["build_dead"].exists() and not files["update_dead"].exists()
    assert files["build_live"].exists() and files["legacy_fresh"].exists() and files["unrelated"].exists()
    # and the build's own temp file is gone too: only the DB, its metadata, the lock and the kept files remain
    names = {q.name for q in out.iterdir()}
    assert names == {"vigil.db", "metadata.json", ".lock"} | {files[k].name for k in
                                                               ("build_live", "legacy_fresh", "unrelated")}


def test_db_update_removes_temp_files_of_dead_updates(tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    files = leftovers(db_dir, dead_pid())
    with pytest.raises(UpdateError, match="cannot download"):  # nothing listens there; cleaning came first
        ensure_db(db_dir / "vigil.db", ["https://127.0.0.1:9/db/"], skip_update=False, offline=False, force=True)
    assert not files["build_dead"].exists() and not files["update_dead"].exists()
    assert files["build_live"].exists() and files["unrelated"].exists()
