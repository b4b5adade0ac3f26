"""The rpm header blob every rpm database stores per package (the header of the .rpm file without its lead and
signature): a big-endian intro (index entry count `il`, data length `dl`), `il` 16-byte index entries (tag, type,
offset into the data store, count), then the `dl`-byte data store. Format: rpm's docs/manual/format.md and
hregions.md; the immutable-region tag (63) is an ordinary entry here and is not needed for reading.

Only the tags a scanner needs are decoded; every offset and count is checked against the blob so a corrupt header
raises ParseError instead of reading out of bounds.
"""

from __future__ import annotations

import struct

import msgspec

from vigil.analyzers.errors import ParseError

# Tag numbers (rpm's include/rpm/rpmtag.h).
NAME, VERSION, RELEASE, EPOCH = 1000, 1001, 1002, 1003
VENDOR, LICENSE, ARCH, SOURCERPM = 1011, 1014, 1022, 1044
OLDFILENAMES, DIRINDEXES, BASENAMES, DIRNAMES = 1027, 1116, 1117, 1118
MODULARITYLABEL = 5096

# Entry types.
_INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 6, 8, 9

_STRING_TAGS = {NAME, VERSION, RELEASE, VENDOR, LICENSE, ARCH, SOURCERPM, MODULARITYLABEL}
_ARRAY_TAGS = {OLDFILENAMES, BASENAMES, DIRNAMES}
_WANTED = _STRING_TAGS | _ARRAY_TAGS | {EPOCH, DIRINDEXES}

# rpm's own header sanity limits (lib/header.c hdrchkTags/hdrchkData): at most 0xffff entries, 256 MiB of data.
MAX_ENTRIES = 0xFFFF
MAX_DATA = 256 * 1024 * 1024


class RpmHeader(msgspec.Struct, frozen=True):  # a Struct: a dataclass costs ~1 ms to define (every RPM image scan)
    name: str
    version: str
    release: str
    epoch: int | None
    arch: str
    sourcerpm: str
    license: str
    vendor: str
    modularity_label: str
    files: tuple[str, ...]


def _strings(store: bytes, offset: int, count: int) -> list[str]:
    out: list[str] = []
    pos = offset
    for _ in range(count):
        end = store.find(b"\x00", pos)
        if end < 0:
            raise ParseError("rpm header: unterminated string")
        out.append(store[pos:end].decode("utf-8", errors="replace"))
        pos = end + 1
    return out


def parse_header(blob: bytes) -> RpmHeader:
    if len(blob) < 8:
        raise ParseError("rpm header: truncated intro")
    il, dl = struct.unpack_from(">II", blob, 0)
    if il < 1 or il > MAX_ENTRIES or dl > MAX_DATA:
        raise ParseError(f"rpm header: implausible size ({il} entries, {dl} data bytes)")
    data_start = 8 + 16 * il
    if data_start + dl > len(blob):
        raise ParseError(f"rpm header: {il} entries and {dl} data bytes exceed the {len(blob)}-byte blob")
    store = blob[data_start:data_start + dl]
    strs: dict[int, str] = {}
    arrays: dict[int, list[str]] = {}
    ints: dict[int, list[int]] = {}
    for i in range(il):
        tag, typ, off, cnt = struct.unpack_from(">IIiI", blob, 8 + 16 * i)
        if tag not in _WANTED:
            continue
        if off < 0 or off >= dl or cnt < 1 or cnt > dl:
            raise ParseError(f"rpm header: tag {tag} points outside the data store")
        if typ == _INT32:
            if off + 4 * cnt > dl:
                raise ParseError(f"rpm header: tag {tag} runs past the data store")
            ints[tag] = list(struct.unpack_from(f">{cnt}i", store, off))
        elif typ in (_STRING, _I18NSTRING, _STRING_ARRAY):
            # a STRING has count 1; an I18NSTRING holds one string per locale, the first is the C locale's
            values = _strings(store, off, 1 if typ == _STRING else cnt)
            if tag in _ARRAY_TAGS:
                arrays[tag] = values
            else:
                strs[tag] = values[0]
    name = strs.get(NAME, "")
    if not name:
        raise ParseError("rpm header without a NAME")
    epochs = ints.get(EPOCH)
    return RpmHeader(
        name=name,
        version=strs.get(VERSION, ""),
        release=strs.get(RELEASE, ""),
        epoch=epochs[0] if epochs else None,
        arch=strs.get(ARCH, ""),
        sourcerpm=strs.get(SOURCERPM, ""),
        license=strs.get(LICENSE, ""),
        vendor=strs.get(VENDOR, ""),
        modularity_label=strs.get(MODULARITYLABEL, ""),
        files=_files(arrays, ints),
    )


def _files(arrays: dict[int, list[str]], ints: dict[int, list[int]]) -> tuple[str, ...]:
    """Installed paths, relative (no leading "/"): rpm >= 4.0 stores them compressed as DIRNAMES (with trailing
    "/") + BASENAMES indexed by DIRINDEXES; older headers carry OLDFILENAMES."""
    base = arrays.get(BASENAMES)
    if base:
        dirs = arrays.get(DIRNAMES, [])
        idx = ints.get(DIRINDEXES, [])
        if len(idx) != len(base):
            raise ParseError("rpm header: DIRINDEXES and BASENAMES differ in length")
        out = []
        for b, i in zip(base, idx, strict=True):
            if not 0 <= i < len(dirs):
                raise ParseError("rpm header: DIRINDEXES points past DIRNAMES")
            out.append((dirs[i] + b).lstrip("/"))
        return tuple(out)
    return tuple(p.lstrip("/") for p in arrays.get(OLDFILENAMES, []))
