"""Compiled matchers kept between runs, apart from the analysis cache (vigil.cache) so that a scan that only needs
this does not load that one's SQLite and msgpack machinery."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vigil.log import get_logger

log = get_logger(__name__)


class CompiledFiles:
    """Compiled matchers kept between runs (the secret engine's hyperscan database): one file per key in
    `directory`, each `MAGIC sha256-of-payload\\n payload`. Written to a temporary file and renamed, so a reader never
    sees half a file; one that is damaged anyway (truncated, edited, another format) fails its checksum and reads as
    missing, and the caller compiles again and rewrites it. Nothing here fails a scan: an unwritable directory only
    means compiling every time. At most MAX_FILES are kept (each secret config makes its own); the oldest go first."""

    MAGIC = b"vigil-compiled/1 "
    MAX_FILES = 16
    SUFFIX = ".bin"
    _KEY = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def _path(self, key: str) -> Path:
        if not key or not set(key) <= self._KEY:
            raise ValueError(f"not a compiled-cache key: {key!r}")
        return self.dir / (key + self.SUFFIX)

    def get(self, key: str) -> bytes | None:
        try:
            raw = self._path(key).read_bytes()
        except OSError:
            return None
        head, sep, payload = raw.partition(b"\n")
        if not sep or head != self.MAGIC + hashlib.sha256(payload).hexdigest().encode():
            log.debug("ignoring damaged compiled cache file %s", self._path(key))
            return None
        return payload

    def may_hold(self, prefix: str) -> bool:
        """Whether a file of a key starting with `prefix` is there (one directory listing; the file may still turn
        out damaged when read)."""
        import os

        try:
            with os.scandir(self.dir) as it:
                return any(e.name.startswith(prefix) and e.name.endswith(self.SUFFIX) for e in it)
        except OSError:  # no directory yet (a first run), or one we cannot list: the caller does without
            return False

    def put(self, key: str, data: bytes) -> None:
        import os
        import tempfile

        path = self._path(key)
        tmp = ""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.dir)
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.MAGIC + hashlib.sha256(data).hexdigest().encode() + b"\n")
                fh.write(data)
            os.replace(tmp, path)
            tmp = ""
            self._prune(keep=path)
        except OSError as e:
            log.debug("cannot keep the compiled matcher in %s: %s", self.dir, e)
        finally:
            if tmp:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _is_own(self, p: Path) -> bool:
        """A file this class wrote: `<key>.bin` that starts with MAGIC, or a writer's `.<key>.<random>.tmp` (empty
        or starting with MAGIC: a writer killed early left nothing more). The directory is `<cache-dir>/compiled`,
        and `--cache-dir .` in a project must not delete or prune the project's own `compiled/*.bin`."""
        name = p.name
        if name.endswith(self.SUFFIX):
            key, tmp = name[: -len(self.SUFFIX)], False
        elif name.startswith(".") and name.endswith(".tmp"):
            key, tmp = name[1:].split(".", 1)[0], True
        else:
            return False
        if not key or not set(key) <= self._KEY or p.is_symlink():
            return False
        try:
            with open(p, "rb") as fh:
                head = fh.read(len(self.MAGIC))
        except OSError:  # a directory, unreadable: not ours to delete
            return False
        return head == self.MAGIC or (tmp and head == b"")

    def _prune(self, keep: Path) -> None:
        files = sorted((p for p in self.dir.glob("*" + self.SUFFIX) if p != keep and self._is_own(p)),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[self.MAX_FILES - 1:]:
            old.unlink(missing_ok=True)

    def clear(self) -> int:
        """Remove every compiled matcher (and a killed writer's temporary files), nothing else; returns how many."""
        n = 0
        if not self.dir.is_dir():
            return 0
        for p in self.dir.iterdir():
            if self._is_own(p):
                p.unlink(missing_ok=True)
                n += 1
        return n
