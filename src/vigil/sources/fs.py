"""Filesystem source: walks a directory (never following symlinks), applies skip globs, reads size-capped bytes."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec

from vigil.errors import UserError, VigilError
from vigil.log import get_logger
from vigil.sources.globs import any_match

if TYPE_CHECKING:
    from vigil.findings.analysis import ArtifactInfo
    from vigil.sources.base import BlobSpec

log = get_logger(__name__)

# Always skipped (Trivy skips .git; we also skip installed/vendored copies whose lockfiles describe other projects).
DEFAULT_SKIP_DIRS = ("node_modules", ".git", "vendor", ".hg", ".svn", "__pycache__", ".tox", ".venv")


class SourceError(UserError):
    """The target cannot be read at all (missing path, permission denied on the root)."""


class FileRef(msgspec.Struct, frozen=True):
    rel_path: str  # posix, relative to the scan root (the file name itself when the target is a file)
    abs_path: Path
    executable: bool = False  # set only when walk(executables=True) yields it for its exec bits


class FileTooLarge(VigilError):
    """One file is over the size limit: that file is skipped (and reported as an unknown), the scan goes on."""


def walk(
    target: Path,
    wanted: Callable[[str], bool],
    skip_dirs: tuple[str, ...] = (),
    skip_files: tuple[str, ...] = (),
    default_skips: tuple[str, ...] = DEFAULT_SKIP_DIRS,
    executables: bool = False,
    on_unreadable: Callable[[str, str], None] | None = None,
) -> Iterator[FileRef]:
    """Yield regular files under `target` for which wanted(rel_path) is true, in sorted order. With
    `executables`, also every regular file with an execute bit (FileRef.executable; Go/Rust binaries are found
    that way, like Trivy). `default_skips` replaces DEFAULT_SKIP_DIRS (a rootfs scan must enter node_modules).
    A directory below the target that cannot be listed is logged once and passed to on_unreadable(rel_path,
    reason), so that the gap in coverage can be reported; the target itself unreadable is a SourceError."""
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
            reason = f"cannot read directory: {e.strerror or e}"
            if not rel:
                raise SourceError(f"{target}: {reason}") from e
            log.warning("%s: %s", d, reason)
            if on_unreadable is not None:
                on_unreadable(rel.rstrip("/"), reason)
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
    """The file's bytes, or FileTooLarge when it holds more than max_size. The size of the open file is checked
    first, so a too-large (or sparse) file is refused without reading it; reading max_size + 1 bytes still
    catches a file that grows after that check."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size > max_size:
            raise FileTooLarge(f"larger than the {max_size}-byte limit (--max-file-size)")
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
    """An analyzer's related files read from disk inside `root` (vigil.sources.related.follow_related). `cache`
    (rel -> bytes or None) spares re-reading the same files for every analysed file of one scan."""
    from vigil.sources.related import follow_related

    memo: dict[str, bytes | None] = {} if cache is None else cache

    def lookup(rel: str) -> bytes | None:
        if rel not in memo:
            memo[rel] = read_within(root, rel, max_size)
        return memo[rel]

    return follow_related(rel_path, data, ask, lookup, max_files,
                          expand=lambda pattern: glob_within(root, pattern, max_files))


# Directory entries one pattern may look at: a workspace glob over a huge directory stops here, not at the end.
MAX_GLOB_ENTRIES = 10_000


def glob_within(root: Path, pattern: str, max_matches: int) -> list[str]:
    """The regular files under `root` that `pattern` (relative, `*`/`?`/`[…]` within one component, no `**`)
    matches, as sorted relative paths. Symlinks are never entered or returned, so a match lives under the root;
    at most `max_matches` paths and MAX_GLOB_ENTRIES directory entries."""
    from fnmatch import fnmatchcase

    from vigil.sources.related import valid_pattern

    parts = valid_pattern(pattern)
    if parts is None:
        return []
    level = [("", root)]
    budget = MAX_GLOB_ENTRIES
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt: list[tuple[str, Path]] = []
        for rel, d in level:
            if not any(c in part for c in "*?["):
                p = d / part
                ok = not p.is_symlink() and (p.is_file() if last else p.is_dir())
                names = [part] if ok else []
            else:
                try:
                    with os.scandir(d) as it:
                        names = []
                        for e in it:
                            budget -= 1
                            if budget < 0:
                                break
                            if fnmatchcase(e.name, part) and not e.is_symlink() and (
                                    e.is_file(follow_symlinks=False) if last else e.is_dir(follow_symlinks=False)):
                                names.append(e.name)
                except OSError:
                    names = []
            nxt.extend((f"{rel}/{n}" if rel else n, d / n) for n in sorted(names))
        level = nxt
        if budget < 0:
            log.debug("pattern %s: stopped after %d directory entries", pattern, MAX_GLOB_ENTRIES)
            break
    return [rel for rel, _ in level][:max_matches]


