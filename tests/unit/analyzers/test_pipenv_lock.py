"""Pipfile.lock: goldens on real files from ../shared/data/corpus/lockfiles plus the tricky semantics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.pipenv_lock import ANALYZER, parse_pipenv_lock
from vigil.analyzers.registry import AnalysisInput, run_guarded

# case → (corpus lockfile, with its sibling Pipfile?)
CASES = {
    # large real lock, default + develop, no Pipfile → relationships unknown
    "trivy_ci_test": "aquasecurity__trivy/integration/testdata/fixtures/repo/trivy-ci-test/Pipfile.lock",
    # editable path entries (no version) in both sections; Pipfile present → direct/indirect
    "editable_with_pipfile": "dependabot__dependabot-core/python/spec/fixtures/projects/pipenv/editable-package/Pipfile.lock",
    # names that need care ("aspy.yaml"-style, mixed case)
    "hard_names": "dependabot__dependabot-core/python/spec/fixtures/pipfile_files/hard_names/Pipfile.lock",
}


def _parse_case(lockfiles_dir: Path, rel: str):  # type: ignore[no-untyped-def]
    lock = lockfiles_dir / rel
    pipfile = lock.parent / "Pipfile"
    return parse_pipenv_lock(lock.read_bytes(), rel, pipfile.read_bytes() if pipfile.exists() else None)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    golden.check(f"analyzers/pipenv_lock/{case}", _parse_case(lockfiles_dir, CASES[case]))


def test_hand_checked_editable_with_pipfile(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["editable_with_pipfile"])
    by_name = {p.name: p for p in app.packages}
    # "ballcone" is an editable path install in both sections: not a registry package
    assert set(by_name) == {"cffi", "cryptography", "pycparser"}
    # all three are only in "develop"
    assert all(p.dev for p in app.packages)
    # Pipfile [dev-packages] asks for cryptography only
    assert by_name["cryptography"].relationship == "direct"
    assert by_name["cffi"].relationship == "indirect"
    assert by_name["cryptography"].version == "40.0.1"
    loc = by_name["cryptography"].locations[0]
    assert (loc.start_line, loc.end_line) == (85, 110)
    assert app.type == "pipenv" and by_name["pycparser"].purl == "pkg:pypi/pycparser@2.21"


def _lock(default: dict[str, object], develop: dict[str, object]) -> bytes:
    return json.dumps({"_meta": {}, "default": default, "develop": develop}, indent=4).encode()


def test_package_in_default_and_develop_is_prod() -> None:
    data = _lock(
        {"Six": {"version": "==1.16.0"}}, {"six": {"version": "==1.16.0"}, "pytest": {"version": "==8.0"}}
    )
    app = parse_pipenv_lock(data, "Pipfile.lock")
    assert {(p.name, p.dev) for p in app.packages} == {("Six", False), ("pytest", True)}
    assert all(p.relationship == "unknown" for p in app.packages)


def test_pipfile_names_match_normalised() -> None:
    data = _lock({"Django": {"version": "==4.2"}, "sqlparse": {"version": "==0.4"}}, {})
    app = parse_pipenv_lock(data, "Pipfile.lock", b'[packages]\ndjango = "*"\n')
    assert {p.name: p.relationship for p in app.packages} == {"Django": "direct", "sqlparse": "indirect"}


def test_broken_pipfile_means_unknown_not_failure() -> None:
    data = _lock({"a": {"version": "==1"}}, {})
    app = parse_pipenv_lock(data, "Pipfile.lock", b"[packages\n")
    assert [p.relationship for p in app.packages] == ["unknown"]


def test_entries_without_pin_are_skipped() -> None:
    data = _lock(
        {
            "git-dep": {"git": "https://x/y.git", "ref": "abc"},
            "weird": {"version": 3},
            "star": {"version": "*"},
        },
        {"ok": {"version": "===1.0"}},
    )
    app = parse_pipenv_lock(data)
    assert [(p.name, p.version) for p in app.packages] == [("ok", "1.0")]


def test_invalid_documents_raise_parse_error() -> None:
    for bad in (b"[]", b'{"default": []}', b"{not json", b"\x00\x00"):
        with pytest.raises(ParseError):
            parse_pipenv_lock(bad)


def test_analyzer_reads_pipfile_sibling() -> None:
    data = _lock({"requests": {"version": "==2.31.0"}}, {})
    res = run_guarded(
        ANALYZER,
        AnalysisInput(path="x/Pipfile.lock", data=data, siblings={"Pipfile": b"[packages]\nrequests='*'\n"}),
    )
    (app,) = res.applications
    assert app.packages[0].relationship == "direct" and app.file_path == "x/Pipfile.lock"
    assert ANALYZER.matches("a/b/Pipfile.lock") and not ANALYZER.matches("Pipfile")
