"""An SBOM file as a source (`vigil sbom`): its packages are already an inventory, so its one blob is the parsed
SBOM, not a file tree. A file that is not an SBOM is the user's mistake: one line, exit 2."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from vigil.findings.analysis import ArtifactInfo, BlobInfo
from vigil.sources.base import BlobSpec
from vigil.sources.fs import FileTooLarge, SourceError, read_capped


class SbomSource:
    """`parse(data, file name)` turns the SBOM's bytes into a BlobInfo (the SBOM analyzer, handed in by the
    pipeline: sources read, analyzers parse); it raises SourceError for a file that is not an SBOM."""

    def __init__(self, target: Path, name: str, max_file_size: int,
                 parse: Callable[[bytes, str], BlobInfo]) -> None:
        self.target = target
        self.name = name
        self.max_file_size = max_file_size
        self.parse = parse

    def describe(self) -> ArtifactInfo:
        return ArtifactInfo(name=self.name, type="sbom")

    def blobs(self) -> list[BlobSpec]:
        return [BlobSpec(analyzed=self._parse)]

    def _parse(self) -> BlobInfo:
        try:
            data = read_capped(self.target, self.max_file_size)
        except FileTooLarge as e:
            raise SourceError(str(e)) from e
        except OSError as e:
            raise SourceError(f"cannot read SBOM {self.target}: {e.strerror or e}") from e
        try:
            return self.parse(data, self.target.name)
        except SourceError as e:
            raise SourceError(f"{self.target}: {e}") from e

    def prefetch(self, indices: Sequence[int]) -> None:
        return None

    def close(self) -> None:
        return None
