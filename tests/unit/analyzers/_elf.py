"""Builds minimal ELF64 little-endian files with the given sections, for binary-analyzer tests (cargo-auditable
`.dep-v0` and pre-Go-1.18 `.go.buildinfo` cannot be produced by the toolchains available here)."""

from __future__ import annotations

import struct
import zlib

_SH = "<IIQQQQIIQQ"


def make_elf(sections: list[tuple[str, int, bytes]]) -> bytes:
    names = b"\x00" + b"".join(n.encode() + b"\x00" for n, _, _ in sections) + b".shstrtab\x00"
    data = bytearray(64)
    offs = []
    for _, _, blob in sections:
        offs.append(len(data))
        data += blob
    str_off = len(data)
    data += names
    while len(data) % 8:
        data += b"\x00"
    shoff = len(data)
    sh = [struct.pack(_SH, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    pos = 1
    for (name, addr, blob), off in zip(sections, offs, strict=True):
        sh.append(struct.pack(_SH, pos, 1, 2, addr, off, len(blob), 0, 0, 1, 0))
        pos += len(name) + 1
    sh.append(struct.pack(_SH, pos, 3, 0, 0, str_off, len(names), 0, 0, 1, 0))
    data += b"".join(sh)
    hdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\x00" * 8 + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff, 0, 64, 56, 0, 64, len(sh), len(sh) - 1)
    data[:64] = hdr
    return bytes(data)


def dep_v0(packages: list[dict[str, object]]) -> bytes:
    import json

    return zlib.compress(json.dumps({"packages": packages}).encode())


def old_go_buildinfo(version: str, modinfo: str, data_addr: int = 0x500000, bi_addr: int = 0x400000) -> bytes:
    """An ELF whose .go.buildinfo uses the pre-1.18 pointer format (ptr size 8, little-endian)."""
    sentinel = b"0" * 16
    mi = sentinel + modinfo.encode() + sentinel
    v = version.encode()
    strings_at = data_addr + 32
    data = struct.pack("<QQ", strings_at, len(v)) + struct.pack("<QQ", strings_at + len(v), len(mi)) + v + mi
    header = b"\xff Go buildinf:" + bytes([8, 0]) + struct.pack("<QQ", data_addr, data_addr + 16)
    return make_elf([(".go.buildinfo", bi_addr, header), (".data", data_addr, data)])
