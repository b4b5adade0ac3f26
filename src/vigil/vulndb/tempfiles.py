"""Temporary files in a DB directory: names that say which process wrote them, and removal of the ones left behind.

A build or an update writes the new DB (50-120 MB) into a temp file next to the old one and renames it into place.
A process killed before the rename (kill -9, OOM killer, power loss) cannot remove its file, and nothing else would:
each run used a fresh random name. So every such name now carries the writer's PID, and the next build or update
removes the temp files of processes that are gone.

Rule (`stale`): a temp file is stale when the PID in its name is not a running process, or when it has not been
modified for STALE_AFTER (24 h: a PID can be reused; a build takes minutes, a download is written continuously).
Files without a PID (written by older Vigil versions) go by age alone. The current process's own files are never
touched. The PID check is only meaningful on one host and PID namespace: DB directories shared across hosts or
containers rely on the age rule, because a live writer there may look dead here.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from pathlib import Path

from vigil.log import get_logger

log = get_logger(__name__)

STALE_AFTER = dt.timedelta(hours=24)

# What the builder (BUILD) and the updater (DB, COMPRESSED, DELTA) pass to tempfile.mkstemp as `prefix`.
BUILD, DB, COMPRESSED, DELTA = ".vigil-db-", ".vigil.db.", ".vigil.db.zst.", ".vigil.delta."

_WITH_PID = (
    re.compile(r"\.vigil-db-(?P<pid>\d+)-[^/]*\.tmp"),
    re.compile(r"\.vigil\.(?:db|db\.zst|delta)\.(?P<pid>\d+)-[^/]*\.tmp"),
    # vulndb.delta.apply's copy of an updater's temp DB: "..vigil.db.<…>.tmp.<pid>.delta.tmp"
    re.compile(r"\.\.vigil\.db\.[^/]*\.(?P<pid>\d+)\.delta\.tmp"),
)
_WITHOUT_PID = (
    re.compile(r"\.vigil-db-[^/]*\.tmp"),
    re.compile(r"\.vigil\.(?:db|db\.zst|delta)\.[^/]*\.tmp"),
    re.compile(r"\.delta\.tmp"),  # the builder's delta before it is renamed
)


def prefix(kind: str) -> str:
    """The mkstemp prefix for a temp file of `kind` (BUILD, DB, COMPRESSED, DELTA) written by this process."""
    return f"{kind}{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OverflowError:  # not a PID this system can have
        return False
    return True


def _pid_of(name: str) -> int | None:
    """The writer's PID; -1 for a Vigil temp name without one; None for a name that is not a Vigil temp file."""
    for rx in _WITH_PID:
        m = rx.fullmatch(name)
        if m:
            return int(m["pid"])
    if any(rx.fullmatch(name) for rx in _WITHOUT_PID):
        return -1
    return None


def remove_stale(
    db_dir: Path, *, now: dt.datetime | None = None, alive: Callable[[int], bool] = pid_alive
) -> list[Path]:
    """Remove the stale temp files (see the module doc) directly in db_dir; returns what was removed. Trouble
    (a vanished file, a read-only directory) is logged and skipped: cleaning never fails a build or an update."""
    now = now or dt.datetime.now(dt.UTC)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(db_dir))
    except OSError:
        return removed
    own = os.getpid()
    for e in entries:
        pid = _pid_of(e.name)
        if pid is None or pid == own:
            continue
        try:
            if not e.is_file(follow_symlinks=False):
                continue
            modified = dt.datetime.fromtimestamp(e.stat(follow_symlinks=False).st_mtime, dt.UTC)
            if not (now - modified > STALE_AFTER or (pid > 0 and not alive(pid))):
                continue
            os.unlink(e.path)
        except FileNotFoundError:
            continue  # removed by another cleaner, or renamed into place by its writer
        except OSError as exc:
            log.debug("cannot remove the stale temp file %s: %s", e.path, exc)
            continue
        removed.append(Path(e.path))
    if removed:
        log.info("removed %d temp file(s) left in %s by interrupted builds or updates", len(removed), db_dir)
    return removed
