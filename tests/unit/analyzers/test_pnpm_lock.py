"""pnpm-lock.yaml 5.x/6.x/9.x: goldens on real files from ../shared/data/corpus/lockfiles plus the tricky
semantics (peer suffixes, dev flags and dev closure, importers, tarball/directory entries, two documents)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.pnpm_lock import ANALYZER, parse_key, parse_pnpm_lock, strip_peers
from vigil.analyzers.registry import AnalysisInput, run_guarded
from vigil.inventory.records import Application, Package

TRIVY = "aquasecurity__trivy/pkg/dependency/parser/nodejs/pnpm/testdata"
CASES = {
    # 5.3: "/name/1.2.3" keys, top-level dependencies + specifiers
    "trivy_v53_normal": f"{TRIVY}/pnpm-lock_normal/pnpm-lock.yaml",
    # 5.4: dev: true/false flags, a "_supports-color@8.1.1" peer suffix
    "trivy_v54_with_dev": f"{TRIVY}/pnpm-lock_with_dev/pnpm-lock.yaml",
    # 6.0: "/name@1.2.3(peer)" keys, {specifier, version} root dependencies
    "trivy_v6_with_dev": f"{TRIVY}/pnpm-lock_v6_with_dev/pnpm-lock.yaml",
    # 6.0: tarball, codeload and file: entries carrying name/version; a directory dependency
    "trivy_v6_archives": f"{TRIVY}/pnpm-lock_archives/pnpm-lock.yaml",
    # 9.0: packages + snapshots, two importers (".", "subdir"), dev closure, tarball/file entries
    "trivy_v9": f"{TRIVY}/pnpm-lock_v9/pnpm-lock.yaml",
    # 9.0: one release in two peer variants, one reachable from production, one only from dev
    "trivy_v9_same_version_diff_peers": f"{TRIVY}/pnpm-lock_v9_same-vers-diff-peers/pnpm-lock.yaml",
    # pnpm 10+: env lockfile document first, the project's lockfile second
    "trivy_v9_multiple_documents": f"{TRIVY}/pnpm-lock_v9_multiple_documents/pnpm-lock.yaml",
    # "5.4" written by hand with 6.x-style keys mixed in ("/etag@1.8.0"), and "/a/1.0.0_peer@1" keys
    "dependabot_v54_mixed_keys": "dependabot__dependabot-core/bun/helpers/test/pnpm/fixtures/parser/peer_disambiguation/pnpm-lock.yaml",
}


def _parse_case(lockfiles_dir: Path, rel: str) -> Application:
    return parse_pnpm_lock((lockfiles_dir / rel).read_bytes(), rel)


def _by_id(app: Application) -> dict[str, Package]:
    return {p.id: p for p in app.packages}


def _lines(p: Package) -> list[tuple[int, int]]:
    return [(loc.start_line, loc.end_line) for loc in p.locations]


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden: Any) -> None:
    golden.check(f"analyzers/pnpm_lock/{case}", _parse_case(lockfiles_dir, CASES[case]))


# --- hand-checked against the source files ------------------------------------------------------------------------


def test_hand_checked_v53(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v53_normal"]))
    assert sorted(pkgs) == ["asap@2.0.6", "jquery@3.6.0", "promise@8.1.0"]
    assert pkgs["promise@8.1.0"].relationship == "direct" and pkgs["asap@2.0.6"].relationship == "indirect"
    assert pkgs["promise@8.1.0"].depends_on == ("asap@2.0.6",)
    assert _lines(pkgs["promise@8.1.0"]) == [(21, 25)]  # "/promise/8.1.0:" through "dev: false"


def test_hand_checked_peer_suffixes(lockfiles_dir: Path) -> None:
    v5 = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v54_with_dev"]))
    v6 = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v6_with_dev"]))
    for pkgs in (v5, v6):
        # "/debug/4.3.4_supports-color@8.1.1" and "/debug@4.3.4(supports-color@8.1.1)"
        assert pkgs["debug@4.3.4"].dev and pkgs["debug@4.3.4"].depends_on == (
            "ms@2.1.2",
            "supports-color@8.1.1",
        )
        assert "debug@4.3.4(supports-color@8.1.1)" not in pkgs
        assert "debug@4.3.4" in pkgs["mocha@10.0.0"].depends_on
        # react (dependency, dev: false) -> loose-envify -> js-tokens, all production
        assert pkgs["react@18.1.0"].relationship == "direct" and not pkgs["react@18.1.0"].dev
        assert not pkgs["js-tokens@4.0.0"].dev and pkgs["js-tokens@4.0.0"].relationship == "indirect"
        assert pkgs["mocha@10.0.0"].dev and pkgs["mocha@10.0.0"].relationship == "direct"
    assert _lines(v6["debug@4.3.4"]) == [(142, 153)]
    assert _lines(v6["mocha@10.0.0"])[0][0] == 340


def test_hand_checked_archives(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v6_archives"]))
    # '@github.com/debug-js/debug/tarball/4.3.4' carries name: debug, version: 4.3.4
    assert pkgs["debug@4.3.4"].relationship == "direct" and pkgs["debug@4.3.4"].depends_on == ("ms@2.1.2",)
    assert "is-negative@2.0.1" in pkgs and "lodash@4.17.21" in pkgs  # codeload tarball, file: tarball
    # file:package1 resolves to a directory: the project's own code
    assert pkgs["package1@1.0.0"].relationship == "workspace"
    assert pkgs["package1@1.0.0"].depends_on == ("asynckit@0.4.0",)


def test_hand_checked_v9(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v9"]))
    # importer "subdir": dependency sleep-utils, devDependency await-sleep — both direct
    assert pkgs["sleep-utils@1.0.3"].relationship == "direct" and not pkgs["sleep-utils@1.0.3"].dev
    assert pkgs["await-sleep@0.0.1"].relationship == "direct" and pkgs["await-sleep@0.0.1"].dev
    # ms 2.0.0 is a devDependency of "." but also reached from finalhandler -> debug@4.3.4: not dev
    assert pkgs["ms@2.0.0"].relationship == "direct" and not pkgs["ms@2.0.0"].dev
    assert pkgs["jquery@3.6.0"].dev
    # the tarball dependency "debug@https://…/tarball/4.3.5" has `version: 4.3.5` in its packages entry
    assert pkgs["debug@4.3.5"].relationship == "direct" and pkgs["debug@4.3.5"].depends_on == ("ms@2.1.2",)
    assert _lines(pkgs["debug@4.3.5"]) == [(79, 87)]
    # the snapshot "debug@4.3.4(supports-color@8.1.1)" is the package debug@4.3.4 (packages entry, lines 70-77)
    assert _lines(pkgs["debug@4.3.4"]) == [(70, 77)] and pkgs["debug@4.3.4"].depends_on == ("ms@2.0.0",)
    # file:package1 is a directory (no version of its own); asynckit comes from a tarball, version 0.4.0
    assert pkgs["package1"].relationship == "workspace" and pkgs["package1"].depends_on == ("asynckit@0.4.0",)


def test_hand_checked_v9_peers(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v9_same_version_diff_peers"]))
    # jest-pnp-resolver@1.2.3 has two snapshots; one is reached from production (jest-config -> jest-runner@30)
    assert not pkgs["jest-pnp-resolver@1.2.3"].dev
    assert pkgs["jest-pnp-resolver@1.2.3"].depends_on == ("jest-resolve@27.5.1", "jest-resolve@30.0.2")
    assert pkgs["jest-resolve@27.5.1"].dev and not pkgs["jest-resolve@30.0.2"].dev
    assert pkgs["jest-runner@27.5.1"].dev and pkgs["jest-runner@27.5.1"].relationship == "direct"


def test_hand_checked_multiple_documents(lockfiles_dir: Path) -> None:
    (pkg,) = _parse_case(lockfiles_dir, CASES["trivy_v9_multiple_documents"]).packages
    # pnpm itself (first document) is not the project's dependency; line numbers count from the file start
    assert pkg.id == "is-number@7.0.0" and pkg.relationship == "direct" and _lines(pkg) == [(215, 217)]


def test_hand_checked_mixed_keys(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["dependabot_v54_mixed_keys"]))
    # "/@eslint-community/eslint-utils/4.4.0_eslint@8.38.0" (5.x form) and "/@eslint/js@8.38.0" (6.x form)
    assert "@eslint-community/eslint-utils@4.4.0" in pkgs and "@eslint/js@8.38.0" in pkgs
    assert {p.dev for p in pkgs.values()} == {True}  # every root dependency is a devDependency


# --- semantics on small hand-written lockfiles --------------------------------------------------------------------


def test_parse_key_forms() -> None:
    assert parse_key("/@babel/core/7.0.0_@types+node@18.0.0", v5=True) == ("@babel/core", "7.0.0")
    assert parse_key("/a@1.0.0(@types/node@18.0.0)(b@2)", v5=False) == ("a", "1.0.0")
    assert parse_key("@s/a@1.0.0(b@2)", v5=False) == ("@s/a", "1.0.0")
    assert parse_key("/etag@1.8.0", v5=True) == ("etag", "1.8.0")  # 6.x form in a 5.x file
    assert strip_peers("1.0.0(a@1)(b@2)") == "1.0.0"


# The key forms of Trivy's pnpm parser test (parse_test.go, Apache-2.0): a registry host before the name is dropped.
@pytest.mark.parametrize(
    ("key", "v5", "want"),
    [
        ("registry.npmjs.org/lodash/4.17.10", True, ("lodash", "4.17.10")),
        ("private.npmjs.org/lodash/4.17.10", True, ("lodash", "4.17.10")),
        ("registry.npmjs.org/@babel/generator/7.21.9", True, ("@babel/generator", "7.21.9")),
        ("registry.npmjs.org/@babel/helper-compilation-targets/7.21.5_@babel+core@7.21.8", True,
         ("@babel/helper-compilation-targets", "7.21.5")),
        ("/lodash._baseclone/4.5.7_@babel+core@7.21.8", True, ("lodash._baseclone", "4.5.7")),
        ("registry.npmjs.org/lodash@4.17.10", False, ("lodash", "4.17.10")),
        ("private.npmjs.org/lodash@4.17.10", False, ("lodash", "4.17.10")),
        ("registry.npmjs.org/@babel/helper-annotate-as-pure@7.18.6", False, ("@babel/helper-annotate-as-pure", "7.18.6")),
        ("registry.npmjs.org/@babel/helper-compilation-targets@7.21.5(@babel/core@7.20.7)", False,
         ("@babel/helper-compilation-targets", "7.21.5")),
    ],
)
def test_parse_key_drops_registry_host(key: str, v5: bool, want: tuple[str, str]) -> None:
    assert parse_key(key, v5=v5) == want


V5_REGISTRY_HOSTS = """\
lockfileVersion: 5.4

