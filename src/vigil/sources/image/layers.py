"""Safe streaming reader for one image layer: hostile layers are normal input.

`iter_layer(blob)` turns a layer blob (gzip, zstd or plain tar; the compression is sniffed from magic bytes, media
types are not trusted) into `Entry` objects, one per tar member, in archive order. Nothing is written to disk,
nothing is extracted, links are never followed: an entry is a path, a kind and, for files, content the consumer may
read while the entry is current.

Why our own tar header parser instead of `tarfile` stream mode: tarfile keeps every TarInfo it has seen (unbounded
memory on a 5-million-member layer), has no hooks to enforce size/ratio limits while it decompresses, and raises a
zoo of exception types on corrupt input. The format facts we rely on (ustar/GNU/PAX headers, base-256 numbers, GNU
old-style and PAX 0.0/0.1/1.0 sparse maps) come from the POSIX pax and GNU tar format documentation.

Limits (`LayerLimits`) are checked while decompressing, chunk by chunk, so a bomb is refused after at most one
output chunk beyond the limit, never after inflating it.

Hardlinks: an `Entry` of kind "hardlink" (size 0, linkname = the normalised target path) can be read only when
its target is a file of the same layer whose bytes the consumer already fetched with `read()`; we keep those bytes
in a small LRU (16 MiB in total). Otherwise read() raises HardlinkUnavailable ("hardlink target not available"), a
LayerError that is also a FileTooLarge, so a consumer that skips unreadable files goes on with the layer. We never
re-read the stream (a registry stream cannot be rewound) and never keep files the consumer did not ask for.

Content: `Entry.read()` returns the whole file; `Entry.chunks()` streams it (files up to the chunk size, or already
read, are buffered and can be read again; larger ones stream once). Both are valid only while the entry is the
iterator's current one. Errors raised by `fileobj.read()` other than OSError (e.g. an HTTP client's) propagate
unchanged: sources should map them to ImageError.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, BinaryIO, Literal, cast

import msgspec

from vigil.log import get_logger
from vigil.sources.fs import FileTooLarge
from vigil.sources.image import ImageError

if TYPE_CHECKING:
    import zstandard

log = get_logger(__name__)

EntryKind = Literal["file", "dir", "symlink", "hardlink", "whiteout", "opaque", "other"]

_IN_CHUNK = 1 << 20  # compressed bytes per read from the blob
_OUT_CHUNK = 4 << 20  # most decompressed bytes produced per step (bounds memory and bomb overshoot)
_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_META_MAX = 1 << 20  # PAX / GNU long-name headers larger than this are hostile, not metadata
_LINK_CACHE_BYTES = 16 << 20  # bytes of already-read files kept for hardlinks to them
_LINK_OVERHEAD = 200  # per cached file: the bytes/str objects and the dict node (100 000 tiny files add up)
_SPARSE_MAX_SEGMENTS = 100_000
_PAX1_MAX_LINE = 32  # longest line of a PAX 1.0 sparse map (a decimal offset or length)
_MAX_WARNINGS = 100  # per layer; then one summary line at the end
_RATIO_FLOOR = 1 << 30  # the ratio check starts after 1 GiB of output (small layers compress extremely well)
_ZSTD_MAX_WINDOW = 1 << 27  # 128 MiB: zstd's own default; larger windows are a memory bomb
_GZIP_MAGIC = b"\x1f\x8b"
# diff_ids of an empty tar (the two end-of-archive blocks; padded to a 10 KiB record by tar(1))
_EMPTY_TAR_DIFF_IDS = frozenset({
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
    "sha256:84ff92691f909a05b224e1c56abb4864f01b4f8e3c854e4bb4c7baf1d3f6d652",
})
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_SIGNED_CHKSUM = struct.Struct("148b8x356b")


class LayerError(ImageError):
    """The layer cannot be read safely (bomb, corrupt or truncated stream, hostile header). One-line message."""


class HardlinkUnavailable(LayerError, FileTooLarge):
    """read() of a hardlink whose target's bytes we do not hold. A per-file condition, not a broken layer: it is
    also a FileTooLarge so that consumers which skip unreadable files (and record an Unknown) keep going."""


class LayerLimits(msgspec.Struct, frozen=True):
    max_file_size: int = 512 << 20  # Entry.read()/chunks() refuse larger files (size from the header)
    max_layer_bytes: int = 32 << 30  # decompressed bytes of one layer
    max_ratio: int = 1000  # refused once decompressed > 1 GiB and decompressed/compressed > ratio
    max_entries: int = 5_000_000  # tar headers in one layer
    max_path_len: int = 4096


# ---------------------------------------------------------------------------------------------------------------
# decompression


class _Counting:
    """Counts the compressed bytes the zstd stream reader pulls from the blob."""

    def __init__(self, f: BinaryIO, first: bytes) -> None:
        self._f = f
        self._first = first
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        if self._first:
            data, self._first = self._first, b""
        else:
            data = self._f.read(n if n > 0 else _IN_CHUNK)
        self.count += len(data)
        return data


class _Stream:
    """Decompressed bytes of a blob, produced in bounded chunks, with the bomb counters checked on each chunk."""

    def __init__(self, f: BinaryIO, digest: str, limits: LayerLimits, name: str = "") -> None:
        self._f = f
        self.name = name or f"layer {digest or '(unknown digest)'}"
        self._limits = limits
        self.produced = 0
        self._compressed = 0
        self.hasher: hashlib._Hash | None = None  # sha256 of every decompressed byte, when a diff_id is checked
        try:
            first = f.read(_IN_CHUNK)
        except OSError as e:
            raise self.error(f"cannot read blob: {e.strerror or e}") from e
        self.kind = "gzip" if first[:2] == _GZIP_MAGIC else "zstd" if first[:4] == _ZSTD_MAGIC else "tar"
        self._pending = first
        if self.kind == "gzip":
            # counted here: _gzip_chunk counts only what it reads itself, and a small bomb fits in this first read
            self._compressed = len(first)
        self._gz: zlib._Decompress | None = None
        self._gz_fed = False  # the current gzip member has received input (EOF now means truncation)
        self._gz_done = False  # junk followed the last member: the stream is over for good
        self._zr: zstandard.ZstdDecompressionReader | None = None
        self._zcount: _Counting | None = None
        self._zerr: tuple[type[Exception], ...] = ()
        if self.kind == "gzip":
            self._gz = zlib.decompressobj(31)
        elif self.kind == "zstd":
            import zstandard  # lazy: only zstd layers need it

            self._zcount = _Counting(f, first)
            self._pending = b""
            dctx = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
            self._zr = dctx.stream_reader(
                cast("IO[bytes]", self._zcount), read_size=_IN_CHUNK, read_across_frames=True
            )
            self._zerr = (zstandard.ZstdError,)

    def error(self, msg: str) -> LayerError:
        return LayerError(f"{self.name}: {msg}")

    def chunk(self) -> bytes:
        """The next non-empty piece of decompressed data, or b"" at the end of the stream."""
        try:
            if self.kind == "gzip":
                out = self._gzip_chunk()
            elif self.kind == "zstd":
                assert self._zr is not None and self._zcount is not None
                out = self._zr.read(_OUT_CHUNK)
                self._compressed = self._zcount.count
            else:
                out, self._pending = (
                    (self._pending, b"") if self._pending else (self._f.read(_OUT_CHUNK), b"")
                )
                self._compressed += len(out)
        except LayerError:
            raise
        except zlib.error as e:
            raise self.error(f"corrupt gzip stream: {e}") from e
        except self._zerr as e:
            raise self.error(f"corrupt zstd stream: {e}") from e
        except OSError as e:
            raise self.error(f"cannot read blob: {e.strerror or e}") from e
        if out:
            self.produced += len(out)
            self._check()
            if self.hasher is not None:
                self.hasher.update(out)
        return out

    def _check(self) -> None:
        lim = self._limits
        if self.produced > lim.max_layer_bytes:
            what = "decompression bomb refused" if self.kind != "tar" else "layer refused"
            raise self.error(f"{what}: more than {lim.max_layer_bytes} bytes of tar data (limit)")
        if (
            self.kind != "tar"
            and self.produced > _RATIO_FLOOR
            and self.produced > lim.max_ratio * max(self._compressed, 1)
        ):
            raise self.error(
                f"decompression bomb refused: {self._compressed} compressed bytes inflate to more than "
                f"{self.produced} (ratio > {lim.max_ratio})"
            )

    def _gzip_chunk(self) -> bytes:
        while not self._gz_done:
            gz = self._gz
            assert gz is not None
            if gz.unconsumed_tail:
                data = gz.unconsumed_tail
            elif self._pending:
                data, self._pending = self._pending, b""
            else:
                data = self._f.read(_IN_CHUNK)
                if not data:
                    if self._gz_fed and not gz.eof:
                        raise self.error("truncated gzip stream")
                    return b""
                self._compressed += len(data)
            if gz.eof:  # data after a finished member: another member (multi-member gzip) or trailing junk
                if data.strip(b"\0") == b"":
                    continue  # zero padding after the stream (gzip(1) tolerates it too)
                if len(data) >= 2 and data[:2] != _GZIP_MAGIC:
                    self._gz_done = True  # trailing garbage after the last member: the tar has ended anyway
                    return b""
                gz = self._gz = zlib.decompressobj(31)
                self._gz_fed = False
            self._gz_fed = True
            out = gz.decompress(data, _OUT_CHUNK)
            if gz.eof and gz.unused_data:
                self._pending = gz.unused_data + self._pending
            if out:
                return out
        return b""


# ---------------------------------------------------------------------------------------------------------------
# entries


class Entry:
    """One tar member. Content is readable only while this entry is the iterator's current one."""

    __slots__ = ("_data", "_r", "_serial", "_sparse", "_started", "kind", "linkname", "mode", "path", "size")

    def __init__(
        self,
        reader: _LayerReader,
        path: str,
        kind: EntryKind,
        size: int,
        mode: int,
        linkname: str,
        sparse: _Sparse | None,
    ) -> None:
        self.path = path
        self.kind: EntryKind = kind
        self.size = size
        self.mode = mode
        self.linkname = linkname
        self._r = reader
        self._serial = reader.serial
        self._sparse = sparse
        self._data: bytes | None = None
        self._started = False

    def __repr__(self) -> str:
        return f"Entry({self.path!r}, {self.kind}, size={self.size}, mode={self.mode:o})"

    @property
    def linked_available(self) -> bool:
        """For a hardlink: whether read() can return its target's bytes (the consumer read the target)."""
        return self.kind == "hardlink" and self.linkname in self._r._links

    @property
    def executable(self) -> bool:
        return self.kind == "file" and bool(self.mode & 0o111)

    def _limit(self, cap: int | None) -> int:
        lim = self._r.limits.max_file_size
        return lim if cap is None else min(cap, lim)

    def _check_size(self, size: int, limit: int) -> None:
        if size > limit:
            raise FileTooLarge(f"larger than the {limit}-byte limit (--max-file-size)")

    def _claim(self) -> None:
        if self._serial != self._r.serial:
            raise self._r.stream.error(f"{self.path}: entry no longer readable (the iterator has moved on)")
        if self._started:
            raise self._r.stream.error(f"{self.path}: entry content already streamed")
        self._started = True

    def read(self, cap: int | None = None) -> bytes:
        """The whole content. Files larger than min(cap, max_file_size) raise FileTooLarge (nothing is read)."""
        limit = self._limit(cap)
        if self.kind == "hardlink":
            data = self._r.linked(self)
            self._check_size(len(data), limit)
            return data
        if self.kind != "file":
            return b""
        self._check_size(self.size, limit)
        if self._data is None:
            self._claim()
            self._data = self._r.whole(self)
            self._r.remember(self.path, self._data)
        return self._data

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """Stream the content in non-empty pieces of at most `size` bytes, without holding the file in memory.
        Files up to `size` bytes (and files already read()) are buffered, so they can be read again; larger files
        can be streamed once."""
        size = max(size, 1)
        if self.kind == "hardlink" or (self.kind == "file" and (self._data is not None or self.size <= size)):
            data = self.read()
            for i in range(0, len(data), size):
                yield data[i : i + size]
            return
        if self.kind != "file":
            return
        self._check_size(self.size, self._r.limits.max_file_size)
        self._claim()
        yield from self._r.content(self, size)


