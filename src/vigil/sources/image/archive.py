"""Image archives on disk: `docker save` / `podman save` tars (the classic layout and the Docker 25+ one, which is an
OCI layout plus manifest.json), OCI image layouts as a directory or a tar, and either tar gzip- or zstd-compressed.

Nothing is extracted. For a tar we index the members once (name -> data offset) and each LayerBlob.open() returns a
read-only, seekable view of that byte range of the outer file; for a directory it opens the blob file.

A compressed archive (the whole tar gzip'd or zstd'd) is streamed, never inflated as a whole: a first pass indexes
the members and keeps the small ones (manifest.json, index.json, configs: the metadata) in memory; once the
manifest says which members are layers, a second pass writes exactly those members into one temp file in
`tmp_dir`, so the disk used is the size of the image's layers, never that of padding or unreferenced members.
Layers cannot be read from the compressed stream itself: they are opened independently, several times (the
diff_id check, a second pass for hardlinks) and in parallel worker processes, which needs random access, and
neither format has it (gzip could only by keeping inflate state per layer; zstd not at all). Both passes stop a
bomb while inflating: more than 200 decompressed bytes per compressed byte once past 1 GiB, or more than
`_MAX_UNPACKED` in total.

Only the config blob is hashed (its sha256 is the ImageID, and it is small); layers are not, since hashing 1 GB of
layers would double the cost of a scan and the registry source is where downloads get verified.

`ref` picks one image when an archive holds several: a RepoTags entry of manifest.json ("name:tag", docker.io/ and
library/ prefixes and the :latest tag normalised), or an OCI index entry's `org.opencontainers.image.ref.name` (or
`io.containerd.image.name`) annotation, or a manifest digest. The CLI's `--input ./layout:tag` form is split by the
caller into path and ref (a path may itself contain ':'), and both are passed here separately.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, cast

import msgspec

from vigil.jsonload import loads
from vigil.log import get_logger
from vigil.sources.image import Image, ImageError, LayerBlob, NotFound, check_layer_count
from vigil.sources.image.layers import Entry, LayerError, LayerLimits, iter_layer

log = get_logger(__name__)

_JSON_CAP = 16 << 20  # manifest.json / index.json / manifests / configs larger than this are hostile
_MAX_MEMBERS = 200_000  # members of an image archive (a real one has a few per layer)
_MAX_LINK_HOPS = 8
_MAX_INDEX_DEPTH = 4
_MAX_UNPACKED = 32 << 30  # decompressed bytes one pass over a compressed archive may produce
_RATIO_FLOOR = 1 << 30
_MAX_RATIO = 200  # past _RATIO_FLOOR; the layers' own rule (real archives inflate 2-4:1)
_KEEP_BUDGET = 64 << 20  # small members of a compressed archive kept in memory (its metadata)
# the archive's members as the layer reader sees them: the limits are _Inflated's (the whole archive), not a layer's
_ARCHIVE_LIMITS = LayerLimits(max_file_size=1 << 62, max_layer_bytes=1 << 62, max_entries=1 << 62)
_CHUNK = 1 << 20
_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
_HEX_NAME = re.compile(r"(?:^|/)([a-f0-9]{64})(?:\.json)?$")

_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
_OCI_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
_DOCKER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
_REF_NAME = "org.opencontainers.image.ref.name"
_CONTAINERD_NAME = "io.containerd.image.name"


# ---------------------------------------------------------------------------------------------------------------
# where the files are: a tar (indexed, viewed in place) or a directory


class _Store(Protocol):
    label: str

    def has(self, name: str) -> bool: ...
    def size(self, name: str) -> int: ...
    def opener(self, name: str) -> Callable[[], BinaryIO]: ...
    def layer_opener(self, name: str) -> Callable[[], BinaryIO]: ...
    def head(self, name: str) -> bytes: ...


def _safe_name(name: str) -> str | None:
    """Archive member name normalised; None if absolute-escaping or with a ".." that climbs out."""
    parts: list[str] = []
    for p in name.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(p)
    return "/".join(parts) or None


class _Section(io.RawIOBase):
    """A read-only, seekable view of bytes [start, start+size) of a file: one layer inside an archive tar."""

    def __init__(self, path: Path, start: int, size: int) -> None:
        self._f = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        self._start = start
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: memoryview | bytearray) -> int:  # type: ignore[override]
        n = min(len(b), self._size - self._pos)
        if n <= 0:
            return 0
        self._f.seek(self._start + self._pos)
        got = self._f.readinto(memoryview(b)[:n]) or 0
        self._pos += got
        return got

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._f.close()
        super().close()


class _Member(msgspec.Struct, frozen=True):
    offset: int
    size: int
    kind: str  # "file" | "link" (symlink or hardlink, resolved on lookup)
    target: str  # normalised link target
    sparse: bool


class _CappedReads:
    """The archive as tarfile sees it while indexing. tarfile reads member data never (we seek past it), only
    headers, and it reads a pax or GNU long-name record whole, in one read() of the size its header declares: a
    read larger than _JSON_CAP is such a hostile record and is refused before anything is allocated for it."""

    def __init__(self, f: BinaryIO, label: str) -> None:
        self._f = f
        self._label = label
        self.name = getattr(f, "name", label)
        self.mode = "rb"

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0 or n > _JSON_CAP:
            raise ImageError(f"{self._label}: tar header record of {n} bytes refused (hostile archive)")
        return self._f.read(n)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()


class _TarStore:
    def __init__(self, path: Path, label: str) -> None:
        import tarfile  # here: an OCI layout directory (or a warm scan of one) never needs it

        self.path = path
        self.label = label
        self._members: dict[str, _Member] = {}
        unsafe = 0
        try:
            with open(path, "rb") as raw, tarfile.open(
                fileobj=cast(BinaryIO, _CappedReads(cast(BinaryIO, raw), label)), mode="r:"
            ) as tf:
                count = 0
                while (ti := tf.next()) is not None:
                    count += 1
                    if count > _MAX_MEMBERS:
                        raise ImageError(f"{label}: more than {_MAX_MEMBERS} members, refused")
                    if count % 1024 == 0:
                        tf.members = []  # type: ignore[attr-defined]  # our index is enough; TarInfos pile up
                    name = _safe_name(ti.name)
                    if name is None:
                        unsafe += 1
                        continue
                    if ti.isreg():
                        self._members[name] = _Member(ti.offset_data, ti.size, "file", "", ti.issparse())
                    elif ti.issym() or ti.islnk():
                        base = name.rpartition("/")[0] if ti.issym() else ""
                        target = _safe_name(f"{base}/{ti.linkname}" if base else ti.linkname)
                        if target is None or ti.linkname.startswith("/"):
                            unsafe += 1
                            continue
                        self._members[name] = _Member(0, 0, "link", target, False)
        except (tarfile.TarError, EOFError, OSError, UnicodeError) as e:
            if isinstance(e, OSError) and not isinstance(e, tarfile.TarError) and e.strerror:
                raise ImageError(f"{label}: {e.strerror}") from e
            raise ImageError(f"{label}: not a docker archive or OCI image layout ({e})") from e
        if unsafe:
            log.warning("%s: ignored %d archive members with unsafe names or links", label, unsafe)

    def _get(self, name: str) -> _Member | None:
        return _follow(self._members, name)[1]

    def has(self, name: str) -> bool:
        return self._get(name) is not None

    def size(self, name: str) -> int:
        m = self._get(name)
        return m.size if m else 0

    def opener(self, name: str) -> Callable[[], BinaryIO]:
        m = self._get(name)
        if m is None:
            raise ImageError(f"{self.label}: {name} missing")
        if m.sparse:
            raise ImageError(f"{self.label}: {name} is a sparse archive member, refused")
        path, start, size = self.path, m.offset, m.size

        def open_member() -> BinaryIO:
            return cast(BinaryIO, io.BufferedReader(_Section(path, start, size), buffer_size=_CHUNK))

        return open_member

    def layer_opener(self, name: str) -> Callable[[], BinaryIO]:
        return self.opener(name)

    def head(self, name: str) -> bytes:
        with self.opener(name)() as f:
            return f.read(4)


def _follow(members: dict[str, _Member], name: str) -> tuple[str, _Member | None]:
    """The file member a name resolves to (through symlink and hardlink members), with its name."""
    m = members.get(name)
    for _ in range(_MAX_LINK_HOPS):
        if m is None or m.kind == "file":
            return name, m
        name = m.target
        m = members.get(name)
    return name, None  # a link loop or a chain too long: treated as missing


class _DirStore:
    def __init__(self, root: Path, label: str) -> None:
        self.root = root
        self._real = os.path.realpath(root)
        self.label = label

    def _resolve(self, name: str) -> str | None:
        rel = _safe_name(name)
        if rel is None:
            return None
        p = os.path.join(self.root, rel)
        real = os.path.realpath(p)
        if os.path.commonpath([real, self._real]) != self._real:
            raise ImageError(f"{self.label}: {rel} is a symlink pointing outside the layout, refused")
        try:
            st = os.stat(real)
        except OSError:
            return None
        return real if stat.S_ISREG(st.st_mode) else None

    def has(self, name: str) -> bool:
        return self._resolve(name) is not None

    def size(self, name: str) -> int:
        p = self._resolve(name)
        return os.stat(p).st_size if p else 0

    def opener(self, name: str) -> Callable[[], BinaryIO]:
        p = self._resolve(name)
        if p is None:
            raise ImageError(f"{self.label}: {name} missing")
        path = p

        def open_file() -> BinaryIO:
            return open(path, "rb")  # the caller closes the stream

        return open_file

    def layer_opener(self, name: str) -> Callable[[], BinaryIO]:
        return self.opener(name)

    def head(self, name: str) -> bytes:
        with self.opener(name)() as f:
            return f.read(4)


def _read(store: _Store, name: str, what: str | None = None) -> bytes:
    what = what or name
    size = store.size(name)
    if size > _JSON_CAP:
        raise ImageError(f"{what}: {size} bytes, larger than the {_JSON_CAP >> 20} MiB limit for metadata")
    with store.opener(name)() as f:
        return f.read(_JSON_CAP + 1)[:_JSON_CAP]


def _json(data: bytes, what: str) -> object:
    try:
        return loads(data)  # as json.loads reads it, without importing json for valid metadata (vigil.jsonload)
    except RecursionError:  # nesting deeper than the parser's recursion limit: hostile, not metadata
        raise ImageError(f"{what}: invalid JSON (nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ImageError(f"{what}: invalid JSON ({str(e).splitlines()[0][:120]})") from e


# ---------------------------------------------------------------------------------------------------------------
# entry point


def open_archive(path: Path, tmp_dir: Path | None, ref: str = "", platform: str = "") -> Image:
    """Open a docker-archive, an OCI layout (dir or tar) or a gzip/zstd-compressed archive. `ref` selects a tag
    (see the module doc); `platform` ("os/arch[/variant]", default linux/amd64) selects from image indexes.
    `tmp_dir` is where a compressed archive's layers are written; None: a temporary directory is made for them
    (removed by the image's cleanup), and none for anything else (nor is the tempfile module loaded)."""
    label = str(path)
    if not path.exists():
        raise NotFound(f"{label}: no such file or directory")
    cleanup: Callable[[], None] | None = None
    store: _Store
    if path.is_dir():
        store = _DirStore(path, label)
    else:
        try:
            with open(path, "rb") as f:
                magic = f.read(4)
        except OSError as e:
            raise ImageError(f"{label}: {e.strerror or e}") from e
        if magic[:2] == _GZIP or magic == _ZSTD:
            if tmp_dir is None:
                import tempfile

                own = tempfile.TemporaryDirectory(prefix="vigil-image-")
                try:
                    packed = _CompressedStore(path, Path(own.name), label, zstd=magic == _ZSTD)
                except BaseException:
                    own.cleanup()
                    raise

                def cleanup() -> None:
                    try:
                        packed.close()
                    finally:
                        own.cleanup()
            else:
                packed = _CompressedStore(path, tmp_dir, label, zstd=magic == _ZSTD)
                cleanup = packed.close
            store = packed
        else:
            store = _TarStore(path, label)
    try:
        if store.has("manifest.json"):
            image = _docker(store, ref)
        elif store.has("index.json"):
            image = _oci(store, ref, platform)
        else:
            raise ImageError(f"{label}: not a docker archive or OCI image layout")
        if isinstance(store, _CompressedStore):
            store.materialise()  # the layers, in one pass now: a bomb or a corrupt stream fails here, not mid-scan
    except BaseException:
        if cleanup:
            cleanup()
        raise
    image.name = label
    image.cleanup = cleanup
    return image


class _Inflated:
    """The decompressed bytes of a compressed archive as a read() stream, with the bomb limits checked on every
    chunk as it is produced (so a bomb is refused after at most one chunk past a limit)."""

    def __init__(self, path: Path, zstd: bool, label: str) -> None:
        try:
            self._src = open(path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as e:
            raise ImageError(f"{label}: {e.strerror or e}") from e
        self._counted = _CountingReader(cast(BinaryIO, self._src))
        self._chunks = _inflate(self._counted, zstd, label)
        self._label = label
        self._buf = b""
        self.produced = 0

    def read(self, n: int = -1) -> bytes:
        if not self._buf:
            self._buf = next(self._chunks, b"")
            self.produced += len(self._buf)
            self._check()
        if n < 0 or n >= len(self._buf):
            out, self._buf = self._buf, b""
            return out
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass

    def _check(self) -> None:
        produced, compressed = self.produced, self._counted.count
        if produced > _MAX_UNPACKED or (produced > _RATIO_FLOOR and produced > _MAX_RATIO * max(compressed, 1)):
            raise ImageError(
                f"{self._label}: decompression bomb refused (more than {produced} bytes): {compressed} compressed "
                f"bytes inflate past the limit (ratio {_MAX_RATIO}:1 past {_RATIO_FLOOR} bytes, {_MAX_UNPACKED} "
                "bytes at most)"
            )

    def close(self) -> None:
        self._src.close()


class _CompressedStore:
    """A gzip- or zstd-compressed archive tar, streamed (see the module doc). `_Member.offset` is the member's
    ordinal among the entries the layer reader yields: the second pass finds the same member by it (a name may
    occur twice; the last one counts, as in _TarStore)."""

    def __init__(self, path: Path, tmp_dir: Path, label: str, zstd: bool) -> None:
        self.path = path
        self.label = label
        self._tmp_dir = tmp_dir
        self._zstd = zstd
        self._members: dict[str, _Member] = {}
        self._small: dict[str, bytes] = {}  # member name -> content, for metadata reads
        self._heads: dict[str, bytes] = {}  # member name -> its first 4 bytes (the layer compression)
        self._wanted: set[str] = set()  # members to write to the temp file
        self._written: dict[str, tuple[int, int]] = {}  # member name -> (offset, size) in the temp file
        self._tmp: Path | None = None
        tmp_dir.mkdir(parents=True, exist_ok=True)  # fail early on an unusable temp dir
        unsafe = 0
        kept = 0
        with self._pass() as (entries, src):
            for n, e in enumerate(entries, 1):
                if n > _MAX_MEMBERS:
                    raise ImageError(f"{label}: more than {_MAX_MEMBERS} members, refused")
                if e.kind == "file":
                    self._small.pop(e.path, None)
                    if e.size <= _JSON_CAP and kept + e.size <= _KEEP_BUDGET:
                        data = e.read()
                        self._small[e.path] = data
                        kept += len(data)
                        head = data[:4]
                    else:
                        head = b""
                        for piece in e.chunks(4):
                            head += piece
                            if len(head) >= 4:
                                break
                    self._heads[e.path] = head[:4]
                    self._members[e.path] = _Member(n, e.size, "file", "", False)
                elif e.kind in ("symlink", "hardlink"):
                    # a hardlink's target is already normalised (and refused when it leaves the archive)
                    base = e.path.rpartition("/")[0] if e.kind == "symlink" else ""
                    target = _safe_name(f"{base}/{e.linkname}" if base else e.linkname)
                    if target is None or e.linkname.startswith("/"):
                        unsafe += 1
                        continue
                    self._members[e.path] = _Member(0, 0, "link", target, False)
            src.drain()  # the rest of the stream: a bomb hidden after the end of the tar is refused too
        if unsafe:
            log.warning("%s: ignored %d archive members with unsafe names or links", label, unsafe)

    @contextlib.contextmanager
    def _pass(self) -> Iterator[tuple[Iterator[Entry], _Inflated]]:
        src = _Inflated(self.path, self._zstd, self.label)
        refused: list[str] = []
        try:
            yield iter_layer(cast(BinaryIO, src), limits=_ARCHIVE_LIMITS, name=self.label,
                             on_warning=refused.append), src
        except LayerError as e:
            msg = str(e).removeprefix(f"{self.label}: ")
            raise ImageError(f"{self.label}: not a docker archive or OCI image layout ({msg})") from e
        finally:
            src.close()
        if refused:
            log.warning("%s: ignored %d archive members with unsafe names", self.label, len(refused))

    def _get(self, name: str) -> tuple[str, _Member | None]:
        return _follow(self._members, name)

    def has(self, name: str) -> bool:
        return self._get(name)[1] is not None

    def size(self, name: str) -> int:
        m = self._get(name)[1]
        return m.size if m else 0

    def head(self, name: str) -> bytes:
        return self._heads.get(self._get(name)[0], b"")

    def opener(self, name: str) -> Callable[[], BinaryIO]:
        real, m = self._get(name)
        if m is None:
            raise ImageError(f"{self.label}: {name} missing")
        data = self._small.get(real)
        if data is not None:
            return lambda: io.BytesIO(data)
        return self.layer_opener(name)

    def layer_opener(self, name: str) -> Callable[[], BinaryIO]:
        """Layers are always read from the temp file: memory holds metadata only, whatever the layers' sizes."""
        real, m = self._get(name)
        if m is None:
            raise ImageError(f"{self.label}: {name} missing")
        self._wanted.add(real)

        def open_member() -> BinaryIO:
            self.materialise()
            start, size = self._written[real]
            assert self._tmp is not None
            return cast(BinaryIO, io.BufferedReader(_Section(self._tmp, start, size), buffer_size=_CHUNK))

        return open_member

    def materialise(self) -> None:
        """Write the wanted members not written yet into the temp file, in one pass over the archive."""
        todo = {self._members[n].offset: n for n in self._wanted if n not in self._written}
        if not todo:
            return
        if self._tmp is None:
            import tempfile

            fd, name = tempfile.mkstemp(prefix="vigil-archive-", suffix=".tar", dir=self._tmp_dir)
            os.close(fd)
            self._tmp = Path(name)
        try:
            with open(self._tmp, "ab") as out, self._pass() as (entries, _):
                for n, e in enumerate(entries, 1):
                    want = todo.pop(n, None)
                    if want is None:
                        continue
                    if e.path != want or e.kind != "file":
                        raise ImageError(f"{self.label}: the archive changed while it was read")
                    start = out.tell()
                    for piece in e.chunks(_CHUNK):
                        out.write(piece)
                    self._written[want] = (start, out.tell() - start)
                    if not todo:
                        break
        except OSError as e:
            raise ImageError(f"{self.label}: cannot write to {self._tmp_dir}: {e.strerror or e}") from e
        if todo:
            raise ImageError(f"{self.label}: the archive changed while it was read")

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


class _CountingReader:
    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n if n > 0 else _CHUNK)
        self.count += len(data)
        return data


def _inflate(src: _CountingReader, zstd: bool, label: str) -> Iterator[bytes]:
    try:
        if zstd:
            yield from _inflate_zstd(src, label)
            return
        d = zlib.decompressobj(31)
        data = b""
        while True:
            if not data:
                data = src.read(_CHUNK)
                if not data:
                    if not d.eof:
                        raise ImageError(f"{label}: truncated gzip stream")
                    return
            if d.eof:  # next member of a multi-member gzip (or trailing zero padding)
                if data.strip(b"\0") == b"":
                    data = b""
                    continue
                d = zlib.decompressobj(31)
            out = d.decompress(data, 4 * _CHUNK)
            data = d.unconsumed_tail or d.unused_data
            if out:
                yield out
    except zlib.error as e:
        raise ImageError(f"{label}: corrupt gzip stream ({e})") from e
    except OSError as e:
        raise ImageError(f"{label}: {e.strerror or e}") from e


def _inflate_zstd(src: _CountingReader, label: str) -> Iterator[bytes]:
    import zstandard  # lazy: rare

    reader = zstandard.ZstdDecompressor().stream_reader(
        cast(BinaryIO, src), read_size=_CHUNK, read_across_frames=True
    )
    try:
        while chunk := reader.read(4 * _CHUNK):
            yield chunk
    except zstandard.ZstdError as e:
        raise ImageError(f"{label}: corrupt zstd stream ({e})") from e


# ---------------------------------------------------------------------------------------------------------------
# docker save (classic and Docker 25+)


def _normal_tag(t: str) -> str:
    name, _, tag = t.rpartition(":")
    if not name or "/" in tag:
        name, tag = t, "latest"
    for prefix in ("docker.io/", "index.docker.io/"):
        name = name.removeprefix(prefix)
    return f"{name.removeprefix('library/')}:{tag}"


def _sniff_type(store: _Store, name: str) -> str:
    magic = store.head(name)
    return _DOCKER_GZIP if magic[:2] == _GZIP else _OCI_ZSTD if magic == _ZSTD else _DOCKER_TAR


def _docker(store: _Store, ref: str) -> Image:
    manifest = _json(_read(store, "manifest.json"), "manifest.json")
    if not isinstance(manifest, list) or not manifest or not all(isinstance(m, dict) for m in manifest):
        raise ImageError(f"{store.label}: manifest.json is not a docker archive manifest")
    entries = cast(list[dict[str, object]], manifest)

    def tags(m: dict[str, object]) -> list[str]:
        t = m.get("RepoTags")
        return [x for x in t if isinstance(x, str)] if isinstance(t, list) else []

    if ref:
        want = _normal_tag(ref)
        chosen = [m for m in entries if any(_normal_tag(t) == want for t in tags(m))]
        if not chosen:
            avail = ", ".join(t for m in entries for t in tags(m)) or "none"
            raise NotFound(f"{store.label}: no image tagged '{ref}' (available: {avail})")
        entry = chosen[0]
    elif len(entries) == 1:
        entry = entries[0]
    else:
        avail = ", ".join(t for m in entries for t in tags(m)) or "untagged"
        raise ImageError(f"{store.label}: {len(entries)} images in the archive, choose one by tag ({avail})")
    idx = entries.index(entry)
    where = f"manifest.json[{idx}]" if len(entries) > 1 else "manifest.json"

    config_name = entry.get("Config")
    if not isinstance(config_name, str) or not store.has(config_name):
        raise ImageError(f"{store.label}: {where}: Config names a missing file")
    raw_cfg = _read(store, config_name)
    config_digest = "sha256:" + hashlib.sha256(raw_cfg).hexdigest()
    named = _HEX_NAME.search(config_name)
    if named and "sha256:" + named.group(1) != config_digest:
        raise ImageError(f"{store.label}: {config_name}: content does not match its name ({config_digest})")
    config = _config(raw_cfg, config_name)

    layer_names = entry.get("Layers")
    if not isinstance(layer_names, list) or not all(isinstance(x, str) for x in layer_names):
        raise ImageError(f"{store.label}: {where}: Layers is not a list of file names")
    check_layer_count(len(layer_names), f"{store.label}: {where}")
    for i, name in enumerate(layer_names):
        if not store.has(name):
            raise ImageError(f"{store.label}: {where}: Layers[{i}] names a missing file")
    diff_ids = _diff_ids(config, len(layer_names), store.label)
    history = _created_by(config)
    layers = []
    for i, name in enumerate(layer_names):
        hexname = _HEX_NAME.search(name)
        digest = "sha256:" + hexname.group(1) if hexname and name.startswith("blobs/") else diff_ids[i]
        layers.append(
            LayerBlob(
                digest=digest,
                diff_id=diff_ids[i],
                media_type=_sniff_type(store, name),
                size=store.size(name),
                created_by=history[i] if i < len(history) else "",
                open=store.layer_opener(name),
            )
        )
    return Image(
        name=store.label, config_digest=config_digest, config=config, layers=layers, repo_tags=tags(entry)
    )


def _config(raw: bytes, what: str) -> dict[str, object]:
    cfg = _json(raw, what)
    if not isinstance(cfg, dict):
        raise ImageError(f"{what}: not an image config")
    return cast(dict[str, object], cfg)


def _diff_ids(config: dict[str, object], n: int, label: str) -> list[str]:
    rootfs = config.get("rootfs")
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
        raise ImageError(f"{label}: image config has no rootfs.diff_ids")
    if len(ids) != n:
        raise ImageError(f"{label}: image config lists {len(ids)} diff_ids for {n} layers")
    return cast(list[str], ids)


def _created_by(config: dict[str, object]) -> list[str]:
    """created_by of the history entries that made a layer (empty_layer entries are metadata-only steps)."""
    hist = config.get("history")
    if not isinstance(hist, list):
        return []
    out = []
    for h in hist:
        if isinstance(h, dict) and not h.get("empty_layer"):
            cb = h.get("created_by")
            out.append(cb if isinstance(cb, str) else "")
    return out


# ---------------------------------------------------------------------------------------------------------------
# OCI image layout


def _blob_name(digest: object, label: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ImageError(f"{label}: invalid blob digest {str(digest)[:80]!r}")
    alg, _, hexd = digest.partition(":")
    return f"blobs/{alg}/{hexd}"


def _verified_blob(store: _Store, digest: object, label: str) -> bytes:
    name = _blob_name(digest, label)
    if not store.has(name):
        raise ImageError(f"{label}: blob {digest} missing")
    data = _read(store, name, f"blob {digest}")
    alg, _, hexd = cast(str, digest).partition(":")
    if hashlib.new(alg, data).hexdigest() != hexd:
        raise ImageError(f"{label}: blob {digest}: content does not match its digest")
    return data


def _parse_platform(platform: str) -> tuple[str, str, str]:
    parts = (platform or "linux/amd64").split("/")
    if len(parts) < 2 or len(parts) > 3 or not all(parts):
        raise ImageError(f"invalid platform '{platform}' (expected os/arch[/variant])")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else ""


def _platform_of(d: dict[str, object]) -> str:
    p = d.get("platform")
    if not isinstance(p, dict):
        return "unknown"
    s = f"{p.get('os', '?')}/{p.get('architecture', '?')}"
    return s + f"/{p['variant']}" if p.get("variant") else s


def _pick_platform(descs: list[dict[str, object]], platform: str, label: str) -> dict[str, object]:
    want_os, want_arch, want_var = _parse_platform(platform)
    found = []
    for d in descs:
        p = d.get("platform")
        if not isinstance(p, dict) or p.get("os") != want_os or p.get("architecture") != want_arch:
            continue
        if want_var and p.get("variant", "") != want_var:
            continue
        found.append(d)
    if not found:
        avail = ", ".join(sorted({_platform_of(d) for d in descs})) or "none"
        raise NotFound(f"{label}: no image for platform {platform or 'linux/amd64'} (available: {avail})")
    return found[0]


def _descriptors(index: object, what: str) -> list[dict[str, object]]:
    ms = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(ms, list) or not all(isinstance(m, dict) for m in ms):
        raise ImageError(f"{what}: not an OCI image index")
    return cast(list[dict[str, object]], ms)


def _annotations(d: dict[str, object]) -> dict[str, str]:
    a = d.get("annotations")
    return {k: v for k, v in a.items() if isinstance(v, str)} if isinstance(a, dict) else {}


def _matches_ref(d: dict[str, object], ref: str) -> bool:
    if ref == d.get("digest"):
        return True
    ann = _annotations(d)
    if ann.get(_REF_NAME) == ref:
        return True
    full = ann.get(_CONTAINERD_NAME, "") or (ann.get(_REF_NAME, "") if ":" in ann.get(_REF_NAME, "") else "")
    return bool(full) and _normal_tag(full) == _normal_tag(ref)


def _oci(store: _Store, ref: str, platform: str) -> Image:
    label = store.label
    top = _descriptors(_json(_read(store, "index.json"), "index.json"), f"{label}: index.json")
    if ref:
        chosen = [d for d in top if _matches_ref(d, ref)]
        if not chosen:
            avail = ", ".join(sorted({_annotations(d).get(_REF_NAME, str(d.get("digest"))) for d in top}))
            raise NotFound(f"{label}: no image named '{ref}' (available: {avail or 'none'})")
        desc = chosen[0]
    elif len(top) == 1:
        desc = top[0]
    elif all(isinstance(d.get("platform"), dict) for d in top):
        desc = _pick_platform(top, platform, label)  # a flat multi-platform index
    else:
        refs = [_annotations(d).get(_REF_NAME, "") for d in top]
        avail = ", ".join(r for r in refs if r) or "no ref annotations"
        raise ImageError(f"{label}: index.json lists {len(top)} images, choose one with a ref ({avail})")
    ann = _annotations(desc)
    repo_tags = (
        [ann[_CONTAINERD_NAME]] if _CONTAINERD_NAME in ann else [ann[_REF_NAME]] if _REF_NAME in ann else []
    )

    for _ in range(_MAX_INDEX_DEPTH):
        raw = _verified_blob(store, desc.get("digest"), label)
        doc = _json(raw, f"blob {desc.get('digest')}")
        if not isinstance(doc, dict):
            raise ImageError(f"{label}: blob {desc.get('digest')}: not a manifest")
        if (
            desc.get("mediaType") in _INDEX_TYPES
            or doc.get("mediaType") in _INDEX_TYPES
            or "manifests" in doc
        ):
            desc = _pick_platform(_descriptors(doc, f"{label}: blob {desc.get('digest')}"), platform, label)
            continue
        return _from_manifest(store, cast(dict[str, object], doc), str(desc["digest"]), repo_tags)
    raise ImageError(f"{label}: image indexes nested more than {_MAX_INDEX_DEPTH} deep")


def _from_manifest(store: _Store, man: dict[str, object], digest: str, repo_tags: list[str]) -> Image:
    label = store.label
    cfg_desc = man.get("config")
    layer_descs = man.get("layers")
    if not isinstance(cfg_desc, dict) or not isinstance(layer_descs, list):
        raise ImageError(f"{label}: manifest {digest} has no config or layers")
    check_layer_count(len(layer_descs), f"{label}: manifest {digest}")
    config_digest = str(cfg_desc.get("digest"))
    config = _config(_verified_blob(store, cfg_desc.get("digest"), label), f"config {config_digest}")
    diff_ids = _diff_ids(config, len(layer_descs), label)
    history = _created_by(config)
    layers = []
    for i, ld in enumerate(layer_descs):
        if not isinstance(ld, dict):
            raise ImageError(f"{label}: manifest {digest}: layers[{i}] is not a descriptor")
        name = _blob_name(ld.get("digest"), label)
        if not store.has(name):
            raise ImageError(f"{label}: blob {ld.get('digest')} missing")
        size = store.size(name)
        declared = ld.get("size")
        if isinstance(declared, int) and declared != size:
            raise ImageError(f"{label}: blob {ld.get('digest')}: {size} bytes, the manifest says {declared}")
        layers.append(
            LayerBlob(
                digest=str(ld["digest"]),
                diff_id=diff_ids[i],
                media_type=str(ld.get("mediaType", "")),
                size=size,
                created_by=history[i] if i < len(history) else "",
                open=store.layer_opener(name),
            )
        )
    return Image(
        name=label,
        config_digest=config_digest,
        config=config,
        layers=layers,
        repo_tags=repo_tags,
        manifest_digest=digest,
    )
