"""Helpers for image tests: the real layers of ../shared/data/images/debian-vuln.oci.tar (read straight out of the
OCI archive, nothing extracted) and small builders for hand-made tar headers (hostile layers, sparse files)."""

from __future__ import annotations

import functools
import json
import tarfile
from pathlib import Path

import pytest

from tests.conftest import SHARED

IMAGES = SHARED / "data" / "images"
DEBIAN_OCI = IMAGES / "debian-vuln.oci.tar"
ALPINE_DOCKER = IMAGES / "alpine-like.docker.tar"
RHEL_DOCKER = IMAGES / "rhel9-like.docker.tar"
IMAGE_TOOLS = SHARED / "tools" / "images"


def extract_layout(archive: Path, dest: Path) -> Path:
    """An OCI archive extracted as the layout directory it is (Trivy reads an OCI layout only as a directory), with
    tarfile's "data" filter where the interpreter has one: filters came with Python 3.11.4, and Debian's 3.11.2,
    which `make setup` prefers, has none. The archives are the shared fixture images, never hostile ones."""
    with tarfile.open(archive) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(dest, filter="data")
        else:
            tf.extractall(dest)
    return dest


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not present (../shared image fixtures)")
    return path


@functools.lru_cache(maxsize=1)
def debian_layers() -> tuple[tuple[str, str, bytes], ...]:
    """(digest, diff_id, compressed blob) of each layer of the Debian fixture image, bottom first."""
    need(DEBIAN_OCI)
    with tarfile.open(DEBIAN_OCI) as tf:

        def blob(digest: str) -> bytes:
            f = tf.extractfile("blobs/sha256/" + digest.removeprefix("sha256:"))
            assert f is not None
            return f.read()

        index = json.loads(blob_bytes(tf, "index.json"))
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        diff_ids = config["rootfs"]["diff_ids"]
        return tuple(
            (layer["digest"], diff_ids[i], blob(layer["digest"]))
            for i, layer in enumerate(manifest["layers"])
        )


def blob_bytes(tf: tarfile.TarFile, name: str) -> bytes:
    f = tf.extractfile(name)
    assert f is not None
    return f.read()


def _octal(n: int, width: int) -> bytes:
    return (b"%0*o" % (width - 1, n)) + b"\0"


def tar_header(
    name: str | bytes,
    size: int = 0,
    typeflag: bytes = b"0",
    linkname: str = "",
    mode: int = 0o644,
    size_field: bytes | None = None,
    extra: dict[int, bytes] | None = None,
    magic: bytes = b"ustar\x0000",
) -> bytes:
    """One 512-byte tar header with a valid checksum. `size_field` overrides the 12-byte size field (base-256 or
    garbage); `extra` writes raw bytes at given offsets (GNU sparse map, ...)."""
    raw_name = name.encode() if isinstance(name, str) else name
    h = bytearray(512)
    h[0 : len(raw_name[:100])] = raw_name[:100]
    h[100:108] = _octal(mode, 8)
    h[108:116] = _octal(0, 8)
    h[116:124] = _octal(0, 8)
    h[124:136] = size_field if size_field is not None else _octal(size, 12)
    h[136:148] = _octal(0, 12)
    h[156:157] = typeflag
    h[157 : 157 + len(linkname.encode())] = linkname.encode()
    h[257 : 257 + len(magic)] = magic
    for off, b in (extra or {}).items():
        h[off : off + len(b)] = b
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def tar_member(
    name: str, data: bytes = b"", typeflag: bytes = b"0", linkname: str = "", mode: int = 0o644
) -> bytes:
    """Header + data + padding: a fast writer for layers with many members (tarfile is ~10x slower)."""
    return tar_header(name, len(data), typeflag, linkname, mode) + data + bytes(-len(data) % 512)


END = bytes(1024)


def base256(n: int, width: int = 12) -> bytes:
    """GNU base-256 numeric field; negative numbers use the 0xff-led two's complement form."""
    if n < 0:
        return (n % (1 << (8 * width))).to_bytes(width, "big")
    return bytes([0x80]) + n.to_bytes(width - 1, "big")


def gnu_sparse_header(name: str, real_size: int, segments: list[tuple[int, int]], stored: int) -> bytes:
    """Old GNU sparse member header ('S'): up to 4 map entries in the header itself."""
    assert len(segments) <= 4
    extra: dict[int, bytes] = {}
    for i, (off, n) in enumerate(segments):
        extra[386 + 24 * i] = _octal(off, 12)
        extra[386 + 24 * i + 12] = _octal(n, 12)
    extra[482] = b"\0"
    extra[483] = base256(real_size) if real_size >= 1 << 33 else _octal(real_size, 12)
    return tar_header(name, stored, b"S", extra=extra, magic=b"ustar  \0")


def analyze_image(layout: Path, opts: object, cache: object = None) -> tuple[list[object], list[object], int]:
    """The pipeline's analyze stage on an image archive/layout, one worker: (layers, blobs in layer order,
    layers analysed). `cache`: an analysis cache (vigil.cache) or None."""
    import msgspec

    from vigil.pipeline.analyze import ScanStats, analyze, analyzer_set
    from vigil.pipeline.backend import LocalBackend
    from vigil.settings import ScanOptions
    from vigil.sources.image.source import ImageSource, ImageSourceOptions

    assert isinstance(opts, ScanOptions)
    opts = msgspec.structs.replace(opts, parallel=1)
    src = ImageSource(ImageSourceOptions(input=layout), skip_dirs=opts.skip_dirs, skip_files=opts.skip_files)
    stats = ScanStats()
    try:
        backend = LocalBackend(opts.db_path, cache, close_blobs=False)  # type: ignore[arg-type]
        keys = analyze(src, analyzer_set(opts, "container_image"), backend, opts, stats)
        return list(src.image.layers), backend.gather(keys), stats.analysed
    finally:
        src.close()


def scan_image(opts: object, io: object, stats: object = None, *, cache_dir: Path | None = None,
               on_image: object = None) -> object:
    """`vigil image` through the pipeline: the image source, an fs analysis cache in `cache_dir` (none without),
    local detection. `on_image(image)` may wrap the opened image's layers (to count downloads)."""
    from vigil.cache import open_cache
    from vigil.pipeline.backend import LocalBackend
    from vigil.pipeline.scan import scan
    from vigil.settings import ScanOptions
    from vigil.sources.image.source import ImageSource, ImageSourceOptions

    assert isinstance(opts, ScanOptions) and isinstance(io, ImageSourceOptions)
    src = ImageSource(io, opts.artifact_name, opts.skip_dirs, opts.skip_files)
    if callable(on_image):
        on_image(src.image)
    cache = open_cache("fs", cache_dir) if cache_dir is not None else None
    with LocalBackend(opts.db_path, cache) as backend:
        return scan(src, opts, backend, stats)  # type: ignore[arg-type]
