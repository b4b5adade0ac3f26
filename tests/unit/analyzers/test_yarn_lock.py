"""yarn.lock (classic v1 and berry): goldens on real files from ../shared/data/corpus/lockfiles plus the tricky
semantics (dev closure, workspaces, protocols, patches)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang import yarn_lock
from vigil.analyzers.lang.yarn_lock import ANALYZER, parse_yarn_lock, split_pattern
from vigil.analyzers.registry import AnalysisInput, run_guarded
from vigil.inventory.records import Application, Package

TRIVY = "aquasecurity__trivy/pkg/dependency/parser/nodejs/yarn/testdata"
DEPENDABOT = "dependabot__dependabot-core/npm_and_yarn/spec/fixtures/projects"
CASES = {
    # classic + package.json: jquery direct, promise a devDependency, asap reachable only through promise
    "trivy_integration_v1_manifest": "aquasecurity__trivy/integration/testdata/fixtures/repo/yarn/yarn.lock",
    # classic without package.json: unknown relationships; multi-pattern headers; scoped names
    "trivy_v1_happy": f"{TRIVY}/yarn_happy/yarn.lock",
    # classic as written by npm: every key and value quoted, no header comment
    "trivy_v1_npm_quoted": f"{TRIVY}/yarn_with_npm/yarn.lock",
    # classic with a file: dependency (skipped)
    "trivy_v1_local": f"{TRIVY}/yarn_with_local/yarn.lock",
    # berry v8: explicit npm: ranges in dependencies, a root workspace
    "trivy_berry_protocol": f"{TRIVY}/yarn_v2_deps_with_protocol/yarn.lock",
    # berry + package.json: patch: entries (resolve, fsevents), dev closure
    "dependabot_berry_multiple_requirements": f"{DEPENDABOT}/yarn_berry/multiple_requirements/yarn.lock",
    # berry with three workspaces: the root's devDependency and the other workspaces' dependencies
    "dependabot_berry_workspaces": f"{DEPENDABOT}/yarn/submodule_dependency/yarn.lock",
}


def _parse_case(lockfiles_dir: Path, rel: str) -> Application:
    lock = lockfiles_dir / rel
    manifest = lock.parent / "package.json"
    return parse_yarn_lock(lock.read_bytes(), rel, manifest.read_bytes() if manifest.exists() else None)


def _by_id(app: Application) -> dict[str, Package]:
    return {p.id: p for p in app.packages}


def _lines(p: Package) -> list[tuple[int, int]]:
    return [(loc.start_line, loc.end_line) for loc in p.locations]


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden: Any) -> None:
    golden.check(f"analyzers/yarn_lock/{case}", _parse_case(lockfiles_dir, CASES[case]))


# --- hand-checked against the source files ------------------------------------------------------------------------


def test_hand_checked_integration(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_integration_v1_manifest"]))
    assert pkgs["jquery@3.2.1"].relationship == "direct" and not pkgs["jquery@3.2.1"].dev
    assert pkgs["promise@8.0.3"].relationship == "direct" and pkgs["promise@8.0.3"].dev
    # asap is only needed by the devDependency promise
    assert pkgs["asap@2.0.6"].relationship == "indirect" and pkgs["asap@2.0.6"].dev
    assert pkgs["promise@8.0.3"].depends_on == ("asap@2.0.6",)
    # `promise@^8.0.3:` header on line 15 through its last dependency line 20
    assert _lines(pkgs["promise@8.0.3"]) == [(15, 20)]
    # without package.json nothing is known about relationships or dev
    lock = (lockfiles_dir / CASES["trivy_integration_v1_manifest"]).read_bytes()
    bare = parse_yarn_lock(lock)
    assert {(p.relationship, p.dev) for p in bare.packages} == {("unknown", False)}


def test_hand_checked_quoted_and_local(lockfiles_dir: Path) -> None:
    (jquery,) = _parse_case(lockfiles_dir, CASES["trivy_v1_npm_quoted"]).packages
    assert jquery.id == "jquery@3.6.0" and _lines(jquery) == [(1, 4)]
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v1_local"]))
    assert sorted(pkgs) == ["asap@2.0.6", "jquery@3.4.1", "promise@8.0.3"]  # local-package@file: skipped


def test_hand_checked_berry_patch(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["dependabot_berry_multiple_requirements"]))
    # "resolve@npm:^1.1.7, resolve@npm:^1.22.1" (lines 1375-1386) and its patch: entry (1388-1399) are one package;
    # only tailwindcss/postcss-import (devDependency side) need it, so it is dev
    resolve = pkgs["resolve@1.22.1"]
    assert _lines(resolve) == [(1375, 1386), (1388, 1399)] and resolve.dev
    # next (dependency) needs postcss 8.4.14; the devDependency is postcss ^8.4.17
    assert pkgs["next@12.3.1"].relationship == "direct" and not pkgs["next@12.3.1"].dev
    assert not pkgs["postcss@8.4.14"].dev and pkgs["postcss@8.4.14"].relationship == "indirect"
    assert pkgs["postcss@8.4.17"].dev and pkgs["postcss@8.4.17"].relationship == "direct"
    # the root workspace: placeholder version dropped, name from package.json's "{{ name }}" template
    root = pkgs["{{ name }}"]
    assert root.relationship == "workspace" and root.version == ""
    assert root.depends_on == ("eslint-plugin-tailwindcss@3.6.2", "next@12.3.1", "postcss@8.4.17")


def test_hand_checked_berry_workspaces(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["dependabot_berry_workspaces"])
    pkgs = {p.name: p for p in app.packages}
    ws = {p.name for p in app.packages if p.relationship == "workspace"}
    assert ws == {"yarn-workspace-example", "yarn-workspace-exanoke", "yarn-workspace-git-submodule-example"}
    # root package.json: devDependencies {"workspaces": "^0.1.0"}
    assert pkgs["workspaces"].dev and pkgs["workspaces"].relationship == "direct"
    # dependencies of the other workspaces are direct and production
    for name in ("axios", "koa", "pino", "@koa/router"):
        assert pkgs[name].relationship == "direct" and not pkgs[name].dev, name
    assert _lines(pkgs["yarn-workspace-exanoke"]) == [(1247, 1253)]


# --- semantics on small hand-written lockfiles --------------------------------------------------------------------

CLASSIC = """\
# yarn lockfile v1


