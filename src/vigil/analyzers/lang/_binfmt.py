"""Just enough executable-format reading for the binary analyzers: section headers (name, address, file offset,
size) of ELF, PE (Windows) and Mach-O (macOS) files, with every read bounds-checked. Pure bytes in, ParseError on
a malformed header, nothing else escapes."""

from __future__ import annotations

import re
import struct

import msgspec

from vigil.analyzers.errors import ParseError

ELF_MAGIC = b"\x7fELF"


class Section(msgspec.Struct, frozen=True):
    name: str
    addr: int
    offset: int
    size: int
    nobits: bool
    type: int = 0  # ELF sh_type (2 = SHT_SYMTAB); 0 for PE and Mach-O
    link: int = 0  # ELF sh_link: for a symbol table, the index of its string table


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
        fmt, need = e + "IIQQQQI", 44
    else:
        shoff, = struct.unpack_from(e + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x2E)
        fmt, need = e + "IIIIIII", 28
    if shoff == 0 or shnum == 0:
        return []
    if shentsize < need or shnum > 65535 or shoff + shnum * shentsize > len(data):
        raise ParseError("ELF section table out of bounds")
    raw = []
    for i in range(shnum):
        name_off, sh_type, _flags, addr, off, size, link = struct.unpack_from(fmt, data, shoff + i * shentsize)
        raw.append((name_off, sh_type, addr, off, size, link))
    if shstrndx >= shnum:
        raise ParseError("ELF section name table index out of range")
    _, _, _, str_off, str_size, _ = raw[shstrndx]
    if str_off + str_size > len(data):
        raise ParseError("ELF section name table out of bounds")
    strtab = data[str_off:str_off + str_size]
    out = []
    for name_off, sh_type, addr, off, size, link in raw:
        end = strtab.find(b"\x00", name_off)
        name = strtab[name_off:end if end >= 0 else len(strtab)].decode("ascii", "replace")
        out.append(Section(name=name, addr=addr, offset=off, size=size, nobits=sh_type == 8, type=sh_type,
                           link=link))
    return out


def section_bytes(data: bytes, sec: Section) -> bytes:
    if sec.nobits:
        return b""
    if sec.offset + sec.size > len(data):
        raise ParseError(f"section {sec.name} out of bounds (truncated file?)")
    return data[sec.offset:sec.offset + sec.size]


def read_at_vaddr(data: bytes, sections: list[Section], addr: int, size: int) -> bytes:
    """Bytes at virtual address `addr` (through the section that contains it)."""
    for s in sections:
        if not s.nobits and s.addr and s.addr <= addr and addr + size <= s.addr + s.size:
            off = s.offset + (addr - s.addr)
            if off + size > len(data):
                break
            return data[off:off + size]
    raise ParseError(f"address {addr:#x} is not in any section")


_SHT_SYMTAB = 2
MAX_SYMBOL_DATA = 4096  # a version string is short; a symbol claiming more is not one


def elf_symbol_data(data: bytes, names: re.Pattern[bytes]) -> list[tuple[str, bytes]]:
    """(name, contents) of the ELF symbols in `.symtab` whose whole names `names` matches (it is searched over the
    NUL-separated string table, so it must not match NUL), each read through the section its st_shndx names. A
    stripped binary has no `.symtab` and gives []. Names are found in the string table first, so only the
    matching entries of a symbol table with many thousands are looked at."""
    if not is_elf(data):
        return []
    secs = elf_sections(data)
    e = "<" if data[5] == 1 else ">"
    wide = data[4] == 2
    out: list[tuple[str, bytes]] = []
    for sym in secs:
        if sym.type != _SHT_SYMTAB or sym.nobits or sym.link >= len(secs):
            continue
        strtab = section_bytes(data, secs[sym.link])
        # `names` matches within the NUL-separated table; a match must span one whole name
        wanted = {m.start(): m.group().decode("utf-8", "replace") for m in names.finditer(strtab)
                  if (m.start() == 0 or strtab[m.start() - 1] == 0) and (m.end() == len(strtab) or strtab[m.end()] == 0)}
        if not wanted:
            continue
        table = section_bytes(data, sym)
        entry = 24 if wide else 16
        for i in range(0, len(table) - entry + 1, entry):
            if wide:
                name_off, _info, _other, shndx, value, size = struct.unpack_from(e + "IBBHQQ", table, i)
            else:
                name_off, value, size, _info, _other, shndx = struct.unpack_from(e + "IIIBBH", table, i)
            name = wanted.get(name_off)
            if name is None or not 0 < size <= MAX_SYMBOL_DATA or not 0 < shndx < len(secs):
                continue
            home = secs[shndx]
            if home.nobits or not home.addr <= value or value + size > home.addr + home.size:
                continue
            off = home.offset + value - home.addr
            if off + size <= len(data):
                out.append((name, data[off:off + size]))
    return out


