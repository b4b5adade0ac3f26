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


def make_pe(sections: list[tuple[str, int, bytes]], image_base: int = 0x400000) -> bytes:
    """A minimal PE32+ file: DOS header, "PE\\0\\0", COFF header, a 240-byte optional header and the section
    table; `sections` give (name, virtual address relative to the image base, contents)."""
    pe_off, opt_size = 0x80, 240
    table = pe_off + 24 + opt_size
    data = bytearray(table + 40 * len(sections))
    data[:2] = b"MZ"
    struct.pack_into("<I", data, 0x3C, pe_off)
    data[pe_off:pe_off + 4] = b"PE\x00\x00"
    struct.pack_into("<HHIIIHH", data, pe_off + 4, 0x8664, len(sections), 0, 0, 0, opt_size, 0x22)
    struct.pack_into("<H", data, pe_off + 24, 0x20B)
    struct.pack_into("<Q", data, pe_off + 24 + 24, image_base)
    for i, (name, rva, blob) in enumerate(sections):
        data += b"\x00" * (-len(data) % 512)  # the file alignment of real PE files
        off = len(data)
        data += blob
        struct.pack_into("<8sIIII", data, table + 40 * i, name.encode()[:8], len(blob), rva, len(blob), off)
    return bytes(data)


def make_macho(sections: list[tuple[str, str, int, bytes]]) -> bytes:
    """A minimal 64-bit little-endian Mach-O file with one LC_SEGMENT_64 per (segment, section, address, data)."""
    cmds = bytearray()
    payload_at = 32 + sum(72 + 80 for _ in sections)
    blobs = bytearray()
    for seg, sect, addr, blob in sections:
        off = payload_at + len(blobs)
        blobs += blob
        cmd = struct.pack("<II16sQQQQiiII", 0x19, 72 + 80, seg.encode(), addr, len(blob), off, len(blob), 7, 7, 1, 0)
        cmd += struct.pack("<16s16sQQIIIIIIII", sect.encode(), seg.encode(), addr, len(blob), off, 0, 0, 0, 0, 0,
                           0, 0)
        cmds += cmd
    hdr = struct.pack("<IiiIIIII", 0xFEEDFACF, 0x01000007, 3, 2, len(sections), len(cmds), 0, 0)
    return bytes(hdr + cmds + blobs)


def old_go_buildinfo_in(fmt: str, version: str, modinfo: str) -> bytes:
    """The pre-1.18 build info (as old_go_buildinfo) in a PE ("pe") or Mach-O ("macho") file."""
    sentinel = b"0" * 16
    mi = sentinel + modinfo.encode() + sentinel
    v = version.encode()
    base, data_rva, bi_rva = 0x400000, 0x2000, 0x1000
    data_addr = base + data_rva
    strings_at = data_addr + 32
    data = struct.pack("<QQ", strings_at, len(v)) + struct.pack("<QQ", strings_at + len(v), len(mi)) + v + mi
    header = b"\xff Go buildinf:" + bytes([8, 0]) + struct.pack("<QQ", data_addr, data_addr + 16)
    if fmt == "pe":
        return make_pe([(".data", bi_rva, header), (".rdata", data_rva, data)], image_base=base)
    return make_macho([("__DATA", "__go_buildinfo", base + bi_rva, header), ("__DATA", "__data", data_addr, data)])
