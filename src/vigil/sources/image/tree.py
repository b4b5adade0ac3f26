"""An image layer as a FileTree (vigil.sources.base): its tar entries, streamed once, never extracted.

Skip globs are applied here, as the directory walker applies them to a directory: image paths are relative to the
image root, so "/usr/lib/x" (the form Trivy documents) means "usr/lib/x".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from types import TracebackType

from vigil.sources.globs import any_match
from vigil.sources.image import LayerBlob
from vigil.sources.image.layers import Entry, LayerLimits, iter_layer

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

    def entries(self, wanted: Callable[[str], bool], executables: bool) -> Iterator[Entry]:
        with self.layer.open() as stream:
            for e in iter_layer(stream, digest=self.layer.digest, limits=self.limits,
                                on_warning=self.warnings.append, diff_id=self.layer.diff_id):
                if e.kind in ("file", "hardlink"):
                    self.files += 1
                    if (self.skip_files or self.skip_dirs) and self._skipped(e.path):
                        continue
                yield e

    def siblings(self, path: str, globs: tuple[str, ...], cap: int) -> dict[str, bytes]:
        raise NotImplementedError("a layer is streamed: the dispatcher keeps companions itself")

    def related(self, path: str, data: bytes, ask: Callable[[str, bytes], Sequence[str]], cap: int,
                limit: int) -> dict[str, bytes]:
        raise NotImplementedError("a layer is streamed: the dispatcher keeps related files itself")
