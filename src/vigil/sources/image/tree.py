"""An image layer as a FileTree (vigil.sources.base): its tar entries, streamed once, never extracted.

Skip globs are applied here, as the directory walker applies them to a directory: image paths are relative to the
image root, so "/usr/lib/x" (the form Trivy documents) means "usr/lib/x".

Hardlinks: the layer reader resolves a hardlink from the bytes of its target only when the consumer already read
that target. A hardlink the consumer wants whose target it skipped (an OS package DB hardlinked to a file under
usr/share/doc, which no analyzer reads) is held back and resolved by a second pass over the layer (a layer blob can
be opened again), which reads exactly those targets; it is yielded once the first pass ends. A later entry for the
same path (or a non-directory above it) drops it, as extraction would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from types import TracebackType

import msgspec

from vigil.sources.base import EntryKind
from vigil.sources.fs import FileTooLarge
from vigil.sources.globs import any_match
from vigil.sources.image import LayerBlob
from vigil.sources.image.layers import Entry, HardlinkUnavailable, LayerLimits, iter_layer

# Bytes the second pass may hold for hardlink targets (per layer); targets past it stay unavailable (an Unknown).
_LINKED_BUDGET = 512 << 20
_MAX_LINK_HOPS = 8

# Deflate tops out near 1032:1, so the reader's default ratio (1000) only catches perfect bombs; real layers past
# 1 GiB stay far below 200:1 (the Debian fixture's layers are 2.3-3.2:1).
DEFAULT_LIMITS = LayerLimits(max_ratio=200)


def image_relative(patterns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p.strip().lstrip("/") or p for p in patterns)


class LayerTree:
    random_access = False
    layered = True
    own_files: frozenset[str] = frozenset()

    def __init__(self, layer: LayerBlob, skip_dirs: tuple[str, ...] = (), skip_files: tuple[str, ...] = (),
                 limits: LayerLimits = DEFAULT_LIMITS) -> None:
        self.layer = layer
        self.skip_dirs = image_relative(skip_dirs)
        self.skip_files = image_relative(skip_files)
        self.limits = limits
        self.warnings: list[str] = []  # refused entries (traversal, over-long names), one line each
        self.unreadable: list[tuple[str, str]] = []  # a stream has no directory to list
        self.files = 0  # regular files in the layer, skipped ones included

    def __enter__(self) -> LayerTree:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def _skipped(self, rel: str) -> bool:
        if self.skip_files and any_match(self.skip_files, rel):
            return True
        if self.skip_dirs:
            parts = rel.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                if any_match(self.skip_dirs, "/".join(parts[:i])):
                    return True
        return False

    def entries(self, wanted: Callable[[str], bool], executables: bool) -> Iterator[Entry | Linked]:
        held: dict[str, tuple[int, str, int]] = {}  # wanted hardlinks not resolvable now: path -> (ordinal, target, mode)
        links: dict[str, tuple[int, str]] = {}  # every hardlink: path -> (ordinal, target), for chains
        with self.layer.open() as stream:
            for n, e in enumerate(iter_layer(stream, digest=self.layer.digest, limits=self.limits,
                                             on_warning=self.warnings.append, diff_id=self.layer.diff_id)):
                if held:
                    _drop_replaced(held, e.path, e.kind)
                if e.kind in ("file", "hardlink"):
                    self.files += 1
                    if (self.skip_files or self.skip_dirs) and self._skipped(e.path):
                        continue
                if e.kind == "hardlink":
                    links[e.path] = (n, e.linkname)
                    if not e.linked_available and wanted(e.path):
                        held[e.path] = (n, e.linkname, e.mode)
                        continue
                yield e
        if held:
            yield from self._resolve(held, links)

    def _resolve(self, held: dict[str, tuple[int, str, int]], links: dict[str, tuple[int, str]]
                 ) -> Iterator[Linked]:
        """The second pass: the bytes each held hardlink had at its place in the layer (the last file entry at its
        final target before it), then one entry per held hardlink, in layer order."""
        final: dict[str, tuple[int, str]] = {}  # held path -> (ordinal, final target)
        for path, (n, target, _) in held.items():
            for _ in range(_MAX_LINK_HOPS):
                nxt = links.get(target)
                if nxt is None or nxt[0] >= n:
                    break
                target = nxt[1]
            final[path] = (n, target)
        targets = {t for _, t in final.values()}
        last = max(n for n, _ in final.values())
        got: dict[str, list[tuple[int, bytes | None]]] = {}  # target -> (ordinal, bytes or None when too large)
        budget = _LINKED_BUDGET
        with self.layer.open() as stream:
            # the diff_id is checked again: the bytes handed on must be those of the layer the cache key names
            for n, e in enumerate(iter_layer(stream, digest=self.layer.digest, limits=self.limits,
                                             on_warning=lambda _: None, diff_id=self.layer.diff_id)):
                if n < last and e.kind == "file" and e.path in targets:
                    data = None
                    if e.size <= min(budget, self.limits.max_file_size):
                        data = e.read()
                        budget -= len(data)
                    got.setdefault(e.path, []).append((n, data))
        for path, (n, target) in sorted(final.items(), key=lambda kv: kv[1][0]):
            before = [d for m, d in got.get(target, []) if m < n]
            data = before[-1] if before else None
            why = (f"layer {self.layer.digest}: {path}: hardlink target not available ({target} is missing "
                   "or too large)") if data is None else ""
            yield Linked(path=path, mode=held[path][2], linkname=target, data=data, reason=why)

    def siblings(self, path: str, globs: tuple[str, ...], cap: int) -> dict[str, bytes]:
        raise NotImplementedError("a layer is streamed: the dispatcher keeps companions itself")

    def related(self, path: str, data: bytes, ask: Callable[[str, bytes], Sequence[str]], cap: int,
                limit: int) -> dict[str, bytes]:
        raise NotImplementedError("a layer is streamed: the dispatcher keeps related files itself")


def _drop_replaced(held: dict[str, tuple[int, str, int]], path: str, kind: str) -> None:
    """A later entry at a held hardlink's path, or a non-directory above it, replaces it on extraction."""
    held.pop(path, None)
    if kind != "dir" and held:
        pre = path + "/"
        for p in [p for p in held if p.startswith(pre)]:
            del held[p]


class Linked(msgspec.Struct, frozen=True):
    """A hardlink resolved by the second pass: its target's bytes at its own path (None: still unavailable)."""

    path: str
    mode: int
    linkname: str
    data: bytes | None
    reason: str = ""
    kind: EntryKind = "hardlink"

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0

    def read(self, cap: int | None = None) -> bytes:
        if self.data is None:
            raise HardlinkUnavailable(self.reason)
        if cap is not None and len(self.data) > cap:
            raise FileTooLarge(f"larger than the {cap}-byte limit (--max-file-size)")
        return self.data

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        data = self.read()
        for i in range(0, len(data), size):
            yield data[i : i + size]
