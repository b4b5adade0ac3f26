"""bun.lock: a golden on the corpus's real file plus JSONC handling, workspaces, nested keys and protocols."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.bun_lock import ANALYZER, parse_bun_lock, strip_jsonc
from vigil.analyzers.registry import AnalysisInput, run_guarded
from vigil.inventory.records import Application, Package

CASES = {
    # the corpus's only bun.lock: dependencies, devDependencies (@types/bun chain), peerDependencies, trailing commas
    "trivy_integration": "aquasecurity__trivy/integration/testdata/fixtures/repo/bun/bun.lock",
}


def _by_id(app: Application) -> dict[str, Package]:
    return {p.id: p for p in app.packages}


def _lines(p: Package) -> list[tuple[int, int]]:
    return [(loc.start_line, loc.end_line) for loc in p.locations]


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden: Any) -> None:
    golden.check(
        f"analyzers/bun_lock/{case}", parse_bun_lock((lockfiles_dir / CASES[case]).read_bytes(), CASES[case])
    )


def test_hand_checked_integration(lockfiles_dir: Path) -> None:
    pkgs = _by_id(parse_bun_lock((lockfiles_dir / CASES["trivy_integration"]).read_bytes()))
    assert pkgs["jquery@3.3.1"].relationship == "direct" and not pkgs["jquery@3.3.1"].dev
    assert pkgs["typescript@5.8.3"].relationship == "direct" and not pkgs["typescript@5.8.3"].dev  # peer
    # devDependency @types/bun -> bun-types -> @types/node -> undici-types: all dev
    for pid in ("@types/bun@1.2.14", "bun-types@1.2.14", "@types/node@22.15.21", "undici-types@6.21.0"):
        assert pkgs[pid].dev, pid
    assert pkgs["@types/bun@1.2.14"].relationship == "direct"
    assert pkgs["bun-types@1.2.14"].relationship == "indirect"
    assert pkgs["bun-types@1.2.14"].depends_on == ("@types/node@22.15.21",)
    assert _lines(pkgs["jquery@3.3.1"]) == [(24, 24)]


LOCK = """\
// bun.lock with comments, /* block */ ones and trailing commas
{
  "lockfileVersion": 1,
  "workspaces": {
    "": {
      "name": "root",
      "dependencies": { "a": "^1", "gitdep": "github:u/r", },
      "devDependencies": { "tool": "^1", },
    },
    "packages/lib": {
      "name": "lib",
      "version": "0.3.0",
      "dependencies": { "c": "^3" },
    },
  },
  "packages": {
    "a": ["a@1.0.0", "", { "dependencies": { "b": "^2" } }, "sha512-x"],
    "a/b": ["b@2.0.0", "", {}, "sha512-y"], /* nested: a needs b 2 */
    "b": ["b@1.0.0", "", {}, "sha512-z"],
    "tool": ["tool@1.0.0", "", { "dependencies": { "b": "^1", "c": "^3" } }, "sha512-w"],
    "c": ["c@3.0.0", "", {}, "sha512-v"],
    "lib": ["lib@workspace:packages/lib"],
    "gitdep": ["gitdep@github:u/r#abc", { "dependencies": { "@s/d": "1" } }, "u-r-abc"],
    "@s/d": ["@s/d@1.0.0", "", {}, "sha512-u"],
    "// not a comment": ["e@5.0.0", "", {}, "sha512-t"],
  },
}
"""


def test_workspaces_nesting_protocols_and_dev() -> None:
    pkgs = _by_id(parse_bun_lock(LOCK.encode()))
    assert pkgs["a@1.0.0"].depends_on == ("b@2.0.0",)  # "a/b" before the hoisted "b"
    assert pkgs["a@1.0.0"].relationship == "direct" and not pkgs["a@1.0.0"].dev
    assert not pkgs["b@2.0.0"].dev and pkgs["b@1.0.0"].dev  # b@1 only via the devDependency tool
    # c: a devDependency's dependency, but also the workspace lib's production dependency
    assert pkgs["c@3.0.0"].relationship == "direct" and not pkgs["c@3.0.0"].dev
    lib = pkgs["lib@0.3.0"]
    assert lib.relationship == "workspace" and lib.version == "0.3.0"
    # the git dependency is not reported; its own dependency is still classified
    assert not any(p.name == "gitdep" for p in pkgs.values())
    assert pkgs["@s/d@1.0.0"].relationship == "indirect"
    assert "e@5.0.0" in pkgs  # "//" inside a string is not a comment
    assert _lines(pkgs["b@2.0.0"]) == [(18, 18)]


def test_strip_jsonc_keeps_strings_and_lines() -> None:
    text = '{"a": "x // y, ]", /* c\n d */ "b": [1, 2,],}'
    out = strip_jsonc(text)
    assert json.loads(out) == {"a": "x // y, ]", "b": [1, 2]}
    assert out.count("\n") == text.count("\n")


@pytest.mark.parametrize(
    "data",
    [b"", b"[]", b"{", b'{"packages": []}', b"/* unterminated", b'{"a": "unterminated}', b"\xff"],
)
def test_bad_input_is_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_bun_lock(data)


def test_odd_but_valid_values_are_tolerated() -> None:
    odd = b'{"workspaces": [], "packages": {"a": [], "b": [1], "c": ["c"], "d": ["d@1.0.0", 5], "e": {}}}'
    assert [p.id for p in parse_bun_lock(odd).packages] == ["d@1.0.0"]


def test_analyzer_registration() -> None:
    assert ANALYZER.name == "bun" and ANALYZER.matches("x/bun.lock") and not ANALYZER.matches("bun.lockb")
    assert run_guarded(ANALYZER, AnalysisInput("bun.lock", LOCK.encode())).applications[0].type == "bun"
    assert run_guarded(ANALYZER, AnalysisInput("bun.lock", b"{")).unknowns[0].analyzer == "bun"