# --- PE and Mach-O: the same Section records, so read_at_vaddr and section lookups work on all three formats ---

PE_MAGIC = b"MZ"
_MACHO_MAGICS = {b"\xfe\xed\xfa\xce": (">", 32), b"\xce\xfa\xed\xfe": ("<", 32),
                 b"\xfe\xed\xfa\xcf": (">", 64), b"\xcf\xfa\xed\xfe": ("<", 64)}
_LC_SEGMENT, _LC_SEGMENT_64 = 0x1, 0x19
MAX_SECTIONS = 4096


def is_pe(data: bytes) -> bool:
    return data[:2] == PE_MAGIC


def is_macho(data: bytes) -> bool:
    return data[:4] in _MACHO_MAGICS


def sections(data: bytes) -> list[Section]:
    """The sections of an ELF, PE or Mach-O file ([] for anything else). PE section addresses include the image
    base; a Mach-O section is named "<segment>,<section>" ("__DATA,__dep_v0")."""
    if is_elf(data):
        return elf_sections(data)
    try:
        if is_pe(data):
            return _pe_sections(data)
        if is_macho(data):
            return _macho_sections(data)
    except (struct.error, IndexError, ValueError, ParseError):
        # "MZ" and the Mach-O magics also start files that are no executables of these formats (DOS programs,
        # Java class files share 0xCAFEBABE with fat binaries): no section table, nothing to read
        return []
    return []


def _pe_sections(data: bytes) -> list[Section]:
    # Microsoft PE/COFF specification: DOS stub -> "PE\0\0" -> COFF header -> optional header -> section table
    pe, = struct.unpack_from("<I", data, 0x3C)
    if data[pe:pe + 4] != b"PE\x00\x00":
        raise ParseError("MZ file without a PE header")
    nsec, = struct.unpack_from("<H", data, pe + 6)
    opt_size, = struct.unpack_from("<H", data, pe + 20)
    opt = pe + 24
    magic, = struct.unpack_from("<H", data, opt)
    if magic == 0x10B:
        image_base, = struct.unpack_from("<I", data, opt + 28)
    elif magic == 0x20B:
        image_base, = struct.unpack_from("<Q", data, opt + 24)
    else:
        raise ParseError(f"unknown PE optional header magic {magic:#x}")
    if nsec > MAX_SECTIONS:
        raise ParseError("PE section table too large")
    out = []
    table = opt + opt_size
    for i in range(nsec):
        raw_name, vsize, vaddr, raw_size, raw_ptr = struct.unpack_from("<8sIIII", data, table + 40 * i)
        name = raw_name.rstrip(b"\x00").decode("ascii", "replace")
        out.append(Section(name=name, addr=image_base + vaddr, offset=raw_ptr, size=min(vsize or raw_size, raw_size),
                           nobits=raw_size == 0))
    return out


def _macho_sections(data: bytes) -> list[Section]:
    # mach-o/loader.h: header, then `ncmds` load commands; LC_SEGMENT(_64) commands carry their sections
    e, bits = _MACHO_MAGICS[data[:4]]
    ncmds, = struct.unpack_from(e + "I", data, 16)
    pos = 32 if bits == 64 else 28
    if ncmds > MAX_SECTIONS:
        raise ParseError("Mach-O load command table too large")
    out = []
    for _ in range(ncmds):
        cmd, size = struct.unpack_from(e + "II", data, pos)
        if size < 8:
            raise ParseError("Mach-O load command of size < 8")
        if cmd in (_LC_SEGMENT, _LC_SEGMENT_64):
            wide = cmd == _LC_SEGMENT_64
            nsects, = struct.unpack_from(e + "I", data, pos + (64 if wide else 48))
            sec = pos + (72 if wide else 56)
            for _j in range(min(nsects, MAX_SECTIONS)):
                sectname, segname = data[sec:sec + 16], data[sec + 16:sec + 32]
                if wide:
                    addr, ssize, offset, _align, _reloff, _nreloc, flags = struct.unpack_from(
                        e + "QQIIIII", data, sec + 32)
                else:
                    addr, ssize, offset, _align, _reloff, _nreloc, flags = struct.unpack_from(
                        e + "IIIIIII", data, sec + 32)
                name = (segname.rstrip(b"\x00").decode("ascii", "replace") + "," +
                        sectname.rstrip(b"\x00").decode("ascii", "replace"))
                zerofill = (flags & 0xFF) in (0x1, 0xC, 0x12)  # S_ZEROFILL, S_GB_ZEROFILL, S_THREAD_LOCAL_ZEROFILL
                out.append(Section(name=name, addr=addr, offset=offset, size=ssize, nobits=zerofill or offset == 0))
                sec += 80 if wide else 68
        pos += size
    return out