class _Sparse(msgspec.Struct):
    """Where the stored pieces of a sparse file go. `segments` is None for PAX 1.0 (the map heads the data)."""

    segments: list[tuple[int, int]] | None


def _num(field: bytes) -> int:
    """A tar numeric field: octal text (NUL/space padded) or GNU base-256 (high bit of the first byte)."""
    if field[-1] == 0 and 0x30 <= field[0] <= 0x37:  # the common "0000644\0" form
        try:
            return int(field[:-1], 8)
        except ValueError:
            pass
    if field and field[0] & 0x80:
        if field[0] == 0xFF:
            raise ValueError("negative number")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    s = field.split(b"\0", 1)[0].strip()
    return int(s, 8) if s else 0


def _text(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("utf-8", "replace")


def _normalise(name: str) -> str | None:
    """Posix path relative to the image root; None when a ".." climbs above the root."""
    parts: list[str] = []
    for p in name.split("/"):
        if p == "" or p == ".":
            continue
        if p == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(p)
    return "/".join(parts)


def _printable(name: str) -> str:
    s = name if len(name) <= 200 else name[:200] + "…"
    return s.encode("unicode_escape", "replace").decode("ascii", "replace") if not s.isprintable() else s


class _LayerReader:
    def __init__(
        self,
        f: BinaryIO,
        digest: str,
        limits: LayerLimits,
        on_warning: Callable[[str], None] | None,
        diff_id: str = "",
        name: str = "",
    ) -> None:
        self.limits = limits
        self.digest = digest
        self.stream = _Stream(f, digest, limits, name)
        self.diff_id = diff_id if diff_id.startswith("sha256:") else ""
        if self.diff_id:
            self.stream.hasher = hashlib.sha256()  # nothing decompressed yet
        self._warn = on_warning or log.warning
        self._buf = b""
        self._pos = 0
        self._offset = 0  # offset in the tar stream of _buf[0]
        self.serial = 0
        self._remaining = 0  # stored data bytes of the current entry not consumed yet
        self._pad = 0
        self._links: OrderedDict[str, bytes] = OrderedDict()
        self._link_bytes = 0
        self.refused = 0

    # -- buffer primitives -------------------------------------------------------------------------------------

    def _fill(self, need: int) -> bool:
        """Make at least `need` bytes available from _pos; False at the end of the stream."""
        have = len(self._buf) - self._pos
        if have >= need:
            return True
        parts = [self._buf[self._pos :]]
        self._offset += self._pos
        self._pos = 0
        while have < need:
            c = self.stream.chunk()
            if not c:
                self._buf = b"".join(parts)
                return False
            parts.append(c)
            have += len(c)
        self._buf = b"".join(parts)
        return True

    def _take(self, n: int) -> bytes:
        if not self._fill(n):
            raise self.stream.error(f"truncated tar stream at offset {self._offset + len(self._buf)}")
        b = self._buf[self._pos : self._pos + n]
        self._pos += n
        return b

    def _skip(self, n: int) -> None:
        have = len(self._buf) - self._pos
        if n <= have:
            self._pos += n
            return
        n -= have
        self._offset += len(self._buf)
        self._buf, self._pos = b"", 0
        while n:
            c = self.stream.chunk()
            if not c:
                raise self.stream.error(f"truncated tar stream at offset {self._offset}")
            if len(c) > n:
                self._buf, self._pos = c, n
                return
            self._offset += len(c)
            n -= len(c)

    def _piece(self, n: int) -> bytes:
        """Up to n (> 0) bytes straight from the buffer, refilling once when it is empty."""
        if self._pos >= len(self._buf):
            self._offset += len(self._buf)
            self._buf, self._pos = self.stream.chunk(), 0
            if not self._buf:
                raise self.stream.error(f"truncated tar stream at offset {self._offset}")
        b = self._buf[self._pos : self._pos + n]
        self._pos += len(b)
        return b

    def _stored(self, n: int) -> Iterator[bytes]:
        """n bytes of the current entry's stored data, in pieces."""
        while n > 0:
            b = self._piece(min(n, self._remaining, _OUT_CHUNK))
            self._remaining -= len(b)
            n -= len(b)
            yield b

    # -- content ---------------------------------------------------------------------------------------------------

    def whole(self, e: Entry) -> bytes:
        if e._sparse is not None:
            return b"".join(self._sparse_content(e, _OUT_CHUNK))
        n = e.size
        if n <= len(self._buf) - self._pos:  # the common case: a small file inside the current chunk
            data = self._buf[self._pos : self._pos + n]
            self._pos += n
            self._remaining -= n
            return data
        # a large file: join pieces once (2x its size at the peak) instead of growing the stream buffer
        return b"".join(self.content(e, _OUT_CHUNK))

    def content(self, e: Entry, size: int) -> Iterator[bytes]:
        if e._sparse is None:
            n = e.size
            while n > 0:
                self._check_current(e)
                b = self._piece(min(n, size))
                self._remaining -= len(b)
                n -= len(b)
                yield b
            return
        yield from self._sparse_content(e, size)

    def _check_current(self, e: Entry) -> None:
        if e._serial != self.serial:
            raise self.stream.error(f"{e.path}: entry no longer readable (the iterator has moved on)")

    def _sparse_content(self, e: Entry, size: int) -> Iterator[bytes]:
        segments = e._sparse.segments if e._sparse else None
        if segments is None:
            segments = self._pax1_map(e)
        pos = 0
        for off, length in segments:
            if off < pos or off + length > e.size or length > self._remaining:
                raise self.stream.error(f"{e.path}: invalid sparse map")
            while pos < off:  # a hole
                k = min(off - pos, size)
                pos += k
                yield bytes(k)
            n = length
            while n > 0:
                self._check_current(e)
                b = self._piece(min(n, size))
                self._remaining -= len(b)
                n -= len(b)
                pos += len(b)
                yield b
        while pos < e.size:
            k = min(e.size - pos, size)
            pos += k
            yield bytes(k)

    def _pax1_map(self, e: Entry) -> list[tuple[int, int]]:
        """PAX sparse 1.0: decimal numbers, one per line (count, then offset/length pairs), in whole blocks."""
        text = b""
        used = 0
        nums: list[int] = []
        want = -1
        while want < 0 or len(nums) < want:
            if self._remaining < _BLOCK:
                raise self.stream.error(f"{e.path}: invalid sparse map")
            text += b"".join(self._stored(_BLOCK))
            used += _BLOCK
            lines = text.split(b"\n")
            text = lines.pop()
            for line in lines:
                try:
                    nums.append(int(line))
                except ValueError:
                    raise self.stream.error(f"{e.path}: invalid sparse map") from None
                if want < 0:
                    if nums[0] > _SPARSE_MAX_SEGMENTS:
                        raise self.stream.error(f"{e.path}: sparse map with {nums[0]} segments refused")
                    want = 1 + 2 * nums[0]
                if len(nums) >= want:
                    break
            if (want < 0 or len(nums) < want) and len(text) > _PAX1_MAX_LINE:
                # the map goes on, and no number needs that many digits: not a map (and no quadratic re-splits)
                raise self.stream.error(f"{e.path}: invalid sparse map")
        return [(nums[i], nums[i + 1]) for i in range(1, want, 2)]

    def remember(self, path: str, data: bytes) -> None:
        cost = len(data) + len(path) + _LINK_OVERHEAD
        if cost > _LINK_CACHE_BYTES:
            return
        old = self._links.pop(path, None)
        if old is not None:
            self._link_bytes -= len(old) + len(path) + _LINK_OVERHEAD
        self._links[path] = data
        self._link_bytes += cost
        while self._link_bytes > _LINK_CACHE_BYTES:
            p, dropped = self._links.popitem(last=False)
            self._link_bytes -= len(dropped) + len(p) + _LINK_OVERHEAD

    def linked(self, e: Entry) -> bytes:
        data = self._links.get(e.linkname)
        if data is None:
            raise HardlinkUnavailable(
                f"{self.stream.name}: {e.path}: hardlink target not available ({e.linkname} was not read)"
            )
        return data

    # -- headers -------------------------------------------------------------------------------------------------

    def _refuse(self, name: str, why: str) -> None:
        self.refused += 1
        if self.refused <= _MAX_WARNINGS:
            self._warn(f"{self.stream.name}: refused entry '{_printable(name)}': {why}")

    def _meta(self, size: int, what: str) -> bytes:
        if size > _META_MAX:
            raise self.stream.error(f"{what} header of {size} bytes refused")
        data = self._take(size)
        self._skip(-size % _BLOCK)
        return data

    def entries(self) -> Iterator[Entry]:
        try:
            yield from self._entries()
        finally:
            self.serial += 1
        if self.refused > _MAX_WARNINGS:
            self._warn(f"{self.stream.name}: refused {self.refused} entries in total")
        if self.diff_id:
            self._verify_diff_id()

    def _verify_diff_id(self) -> None:
        """The decompressed stream must hash to the diff_id the image config names: that diff_id is the analysis
        cache key, so a layer that lies about it would plant its analysis under another layer's key."""
        while self.stream.chunk():  # the rest of the stream (zero blocks and padding after the end of archive)
            pass
        assert self.stream.hasher is not None
        got = "sha256:" + self.stream.hasher.hexdigest()
        if self.stream.produced == 0 and self.diff_id in _EMPTY_TAR_DIFF_IDS:
            return  # an empty layer written as zero bytes: it has no entries either way
        if got != self.diff_id:
            raise self.stream.error(f"content does not match its diff_id {self.diff_id} (got {got})")

    def _entries(self) -> Iterator[Entry]:
        lim = self.limits
        pax: dict[str, str] = {}
        sparse_pairs: list[int] = []
        longname: str | None = None
        longlink: str | None = None
        headers = 0
        while True:
            # leave the previous entry: whatever the consumer did not read is skipped, its Entry goes stale
            self.serial += 1
            if self._remaining or self._pad:
                self._skip(self._remaining + self._pad)
                self._remaining = self._pad = 0
            if not self._fill(_BLOCK):
                if len(self._buf) - self._pos or longname or longlink or pax:
                    raise self.stream.error(f"truncated tar stream at offset {self._offset + self._pos}")
                if headers == 0 and self.stream.produced == 0:
                    return  # an empty blob: no entries (some tools write empty layers as zero bytes)
                return  # end of stream without the end-of-archive blocks: tolerated like tar(1)
            at = self._offset + self._pos
            blk = self._buf[self._pos : self._pos + _BLOCK]
            self._pos += _BLOCK
            if blk == _ZERO_BLOCK:
                return
            headers += 1
            if headers > lim.max_entries:
                raise self.stream.error(f"more than {lim.max_entries} tar entries (limit)")
            try:
                chk = _num(blk[148:156])
            except ValueError:
                chk = -1
            if chk != sum(blk) - sum(blk[148:156]) + 256 and chk != sum(_SIGNED_CHKSUM.unpack(blk)) + 256:
                what = "not a tar archive" if headers == 1 else "corrupt tar header"
                raise self.stream.error(f"{what} (bad header checksum at offset {at})")
            t = blk[156:157]
            try:
                size = _num(blk[124:136])
            except ValueError as e:
                raise self.stream.error(f"corrupt tar header at offset {at}: invalid size ({e})") from e
            if size > lim.max_layer_bytes:
                raise self.stream.error(
                    f"tar entry at offset {at} declares {size} bytes, more than the layer limit"
                )
            if t in (b"x", b"X"):
                self._parse_pax(self._meta(size, "pax"), pax, sparse_pairs)
                continue
            if t == b"g":  # global pax header: nothing in it changes names or sizes we rely on
                self._meta(size, "pax global")
                continue
            if t == b"L":
                longname = _text(self._meta(size, "GNU long name"))
                continue
            if t == b"K":
                longlink = _text(self._meta(size, "GNU long link"))
                continue

            if blk[257:263] == b"ustar\x00" and blk[345]:
                raw_name = _text(blk[345:500]) + "/" + _text(blk[0:100])
            else:
                raw_name = _text(blk[0:100])
            name = pax.get("path", longname if longname is not None else raw_name)
            if "linkpath" in pax:
                link = pax["linkpath"]
            elif longlink is not None:
                link = longlink
            else:
                link = _text(blk[157:257]) if t in (b"1", b"2") else ""
            mode = 0
            try:
                mode = _num(blk[100:108]) & 0o7777
                if "size" in pax:
                    size = int(pax["size"])
                    if size < 0 or size > lim.max_layer_bytes:
                        raise ValueError(f"size {size}")
            except ValueError as e:
                raise self.stream.error(f"corrupt tar header at offset {at}: {e}") from e
            sparse: _Sparse | None = None
            apparent = size
            if t == b"S":
                sparse, apparent = self._gnu_sparse(blk)
            elif "GNU.sparse.major" in pax or "GNU.sparse.size" in pax or "GNU.sparse.map" in pax:
                sparse, apparent, name = self._pax_sparse(pax, sparse_pairs, name)
            pax = {}
            sparse_pairs = []
            longname = longlink = None
            self._remaining = size
            self._pad = -size % _BLOCK

            kind: EntryKind
            if t == b"\0" and name.endswith("/"):
                kind = "dir"  # pre-POSIX tars mark directories by the trailing slash only
            elif t in (b"0", b"\0", b"7", b"S"):
                kind = "file"
            elif t == b"5" or t == b"D":
                kind = "dir"
            elif t == b"2":
                kind = "symlink"
            elif t == b"1":
                kind = "hardlink"
            elif t == b"V":  # volume label: not a file
                continue
            else:
                kind = "other"

            if "\0" in name:
                self._refuse(name, "NUL byte in name")
                continue
            if len(name) > lim.max_path_len:
                self._refuse(name, "path too long")
                continue
            path = _normalise(name)
            if path is None:
                self._refuse(name, "path traversal")
                continue
            linkname = link
            if kind == "hardlink":
                target = _normalise(link) if "\0" not in link and len(link) <= lim.max_path_len else None
                if not target:
                    self._refuse(name, f"hardlink to '{_printable(link)}' outside the layer")
                    continue
                linkname = target
            elif kind != "symlink":
                linkname = ""
            if not path:
                continue  # the root directory itself ("./")
            base = path.rpartition("/")[2]
            if base.startswith(".wh."):
                parent = path[: -len(base) - 1] if "/" in path else ""
                if base == ".wh..wh..opq":
                    yield Entry(self, parent, "opaque", 0, mode, "", None)
                    continue
                if base.startswith(".wh..wh."):
                    continue  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
                hidden = base[4:]
                if hidden in ("", ".", ".."):
                    self._refuse(name, "invalid whiteout")
                    continue
                yield Entry(self, f"{parent}/{hidden}" if parent else hidden, "whiteout", 0, mode, "", None)
                continue
            yield Entry(self, path, kind, apparent if kind == "file" else 0, mode, linkname, sparse)

    def _parse_pax(self, data: bytes, pax: dict[str, str], sparse_pairs: list[int]) -> None:
        pos = 0
        n = len(data)
        while pos < n:
            if data[pos] == 0:
                break  # NUL padding after the records
            sp = data.find(b" ", pos, pos + 24)
            try:
                length = int(data[pos:sp]) if sp > pos else 0
            except ValueError:
                length = 0
            if length <= sp - pos or pos + length > n or data[pos + length - 1] != 0x0A:
                raise self.stream.error("corrupt pax header")
            key, eq, value = data[sp + 1 : pos + length - 1].partition(b"=")
            pos += length
            if not eq:
                raise self.stream.error("corrupt pax header")
            k = key.decode("utf-8", "replace")
            if k in ("GNU.sparse.offset", "GNU.sparse.numbytes"):  # sparse 0.0 repeats these keys
                if len(sparse_pairs) >= 2 * _SPARSE_MAX_SEGMENTS:
                    raise self.stream.error("sparse map too large")
                try:
                    sparse_pairs.append(int(value))
                except ValueError:
                    raise self.stream.error("corrupt pax sparse map") from None
                continue
            pax[k] = value.decode("utf-8", "replace")  # a NUL survives decoding: the name check refuses it

    def _gnu_sparse(self, blk: bytes) -> tuple[_Sparse, int]:
        """Old GNU sparse ('S'): 4 map entries in the header, more in 512-byte extension blocks after it."""
        try:
            segments = self._sparse_entries(blk, 386, 4)
            extended = blk[482]
            real = _num(blk[483:495])
            while extended:
                ext = self._take(_BLOCK)
                segments += self._sparse_entries(ext, 0, 21)
                if len(segments) > _SPARSE_MAX_SEGMENTS:
                    raise self.stream.error("sparse map too large")
                extended = ext[504]
        except ValueError as e:
            raise self.stream.error(f"corrupt GNU sparse header: {e}") from e
        return _Sparse(segments), real

    @staticmethod
    def _sparse_entries(b: bytes, start: int, count: int) -> list[tuple[int, int]]:
        out = []
        for i in range(count):
            o = start + 24 * i
            if b[o] == 0 and b[o + 12] == 0:
                break
            out.append((_num(b[o : o + 12]), _num(b[o + 12 : o + 24])))
        return out

    def _pax_sparse(self, pax: dict[str, str], pairs: list[int], name: str) -> tuple[_Sparse, int, str]:
        try:
            if pax.get("GNU.sparse.major") == "1":
                real = int(pax["GNU.sparse.realsize"])
                return _Sparse(None), real, pax.get("GNU.sparse.name", name)
            real = int(pax["GNU.sparse.size"])
            if "GNU.sparse.map" in pax:
                pairs = [int(x) for x in pax["GNU.sparse.map"].split(",") if x]
                if len(pairs) > 2 * _SPARSE_MAX_SEGMENTS:
                    raise self.stream.error("sparse map too large")
            if len(pairs) % 2:
                raise ValueError("odd sparse map")
            segments = [(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
            return _Sparse(segments), real, pax.get("GNU.sparse.name", name)
        except (KeyError, ValueError) as e:
            raise self.stream.error(f"corrupt pax sparse header: {e}") from e


def iter_layer(
    fileobj: BinaryIO,
    *,
    digest: str = "",
    limits: LayerLimits = LayerLimits(),
    on_warning: Callable[[str], None] | None = None,
    diff_id: str = "",
    name: str = "",
) -> Iterator[Entry]:
    """Entries of one layer blob (gzip, zstd or plain tar, sniffed), in archive order. Unsafe names are skipped
    with an on_warning() message; bombs, corrupt and truncated streams raise LayerError. Each Entry's content is
    readable only until the iterator advances. `fileobj` is read sequentially and never closed here.
    With a "sha256:" `diff_id`, the whole decompressed stream is hashed and a mismatch raises LayerError once the
    entries are exhausted. `name` replaces "layer <digest>" at the head of messages (an image archive read by the
    same parser)."""
    yield from _LayerReader(fileobj, digest, limits, on_warning, diff_id, name).entries()