"@scope/a@^1.0.0", "@scope/a@~1.2.0":
  version "1.2.3"
  dependencies:
    b "^2"
    shared "1"

b@^2:
  version "2.0.1"
  optionalDependencies:
    opt "*"

opt@*:
  version "0.1.0"

shared@1, shared@^1.0.0:
  version "1.0.0"

d@^3:
  version "3.0.0"
  dependencies:
    shared "^1.0.0"
    "alias" "npm:real@^4"

alias@npm:real@^4:
  version "4.4.4"

gitdep@user/repo#abc:
  version "9.9.9"
  dependencies:
    viagit "1"

viagit@1:
  version "1.0.0"

orphan@1:
  version "1.0.0"
"""


def test_classic_dev_closure_and_graph() -> None:
    manifest = json.dumps(
        {"dependencies": {"@scope/a": "^1.0.0", "gitdep": "user/repo#abc"}, "devDependencies": {"d": "^3"}}
    ).encode()
    pkgs = _by_id(parse_yarn_lock(CLASSIC.encode(), package_json=manifest))
    a = pkgs["@scope/a@1.2.3"]
    assert a.relationship == "direct" and not a.dev and a.depends_on == ("b@2.0.1", "shared@1.0.0")
    assert _lines(a) == [(4, 8)]
    assert pkgs["opt@0.1.0"].relationship == "indirect"  # optionalDependencies are edges too
    # shared is needed by prod @scope/a and dev d: not dev; real (alias) only by d: dev
    assert not pkgs["shared@1.0.0"].dev
    assert pkgs["real@4.4.4"].dev and pkgs["d@3.0.0"].depends_on == ("real@4.4.4", "shared@1.0.0")
    # the git dependency is not reported, but what it pulls in is still classified
    assert "gitdep@9.9.9" not in pkgs and pkgs["viagit@1.0.0"].relationship == "indirect"
    assert pkgs["orphan@1.0.0"].relationship == "unknown"  # nothing reaches it


BERRY = """\
__metadata:
  version: 6

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    lib: "workspace:*"
    left: ^1.10
  languageName: unknown
  linkType: soft

"lib@workspace:*, lib@workspace:packages/lib":
  version: 2.0.0
  resolution: "lib@workspace:packages/lib"
  dependencies:
    linked: "link:../linked"
    tool: "npm:^1"
  languageName: unknown
  linkType: soft

"left@npm:^1.10":
  version: 1.10.0
  resolution: "left@npm:1.10.0"

"linked@link:../linked::locator=lib%40workspace%3Apackages%2Flib":
  version: 0.0.0-use.local
  resolution: "linked@link:../linked::locator=lib%40workspace%3Apackages%2Flib"

"tool@npm:^1":
  version: 1.0.0
  resolution: "tool@npm:1.0.0"