specifiers:
  lodash: 4.17.10
  left-pad: ^1.3.0

dependencies:
  lodash: registry.npmjs.org/lodash/4.17.10
  left-pad: private.example.org/left-pad/1.3.0

packages:

  registry.npmjs.org/lodash/4.17.10:
    resolution: {integrity: sha512-x}
    dependencies:
      left-pad: private.example.org/left-pad/1.3.0
    dev: false

  private.example.org/left-pad/1.3.0:
    resolution: {integrity: sha512-y, tarball: https://private.example.org/left-pad/-/left-pad-1.3.0.tgz}
    dev: false
"""


def test_v5_registry_host_keys_give_plain_names_and_edges() -> None:
    """A package from a named registry keeps its npm name, so its advisories match; the edge to it still resolves."""
    app = parse_pnpm_lock(V5_REGISTRY_HOSTS.encode(), "pnpm-lock.yaml")
    pkgs = {p.name: p for p in app.packages}
    assert {n: p.version for n, p in pkgs.items()} == {"lodash": "4.17.10", "left-pad": "1.3.0"}
    assert pkgs["lodash"].relationship == "direct"
    assert pkgs["lodash"].depends_on == ("left-pad@1.3.0",)


V9_WORKSPACE = """\
lockfileVersion: '9.0'

importers:

  .:
    devDependencies:
      tool:
        specifier: ^1.10
        version: 1.10.0
      lib:
        specifier: workspace:*
        version: link:packages/lib

  packages/lib:
    dependencies:
      aliased:
        specifier: npm:real@^2
        version: real@2.0.0

packages:

  real@2.0.0:
    resolution: {integrity: sha512-x}

  tool@1.10.0:
    resolution: {integrity: sha512-y}

snapshots:

  real@2.0.0: {}

  tool@1.10.0:
    dependencies:
      real: 2.0.0
"""


def test_v9_workspace_link_alias_and_yaml_typing() -> None:
    pkgs = _by_id(parse_pnpm_lock(V9_WORKSPACE.encode()))
    assert sorted(pkgs) == ["real@2.0.0", "tool@1.10.0"]  # "1.10.0" and "^1.10" stay strings
    # the alias "aliased: real@2.0.0" in the workspace packages/lib makes real a direct production dependency
    assert pkgs["real@2.0.0"].relationship == "direct" and not pkgs["real@2.0.0"].dev
    assert pkgs["tool@1.10.0"].dev and pkgs["tool@1.10.0"].depends_on == ("real@2.0.0",)
    assert _lines(pkgs["tool@1.10.0"]) == [(25, 26)]


@pytest.mark.parametrize(
    "data",
    [
        b"- a\n- b\n",
        b"packages: {}\n",
        b"lockfileVersion: [1]\n",
        b"lockfileVersion: x\n",
        b"a: [\n",
        b"\x00",
    ],
)
def test_bad_input_is_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_pnpm_lock(data)


def test_odd_but_valid_values_are_tolerated() -> None:
    odd = b"lockfileVersion: 5.4\ndependencies: [1]\npackages:\n  /a/1.0.0: 5\n  /b/1.0.0:\n    dependencies: x\n  7: {}\n"
    assert [p.id for p in parse_pnpm_lock(odd).packages] == ["a@1.0.0", "b@1.0.0"]
    assert parse_pnpm_lock(b"").packages == ()


def test_analyzer_registration() -> None:
    assert ANALYZER.name == "pnpm" and ANALYZER.matches("pnpm-lock.yaml")
    res = run_guarded(ANALYZER, AnalysisInput("pnpm-lock.yaml", V9_WORKSPACE.encode()))
    assert res.applications[0].type == "pnpm"
    assert run_guarded(ANALYZER, AnalysisInput("pnpm-lock.yaml", b"[")).unknowns[0].analyzer == "pnpm"
