"""packages.config: hand-made fixture (no corpus file; see tests/fixtures/lockfiles/nuget-config/RECIPE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.nuget_config import ANALYZER, parse_packages_config
from vigil.analyzers.registry import AnalysisInput, run_guarded

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles" / "nuget-config" / "packages.config"


def test_golden(golden) -> None:  # type: ignore[no-untyped-def]
    golden.check("analyzers/nuget_config/fixture", parse_packages_config(FIXTURE.read_bytes(), "packages.config"))


def test_hand_checked() -> None:
    app = parse_packages_config(FIXTURE.read_bytes())
    by_name = {p.name: p for p in app.packages}
    assert set(by_name) == {"Newtonsoft.Json", "Microsoft.AspNet.Mvc", "Google.Protobuf",
                            "Microsoft.CodeDom.Providers.DotNetCompilerPlatform"}
    assert [n for n, p in by_name.items() if p.dev] == ["Microsoft.CodeDom.Providers.DotNetCompilerPlatform"]
    assert by_name["Google.Protobuf"].version == "3.14.0"
    assert (by_name["Newtonsoft.Json"].locations[0].start_line, by_name["Google.Protobuf"].locations[0].start_line) == (3, 6)
    assert all(p.relationship == "unknown" for p in app.packages)


def test_hostile_and_invalid_xml() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><packages>&lol2;</packages>'
    xxe = b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><packages>&x;</packages>'
    for bad in (bomb, xxe, b"<packages>", b"<other/>", b"", b"\xff\xfe<"):
        with pytest.raises(ParseError):
            parse_packages_config(bad)
    app = parse_packages_config(b'<packages><package id="A"/><package version="1"/><package id="B" version="2"/></packages>')
    assert [(p.name, p.version) for p in app.packages] == [("B", "2")]


def test_analyzer() -> None:
    (app,) = run_guarded(ANALYZER, AnalysisInput(path="x/packages.config", data=FIXTURE.read_bytes())).applications
    assert app.type == "nuget" and app.file_path == "x/packages.config"


def test_declared_encodings() -> None:
    latin1 = '<?xml version="1.0" encoding="ISO-8859-1"?><packages><package id="Café" version="1"/></packages>'
    assert parse_packages_config(latin1.encode("latin-1")).packages[0].name == "Café"
    with pytest.raises(ParseError):
        parse_packages_config(b'<?xml version="1.0" encoding="no-such"?><packages/>')