def iter_chunks(path: Path, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """The file's bytes in chunks: the secret engine streams large files instead of loading them whole."""
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk_size)
            if not b:
                return
            yield b


# Directories no scan enters when installed packages are analysed (rootfs): node_modules and vendor hold installed
# packages there, so only VCS metadata and caches are skipped.
INSTALLED_SKIP_DIRS = (".git", ".hg", ".svn", "__pycache__")


class FsEntry(msgspec.Struct, frozen=True):
    """A regular file of a directory tree, read on demand (the TreeEntry of vigil.sources.base)."""

    path: str
    abs_path: Path
    mode: int
    size: int = 0
    kind: Literal["file"] = "file"

    def read(self, cap: int | None = None) -> bytes:
        return read_capped(self.abs_path, cap if cap is not None else 1 << 62)

    def chunks(self) -> Iterator[bytes]:
        return iter_chunks(self.abs_path)


class FsTree:
    """A directory (or a single file) as a FileTree with random access: companions and related files are read
    from disk when an analyzer asks, never through a symlink and never outside the root."""

    random_access = True
    layered = False

    def __init__(self, target: Path, skip_dirs: tuple[str, ...] = (), skip_files: tuple[str, ...] = (),
                 default_skips: tuple[str, ...] = DEFAULT_SKIP_DIRS, own_files: frozenset[str] = frozenset()):
        self.target = target
        self.root = target if target.is_dir() else target.parent
        self.skip_dirs = skip_dirs
        self.skip_files = skip_files
        self.default_skips = default_skips
        # Vigil's own config files inside the tree (the secret config): not part of what is scanned for secrets
        self.own_files = own_files
        self.warnings: list[str] = []
        self.unreadable: list[tuple[str, str]] = []
        self.files = 0
        self._related_cache: dict[str, bytes | None] = {}

    def entries(self, wanted: Callable[[str], bool], executables: bool) -> Iterator[FsEntry]:
        self.unreadable = []  # of this walk
        for ref in walk(self.target, wanted, self.skip_dirs, self.skip_files, default_skips=self.default_skips,
                        executables=executables, on_unreadable=lambda d, why: self.unreadable.append((d, why))):
            yield FsEntry(path=ref.rel_path, abs_path=ref.abs_path, mode=0o755 if ref.executable else 0o644)

    def siblings(self, path: str, globs: tuple[str, ...], cap: int) -> dict[str, bytes]:
        target = self.target if self.target.is_file() else self.root / path
        return read_siblings(target, globs, cap)

    def related(self, path: str, data: bytes, ask: Callable[[str, bytes], Sequence[str]], cap: int,
                limit: int) -> dict[str, bytes]:
        return read_related(self.root, path, data, ask, cap, limit, self._related_cache)


class FsSource:
    """A directory or a single file (`vigil fs`, `vigil rootfs`, and a checked-out repository): one blob, named by
    its analysis."""

    def __init__(self, target: Path, name: str, *, skip_dirs: tuple[str, ...] = (),
                 skip_files: tuple[str, ...] = (), installed: bool = False, own_files: tuple[Path, ...] = (),
                 artifact_type: Literal["filesystem", "repository"] = "filesystem") -> None:
        if not target.exists():
            raise SourceError(f"{target}: no such file or directory")
        if not (target.is_file() or target.is_dir()):
            raise SourceError(f"{target}: not a regular file or directory")
        self.target = target
        self.name = name
        self.artifact_type = artifact_type
        root = target.resolve() if target.is_dir() else target.resolve().parent
        own: set[str] = set()
        for p in own_files:
            try:
                own.add(p.resolve().relative_to(root).as_posix())
            except (OSError, ValueError):
                continue
        self.tree = FsTree(target, skip_dirs, skip_files,
                           default_skips=INSTALLED_SKIP_DIRS if installed else DEFAULT_SKIP_DIRS,
                           own_files=frozenset(own))

    def describe(self) -> ArtifactInfo:
        from vigil.findings.analysis import ArtifactInfo

        return ArtifactInfo(name=self.name, type=self.artifact_type)

    def blobs(self) -> list[BlobSpec]:
        from vigil.sources.base import BlobSpec, held

        return [BlobSpec(open_tree=held(self.tree))]

    def prefetch(self, indices: Sequence[int]) -> None:
        return None

    def close(self) -> None:
        return None
