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
    app = parse_julia_manifest((DIR / "Manifest.toml").read_bytes(), "Manifest.toml",
                               (DIR / "Project.toml").read_bytes())
    got = {p.name: (p.version, p.relationship, p.depends_on) for p in app.packages}
    # stdlibs have no version in the manifest: they ship with Julia, so they are at the manifest's julia_version
    v = "1.10.4"
    assert got == {
        "Dates": (v, "indirect", (f"Printf@{v}",)),
        "JSON": ("0.21.4", "direct", (f"Dates@{v}", f"Mmap@{v}", "Parsers@2.8.1", f"Unicode@{v}")),
        "Mmap": (v, "indirect", ()),
        "Parsers": ("2.8.1", "indirect", (f"Dates@{v}", "PrecompileTools@1.2.1", f"UUIDs@{v}")),
        "PrecompileTools": ("1.2.1", "indirect", ("Preferences@1.4.3",)),
        "Preferences": ("1.4.3", "indirect", ("TOML@1.0.3",)),
        "Printf": (v, "indirect", (f"Unicode@{v}",)),
        "TOML": ("1.0.3", "indirect", (f"Dates@{v}",)),
        "UUIDs": (v, "indirect", ()),
        "Unicode": (v, "indirect", ()),
    }
    assert next(p for p in app.packages if p.name == "JSON").purl == "pkg:julia/JSON@0.21.4"


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


TRIVY = Path(__file__).resolve().parents[2] / "data" / "trivy" / "fixtures" / "lock"


def test_extras_are_dev_and_path_dependencies_have_no_version() -> None:
    """Trivy's fixtures (tests/data/trivy, Apache-2.0): Project.toml [extras] are test-only, so what only they
    reach is dev; a `path` dependency is local code, reported without a version."""
    happy = TRIVY / "julia" / "happy"
    pkgs = {p.name: p for p in parse_julia_manifest((happy / "Manifest.toml").read_bytes(), "Manifest.toml",
                                                    (happy / "Project.toml").read_bytes()).packages}
    assert pkgs["DevDep"].dev and pkgs["IndirectDevDep"].dev and not pkgs["JSON"].dev
    v1 = TRIVY / "julia-parser" / "julia_v1.0_format" / "Manifest.toml"
    got = {(p.name, p.version) for p in parse_julia_manifest(v1.read_bytes()).packages}
    assert got == {("Foo", ""), ("Bar", ""), ("Qux", "")}  # Baz: a stdlib of an unknown Julia version
