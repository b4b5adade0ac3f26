"""Blobs of an rpm NDB package database (`Packages.db`, SUSE since SLES 15 SP3 / openSUSE), read without rpm.

Layout facts (rpm's lib/backend/ndb/rpmpkg.c; all numbers little-endian): a 32-byte file header (magic "RpmP",
version 0, generation, number of 4 KiB slot pages, next package index), then the slot pages as 16-byte slots
("Slot", package index, block offset, block count; block offset 0 = free slot). Blobs live in 16-byte blocks at
the slot's offset: a 16-byte head ("BlbS", package index, timestamp, length), the blob, zero padding and a 12-byte
tail (adler32 of head+blob+padding, length, "BlbE"). The checksum is verified, so a damaged blob is reported
rather than parsed.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from vigil.analyzers.errors import ParseError

NDB_MAGIC = b"RpmP"
_SLOT_MAGIC = 0x746F6C53  # "Slot"
_HEAD_MAGIC = 0x53626C42  # "BlbS"
_TAIL_MAGIC = 0x45626C42  # "BlbE"
_PAGE, _BLK, _SLOT = 4096, 16, 16


def is_ndb(data: bytes) -> bool:
    return data[:4] == NDB_MAGIC


def ndb_blobs(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (package index, header blob) for every used slot, in slot order."""
    if len(data) < 32 or not is_ndb(data):
        raise ParseError("not an rpm NDB database")
    version, _generation, slotnpages = struct.unpack_from("<III", data, 4)
    if version != 0:
        raise ParseError(f"rpm NDB: unsupported version {version}")
    if slotnpages < 1 or slotnpages * _PAGE > len(data):
        raise ParseError(f"rpm NDB: {slotnpages} slot pages do not fit the {len(data)}-byte file")
    fileblks = len(data) // _BLK
    minblk = slotnpages * _PAGE // _BLK
    budget = fileblks - minblk  # blobs never overlap: together they fit in the blocks after the slot pages
    for off in range(32, slotnpages * _PAGE, _SLOT):  # the first two slots' room is the file header
        magic, pkgidx, blkoff, blkcnt = struct.unpack_from("<IIII", data, off)
        if magic != _SLOT_MAGIC:
            raise ParseError(f"rpm NDB: bad slot at byte {off}")
        if blkoff == 0:
            continue
        if pkgidx == 0 or blkcnt == 0 or blkoff < minblk or blkoff + blkcnt > fileblks:
            raise ParseError(f"rpm NDB: slot at byte {off} points outside the file")
        budget -= blkcnt
        if budget < 0:  # slots sharing blocks: reading each would cost up to (file size)^2 / 16
            raise ParseError(f"rpm NDB: blobs overlap (slot at byte {off})")
        yield pkgidx, _blob(data, pkgidx, blkoff, blkcnt)


def _blob(data: bytes, pkgidx: int, blkoff: int, blkcnt: int) -> bytes:
    start = blkoff * _BLK
    magic, idx, _tstamp, length = struct.unpack_from("<IIII", data, start)
    if magic != _HEAD_MAGIC or idx != pkgidx:
        raise ParseError(f"rpm NDB: bad blob head for package {pkgidx}")
    if blkcnt != (16 + length + 12 + _BLK - 1) // _BLK:
        raise ParseError(f"rpm NDB: blob length of package {pkgidx} does not match its slot")
    end = start + blkcnt * _BLK
    adler, tail_len, tail_magic = struct.unpack_from("<III", data, end - 12)
    if tail_magic != _TAIL_MAGIC or tail_len != length:
        raise ParseError(f"rpm NDB: bad blob tail for package {pkgidx}")
    if zlib.adler32(data[start:end - 12], 1) != adler:
        raise ParseError(f"rpm NDB: checksum mismatch in package {pkgidx}")
    return data[start + 16:start + 16 + length]