"""


def test_berry_workspaces_links_and_yaml_typing() -> None:
    pkgs = _by_id(parse_yarn_lock(BERRY.encode()))
    # "1.10" stays a string (YAML 1.1 would make it the float 1.1)
    assert "left@1.10.0" in pkgs and pkgs["left@1.10.0"].relationship == "direct"
    assert pkgs["app"].relationship == "workspace" and pkgs["app"].depends_on == ("left@1.10.0", "lib@2.0.0")
    assert pkgs["lib@2.0.0"].relationship == "workspace"
    assert pkgs["tool@1.0.0"].relationship == "direct"  # a workspace's dependency
    assert not any(p.name == "linked" for p in pkgs.values())  # link: skipped
    assert _lines(pkgs["tool@1.0.0"]) == [(30, 32)]


def test_split_pattern() -> None:
    assert split_pattern("@s/a@^1") == ("@s/a", "^1")
    assert split_pattern("a@npm:@s/b@1") == ("a", "npm:@s/b@1")
    assert split_pattern("nover") == ("nover", "")


@pytest.mark.parametrize(
    "data",
    [
        b"garbage without colon",
        b"  indented@1:\n  version 1\n",
        b"__metadata:\n  version: 6\n'a': [\n",
        b"__metadata: [1]\n- x\n",
        b"\x00binary",
    ],
)
def test_bad_input_is_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_yarn_lock(data)


def test_odd_but_valid_values_are_tolerated() -> None:
    odd = b'__metadata:\n  version: 6\n"a@npm:1":\n  - 1\n"b@npm:1":\n  version: [1]\n"c@npm:1":\n  version: 1.0.0\n  dependencies: 5\n'
    assert [p.id for p in parse_yarn_lock(odd).packages] == ["c@1.0.0"]
    assert parse_yarn_lock(b"# only a comment\n").packages == ()


def test_analyzer_registration() -> None:
    assert (
        ANALYZER.name == "yarn"
        and ANALYZER.matches("web/yarn.lock")
        and ANALYZER.companions == ("package.json",)
    )
    res = run_guarded(ANALYZER, AnalysisInput("yarn.lock", CLASSIC.encode(), {"package.json": b"{}"}))
    assert res.applications[0].type == "yarn"
    assert (
        run_guarded(ANALYZER, AnalysisInput("node_modules/x/yarn.lock", CLASSIC.encode())).applications == ()
    )
    assert run_guarded(ANALYZER, AnalysisInput("yarn.lock", b"nonsense")).unknowns[0].analyzer == "yarn"


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _scan_dir(root: Path) -> dict[str, Package]:
    from tests.pipeline_helpers import analyze_dir

    from vigil.settings import ScanOptions

    blob = analyze_dir(ScanOptions(target=root, db_path=root / "none.db"))
    (app,) = [a for a in blob.applications if a.type == "yarn"]
    return _by_id(app)


MEMBER_LOCK = """\
__metadata:
  version: 6

"root@workspace:.":
  version: 0.0.0-use.local
  resolution: "root@workspace:."
  languageName: unknown
  linkType: soft

"util@workspace:packages/util":
  version: 0.0.0-use.local
  resolution: "util@workspace:packages/util"
  dependencies:
    js-tokens: ^8.0.1
    prop-types: ^15.8.1
  languageName: unknown
  linkType: soft

"js-tokens@npm:^8.0.1":
  version: 8.0.1
  resolution: "js-tokens@npm:8.0.1"

"prop-types@npm:^15.8.1":
  version: 15.8.1
  resolution: "prop-types@npm:15.8.1"
  dependencies:
    react-is: ^16.13.1

"react-is@npm:^16.13.1":
  version: 16.13.1
  resolution: "react-is@npm:16.13.1"
"""


def test_member_workspace_dev_dependencies_are_dev(tmp_path: Path) -> None:
    """A member workspace's lockfile entry mixes its dependencies and devDependencies; its own package.json (found
    through the lockfile's workspace entry) tells them apart, as the root's does."""
    _write(tmp_path, {
        "yarn.lock": MEMBER_LOCK,
        "package.json": json.dumps({"name": "root", "private": True, "workspaces": ["packages/*"]}),
        "packages/util/package.json": json.dumps(
            {"name": "util", "dependencies": {"js-tokens": "^8.0.1"}, "devDependencies": {"prop-types": "^15.8.1"}}
        ),
    })
    pkgs = _scan_dir(tmp_path)
    assert not pkgs["js-tokens@8.0.1"].dev
    assert pkgs["prop-types@15.8.1"].dev and pkgs["prop-types@15.8.1"].relationship == "direct"
    assert pkgs["react-is@16.13.1"].dev  # reached only from the member's devDependencies
    # without the member's manifest its lockfile list is all that is known: every package counts as production
    (tmp_path / "packages/util/package.json").unlink()
    assert not any(p.dev for p in _scan_dir(tmp_path).values())


CLASSIC_MEMBER_LOCK = """\
# yarn lockfile v1


js-tokens@^8.0.1:
  version "8.0.1"

prop-types@^15.8.1:
  version "15.8.1"
