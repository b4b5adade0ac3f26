"""Go binaries (a real go1.19.8 build, RECIPE.md) and cargo-auditable Rust binaries (synthesised ELF)."""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest
from tests.unit.analyzers._elf import (
    dep_v0,
    make_elf,
    make_macho,
    make_pe,
    old_go_buildinfo,
    old_go_buildinfo_in,
)

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang import gobinary, rustbinary
from vigil.analyzers.registry import AnalysisInput, run_guarded

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "installed"
MODINFO = ("path\texample.com/app\nmod\texample.com/app\tv1.2.0\th1:x=\n"
           "dep\tgolang.org/x/net\tv0.7.0\th1:y=\n"
           "dep\tgithub.com/old/mod\tv1.0.0\th1:z=\n=>\tgithub.com/fork/mod\tv1.0.1\th1:w=\n"
           "build\t-compiler=gc\n")


def test_real_go_binary_golden(golden) -> None:  # type: ignore[no-untyped-def]
    app = gobinary.parse_gobinary((FIX / "gobinary" / "hello").read_bytes(), "usr/local/bin/hello")
    assert app is not None
    golden.check("analyzers/gobinary/hello_go1_19", app)
    by = {p.name: p for p in app.packages}
    assert by["stdlib"].version == "v1.19.8" and by["stdlib"].purl == "pkg:golang/stdlib@v1.19.8"
    # local directory replacement keeps the required module's identity
    assert by["example.com/greet"].version == "v0.1.0"
    main = by["example.com/hello"]
    assert main.relationship == "root" and main.version == ""  # "(devel)"
    assert set(main.depends_on) == {"example.com/greet@v0.1.0", "stdlib@v1.19.8"}


def test_old_pointer_format_and_replacements(golden) -> None:  # type: ignore[no-untyped-def]
    app = gobinary.parse_gobinary(old_go_buildinfo("go1.16.15 X:boringcrypto", MODINFO), "bin/app")
    assert app is not None
    golden.check("analyzers/gobinary/old_pointer_format", app)
    ids = {p.id for p in app.packages}
    assert ids == {"example.com/app@v1.2.0", "golang.org/x/net@v0.7.0", "github.com/fork/mod@v1.0.1",
                   "stdlib@v1.16.15"}


@pytest.mark.parametrize(("go", "std"), [("go1.19.8", "v1.19.8"), ("go1.21.0 X:boringcrypto", "v1.21.0"),
                                         ("go1.20", "v1.20"), ("devel +abc", ""), ("go1.22rc1", "v1.22")])
def test_stdlib_version(go: str, std: str) -> None:
    assert gobinary.stdlib_version(go) == std


def test_not_go_and_truncated() -> None:
    assert gobinary.parse_gobinary(b"#!/bin/sh\necho hi\n") is None
    assert gobinary.parse_gobinary(make_elf([(".text", 0x1000, b"\x90" * 32)])) is None
    real = (FIX / "gobinary" / "hello").read_bytes()
    res = run_guarded(gobinary.ANALYZER, AnalysisInput(path="x", data=real[:5000]))
    assert res.unknowns and "internal error" not in res.unknowns[0].reason
    with pytest.raises(ParseError):
        gobinary.parse_gobinary(b"\x7fELF" + b"\x02\x01" + b"\x00" * 20)


RUST_PKGS = [
    {"name": "myapp", "version": "0.1.0", "source": "local", "dependencies": [1, 2], "root": True},
    {"name": "regex", "version": "1.5.4", "source": "crates.io", "dependencies": [3]},
    {"name": "cc", "version": "1.0.73", "source": "crates.io", "kind": "build"},
    {"name": "memchr", "version": "2.4.1", "source": "crates.io"},
]


def test_cargo_auditable_golden(golden) -> None:  # type: ignore[no-untyped-def]
    elf = make_elf([(".text", 0x1000, b"\x90" * 16), (".dep-v0", 0, dep_v0(RUST_PKGS))])
    app = rustbinary.parse_rustbinary(elf, "usr/bin/myapp")
    assert app is not None
    golden.check("analyzers/rustbinary/auditable", app)
    by = {p.name: p for p in app.packages}
    assert "cc" not in by  # build-only dependency
    assert by["myapp"].relationship == "root" and by["myapp"].depends_on == ("regex@1.5.4",)
    assert by["regex"].depends_on == ("memchr@2.4.1",) and by["regex"].purl == "pkg:cargo/regex@1.5.4"


def test_cargo_auditable_bad_data() -> None:
    assert rustbinary.parse_rustbinary(make_elf([(".text", 0x1000, b"x")])) is None
    assert rustbinary.parse_rustbinary(b"MZ not elf") is None
    for blob in (b"not zlib", __import__("zlib").compress(b"[1]"), __import__("zlib").compress(b"{")):
        with pytest.raises(ParseError):
            rustbinary.parse_rustbinary(make_elf([(".dep-v0", 0, blob)]))
    bomb = __import__("zlib").compress(b" " * (rustbinary.MAX_JSON + 10))
    with pytest.raises(ParseError, match="expands beyond"):
        rustbinary.parse_rustbinary(make_elf([(".dep-v0", 0, bomb)]))



