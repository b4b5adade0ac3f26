"""Manifest.toml (Julia): hand-made fixtures (no corpus file; see tests/fixtures/lockfiles/julia/RECIPE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.julia_manifest import ANALYZER, parse_julia_manifest

DIR = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles" / "julia"


@pytest.mark.parametrize("name", ["Manifest.toml", "Manifest-v1.toml"])
def test_golden(name: str, golden) -> None:  # type: ignore[no-untyped-def]
    app = parse_julia_manifest((DIR / name).read_bytes(), name, (DIR / "Project.toml").read_bytes())
    golden.check(f"analyzers/julia_manifest/{name.removesuffix('.toml').lower()}", app)


def test_hand_checked_v2() -> None:
    app = parse_julia_manifest((DIR / "Manifest.toml").read_bytes(), "Manifest.toml", (DIR / "Project.toml").read_bytes())
    got = {p.name: (p.version, p.relationship, p.depends_on) for p in app.packages}
    # stdlibs without a version (Dates, Mmap, Printf, Unicode, UUIDs) are not packages
    assert got == {
        "JSON": ("0.21.4", "direct", ("Parsers@2.8.1",)),
        "Parsers": ("2.8.1", "indirect", ("PrecompileTools@1.2.1",)),
        "PrecompileTools": ("1.2.1", "indirect", ("Preferences@1.4.3",)),
        "Preferences": ("1.4.3", "indirect", ("TOML@1.0.3",)),
        "TOML": ("1.0.3", "indirect", ()),
    }
    assert app.packages[0].purl == "pkg:julia/JSON@0.21.4"


def test_v1_and_uuid_deps() -> None:
    app = parse_julia_manifest((DIR / "Manifest-v1.toml").read_bytes())
    assert {(p.name, p.version, p.relationship) for p in app.packages} == {("JSON", "0.21.0", "unknown"), ("Parsers", "0.3.12", "unknown")}
    data = b'manifest_format = "2.0"\n[[deps.A]]\nuuid = "u1"\nversion = "1.0.0"\ndeps = {B = "u2"}\n[[deps.B]]\nuuid = "u2"\nversion = "2.0.0"\n'
    got = {p.name: p.depends_on for p in parse_julia_manifest(data).packages}
    assert got == {"A": ("B@2.0.0",), "B": ()}


def test_invalid() -> None:
    for bad in (b'manifest_format = "2.0"\ndeps = 1', b"[[x]\n", b"\x00"):
        with pytest.raises(ParseError):
            parse_julia_manifest(bad)


def test_matches() -> None:
    assert ANALYZER.matches("Manifest.toml") and ANALYZER.matches("pkg/Manifest-v1.11.toml")


def test_block_lines() -> None:
    app = parse_julia_manifest((DIR / "Manifest.toml").read_bytes())
    got = {p.name: (p.locations[0].start_line, p.locations[0].end_line) for p in app.packages}
    # [[deps.JSON]] on line 11, its last key on 15; TOML's block ends at line 45 before [[deps.UUIDs]]
    assert got["JSON"] == (11, 15) and got["TOML"] == (42, 45)
    v1 = parse_julia_manifest((DIR / "Manifest-v1.toml").read_bytes())
    assert {p.name: p.locations[0].start_line for p in v1.packages} == {"JSON": 7, "Parsers": 16}
    # a name locked twice in an inline array: no line numbers rather than wrong ones
    inline = b'manifest_format = "2.0"\n[deps]\nA = [{uuid = "1", version = "1.0.0"}, {uuid = "2", version = "2.0.0"}]\n'
    assert all(p.locations == () for p in parse_julia_manifest(inline).packages)
