"""Go binaries: the build information the Go linker embeds (`go version -m` shows the same data).

Format (Go's src/debug/buildinfo/buildinfo.go): a 32-byte header starting with the magic "\\xff Go buildinf:"
(16-byte aligned, in ELF section `.go.buildinfo`; anywhere in the data of Mach-O/PE files), then
- byte 14 pointer size, byte 15 flags: bit 0 big-endian, bit 1 "inline strings" (Go >= 1.18);
- inline format: two uvarint-length-prefixed strings follow the header: the Go version and the module info;
- old format (Go 1.13-1.17): at offset 16 two pointers to Go string headers (data pointer, length) holding the
  same two strings; they are virtual addresses, resolved through the ELF section table (ELF only).
Module info ("modinfo") is wrapped in two 16-byte sentinels and has tab-separated lines: `path`, `mod` (main
module), `dep` (dependency path, version, sum), `=>` (replacement of the line before), `build` (settings).

Packages: the Go version as "stdlib" ("go1.19.8 X:boringcrypto" → "v1.19.8"), the main module (relationship
root, version "" when "(devel)"), every dep (its replacement's path/version when replaced).
"""

from __future__ import annotations

import re
import struct

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._binfmt import elf_sections, is_elf, read_at_vaddr, section_bytes
from vigil.analyzers.lang._common import package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import GO, Application, Package

APP_TYPE = "gobinary"
MAGIC = b"\xff Go buildinf:"
_BINARY_MAGICS = (b"\x7fELF", b"MZ", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                  b"\xcf\xfa\xed\xfe")
_GO_VERSION = re.compile(r"^go(\d+(?:\.\d+){0,2})")


def _uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    x = shift = 0
    for i in range(10):
        if pos + i >= len(buf):
            raise ParseError("Go build info: truncated varint")
        b = buf[pos + i]
        x |= (b & 0x7F) << shift
        if b < 0x80:
            return x, pos + i + 1
        shift += 7
    raise ParseError("Go build info: varint overflow")


def _find_header(data: bytes) -> int:
    """Offset of the buildinfo header: in `.go.buildinfo` for ELF, else the first 16-aligned magic."""
    if is_elf(data):
        for s in elf_sections(data):
            if s.name == ".go.buildinfo":
                sec = section_bytes(data, s)
                i = sec.find(MAGIC)
                return s.offset + i if i >= 0 else -1
    i = data.find(MAGIC)
    while i >= 0 and i % 16:
        i = data.find(MAGIC, i + 1)
    return i


def _read_strings(data: bytes, h: int) -> tuple[str, str]:
    if h + 32 > len(data):
        raise ParseError("Go build info: truncated header")
    ptr_size, flags = data[h + 14], data[h + 15]
    if flags & 2:
        pos = h + 32
        n, pos = _uvarint(data, pos)
        if pos + n > len(data):
            raise ParseError("Go build info: truncated version string")
        version = data[pos:pos + n]
        pos += n
        n, pos = _uvarint(data, pos)
        if pos + n > len(data):
            raise ParseError("Go build info: truncated module info")
        modinfo = data[pos:pos + n]
    else:
        if ptr_size not in (4, 8):
            raise ParseError(f"Go build info: bad pointer size {ptr_size}")
        if not is_elf(data):
            raise ParseError("Go build info: pre-1.18 format is only read from ELF binaries")
        e = ">" if flags & 1 else "<"
        pf = e + ("Q" if ptr_size == 8 else "I")
        secs = elf_sections(data)

        def read_string(ptr_addr_off: int) -> bytes:
            try:
                (sh_addr,) = struct.unpack_from(pf, data, ptr_addr_off)
                hdr = read_at_vaddr(data, secs, sh_addr, 2 * ptr_size)
                s_addr, s_len = struct.unpack_from(e + ("QQ" if ptr_size == 8 else "II"), hdr, 0)
            except struct.error:
                raise ParseError("Go build info: truncated pointer") from None
            if s_len > 16 * 1024 * 1024:
                raise ParseError("Go build info: implausible string length")
            return read_at_vaddr(data, secs, s_addr, s_len) if s_len else b""

        version = read_string(h + 16)
        modinfo = read_string(h + 16 + ptr_size)
    return version.decode("utf-8", "replace"), modinfo.decode("utf-8", "replace")


def stdlib_version(go_version: str) -> str:
    """"go1.19.8 X:boringcrypto" -> "v1.19.8"; "devel ..." / unparsable -> ""."""
    m = _GO_VERSION.match(go_version.strip().split(" ", 1)[0])
    return "v" + m.group(1) if m else ""


def parse_gobinary(data: bytes, path: str = "") -> Application | None:
    """None when the file is not a Go binary (no build info)."""
    if not data.startswith(_BINARY_MAGICS):
        return None
    h = _find_header(data)
    if h < 0:
        return None
    go_version, modinfo = _read_strings(data, h)
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        modinfo = modinfo[16:-16]
    main: tuple[str, str] | None = None
    deps: list[list[str]] = []
    for line in modinfo.split("\n"):
        f = line.split("\t")
        if f[0] == "mod" and len(f) >= 3:
            main = (f[1], f[2])
        elif f[0] == "dep" and len(f) >= 3:
            deps.append([f[1], f[2]])
        elif f[0] == "=>" and len(f) >= 3 and deps and not f[1].startswith((".", "/")):
            # a module replacement; a local directory replacement ("=> ../greet (devel)") keeps the required
            # module's identity, which is what advisories name (Trivy would report "../greet" with no version)
            deps[-1] = [f[1], f[2]]
    pkgs: list[Package] = []
    dep_ids: list[str] = []
    for name, version in deps:
        if name and version:
            pkgs.append(package(GO, name, version, file_path=path, relationship="unknown"))
            dep_ids.append(f"{name}@{version}")
    std = stdlib_version(go_version)
    if std:
        pkgs.append(package(GO, "stdlib", std, file_path=path, relationship="unknown"))
        dep_ids.append(f"stdlib@{std}")
    if main is not None and main[0]:
        ver = "" if main[1] == "(devel)" else main[1]
        pkgs.append(package(GO, main[0], ver, file_path=path, relationship="root", depends_on=dep_ids))
    pkgs.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(pkgs))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_gobinary(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app is not None and app.packages else ())


ANALYZER = Analyzer(
    name="gobinary",
    version=1,
    kind="installed",
    executables=True,
    analyze=_analyze,
)
