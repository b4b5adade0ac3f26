"""mix.lock: goldens on real files from ../shared/data/corpus/lockfiles (Trivy's and Dependabot's fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.mix_lock import ANALYZER, parse_mix_lock
from vigil.analyzers.registry import AnalysisInput, run_guarded

CASES = {
    "trivy_integration": "aquasecurity__trivy/integration/testdata/fixtures/repo/mixlock/mix.lock",
    "happy": "aquasecurity__trivy/pkg/dependency/parser/hex/mix/testdata/happy.mix/mix.lock",
    # Mix 1.x: 6-item tuples without the repo and outer checksum
    "old_elixir": "dependabot__dependabot-core/hex/spec/fixtures/lockfiles/old_elixir/mix.lock",
    "really_old_elixir": "dependabot__dependabot-core/hex/spec/fixtures/lockfiles/really_old_elixir/mix.lock",
    "umbrella": "dependabot__dependabot-core/hex/spec/fixtures/projects/umbrella_sub_projects/mix.lock",
    "empty": "aquasecurity__trivy/pkg/dependency/parser/hex/mix/testdata/empty.mix/mix.lock",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    rel = CASES[case]
    golden.check(f"analyzers/mix_lock/{case}", parse_mix_lock((lockfiles_dir / rel).read_bytes(), rel))


def test_hand_checked_happy(lockfiles_dir: Path) -> None:
    app = parse_mix_lock((lockfiles_dir / CASES["happy"]).read_bytes())
    got = {p.name: (p.version, p.depends_on, p.locations[0].start_line) for p in app.packages}
    assert got["bunt"] == ("0.2.0", (), 2)
    assert got["credo"] == ("1.6.6", ("bunt@0.2.0", "file_system@0.2.10", "jason@1.3.0"), 3)
    assert app.type == "hex" and all(p.ecosystem == "hex" and p.relationship == "unknown" for p in app.packages)
    assert app.packages[0].purl == "pkg:hex/bunt@0.2.0"


def test_hex_name_git_deps_and_syntax() -> None:
    data = b'''%{
  "my_app_name": {:hex, :real_hex_name, "1.2.3", "abc", [:mix], [{:dep, "~> 1.0", [hex: :dep, repo: "hexpm", optional: false]}], "hexpm", "def"},
  "dep": {:hex, :dep, "1.0.1", "abc", [:mix, :rebar3], [], "hexpm", "def"},
  "from_git": {:git, "https://github.com/x/y.git", "0123abc", [branch: "main"]},
  "old": {:hex, :old, "0.1.0"},
  "quoted": {:hex, :"quoted", "2.0.0", "x", [:make], []},
}
'''
    app = parse_mix_lock(data)
    assert {(p.name, p.version, p.depends_on) for p in app.packages} == {
        ("real_hex_name", "1.2.3", ("dep@1.0.1",)),  # the Hex package name is what advisories name
        ("dep", "1.0.1", ()),
        ("old", "0.1.0", ()),
        ("quoted", "2.0.0", ()),
    }
    (line,) = {p.locations[0].start_line for p in app.packages if p.name == "dep"}
    assert line == 3


def test_invalid() -> None:
    for bad in (b"%{", b'%{"a": {:hex, :a, "1"}', b"[1, 2]", b'%{"a" => }', b"%{} extra", b"\x00", b"{" * 200 + b"}" * 200, b"%{\x01}"):
        with pytest.raises(ParseError):
            parse_mix_lock(bad)
    assert parse_mix_lock(b"").packages == ()


def test_analyzer() -> None:
    res = run_guarded(ANALYZER, AnalysisInput(path="mix.lock", data=b'%{"a": {:hex, :a, "1.0.0", "x", [:mix], [], "hexpm", "y"}}'))
    (app,) = res.applications
    assert app.packages[0].id == "a@1.0.0"
