"""go.mod (+ go.sum): goldens on real files from ../shared/data/corpus/lockfiles plus replace directives,
`// indirect`, toolchain -> stdlib and the go.sum merge for go < 1.17."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.go_mod import ANALYZER, parse_go_mod, parse_go_sum, stdlib_version
from vigil.analyzers.registry import AnalysisInput, run_guarded
from vigil.inventory.records import Application, Package

TRIVY = "aquasecurity__trivy/pkg/dependency/parser/golang/mod/testdata"
CASES = {
    # go 1.22.0 + toolchain go1.22.5: stdlib v1.22.5; single-line and block requires
    "trivy_normal_toolchain": f"{TRIVY}/normal/go.mod",
    # go 1.16: modules only go.sum knows about are added as indirect
    "trivy_go116_gosum": f"{TRIVY}/go116/go.mod",
    # `replace old => new version` for every version of old
    "trivy_replaced": f"{TRIVY}/replaced/go.mod",
    # `replace old v => ./dir`: the module is the project's own code, dropped
    "trivy_replaced_local_path_and_version": f"{TRIVY}/replaced-with-local-path-and-version/go.mod",
    # `replace old v0.0.1 => …` does not match the required version: not applied
    "trivy_replaced_version_mismatch": f"{TRIVY}/replaced-with-version-mismatch/go.mod",
    # go 1.12, replace to another module path, go.sum merge, comments inside the require block
    "dependabot_go_sum_replace": "dependabot__dependabot-core/go_modules/spec/fixtures/projects/go_sum/go.mod",
    # go 1.17 integration fixture: no go.sum merge even though go.sum is present
    "trivy_integration": "aquasecurity__trivy/integration/testdata/fixtures/repo/gomod/go.mod",
}


def _parse_case(lockfiles_dir: Path, rel: str) -> Application:
    mod = lockfiles_dir / rel
    go_sum = mod.parent / "go.sum"
    return parse_go_mod(mod.read_bytes(), rel, go_sum.read_bytes() if go_sum.exists() else None)


def _by_id(app: Application) -> dict[str, Package]:
    return {p.id: p for p in app.packages}


def _lines(p: Package) -> list[tuple[int, int]]:
    return [(loc.start_line, loc.end_line) for loc in p.locations]


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden: Any) -> None:
    golden.check(f"analyzers/go_mod/{case}", _parse_case(lockfiles_dir, CASES[case]))


# --- hand-checked against the source files ------------------------------------------------------------------------


def test_hand_checked_normal(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_normal_toolchain"]))
    direct = pkgs["github.com/aquasecurity/go-version@v0.0.0-20240603093900-cf8a8d29271d"]
    assert direct.relationship == "direct" and _lines(direct) == [(7, 7)]
    testify = pkgs["github.com/stretchr/testify@v1.9.0"]
    assert testify.relationship == "indirect" and _lines(testify) == [(12, 12)]
    assert pkgs["stdlib@v1.22.5"].relationship == "direct" and not pkgs["stdlib@v1.22.5"].locations
    assert testify.purl == "pkg:golang/github.com/stretchr/testify@v1.9.0"
    root = pkgs["github.com/org/repo"]  # the main module, as Trivy lists it: the graph's root, no version
    assert (root.version, root.relationship) == ("", "root") and direct.id in root.depends_on


def test_hand_checked_go116(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_go116_gosum"]))
    # go.mod lists go-dep-parser and yaml.v3; go.sum adds e.g. go-spew v1.1.1 (it has a content hash line)
    assert pkgs["github.com/davecgh/go-spew@v1.1.1"].relationship == "indirect"
    assert not pkgs["github.com/davecgh/go-spew@v1.1.1"].locations
    # BurntSushi/toml has only /go.mod lines: its code was never needed
    assert not any(p.name == "github.com/BurntSushi/toml" for p in pkgs.values())
    assert "stdlib" not in {p.name for p in pkgs.values()}  # `go 1.16` alone adds no stdlib
    # without go.sum only go.mod's two requires
    mod = (lockfiles_dir / CASES["trivy_go116_gosum"]).read_bytes()
    assert len(parse_go_mod(mod).packages) == 3  # and the main module


def test_hand_checked_replaces(lockfiles_dir: Path) -> None:
    replaced = _by_id(_parse_case(lockfiles_dir, CASES["trivy_replaced"]))
    assert "github.com/aquasecurity/go-dep-parser@v0.0.0-20220406074731-71021a481237" in replaced
    local = _by_id(_parse_case(lockfiles_dir, CASES["trivy_replaced_local_path_and_version"]))
    assert not any(p.name == "golang.org/x/xerrors" for p in local.values())
    mismatch = _by_id(_parse_case(lockfiles_dir, CASES["trivy_replaced_version_mismatch"]))
    assert "github.com/aquasecurity/go-dep-parser@v0.0.0-20211224170007-df43bca6b6ff" in mismatch
    dep = _by_id(_parse_case(lockfiles_dir, CASES["dependabot_go_sum_replace"]))
    # rsc.io/qr => github.com/rsc/qr v0.2.0, reported at the require line (12); go.sum adds rsc.io/sampler
    assert _lines(dep["github.com/rsc/qr@v0.2.0"]) == [(12, 12)]
    assert not any(p.name == "rsc.io/qr" for p in dep.values())
    assert dep["rsc.io/sampler@v1.0.0"].relationship == "indirect"
    assert dep["github.com/fatih/Color@v1.7.0"].relationship == "direct"  # after the comment lines


# --- semantics on small hand-written files ------------------------------------------------------------------------

GO_MOD = b"""\
module "example.com/app" // quoted path

