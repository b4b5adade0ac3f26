"""Values of a Berkeley DB hash database (rpm's `Packages` on RHEL/CentOS 7-8, Amazon Linux 2, SLES < 15 SP3),
read without libdb.

Layout facts (Berkeley DB's dbinc/db_page.h and hash.h): page 0 is the metadata page (magic 0x061561 at byte 12 in
the file's byte order, which is how the order is detected; page size at 20; encryption algorithm at 24; last page
number at 32). Every page starts with a 26-byte header: page number (8), prev (12), next (16), entry count (20),
free-area offset (22), level (24), type (25). Hash pages (types 2 and 13) hold `entries` 2-byte item offsets right
after the header, in key/value pairs; an item is H_KEYDATA (type byte 1, bytes up to the previous item) or
H_OFFPAGE (type 3: first overflow page at +4, total length at +8). Overflow pages (type 7) chain through `next`
and carry their byte count in the free-area field.

Rather than walking buckets, every page is scanned once and every value on a hash page is taken (rpm stores one
header per key, keys are header numbers). Loops are bounded: each page is read at most once per overflow chain,
and a chain longer than the file or a cycle raises ParseError.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from vigil.analyzers.errors import ParseError

HASH_MAGIC = 0x061561
_HDR = 26
_P_HASH_UNSORTED, _P_OVERFLOW, _P_HASHMETA, _P_HASH = 2, 7, 8, 13
_H_KEYDATA, _H_OFFPAGE = 1, 3


def is_bdb_hash(data: bytes) -> bool:
    if len(data) < 16:
        return False
    return HASH_MAGIC in (struct.unpack_from("<I", data, 12)[0], struct.unpack_from(">I", data, 12)[0])


def bdb_values(data: bytes) -> Iterator[bytes]:
    """Yield every value stored in the hash database `data`."""
    if len(data) < 512 or not is_bdb_hash(data):
        raise ParseError("not a Berkeley DB hash database")
    e = "<" if struct.unpack_from("<I", data, 12)[0] == HASH_MAGIC else ">"
    pagesize = struct.unpack_from(e + "I", data, 20)[0]
    if pagesize < 512 or pagesize > 65536 or pagesize & (pagesize - 1):
        raise ParseError(f"Berkeley DB: invalid page size {pagesize}")
    if data[24] != 0:
        raise ParseError("Berkeley DB: encrypted databases are not supported")
    if data[25] != _P_HASHMETA:
        raise ParseError("Berkeley DB: not a hash database")
    last = struct.unpack_from(e + "I", data, 32)[0]
    npages = min(last + 1, len(data) // pagesize)
    u16 = e + "H"
    used: set[int] = set()  # overflow pages already read: each belongs to one item (bounds the work by the file)
    for pgno in range(1, npages):
        base = pgno * pagesize
        if data[base + 25] not in (_P_HASH, _P_HASH_UNSORTED):
            continue
        entries = struct.unpack_from(u16, data, base + 20)[0]
        if _HDR + 2 * entries > pagesize:
            raise ParseError(f"Berkeley DB: page {pgno} claims {entries} entries")
        offsets = struct.unpack_from(f"{e}{entries}H", data, base + _HDR)
        for i in range(1, entries, 2):  # odd slots are values (even ones their keys)
            off = offsets[i]
            end = offsets[i - 1]  # items grow down from the page end: a value ends where its key begins
            if not _HDR <= off < pagesize or not off < end <= pagesize:
                raise ParseError(f"Berkeley DB: page {pgno} has an item outside the page")
            kind = data[base + off]
            if kind == _H_KEYDATA:
                yield data[base + off + 1:base + end]
            elif kind == _H_OFFPAGE:
                if off + 12 > pagesize:
                    raise ParseError(f"Berkeley DB: page {pgno} has a truncated overflow reference")
                first, total = struct.unpack_from(e + "II", data, base + off + 4)
                yield _overflow(data, e, pagesize, npages, first, total, used)
            # duplicates (H_DUPLICATE/H_OFFDUP) do not occur in rpm's Packages: skipped


def _overflow(data: bytes, e: str, pagesize: int, npages: int, pgno: int, total: int, used: set[int]) -> bytes:
    if total > npages * pagesize:
        raise ParseError(f"Berkeley DB: overflow item of {total} bytes is larger than the file")
    parts: list[bytes] = []
    got = 0
    seen: set[int] = set()
    while got < total:
        if pgno == 0 or pgno >= npages or pgno in seen:
            raise ParseError("Berkeley DB: broken overflow page chain")
        if pgno in used:
            raise ParseError(f"Berkeley DB: overflow page {pgno} is shared by two items")
        seen.add(pgno)
        used.add(pgno)
        base = pgno * pagesize
        if data[base + 25] != _P_OVERFLOW:
            raise ParseError(f"Berkeley DB: page {pgno} is not an overflow page")
        nxt = struct.unpack_from(e + "I", data, base + 16)[0]
        length = struct.unpack_from(e + "H", data, base + 22)[0]
        if length > pagesize - _HDR:
            raise ParseError(f"Berkeley DB: overflow page {pgno} claims {length} bytes")
        take = min(length, total - got)
        parts.append(data[base + _HDR:base + _HDR + take])
        got += take
        if length == 0:
            raise ParseError(f"Berkeley DB: empty overflow page {pgno}")
        pgno = nxt
    return b"".join(parts)
