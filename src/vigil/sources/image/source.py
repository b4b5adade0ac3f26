"""A container image as a source: its config and layers from an archive, an OCI layout, a daemon or a registry.

Each layer is one blob, known by its diff_id before it is read, so the analysis cache (or a server) is asked first
and only unknown layers are downloaded and read. The image's temp files (downloaded blobs, a daemon's save stream)
live in a temp dir removed by close(); an --input archive makes one only when it is compressed (see open_archive),
so scanning a layout directory or a plain tar loads no tempfile module (which loads shutil, the compression modules
and random).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from vigil.findings.analysis import ArtifactInfo
from vigil.findings.records import LayerInfo
from vigil.sources.base import BlobSpec, held
from vigil.sources.image import Image, ImageError, RegistryOptions
from vigil.sources.image.tree import LayerTree

if TYPE_CHECKING:
    import tempfile


class ImageSourceOptions(msgspec.Struct, frozen=True):
    """Where the image comes from (the `vigil image` flags that choose and fetch it)."""

    reference: str = ""  # registry/daemon reference, or "" with `input`
    input: Path | None = None  # docker-archive / OCI layout (dir or tar)
    input_ref: str = ""  # tag inside the archive/layout ("./layout:tag")
    image_src: tuple[str, ...] = ("docker", "podman", "remote")
    registry: RegistryOptions = msgspec.field(default_factory=RegistryOptions)
    docker_host: str = ""  # --docker-host / --podman-host: the daemon's socket (default: found as before)
    podman_host: str = ""
    max_size: int = 0  # --max-image-size: refuse an image whose layers are larger in all (bytes; 0: no limit)

    @property
    def artifact(self) -> str:
        return str(self.input) if self.input is not None else self.reference


def open_image(io: ImageSourceOptions, tmp_dir: Path | None) -> Image:
    """The image from --input, else from the first source of --image-src that has it (daemon, then registry);
    refused when its layers together exceed --max-image-size. `tmp_dir` (for downloads, a daemon's save stream) may
    be None for an --input archive."""
    img = _open_image(io, tmp_dir)
    total = sum(la.size for la in img.layers)
    if io.max_size and total > io.max_size:
        raise ImageError(f"{io.artifact}: the image's layers are {total} bytes, more than --max-image-size "
                         f"({io.max_size} bytes)")
    return img


def _socket(host: str) -> str | None:
    if not host:
        return None
    if host.startswith("unix://"):
        return host[len("unix://"):]
    if "://" in host:
        raise ImageError(f"daemon host {host!r}: only a unix socket is supported (unix:///path or a path)")
    return host


def _open_image(io: ImageSourceOptions, tmp_dir: Path | None) -> Image:
    if io.input is not None:
        from vigil.sources.image.archive import open_archive

        if not io.input.exists():
            raise ImageError(f"{io.input}: no such file or directory")
        return open_archive(io.input, tmp_dir, io.input_ref, platform=io.registry.platform)
    if tmp_dir is None:
        raise ValueError("a daemon or registry image needs a temporary directory")
    errors: list[str] = []
    for src in io.image_src:
        if src in ("docker", "podman"):
            from vigil.sources.image.daemon import open_daemon_image

            try:
                img = open_daemon_image(io.reference, tmp_dir,
                                        _socket(io.docker_host if src == "docker" else io.podman_host))
            except ImageError as e:
                errors.append(f"{src}: {e}")
                continue
            if img is not None:
                return img
        elif src == "containerd":  # in Trivy's default list: skipped here, the next source is tried
            errors.append("containerd: not supported")
            continue
        elif src == "remote":
            from vigil.sources.image.registry import open_registry_image

            return open_registry_image(io.reference, io.registry, tmp_dir)
        else:
            raise ImageError(f"unknown image source {src!r} (expected docker, podman or remote)")
    raise ImageError(f"{io.reference}: image not found ({'; '.join(errors) or 'no source had it'})")


def artifact_info(image: Image, name: str = "") -> ArtifactInfo:
    return ArtifactInfo(
        name=name or image.name,
        image_id=image.config_digest,
        repo_tags=tuple(image.repo_tags),
        repo_digests=tuple(image.repo_digests),
        image_config=image.config,
        layers=tuple(LayerInfo(digest=la.digest, diff_id=la.diff_id, size=la.size, created_by=la.created_by)
                     for la in image.layers),
    )


class ImageSource:
    def __init__(self, io: ImageSourceOptions, name: str = "", skip_dirs: tuple[str, ...] = (),
                 skip_files: tuple[str, ...] = ()) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        tmp_dir = None
        if io.input is None:
            import tempfile

            self._tmp = tempfile.TemporaryDirectory(prefix="vigil-image-")
            tmp_dir = Path(self._tmp.name)
        try:
            self.image = open_image(io, tmp_dir)
        except BaseException:
            self._remove_tmp()
            raise
        self.name = name or io.artifact
        self.skip_dirs = skip_dirs
        self.skip_files = skip_files

    def describe(self) -> ArtifactInfo:
        return artifact_info(self.image, self.name)

    def blobs(self) -> list[BlobSpec]:
        out = []
        for la in self.image.layers:
            tree = LayerTree(la, self.skip_dirs, self.skip_files)
            out.append(BlobSpec(content_id=la.diff_id or la.digest, diff_id=la.diff_id, digest=la.digest,
                                size=la.size, open_tree=held(tree)))
        return out

    def prefetch(self, indices: Sequence[int]) -> None:
        for i in indices:
            with self.image.layers[i].open():
                pass

    def close(self) -> None:
        try:
            self.image.close()
        finally:
            self._remove_tmp()

    def _remove_tmp(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
