"""*.deps.json: hand-made fixture (no corpus file; see tests/fixtures/lockfiles/dotnet-deps/RECIPE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.dotnet_deps import ANALYZER, parse_deps_json

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles" / "dotnet-deps" / "ExampleApp.deps.json"


def test_golden(golden) -> None:  # type: ignore[no-untyped-def]
    golden.check("analyzers/dotnet_deps/fixture", parse_deps_json(FIXTURE.read_bytes(), "ExampleApp.deps.json"))


def test_hand_checked() -> None:
    app = parse_deps_json(FIXTURE.read_bytes())
    got = {p.name: (p.version, p.relationship, p.depends_on) for p in app.packages}
    # projects (ExampleApp, ExampleLib) are not packages; Microsoft.NETCore.Targets is not in the runtime target
    assert got == {
        "Newtonsoft.Json": ("13.0.1", "direct", ()),
        "Serilog.Sinks.Console": ("4.0.1", "direct", ("Serilog@2.10.0",)),
        "Serilog": ("2.10.0", "indirect", ()),
    }
    assert app.type == "dotnet-core"


def test_without_runtime_target() -> None:
    data = b'{"libraries": {"A/1.0.0": {"type": "package"}, "B/2.0.0": {"type": "project"}, "bad": {"type": "package"}}}'
    app = parse_deps_json(data)
    assert [(p.name, p.version, p.relationship) for p in app.packages] == [("A", "1.0.0", "unknown")]


def test_invalid() -> None:
    for bad in (b"[]", b'{"libraries": []}', b"{"):
        with pytest.raises(ParseError):
            parse_deps_json(bad)


def test_matches() -> None:
    assert ANALYZER.matches("bin/Release/net6.0/ExampleApp.deps.json")
    assert not ANALYZER.matches("deps.json.bak")