"""


def test_classic_member_workspace_named_without_glob(tmp_path: Path) -> None:
    """Classic lockfiles do not list workspaces: the root package.json's non-glob `workspaces` entries name them."""
    _write(tmp_path, {
        "yarn.lock": CLASSIC_MEMBER_LOCK,
        "package.json": json.dumps({"private": True, "workspaces": {"packages": ["tools/cli"]}}),
        "tools/cli/package.json": json.dumps(
            {"name": "cli", "dependencies": {"js-tokens": "^8.0.1"}, "devDependencies": {"prop-types": "^15.8.1"}}
        ),
    })
    pkgs = _scan_dir(tmp_path)
    assert pkgs["js-tokens@8.0.1"].relationship == "direct" and not pkgs["js-tokens@8.0.1"].dev
    assert pkgs["prop-types@15.8.1"].dev


def test_classic_member_workspaces_named_by_glob(tmp_path: Path) -> None:
    """`"workspaces": ["packages/*"]` (the usual monorepo layout): every matching member's package.json is read,
    so a package only a member's devDependencies reach is dev, as Trivy's yarn analyzer decides."""
    member = {"dependencies": {"js-tokens": "^8.0.1"}, "devDependencies": {"prop-types": "^15.8.1"}}
    _write(tmp_path, {
        "yarn.lock": CLASSIC_MEMBER_LOCK,
        "package.json": json.dumps({"private": True, "workspaces": ["packages/*", "../outside/*"]}),
        "packages/cli/package.json": json.dumps({"name": "cli", **member}),
        "packages/README.md": "not a workspace",
    })
    pkgs = _scan_dir(tmp_path)
    assert pkgs["js-tokens@8.0.1"].relationship == "direct" and not pkgs["js-tokens@8.0.1"].dev
    assert pkgs["prop-types@15.8.1"].relationship == "direct" and pkgs["prop-types@15.8.1"].dev


def test_workspace_globs_stay_inside_the_scan_root(tmp_path: Path) -> None:
    """A member reached through a symlink (to a directory outside the scan root) or named by `../` is never read:
    its package.json would otherwise decide what the scan reports."""
    outside = tmp_path / "outside"
    _write(outside, {"evil/package.json": json.dumps({"devDependencies": {"js-tokens": "^8.0.1"}})})
    root = tmp_path / "repo"
    _write(root, {
        "yarn.lock": CLASSIC_MEMBER_LOCK,
        "package.json": json.dumps({"private": True, "workspaces": ["packages/*", "../outside/*"]}),
    })
    (root / "packages").mkdir()
    (root / "packages" / "evil").symlink_to(outside / "evil")
    pkgs = _scan_dir(root)
    assert not pkgs["js-tokens@8.0.1"].dev


def test_glob_within_and_expand_in(tmp_path: Path) -> None:
    from vigil.sources.fs import glob_within
    from vigil.sources.related import expand_in

    _write(tmp_path, {"packages/a/package.json": "{}", "packages/b/package.json": "{}",
                      "packages/b/nested/c/package.json": "{}", "apps/x/package.json": "{}"})
    assert glob_within(tmp_path, "packages/*/package.json", 10) == ["packages/a/package.json",
                                                                   "packages/b/package.json"]
    assert glob_within(tmp_path, "packages/*/package.json", 1) == ["packages/a/package.json"]
    assert glob_within(tmp_path, "*/*/package.json", 10) == ["apps/x/package.json", "packages/a/package.json",
                                                             "packages/b/package.json"]
    for bad in ("../*/package.json", "/etc/*", "packages/**/package.json", "packages//package.json"):
        assert glob_within(tmp_path, bad, 10) == []
    kept = ["packages/a/package.json", "packages/b/nested/c/package.json", "apps/x/package.json"]
    assert expand_in(kept, "packages/*/package.json") == ["packages/a/package.json"]  # `*` never crosses a `/`
    assert expand_in(kept, "../packages/*/package.json") == []


def test_field_tokens_are_those_a_token_by_token_scan_gives() -> None:
    """A field line's first two tokens (quoted strings or runs of non-blanks), read by one match, are the first two
    of a scan token by token, on every short line of the characters that matter (an unterminated quote, a quote
    inside a bare token, a backslash escape, a token right after a closing quote)."""
    import itertools
    import re

    token = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"|(\S+)')

    def by_scan(line: str) -> list[str]:
        return [yarn_lock._unquote(m.group(1)) if m.group(1) is not None else m.group(2)
                for m in token.finditer(line)][:2]

    lines = {"".join(t).strip() for n in range(1, 8) for t in itertools.product('"\\ a\t\u00a0', repeat=n)}
    lines |= {'"@a/b" "^1.0.0"', 'version "1.2.3"', 'integrity sha512-x==', '"a b"c d', 'a"b c"', '"x\\"y" z'}
    for line in sorted(lines - {""}):
        first, second = yarn_lock._two_tokens(line)
        assert [first, *([] if second is None else [second])] == by_scan(line), line
