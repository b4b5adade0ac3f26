"""What every source gives the pipeline: a description of the artifact and its blobs, each a file tree to analyse.

A *source* is the only code that touches the outside world for a scan (a directory, an image archive, a registry,
a git remote, an SBOM file). It describes the artifact (`ArtifactInfo`: name, type, image metadata) and lists its
blobs in order: one for a directory or an SBOM, one per layer for an image. A blob is either a `FileTree` the
analyzer dispatcher walks (`open_tree`) or, for inputs that are already an inventory (an SBOM), a ready analysis
(`analyzed`).

A `FileTree` yields `TreeEntry`s: a path relative to the tree's root, a kind, a mode and size, and bytes on demand
(size-capped). A directory walk and a tar layer yield the same entries, so one dispatcher serves both. A tree with
random access (a directory) can also hand an analyzer the files next to a file, or elsewhere in the tree, when it
asks; a streamed tree (a layer) cannot, so the dispatcher keeps the small files such analyzers want until the
stream ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Literal, Protocol

import msgspec

from vigil.findings.analysis import ArtifactInfo, BlobInfo

EntryKind = Literal["file", "hardlink", "dir", "symlink", "whiteout", "opaque", "other"]


class TreeEntry(Protocol):
    @property
    def path(self) -> str:
        """posix, relative to the tree's root, no leading "/"."""
        ...

    @property
    def kind(self) -> EntryKind: ...

    @property
    def mode(self) -> int: ...

    @property
    def size(self) -> int: ...

    def read(self, cap: int | None = None) -> bytes:
        """The whole content; raises vigil.sources.fs.FileTooLarge past `cap` bytes."""
        ...

    def chunks(self) -> Iterator[bytes]:
        """The content in chunks (for streaming scanners such as the secret engine)."""
        ...


class FileTree(Protocol):
    # True for a directory on disk: siblings() and related() work at any time. False for a streamed layer.
    random_access: bool
    # True for an image layer: whiteouts, opaque dirs and replaced paths matter to the merge of several trees.
    layered: bool
    own_files: frozenset[str]  # Vigil's own config files inside the tree: not scanned for secrets
    warnings: list[str]  # entries the tree refused (path traversal, over-long names), one line each
    # directories the last entries() walk could not list, with the reason: (path, reason); nothing in them was seen
    unreadable: list[tuple[str, str]]
    files: int  # regular files seen (a layer's count; 0 for a directory)

    def entries(self, wanted: Callable[[str], bool], executables: bool) -> Iterator[TreeEntry]:
        """The entries. A random-access tree may skip files for which wanted(path) is false (and that are not
        executable when `executables`); a streamed tree yields everything and lets the dispatcher decide."""
        ...

    def siblings(self, path: str, globs: tuple[str, ...], cap: int) -> dict[str, bytes]:
        """Random access only: files next to `path` whose base names match `globs`."""
        ...

    def related(self, path: str, data: bytes, ask: Callable[[str, bytes], Sequence[str]], cap: int,
                limit: int) -> dict[str, bytes]:
        """Random access only: the files `ask` names (transitively, at most `limit`), inside the tree."""
        ...


class BlobSpec(msgspec.Struct, frozen=True):
    """One blob of an artifact. `content_id` identifies its bytes before any analysis (an image layer's diff_id):
    the analysis cache is looked up with it, so a known layer is never read again. "" when only the analysis can
    name the blob (a directory: its key is the digest of its analysis)."""

    content_id: str = ""
    diff_id: str = ""  # what the BlobInfo records (an image layer's diff_id and compressed digest)
    digest: str = ""
    open_tree: Callable[[], AbstractContextManager[FileTree]] | None = None
    analyzed: Callable[[], BlobInfo] | None = None
    size: int = 0  # bytes to read (for scheduling the biggest first); 0 if unknown


def held(tree: FileTree) -> Callable[[], AbstractContextManager[FileTree]]:
    """open_tree for a tree that needs no opening (it reads lazily; its owner cleans up)."""

    def open_tree() -> AbstractContextManager[FileTree]:
        return contextlib.nullcontext(tree)

    return open_tree


class Source(Protocol):
    def describe(self) -> ArtifactInfo: ...

    def blobs(self) -> Sequence[BlobSpec]: ...

    def prefetch(self, indices: Sequence[int]) -> None:
        """Fetch what the given blobs need before analysis forks worker processes (a forked child must not share
        an HTTP client)."""
        ...

    def close(self) -> None: ...
