"""Cargo.lock (v1-v4, + Cargo.toml): goldens on real files from ../shared/data/corpus/lockfiles plus dependency
resolution, local crates, dev closure and line ranges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.cargo_lock import ANALYZER, parse_cargo_lock
from vigil.analyzers.registry import AnalysisInput, run_guarded
from vigil.inventory.records import Application, Package

TRIVY = "aquasecurity__trivy/pkg/dependency/parser/rust/cargo/testdata"
DEPENDABOT = "dependabot__dependabot-core/cargo/spec/fixtures"
CASES = {
    # v4 + Cargo.toml: root crate, a target-specific dependency, a dev-dependency (winapi)
    "trivy_integration_manifest": "aquasecurity__trivy/integration/testdata/fixtures/repo/cargo/Cargo.lock",
    # v1: "name version (source)" dependency entries, [metadata] checksums
    "trivy_v1_normal": f"{TRIVY}/cargo_normal/Cargo.lock",
    # v1 with blank lines and comments between tables and a """multi-line""" version string
    "trivy_v1_mixed": f"{TRIVY}/cargo_mixed/Cargo.lock",
    # v3: "name" / "name version" entries, two memchr versions
    "trivy_v3": f"{TRIVY}/cargo_v3/Cargo.lock",
    # virtual workspace manifest ([workspace] only): members are workspace crates
    "dependabot_workspace": f"{DEPENDABOT}/manifests/workspace_dependencies/Cargo.lock",
    # a path dependency: two source-less crates
    "dependabot_path_dependency": f"{DEPENDABOT}/lockfiles/path_dependency/Cargo.lock",
}


def _parse_case(lockfiles_dir: Path, rel: str) -> Application:
    lock = lockfiles_dir / rel
    manifest = lock.parent / "Cargo.toml"
    return parse_cargo_lock(lock.read_bytes(), rel, manifest.read_bytes() if manifest.exists() else None)


def _by_id(app: Application) -> dict[str, Package]:
    return {p.id: p for p in app.packages}


def _lines(p: Package) -> list[tuple[int, int]]:
    return [(loc.start_line, loc.end_line) for loc in p.locations]


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden: Any) -> None:
    golden.check(f"analyzers/cargo_lock/{case}", _parse_case(lockfiles_dir, CASES[case]))


# --- hand-checked against the source files ------------------------------------------------------------------------


def test_hand_checked_integration(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_integration_manifest"]))
    app = pkgs["app@0.1.0"]  # [package] name = "app"
    assert app.relationship == "root" and not app.dev
    assert app.depends_on == (
        "memchr@1.0.2",
        "regex@1.7.3",
        "winapi@0.3.9",
    )  # "memchr 1.0.2", "regex", "winapi"
    assert _lines(app) == [(14, 21)]
    # regex: [dependencies]; memchr 1.x: [target.'cfg(…)'.dependencies]; winapi: [dev-dependencies]
    assert pkgs["regex@1.7.3"].relationship == "direct" and not pkgs["regex@1.7.3"].dev
    assert pkgs["memchr@1.0.2"].relationship == "direct" and not pkgs["memchr@1.0.2"].dev
    assert pkgs["winapi@0.3.9"].relationship == "direct" and pkgs["winapi@0.3.9"].dev
    assert pkgs["winapi-i686-pc-windows-gnu@0.4.0"].dev  # only through winapi
    # memchr 2.7.4 comes through regex -> aho-corasick "memchr 2.7.4"
    assert not pkgs["memchr@2.7.4"].dev and pkgs["aho-corasick@0.7.20"].depends_on == ("memchr@2.7.4",)
    assert pkgs["regex@1.7.3"].purl == "pkg:cargo/regex@1.7.3"
    # without Cargo.toml: app is a workspace crate, nothing is dev, direct/indirect from the lockfile alone
    bare = _by_id(parse_cargo_lock((lockfiles_dir / CASES["trivy_integration_manifest"]).read_bytes()))
    assert bare["app@0.1.0"].relationship == "workspace" and not any(p.dev for p in bare.values())
    assert bare["winapi@0.3.9"].relationship == "direct"


def test_hand_checked_v1(lockfiles_dir: Path) -> None:
    normal = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v1_normal"]))
    mixed = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v1_mixed"]))
    for pkgs in (normal, mixed):
        assert pkgs["normal@0.1.0"].relationship == "workspace"
        assert pkgs["normal@0.1.0"].depends_on == ("libc@0.2.54",)
        assert pkgs["libc@0.2.54"].relationship == "direct"
        assert pkgs["url@1.7.2"].depends_on == ("idna@0.1.5", "matches@0.1.8", "percent-encoding@1.0.1")
    # cargo_mixed: "normal" on lines 17-22 (the blank and comment lines after it are not part of it); url's
    # table starts on line 26 and its version is the multi-line string """1.7.2"""
    assert _lines(mixed["normal@0.1.0"]) == [(17, 22)]
    assert _lines(mixed["url@1.7.2"])[0][0] == 26
    assert _lines(mixed["libc@0.2.54"]) == [(3, 6)]


def test_hand_checked_v3(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v3"]))
    assert pkgs["app@0.1.0"].depends_on == ("memchr@1.0.2", "regex-syntax@0.5.6", "regex@1.7.3")
    assert pkgs["memchr@1.0.2"].relationship == "direct" and pkgs["memchr@2.5.0"].relationship == "indirect"
    assert pkgs["aho-corasick@0.7.20"].depends_on == ("memchr@2.5.0",)
    assert _lines(pkgs["aho-corasick@0.7.20"]) == [(5, 12)]


def test_hand_checked_workspace(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["dependabot_workspace"])
    local = {p.name for p in app.packages if p.relationship == "workspace"}
    assert "root" not in {p.relationship for p in app.packages}  # a virtual manifest has no [package]
    assert local and all(p.relationship in ("workspace", "direct") for p in app.packages)


# --- semantics on small hand-written lockfiles --------------------------------------------------------------------

LOCK = b"""\
version = 3

