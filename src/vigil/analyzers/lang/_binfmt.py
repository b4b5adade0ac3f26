"""Just enough ELF reading for the binary analyzers: section headers (name, address, file offset, size) with
every read bounds-checked. Pure bytes in, ParseError on a malformed header, nothing else escapes."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vigil.analyzers.errors import ParseError

ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class Section:
    name: str
    addr: int
    offset: int
    size: int
    nobits: bool


def is_elf(data: bytes) -> bool:
    return data[:4] == ELF_MAGIC


def elf_sections(data: bytes) -> list[Section]:
    try:
        return _elf_sections(data)
    except (struct.error, IndexError, ValueError) as e:
        raise ParseError(f"truncated or malformed ELF header: {e}") from e


def _elf_sections(data: bytes) -> list[Section]:
    if len(data) < 0x34 or not is_elf(data):
        raise ParseError("not an ELF file or truncated")
    cls, enc = data[4], data[5]
    if cls not in (1, 2) or enc not in (1, 2):
        raise ParseError("unsupported ELF class or byte order")
    e = "<" if enc == 1 else ">"
    if cls == 2:
        shoff, = struct.unpack_from(e + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
        fmt, need = e + "IIQQQQ", 40
    else:
        shoff, = struct.unpack_from(e + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x2E)
        fmt, need = e + "IIIIII", 24
    if shoff == 0 or shnum == 0:
        return []
    if shentsize < need or shnum > 65535 or shoff + shnum * shentsize > len(data):
        raise ParseError("ELF section table out of bounds")
    raw = []
    for i in range(shnum):
        name_off, sh_type, _flags, addr, off, size = struct.unpack_from(fmt, data, shoff + i * shentsize)
        raw.append((name_off, sh_type, addr, off, size))
    if shstrndx >= shnum:
        raise ParseError("ELF section name table index out of range")
    _, _, _, str_off, str_size = raw[shstrndx]
    if str_off + str_size > len(data):
        raise ParseError("ELF section name table out of bounds")
    strtab = data[str_off:str_off + str_size]
    out = []
    for name_off, sh_type, addr, off, size in raw:
        end = strtab.find(b"\x00", name_off)
        name = strtab[name_off:end if end >= 0 else len(strtab)].decode("ascii", "replace")
        out.append(Section(name=name, addr=addr, offset=off, size=size, nobits=sh_type == 8))
    return out


def section_bytes(data: bytes, sec: Section) -> bytes:
    if sec.nobits:
        return b""
    if sec.offset + sec.size > len(data):
        raise ParseError(f"ELF section {sec.name} out of bounds (truncated file?)")
    return data[sec.offset:sec.offset + sec.size]


def read_at_vaddr(data: bytes, sections: list[Section], addr: int, size: int) -> bytes:
    """Bytes at virtual address `addr` (through the section that contains it)."""
    for s in sections:
        if not s.nobits and s.addr and s.addr <= addr and addr + size <= s.addr + s.size:
            off = s.offset + (addr - s.addr)
            if off + size > len(data):
                break
            return data[off:off + size]
    raise ParseError(f"address {addr:#x} is not in any ELF section")
