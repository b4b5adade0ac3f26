"""Go binaries: the build information the Go linker embeds (`go version -m` shows the same data).

Format (Go's src/debug/buildinfo/buildinfo.go): a 32-byte header starting with the magic "\\xff Go buildinf:"
(16-byte aligned, in ELF section `.go.buildinfo`; anywhere in the data of Mach-O/PE files), then
- byte 14 pointer size, byte 15 flags: bit 0 big-endian, bit 1 "inline strings" (Go >= 1.18);
- inline format: two uvarint-length-prefixed strings follow the header: the Go version and the module info;
- old format (Go 1.13-1.17): at offset 16 two pointers to Go string headers (data pointer, length) holding the
  same two strings; they are virtual addresses, resolved through the section table of the ELF, PE or Mach-O file.
Module info ("modinfo") is wrapped in two 16-byte sentinels and has tab-separated lines: `path`, `mod` (main
module), `dep` (dependency path, version, sum), `=>` (replacement of the line before), `build` (settings).

Packages: the Go version as "stdlib" ("go1.19.8 X:boringcrypto" → "v1.19.8"), the main module (relationship
root), every dep (its replacement's path/version when replaced). The main module's version is the module line's
when it is a release (`go install m@v1.2.3`); a binary built from a checkout says "(devel)" or a pseudo-version,
and then a version stamped with `-ldflags "-X main.version=v1.2.3"` (kept in the `build -ldflags=…` setting) is
used, chosen as Trivy chooses: keys ending in ".version"/".ver" with a semver value; a key under
"<module>/cmd/" first, then the prefixes main, common, version and cmd, then any; two different values in the
chosen group give no version. A binary built with `-trimpath` may lack the `-ldflags` setting (a Go bug); then
the same choice is made among the linker's "<key>.str" symbols of an unstripped ELF file, as Trivy does.
Otherwise "(devel)" gives "".
"""

from __future__ import annotations

import re
import struct

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._binfmt import elf_symbol_data, is_elf, read_at_vaddr, section_bytes, sections
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
        for s in sections(data):
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
        e = ">" if flags & 1 else "<"
        pf = e + ("Q" if ptr_size == 8 else "I")
        secs = sections(data)
        if not secs:
            raise ParseError("Go build info: pre-1.18 format in a file with no section table")

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


_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
_PSEUDO = re.compile(r"(^|[.-])(0\.)?\d{14}-[0-9a-f]{12}(\+incompatible)?$")
_DEFAULT_PREFIXES = frozenset({"main", "common", "version", "cmd"})


def ldflags_version(module: str, ldflags: str) -> str:
    """The version set with `-X key=value` in a -ldflags value, "" when none or ambiguous (see the docstring)."""
    import shlex  # a binary with -ldflags only

    try:
        words = shlex.split(ldflags)
    except ValueError:
        return ""
    pairs: list[str] = []
    for i, w in enumerate(words):
        if w == "-X" and i + 1 < len(words):
            pairs.append(words[i + 1])
        elif w.startswith("-X="):
            pairs.append(w[3:])
    split = [p.partition("=") for p in pairs]
    return _choose(module, [(key, val) for key, sep, val in split if sep])


def _choose(module: str, pairs: list[tuple[str, str]]) -> str:
    """Trivy's choice among (key, value) version stamps: keys ending in ".version"/".ver" with a semver value; a
    key under "<module>/cmd/" first, then the prefixes main, common, version and cmd, then any; two different
    values in the chosen group give no version."""
    tiers: list[list[str]] = [[], [], []]
    for key, val in pairs:
        key, val = key.strip("'\""), val.strip("'\"")
        if not key.lower().endswith((".version", ".ver")) or not _SEMVER.match(val):
            continue
        prefix = key.rsplit("/", 1)[-1].split(".", 1)[0].lower()
        tier = 0 if key.startswith(module + "/cmd/") else 1 if prefix in _DEFAULT_PREFIXES else 2
        if val not in tiers[tier]:
            tiers[tier].append(val)
    for found in tiers:
        if found:
            return found[0] if len(found) == 1 else ""
    return ""


# The linker keeps each `-X key=value` string in a symbol named "key.str". With -trimpath, Go (before 1.22.x's
# fix of golang/go#63432) leaves `-ldflags` out of the build info, but an unstripped binary still has the symbols.
_VERSION_SYMBOL = re.compile(rb"[^\x00]*\.[Vv][Ee][Rr](?:[Ss][Ii][Oo][Nn])?\.str")


def symtab_version(data: bytes, module: str) -> str:
    """The version stamped with `-X …version=` read from the ELF symbol table ("" when stripped or none)."""
    try:
        syms = elf_symbol_data(data, _VERSION_SYMBOL)
    except ParseError:
        return ""
    return _choose(module, [(name[:-len(".str")], raw.rstrip(b"\x00").decode("utf-8", "replace"))
                            for name, raw in syms])


def _main_version(module: str, version: str, ldflags: str, data: bytes) -> str:
    version = "" if version == "(devel)" else version
    if version and not _PSEUDO.search(version):
        return version
    return ldflags_version(module, ldflags) or symtab_version(data, module) or version


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
    ldflags = ""
    for line in modinfo.split("\n"):
        f = line.split("\t")
        if f[0] == "build" and len(f) >= 2 and f[1].startswith("-ldflags="):
            ldflags = f[1][len("-ldflags="):]
            if len(ldflags) >= 2 and ldflags[0] == ldflags[-1] == '"':
                ldflags = ldflags[1:-1].replace('\\"', '"')
        elif f[0] == "mod" and len(f) >= 3:
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
        ver = _main_version(main[0], main[1], ldflags, data)
        pkgs.append(package(GO, main[0], ver, file_path=path, relationship="root", depends_on=dep_ids))
    pkgs.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(pkgs))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_gobinary(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app is not None and app.packages else ())


ANALYZER = Analyzer(
    name="gobinary",
    version=2,
    kind="installed",
    executables=True,
    analyze=_analyze,
)
