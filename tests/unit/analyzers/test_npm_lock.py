"""package-lock.json: goldens on real files from ../shared/data/corpus/lockfiles plus the tricky semantics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang import npm_lock
from vigil.analyzers.lang.npm_lock import ANALYZER, json_container_spans, parse_npm_lock
from vigil.analyzers.registry import AnalysisInput, run_guarded
from vigil.inventory.records import Application, Package

TRIVY = "aquasecurity__trivy/pkg/dependency/parser/nodejs/npm/testdata"
DEPENDABOT = "dependabot__dependabot-core/npm_and_yarn/spec/fixtures/projects"
CASES = {
    # v1 without package.json: relationships unknown (as Trivy); nested entries; dev flags
    "trivy_v1": f"{TRIVY}/package-lock_v1/package-lock.json",
    # v1 with package.json: top-level entries it lists are direct; a github: dependency (skipped)
    "dependabot_v1_git_manifest": f"{DEPENDABOT}/npm6/git_dependency_local_file/package-lock.json",
    # v2: `packages` map (and the v1 tree, ignored); root entry lists the direct deps
    "trivy_v2": f"{TRIVY}/package-lock_v2/package-lock.json",
    # v3 workspaces: links to functions/*, a workspace without version, nested node_modules under a workspace
    "trivy_v3_workspace": f"{TRIVY}/package-lock_v3_with_workspace/package-lock.json",
    # the same package both dev (bundled in fsevents) and prod: not dev
    "trivy_v3_same_dev_and_non_dev": f"{TRIVY}/package-lock_v3_with-same-dev-and-non-dev/package-lock.json",
    # aliases ("is-number-legacy": "npm:is-number@^3.0.0"): reported under the real name
    "dependabot_v3_alias": f"{DEPENDABOT}/grapher/npm_with_alias_multiversion/package-lock.json",
    # v2 workspace in packages/*, with dev tooling
    "dependabot_v2_workspace": f"{DEPENDABOT}/npm8/workspace_nested_package/package-lock.json",
}


def _parse_case(lockfiles_dir: Path, rel: str) -> Application:
    lock = lockfiles_dir / rel
    manifest = lock.parent / "package.json"
    return parse_npm_lock(lock.read_bytes(), rel, manifest.read_bytes() if manifest.exists() else None)


def _by_id(app: Application) -> dict[str, Package]:
    return {p.id: p for p in app.packages}


def _lines(p: Package) -> list[tuple[int, int]]:
    return [(loc.start_line, loc.end_line) for loc in p.locations]


def _lock(packages: dict[str, Any], **top: Any) -> bytes:
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages, **top}, indent=2).encode()


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden: Any) -> None:
    golden.check(f"analyzers/npm_lock/{case}", _parse_case(lockfiles_dir, CASES[case]))


# --- hand-checked against the source files ------------------------------------------------------------------------


def test_hand_checked_v2(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v2"]))
    # packages[""]: dependencies body-parser, finalhandler, ms, …; devDependencies debug; optional promise
    body = pkgs["body-parser@1.18.3"]
    assert body.relationship == "direct" and not body.dev
    assert _lines(body) == [(38, 57)]  # "node_modules/body-parser": { … }
    # body-parser's debug "2.6.9" is its own nested node_modules/body-parser/node_modules/debug
    assert "debug@2.6.9" in body.depends_on and "qs@6.5.2" in body.depends_on
    # …which needs ms from node_modules/body-parser/node_modules/ms (2.0.0), one directory up
    assert pkgs["debug@2.6.9"].depends_on == ("ms@2.0.0",)
    assert _lines(pkgs["debug@2.6.9"]) == [(58, 65), (145, 152)]  # nested under body-parser and finalhandler
    # the devDependency debug@2.5.2 and its nested ms@0.7.2 carry "dev": true
    assert pkgs["debug@2.5.2"].dev and pkgs["debug@2.5.2"].relationship == "direct"
    assert pkgs["ms@0.7.2"].dev and pkgs["ms@0.7.2"].relationship == "indirect"
    assert pkgs["debug@2.5.2"].depends_on == ("ms@0.7.2",)
    assert pkgs["ms@1.0.0"].relationship == "direct"  # root "ms": "^1.0.0" is node_modules/ms
    assert pkgs["promise@8.3.0"].relationship == "direct"  # optionalDependencies count too
    assert pkgs["asap@2.0.6"].relationship == "indirect" and _lines(pkgs["asap@2.0.6"]) == [(32, 37)]


def test_hand_checked_v1(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v1"]))
    assert {p.relationship for p in pkgs.values()} == {"unknown"}  # no package.json
    # "debug" 2.6.9 is nested under body-parser (lines 35-42) and finalhandler (111-118); its requirement
    # ms 2.0.0 resolves to the sibling nested entry
    assert _lines(pkgs["debug@2.6.9"]) == [(35, 42), (111, 118)]
    assert pkgs["debug@2.6.9"].depends_on == ("ms@2.0.0",)
    # top-level "debug" 2.5.2 (lines 60-76) is dev, so is its nested ms 0.7.2
    assert pkgs["debug@2.5.2"].dev and _lines(pkgs["debug@2.5.2"]) == [(60, 76)]
    assert pkgs["ms@0.7.2"].dev and pkgs["debug@2.5.2"].depends_on == ("ms@0.7.2",)
    assert not pkgs["ms@1.0.0"].dev


def test_hand_checked_v1_manifest(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["dependabot_v1_git_manifest"])
    # the only declared dependency is a github: one, whose version is a git location: skipped
    assert not any(p.name == "@segment/analytics.js-integration-facebook-pixel" for p in app.packages)
    assert {p.relationship for p in app.packages} == {"indirect"}


def test_hand_checked_workspace(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v3_workspace"]))
    # "node_modules/function1" links to "functions/func1", which has no name and no version
    func1 = pkgs["function1"]
    assert func1.relationship == "workspace" and func1.version == "" and _lines(func1) == [(18, 23)]
    assert func1.depends_on == ("nested_func@1.0.0",)
    nested = pkgs["nested_func@1.0.0"]
    assert nested.relationship == "workspace"
    # functions/nested_func/node_modules/debug: a workspace's own dependency is direct
    assert nested.depends_on == ("debug@2.6.9",) and pkgs["debug@2.6.9"].relationship == "direct"
    assert pkgs["debug@2.5.2"].relationship == "direct"  # root dependency
    # debug@2.5.2 needs ms from its own nested node_modules (0.7.2), debug@2.6.9 the hoisted 2.0.0
    assert pkgs["debug@2.5.2"].depends_on == ("ms@0.7.2",)
    assert pkgs["debug@2.6.9"].depends_on == ("ms@2.0.0",)


def test_hand_checked_same_dev_and_non_dev(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["trivy_v3_same_dev_and_non_dev"]))
    minimist = pkgs["minimist@0.0.8"]
    # dev inside fsevents (lines 38-43), prod at the top level (lines 68-72): merged, not dev, both locations
    assert not minimist.dev and minimist.relationship == "direct"
    assert _lines(minimist) == [(38, 43), (68, 72)]
    assert pkgs["fsevents@1.2.9"].dev and pkgs["fsevents@1.2.9"].relationship == "direct"


def test_hand_checked_alias(lockfiles_dir: Path) -> None:
    pkgs = _by_id(_parse_case(lockfiles_dir, CASES["dependabot_v3_alias"]))
    # node_modules/is-number-legacy has "name": "is-number", "version": "3.0.0"
    assert pkgs["is-number@3.0.0"].relationship == "direct"
    assert pkgs["is-number@7.0.0"].relationship == "direct"
    assert pkgs["is-number@2.1.0"].relationship == "indirect"
    assert not any(p.name == "is-number-legacy" for p in pkgs.values())
    assert pkgs["is-number@3.0.0"].purl == "pkg:npm/is-number@3.0.0"


# --- semantics on small hand-written lockfiles --------------------------------------------------------------------


def test_dev_optional_is_not_dev() -> None:
    data = _lock(
        {
            "": {"dependencies": {"a": "1"}, "devDependencies": {"d": "1"}},
            "node_modules/a": {"version": "1.0.0", "devOptional": True},
            "node_modules/d": {"version": "1.0.0", "dev": True},
        }
    )
    pkgs = _by_id(parse_npm_lock(data))
    assert not pkgs["a@1.0.0"].dev and pkgs["d@1.0.0"].dev


def test_links_and_broken_links() -> None:
    data = _lock(
        {
            "": {"workspaces": ["libs/*"], "dependencies": {"x": "1"}},
            "libs/w": {"name": "@org/w", "version": "2.0.0", "dependencies": {"x": "^1"}},
            "node_modules/@org/w": {"resolved": "libs/w", "link": True},
            "node_modules/ghost": {"resolved": "libs/ghost", "link": True},  # target missing: dropped
            "node_modules/empty": {"resolved": "", "link": True},
            "node_modules/loop": {"resolved": "node_modules/loop", "link": True},
            "node_modules/x": {"version": "1.0.0"},
            "libs/unlinked": {"name": "u", "version": "1.0.0"},  # nothing links to it: not reported
        }
    )
    pkgs = _by_id(parse_npm_lock(data))
    assert sorted(pkgs) == ["@org/w@2.0.0", "x@1.0.0"]
    w = pkgs["@org/w@2.0.0"]
    assert w.relationship == "workspace" and w.depends_on == ("x@1.0.0",) and not w.dev
    assert w.purl == "pkg:npm/%40org/w@2.0.0"


def test_root_entry_missing_uses_package_json() -> None:
    data = _lock({"node_modules/a": {"version": "1.0.0"}, "node_modules/b": {"version": "1.0.0"}})
    manifest = json.dumps({"devDependencies": {"a": "^1"}}).encode()
    pkgs = _by_id(parse_npm_lock(data, package_json=manifest))
    assert pkgs["a@1.0.0"].relationship == "direct" and pkgs["b@1.0.0"].relationship == "indirect"


def test_v1_resolution_nested_first_then_ancestors() -> None:
    lock = {
        "lockfileVersion": 1,
        "dependencies": {
            "a": {
                "version": "1.0.0",
                "requires": {"b": "^2", "c": "^1"},
                "dependencies": {
                    "b": {"version": "2.0.0", "requires": {"c": "^1"}},
                },
            },
            "b": {"version": "1.0.0"},
            "c": {"version": "1.0.0"},
            "alias": {"version": "npm:real@3.0.0"},
            "local": {"version": "file:../local"},
            "gitdep": {"version": "git+https://example.com/x.git#abc"},
        },
    }
    pkgs = _by_id(parse_npm_lock(json.dumps(lock, indent=2).encode()))
    assert pkgs["a@1.0.0"].depends_on == ("b@2.0.0", "c@1.0.0")
    assert pkgs["b@2.0.0"].depends_on == ("c@1.0.0",)  # from the top level, two scopes up
    assert "real@3.0.0" in pkgs and "alias@npm:real@3.0.0" not in pkgs
    assert not any(p.name in ("local", "gitdep") for p in pkgs.values())
    assert _lines(pkgs["b@2.0.0"]) == [(11, 16)]


def test_v1_with_manifest() -> None:
    lock = {
        "lockfileVersion": 1,
        "dependencies": {
            "a": {"version": "1.0.0", "dependencies": {"a2": {"version": "1.0.0"}}},
            "b": {"version": "1.0.0", "dev": True},
            "c": {"version": "1.0.0"},
        },
    }
    manifest = json.dumps({"dependencies": {"a": "1"}, "devDependencies": {"b": "1"}}).encode()
    pkgs = _by_id(parse_npm_lock(json.dumps(lock).encode(), package_json=manifest))
    assert [pkgs[i].relationship for i in ("a@1.0.0", "b@1.0.0", "c@1.0.0", "a2@1.0.0")] == [
        "direct",
        "direct",
        "indirect",
        "indirect",
    ]
    assert pkgs["b@1.0.0"].dev
    # a broken package.json is ignored, not fatal
    app = parse_npm_lock(json.dumps(lock).encode(), package_json=b"{not json")
    assert {p.relationship for p in app.packages} == {"unknown"}


def test_v1_deep_nesting_is_iterative() -> None:
    level: dict[str, Any] = {}
    top = level
    for i in range(400):  # json.loads copes with this depth; the parser must not recurse per level
        child: dict[str, Any] = {}
        level[f"p{i}"] = {"version": "1.0.0", "requires": {f"p{i + 1}": "1"}, "dependencies": child}
        level = child
    app = parse_npm_lock(json.dumps({"lockfileVersion": 1, "dependencies": top}).encode())
    assert len(app.packages) == 400
    assert _by_id(app)["p0@1.0.0"].depends_on == ("p1@1.0.0",)


def test_minified_lockfile_has_line_one() -> None:
    data = json.dumps({"lockfileVersion": 2, "packages": {"node_modules/a": {"version": "1.0.0"}}}).encode()
    (pkg,) = parse_npm_lock(data).packages
    assert _lines(pkg) == [(1, 1)]


def test_json_container_spans_ignores_brackets_in_strings() -> None:
    text = '{\n "packages": {\n  "a{": {\n   "x": "}]\\"{"\n  },\n  "b": [1, {"c": 2}]\n }\n}'
    spans = json_container_spans(text, lambda p: len(p) == 2)
    assert spans == {("packages", "a{"): (3, 5), ("packages", "b"): (6, 6)}


@pytest.mark.parametrize("indent", [2, 4, "\t"])
def test_indented_fast_path_matches_tokenizer(indent: int | str, lockfiles_dir: Path) -> None:
    """The regex fast path for pretty-printed `packages` must give exactly what the tokenizer gives."""
    doc = json.loads((lockfiles_dir / CASES["trivy_v2"]).read_text())
    doc["packages"]["node_modules/empty"] = {}
    text = json.dumps(doc, indent=indent)
    fast = npm_lock._indented_v2_spans(text, doc["packages"])
    assert fast is not None and fast == json_container_spans(text, npm_lock._want_v2)
    # mixed indentation (a hand-edited file in the corpus has 4 spaces at the top, 2 below) falls back
    mixed = text.replace('\n        "node_modules/asap"', '\n      "node_modules/asap"')
    assert indent != 4 or npm_lock._indented_v2_spans(mixed, doc["packages"]) is None


def test_large_lockfile() -> None:
    """~12 MB, 40k packages: parses in a couple of seconds (100 MB was checked by hand: ~12 s, no crash)."""
    packages: dict[str, Any] = {"": {"dependencies": {f"p{i}": "1" for i in range(100)}}}
    for i in range(40_000):
        packages[f"node_modules/p{i}"] = {
            "version": f"1.0.{i % 9}",
            "resolved": f"https://registry.npmjs.org/p{i}/-/p{i}-1.0.0.tgz",
            "integrity": "sha512-" + "A" * 86,
            "dependencies": {f"p{(i * 7 + 1) % 40_000}": "1"},
        }
    app = parse_npm_lock(_lock(packages))
    assert len(app.packages) == 40_000
    assert _by_id(app)["p0@1.0.0"].relationship == "direct"


@pytest.mark.parametrize(
    "data",
    [b"", b"[]", b'"x"', b"{", b'{"lockfileVersion": 1, "dependencies": []}', b"\x00\x01", b"\xff\xfe"],
)
def test_bad_input_is_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_npm_lock(data)


def test_odd_but_valid_values_are_tolerated() -> None:
    data = _lock({"": [], "node_modules/a": {"version": 1}, "node_modules/b": "x", "node_modules/c": {}})
    assert parse_npm_lock(data).packages == ()


def test_analyzer_registration() -> None:
    assert ANALYZER.name == "npm" and ANALYZER.matches("sub/package-lock.json")
    assert not ANALYZER.matches("node_modules/.package-lock.json")
    data = _lock({"node_modules/a": {"version": "1.0.0"}})
    res = run_guarded(ANALYZER, AnalysisInput("app/package-lock.json", data))
    assert res.applications[0].type == "npm" and res.applications[0].file_path == "app/package-lock.json"
    # lockfiles of installed packages are not applications
    assert run_guarded(ANALYZER, AnalysisInput("node_modules/x/package-lock.json", data)).applications == ()
    bad = run_guarded(ANALYZER, AnalysisInput("package-lock.json", b"{"))
    assert bad.unknowns[0].analyzer == "npm" and "invalid JSON" in bad.unknowns[0].reason


def test_v2_dependency_maps_are_read_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each package's dependency maps are walked where they are: no list of names per field of every package
    (a lockfile of 300 packages listed only the root's four fields), with the same dependencies."""
    packages: dict[str, Any] = {"": {"dependencies": {"p0": "1"}, "devDependencies": {"p1": "1"}}}
    for i in range(300):
        packages[f"node_modules/p{i}"] = {"version": "1.0.0", "dependencies": {f"p{(i + 1) % 300}": "1"},
                                          "optionalDependencies": {"missing": "1", f"p{(i + 7) % 300}": "1"}}
    data = json.dumps({"lockfileVersion": 3, "packages": packages}, indent=2).encode()
    listed = 0
    real = npm_lock._names

    def counting(value: object) -> list[str]:
        nonlocal listed
        listed += 1
        return real(value)

    monkeypatch.setattr(npm_lock, "_names", counting)
    pkgs = _by_id(parse_npm_lock(data))
    assert len(pkgs) == 300 and pkgs["p5@1.0.0"].depends_on == ("p12@1.0.0", "p6@1.0.0")
    assert pkgs["p0@1.0.0"].relationship == "direct" and pkgs["p2@1.0.0"].relationship == "indirect"
    assert listed == 4  # the root's dependencies, devDependencies, optionalDependencies, peerDependencies
