"""Filesystem source: walks a directory (never following symlinks), applies skip globs, reads size-capped bytes."""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from vigil.sources.globs import any_match

log = logging.getLogger(__name__)

# Always skipped (Trivy skips .git; we also skip installed/vendored copies whose lockfiles describe other projects).
DEFAULT_SKIP_DIRS = ("node_modules", ".git", "vendor", ".hg", ".svn", "__pycache__", ".tox", ".venv")


class SourceError(Exception):
    """The target cannot be read at all (missing path, permission denied on the root)."""


@dataclass(frozen=True)
class FileRef:
    rel_path: str  # posix, relative to the scan root (the file name itself when the target is a file)
    abs_path: Path
    executable: bool = False  # set only when walk(executables=True) yields it for its exec bits


class FileTooLarge(Exception):
    pass


def walk(
    target: Path,
    wanted: Callable[[str], bool],
    skip_dirs: tuple[str, ...] = (),
    skip_files: tuple[str, ...] = (),
    default_skips: tuple[str, ...] = DEFAULT_SKIP_DIRS,
    executables: bool = False,
) -> Iterator[FileRef]:
    """Yield regular files under `target` for which wanted(rel_path) is true, in sorted order. With
    `executables`, also every regular file with an execute bit (FileRef.executable; Go/Rust binaries are found
    that way, like Trivy). `default_skips` replaces DEFAULT_SKIP_DIRS (a rootfs scan must enter node_modules)."""
    if not target.exists():
        raise SourceError(f"{target}: no such file or directory")
    if target.is_file():
        name = target.name
        exe = executables and _is_exec(target)
        if wanted(name) or exe:
            yield FileRef(rel_path=name, abs_path=target, executable=exe)
        return
    if not target.is_dir():
        raise SourceError(f"{target}: not a regular file or directory")
    skip_d = tuple(default_skips) + tuple(skip_dirs)
    stack: list[tuple[Path, str]] = [(target, "")]
    while stack:
        d, rel = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name, reverse=True)
        except OSError as e:
            log.warning("%s: cannot read directory: %s", d, e.strerror or e)
            continue
        files = []
        for ent in entries:
            r = f"{rel}{ent.name}"
            try:
                if ent.is_dir(follow_symlinks=False):
                    if not any_match(skip_d, r):
                        stack.append((Path(ent.path), r + "/"))
                elif ent.is_file(follow_symlinks=False) and not any_match(skip_files, r):
                    exe = executables and bool(ent.stat(follow_symlinks=False).st_mode & 0o111)
                    if exe or wanted(r):
                        files.append(FileRef(rel_path=r, abs_path=Path(ent.path), executable=exe))
            except OSError:
                continue
        yield from reversed(files)


def _is_exec(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & 0o111)
    except OSError:
        return False


def read_capped(path: Path, max_size: int) -> bytes:
    with open(path, "rb") as f:
        data = f.read(max_size + 1)
    if len(data) > max_size:
        raise FileTooLarge(f"larger than the {max_size}-byte limit (--max-file-size)")
    return data


def read_siblings(path: Path, patterns: tuple[str, ...], max_size: int) -> dict[str, bytes]:
    """Bytes of the files next to `path` whose base names match `patterns` (fnmatch), excluding `path`."""
    if not patterns:
        return {}
    out: dict[str, bytes] = {}
    try:
        names = os.listdir(path.parent)
    except OSError:
        return out
    for n in names:
        if n == path.name or not any(fnmatch.fnmatchcase(n, p) for p in patterns):
            continue
        p = path.parent / n
        if p.is_symlink() or not p.is_file():
            continue
        try:
            out[n] = read_capped(p, max_size)
        except (OSError, FileTooLarge) as e:
            log.debug("sibling %s not read: %s", p, e)
    return out


def read_within(root: Path, rel: str, max_size: int) -> bytes | None:
    """Bytes of the regular file at `rel` (posix, relative) inside `root`, or None when it is missing, outside the
    root (absolute, `..`, or reached through a symlink), unreadable or larger than max_size."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    p = root
    for part in parts:  # no component may be a symlink: the file must really live under the root
        p = p / part
        if p.is_symlink():
            return None
    if not p.is_file():
        return None
    try:
        return read_capped(p, max_size)
    except (OSError, FileTooLarge) as e:
        log.debug("related file %s not read: %s", p, e)
        return None


def read_related(
    root: Path,
    rel_path: str,
    data: bytes,
    ask: Callable[[str, bytes], Sequence[str]],
    max_size: int,
    max_files: int,
    cache: dict[str, bytes | None] | None = None,
) -> dict[str, bytes]:
    """Follow an analyzer's `related` requests from (rel_path, data): read each requested file inside `root`, ask
    again about each file read (breadth first), stop after max_files. `cache` (rel → bytes or None) spares
    re-reading the same files for every analysed file of one scan."""
    out: dict[str, bytes] = {}
    seen = {rel_path}
    queue = [(rel_path, data)]
    while queue and len(out) < max_files:
        cur, cur_data = queue.pop(0)
        try:
            wanted = list(ask(cur, cur_data))
        except Exception:  # a defect in the analyzer's request: analyse without the extra files
            log.debug("related() failed on %s", cur, exc_info=True)
            continue
        for r in wanted:
            if r in seen or len(out) >= max_files:
                continue
            seen.add(r)
            if cache is not None and r in cache:
                got = cache[r]
            else:
                got = read_within(root, r, max_size)
                if cache is not None:
                    cache[r] = got
            if got is not None:
                out[r] = got
                queue.append((r, got))
    return out


def iter_chunks(path: Path, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """The file's bytes in chunks (issue 6: the secret engine streams large files instead of loading them)."""
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk_size)
            if not b:
                return
            yield b