@pytest.mark.parametrize("fmt", ["pe", "macho"])
def test_old_pointer_format_in_pe_and_macho(fmt: str) -> None:
    """Go before 1.18 points at its build info strings by virtual address: resolved through the PE and Mach-O
    section tables too (Trivy reads Windows and macOS binaries of old Go releases)."""
    app = gobinary.parse_gobinary(old_go_buildinfo_in(fmt, "go1.15.2", MODINFO), "bin/app")
    assert app is not None
    assert {(p.name, p.version) for p in app.packages} == {
        ("example.com/app", "v1.2.0"), ("golang.org/x/net", "v0.7.0"), ("github.com/fork/mod", "v1.0.1"),
        ("stdlib", "v1.15.2")}


@pytest.mark.parametrize(("module_version", "ldflags", "want"), [
    ("(devel)", '"-w -X main.version=v1.0.0"', "v1.0.0"),  # Trivy's main-version-via-ldflags.elf
    ("v0.0.0-20210121094942-22b2f8951d46", "\"-X 'main.version=1.2.3'\"", "1.2.3"),  # pseudo-version loses
    ("v1.0.1-0.20220426205730-d0a4cdb22955", '"-X=github.com/x/app/cmd/app.version=v1.5.0 -X main.version=v9.0.0"',
     "v1.5.0"),  # a key under <module>/cmd/ first
    ("v1.2.3", '"-X main.version=v1.2.4"', "v1.2.3"),  # a release version wins
    ("(devel)", '"-X main.version=v1.0.0 -X common.Version=v2.0.0"', ""),  # two in one group: no guess
    ("(devel)", '"-X main.version=notsemver -X main.commit=abc"', ""),
])
def test_main_version_from_ldflags(module_version: str, ldflags: str, want: str) -> None:
    modinfo = (f"path\tgithub.com/x/app\nmod\tgithub.com/x/app\t{module_version}\t\n"
               f"build\t-ldflags={ldflags}\n")
    elf = make_elf([(".go.buildinfo", 0x1000, _inline_buildinfo("go1.22.1", modinfo))])
    app = gobinary.parse_gobinary(elf, "bin/app")
    assert app is not None
    assert {p.name: p.version for p in app.packages}["github.com/x/app"] == want


def _inline_buildinfo(version: str, modinfo: str) -> bytes:
    def uvarint(n: int) -> bytes:
        out = bytearray()
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        return bytes([*out, n])

    mi = ("0" * 16 + modinfo + "\n" + "0" * 16).encode()
    return (b"\xff Go buildinf:" + bytes([8, 2]) + b"\x00" * 16 + uvarint(len(version)) + version.encode()
            + uvarint(len(mi)) + mi)


@pytest.mark.parametrize("fmt", ["pe", "macho"])
def test_cargo_auditable_in_pe_and_macho(fmt: str) -> None:
    blob = dep_v0(RUST_PKGS)
    exe = (make_pe([(".text", 0x1000, b"\x90" * 16), (".dep-v0", 0x2000, blob)]) if fmt == "pe"
           else make_macho([("__TEXT", "__text", 0x1000, b"\x90" * 16), ("__DATA", ".dep-v0", 0x2000, blob)]))
    app = rustbinary.parse_rustbinary(exe, "bin/myapp.exe")
    assert app is not None
    assert {(p.name, p.version) for p in app.packages} == {("myapp", "0.1.0"), ("regex", "1.5.4"),
                                                           ("memchr", "2.4.1")}


_TRIVY_ELF = Path(__file__).resolve().parents[2] / "data" / "trivy" / "gobinary" / "main-version-via-ldflags.elf.xz"
_MODULE = "github.com/aquasecurity/test"


def _trivy_elf() -> bytes:
    return lzma.decompress(_TRIVY_ELF.read_bytes())


def _same_length(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) >= 1
    return data.replace(old, new.ljust(len(old), b"_"))


def test_main_version_from_the_elf_symbol_table_when_trimpath_hid_ldflags() -> None:
    # Trivy's fixture, built with -ldflags "-X main.version=v1.0.0": the version is in the build info's
    # -ldflags setting and in the linker's "main.version.str" symbol.
    data = _trivy_elf()
    assert gobinary.symtab_version(data, _MODULE) == "v1.0.0"
    # What -trimpath does (golang/go#63432): the -ldflags setting is missing from the build info. The same
    # bytes with the setting renamed away: only the symbol table still knows the version.
    trimmed = _same_length(data, b"build\t-ldflags=", b"build\t-xxxxxxx=")
    assert gobinary.ldflags_version(_MODULE, "") == ""
    app = gobinary.parse_gobinary(trimmed, "app")
    assert app is not None
    assert {p.name: p.version for p in app.packages}[_MODULE] == "v1.0.0"
    # Without the symbol (a stripped binary has no .symtab at all) the main module has no version.
    stripped = _same_length(trimmed, b"main.version.str\x00", b"main.vxxxxxx.str\x00")
    app = gobinary.parse_gobinary(stripped, "app")
    assert app is not None
    assert {p.name: p.version for p in app.packages}[_MODULE] == ""


def test_symbol_table_reading_is_bounded_and_safe() -> None:
    assert gobinary.symtab_version(make_elf([(".text", 0x1000, b"\x90" * 32)]), _MODULE) == ""
    assert gobinary.symtab_version(b"MZ" + b"\x00" * 64, _MODULE) == ""
    data = _trivy_elf()
    # a truncated binary loses its section table: no version, no exception
    assert gobinary.symtab_version(data[: len(data) // 2], _MODULE) == ""
