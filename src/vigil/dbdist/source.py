"""What update.py needs from a repository (OCI artifact or HTTP directory), and the errors it raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from vigil.dbdist.artifact import ArtifactError, ArtifactMetadata

CHUNK = 1 << 20


class RepoError(ArtifactError):
    """One repository failed (HTTP error, 429/5xx after retries, timeout, connection refused, digest mismatch).
    The caller moves on to the next repository."""


class Repository(Protocol):
    url: str

    def fetch_metadata(self, etag: str) -> tuple[ArtifactMetadata | None, str]:
        """-> (metadata, validator). (None, validator) when `etag` still matches (nothing new)."""
        ...

    def download(self, name: str, dest: Path, sha256: str, size: int, progress: Progress) -> None:
        """Stream file `name` of the artifact into `dest`, refusing more than `size` bytes; verifies sha256."""
        ...

    def close(self) -> None: ...


class Progress:
    """A rich progress bar on stderr, imported only when asked for (keeps plain scans lean)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._task: Any = None

    def start(self, what: str, total: int) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                             console=Console(stderr=True), transient=True)
        self._bar.start()
        self._task = self._bar.add_task(what, total=total or None)

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
