"""Directory.Packages.props: hand-made fixture (no corpus file; see tests/fixtures/lockfiles/packages-props/RECIPE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.packages_props import ANALYZER, parse_packages_props

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles" / "packages-props" / "Directory.Packages.props"


def test_golden(golden) -> None:  # type: ignore[no-untyped-def]
    golden.check("analyzers/packages_props/fixture", parse_packages_props(FIXTURE.read_bytes(), "Directory.Packages.props"))


def test_hand_checked() -> None:
    app = parse_packages_props(FIXTURE.read_bytes())
    got = {p.name: (p.version, p.locations[0].start_line, p.locations[0].end_line) for p in app.packages}
    # Serilog's version is an MSBuild property and Polly's a range: skipped, not guessed
    assert got == {
        "Newtonsoft.Json": ("13.0.1", 7, 7),
        "Google.Protobuf": ("3.14.0", 8, 8),
        "xunit": ("2.4.2", 10, 12),
        "Nerdbank.GitVersioning": ("3.6.133", 16, 16),
    }
    assert app.type == "packages-props" and all(p.ecosystem == "nuget" for p in app.packages)


def test_legacy_update_items_and_invalid() -> None:
    app = parse_packages_props(b'<Project><ItemGroup><PackageReference Update="A" Version="1.0"/></ItemGroup></Project>')
    assert [(p.name, p.version) for p in app.packages] == [("A", "1.0")]
    for bad in (b"<Project>", b"<Other/>", b'<!DOCTYPE x [<!ENTITY a "b">]><Project/>'):
        with pytest.raises(ParseError):
            parse_packages_props(bad)


def test_matches() -> None:
    assert ANALYZER.matches("Directory.Packages.props") and ANALYZER.matches("src/Packages.props")
    assert not ANALYZER.matches("Directory.Build.props")