go 1.21

toolchain go1.21rc2

require (
\texample.com/a v1.0.0 // indirect; needed by b
\t"example.com/b" v1.2.0
\texample.com/c v0.1.0 // indirectly
)

require (example.com/d v2.0.0+incompatible)
require ( )

replace (
\texample.com/a v1.0.0 => example.com/a2 v1.0.1
\texample.com/c => ../c
)

exclude example.com/b v1.1.0
retract [v0.0.1, v0.0.5]
godebug default=go1.21
tool example.com/d/cmd
"""


def test_directives() -> None:
    pkgs = _by_id(parse_go_mod(GO_MOD))
    assert sorted(pkgs) == [
        "example.com/a2@v1.0.1",
        "example.com/app",
        "example.com/b@v1.2.0",
        "example.com/d@v2.0.0+incompatible",
        "stdlib@v1.21.0-rc.2",
    ]
    assert pkgs["example.com/a2@v1.0.1"].relationship == "indirect"  # "indirect; …" counts
    assert _lines(pkgs["example.com/a2@v1.0.1"]) == [(8, 8)]
    assert pkgs["example.com/b@v1.2.0"].relationship == "direct"
    assert _lines(pkgs["example.com/d@v2.0.0+incompatible"]) == [(13, 13)]


def test_stdlib_version() -> None:
    assert stdlib_version("go1.22.5") == "v1.22.5"
    assert stdlib_version("go1.20") == "v1.20.0"
    assert stdlib_version("go1.21rc2") == "v1.21.0-rc.2"
    assert stdlib_version("go1.21.3-bigcorp") == "v1.21.3"
    assert stdlib_version("default") is None


def test_go_sum_parsing_and_merge_rules() -> None:
    go_sum = b"a.com/x v1.0.0 h1:a=\na.com/x v1.1.0 h1:b=\na.com/x v1.1.0/go.mod h1:c=\nbad\nb.com/y v1.0.0/go.mod h1:d=\n"
    assert parse_go_sum(go_sum) == {"a.com/x": "v1.1.0"}
    old = b"module m\ngo 1.16\nrequire c.com/z v1.0.0\n"
    assert [p.id for p in parse_go_mod(old, go_sum=go_sum).packages] == ["a.com/x@v1.1.0", "c.com/z@v1.0.0", "m"]
    new = b"module m\ngo 1.17\nrequire c.com/z v1.0.0\n"
    assert [p.id for p in parse_go_mod(new, go_sum=go_sum).packages] == ["c.com/z@v1.0.0", "m"]
    nogo = b"module m\nrequire c.com/z v1.0.0\n"  # no go directive means go 1.16
    assert len(parse_go_mod(nogo, go_sum=go_sum).packages) == 3
    assert len(parse_go_mod(old, go_sum=b"\xff\x00binary").packages) == 2  # broken go.sum ignored


@pytest.mark.parametrize(
    "data",
    [
        b"require (\nexample.com/a v1\n",  # block never closed
        b"require example.com/a\n",
        b"replace a b\n",
        b"replace a => b c d\n",
        b"require ( a v1 b\n)\n",
        b")\n",
        b"\x00\x01",
    ],
)
def test_bad_input_is_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_go_mod(data)


def test_analyzer_registration() -> None:
    assert ANALYZER.name == "gomod" and ANALYZER.matches("svc/go.mod") and ANALYZER.companions == ("go.sum",)
    res = run_guarded(ANALYZER, AnalysisInput("go.mod", GO_MOD, {"go.sum": b""}))
    assert res.applications[0].type == "gomod" and res.applications[0].file_path == "go.mod"
    (only_root,) = run_guarded(ANALYZER, AnalysisInput("go.mod", b"module m\n")).applications
    assert [(p.name, p.relationship) for p in only_root.packages] == [("m", "root")]
    assert run_guarded(ANALYZER, AnalysisInput("go.mod", b"go 1.22\n")).applications == ()
    assert run_guarded(ANALYZER, AnalysisInput("go.mod", b"require (")).unknowns[0].analyzer == "gomod"
