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
    # projects (ExampleApp, ExampleLib) are not packages; Microsoft.NETCore.Targets is not in the runtime target,
    # so nothing says it is compile-only: kept, as Trivy keeps it
    assert got == {
        "Newtonsoft.Json": ("13.0.1", "direct", ()),
        "Serilog.Sinks.Console": ("4.0.1", "direct", ("Serilog@2.10.0",)),
        "Serilog": ("2.10.0", "indirect", ()),
        "Microsoft.NETCore.Targets": ("1.1.0", "indirect", ()),
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


TRIVY = Path(__file__).resolve().parents[2] / "data" / "trivy"


@pytest.mark.parametrize("case", ["happy", "ambiguous-root", "missing-target", "multi-project", "no-libraries",
                                  "self-contained", "without-runtime", "datacollector"])
def test_trivy_fixtures_list_what_trivy_lists(case: str) -> None:
    """Trivy's own .deps.json fixtures (tests/data/trivy, Apache-2.0): the packages Trivy 0.76 lists, except the
    app's own projects (type "project"), which Vigil does not list as packages (docs/trivy-differences.md)."""
    import json

    rel = f"dotnet/{case}/{case}.deps.json"
    data = (TRIVY / "fixtures" / "lock" / rel).read_bytes()
    libraries = json.loads(data).get("libraries", {})
    projects = {k.split("/")[0] for k, v in libraries.items() if v.get("type") == "project"}
    want = set(json.loads((TRIVY / "expected-lockfiles.json").read_text())["targets"].get(rel, []))
    got = {f"{p.name}@{p.version}" for p in parse_deps_json(data, rel).packages}
    assert got == {w for w in want if w.split("@")[0] not in projects}


def test_runtime_packs_and_compile_only_libraries() -> None:
    data = TRIVY / "fixtures" / "lock" / "dotnet" / "self-contained" / "self-contained.deps.json"
    pkgs = {p.name: p for p in parse_deps_json(data.read_bytes()).packages}
    # a self-contained app ships the runtime: reported without the "runtimepack." prefix, so its advisories match
    assert pkgs["Microsoft.NETCore.App.Runtime.linux-x64"].version == "8.0.0"
    assert "Microsoft.AspNetCore.App.Runtime.linux-x64" in pkgs
    facade = TRIVY / "fixtures" / "lock" / "dotnet" / "without-runtime" / "without-runtime.deps.json"
    names = {p.name for p in parse_deps_json(facade.read_bytes()).packages}
    # compile-time facades have no run-time assets; a package with them is kept
    assert "NETStandard.Library" not in names and "System.Collections.Immutable" in names