[[package]]
name = "root"
version = "0.1.0"
dependencies = [
 "both",
 "devonly",
 "renamed-real",
 "member",
]

[[package]]
name = "member"
version = "0.2.0"
dependencies = ["viamember"]

[[package]]
name = "both"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["shared"]

[[package]]
name = "devonly"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["shared", "devdeep"]

[[package]]
name = "renamed-real"
version = "1.0.0"
source = "git+https://example.com/r.git#abc"

[[package]]
name = "shared"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "devdeep"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "viamember"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[patch.unused]]
name = "unused"
version = "9.0.0"
"""

MANIFEST = b"""\
[package]
name = "root"
version = "0.1.0"

[dependencies]
both = "1"
alias = { package = "renamed-real", git = "https://example.com/r.git" }
member = { path = "member" }

[dev-dependencies]
devonly = "1"
both = "1"

[target.'cfg(unix)'.build-dependencies]
"""


def test_dev_closure_renames_and_members() -> None:
    pkgs = _by_id(parse_cargo_lock(LOCK, cargo_toml=MANIFEST))
    assert pkgs["root@0.1.0"].relationship == "root" and pkgs["member@0.2.0"].relationship == "workspace"
    assert not pkgs["both@1.0.0"].dev  # in [dependencies] and [dev-dependencies]: production wins
    assert pkgs["devonly@1.0.0"].dev and pkgs["devdeep@1.0.0"].dev
    assert not pkgs["shared@1.0.0"].dev  # reached from both
    assert not pkgs["renamed-real@1.0.0"].dev  # `alias = { package = "renamed-real" }`
    assert pkgs["viamember@1.0.0"].relationship == "direct" and not pkgs["viamember@1.0.0"].dev
    assert pkgs["devdeep@1.0.0"].relationship == "indirect"
    assert "unused@9.0.0" not in pkgs  # [[patch.unused]] is not a locked package
    assert _lines(pkgs["root@0.1.0"]) == [(3, 11)]
    # a broken Cargo.toml is ignored
    assert not any(p.dev for p in parse_cargo_lock(LOCK, cargo_toml=b"[[[").packages)


@pytest.mark.parametrize(
    "data",
    [
        b"[[package]]\nname = \n",
        b'package = "x"\n',
        b'[[package]]\nname = "a"\n',  # no version
        b'[[package]]\nversion = "1"\n',
        b"\x00",
    ],
)
def test_bad_input_is_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_cargo_lock(data)


def test_odd_but_valid_values_are_tolerated() -> None:
    odd = b'[[package]]\nname = "a"\nversion = "1.0.0"\nsource = 5\ndependencies = "x"\n[[package]]\nname = "b"\nversion = "1"\ndependencies = [1, "zz 9 (q)", "a 1.0.0 (nowhere)"]\n'
    pkgs = _by_id(parse_cargo_lock(odd))
    assert pkgs["b@1"].depends_on == ("a@1.0.0",) and pkgs["a@1.0.0"].relationship == "workspace"


def test_analyzer_registration() -> None:
    assert (
        ANALYZER.name == "cargo" and ANALYZER.matches("Cargo.lock") and ANALYZER.companions == ("Cargo.toml",)
    )
    res = run_guarded(ANALYZER, AnalysisInput("crates/Cargo.lock", LOCK, {"Cargo.toml": MANIFEST}))
    assert res.applications[0].type == "cargo"
    assert (
        run_guarded(ANALYZER, AnalysisInput("Cargo.lock", b"[[package]]\nname =")).unknowns[0].analyzer
        == "cargo"
    )
