"""poetry.lock: goldens on real files from ../shared/data/corpus/lockfiles plus the tricky semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.poetry_lock import ANALYZER, array_table_lines, parse_poetry_lock, pyproject_roots
from vigil.analyzers.registry import AnalysisInput, run_guarded

CASES = {
    # lock 2.0 with `category`, sibling pyproject.toml → direct/indirect from [tool.poetry.dependencies]
    "trivy_integration_pyproject": "aquasecurity__trivy/integration/testdata/fixtures/repo/poetry/poetry.lock",
    # old lock 1.1: category = "dev"/"main", [metadata.files] after the packages
    "v1_category": "aquasecurity__trivy/pkg/dependency/parser/python/poetry/testdata/poetry_flask/poetry.lock",
    # Poetry 2.x lock: `groups = [...]` per package, per-group markers
    "v2_groups": "dependabot__dependabot-core/python/spec/fixtures/poetry_locks/poetry_v2_groups_markers/poetry.lock",
    # dependencies given as a list of per-marker constraint tables
    "multiple_constraints": "dependabot__dependabot-core/python/spec/fixtures/poetry_locks/multiple_constraint_dependency/poetry.lock",
}


def _parse_case(lockfiles_dir: Path, rel: str):  # type: ignore[no-untyped-def]
    lock = lockfiles_dir / rel
    pyproject = lock.parent / "pyproject.toml"
    return parse_poetry_lock(lock.read_bytes(), rel, pyproject.read_bytes() if pyproject.exists() else None)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    golden.check(f"analyzers/poetry_lock/{case}", _parse_case(lockfiles_dir, CASES[case]))


def test_hand_checked_trivy_integration(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["trivy_integration_pyproject"])
    by_name = {p.name: p for p in app.packages}
    assert {n: p.relationship for n, p in by_name.items()} == {
        "click": "direct",
        "werkzeug": "direct",
        "colorama": "indirect",
    }
    assert by_name["click"].depends_on == ("colorama@0.4.6",)
    assert not any(p.dev for p in app.packages)
    # [[package]] click: line 3 up to its [package.dependencies] entry on line 16
    assert (by_name["click"].locations[0].start_line, by_name["click"].locations[0].end_line) == (3, 16)
    # werkzeug: [[package]] on line 30, block ends with its [package.extras] (line 45), before [metadata]
    werkzeug = by_name["werkzeug"].locations[0]
    assert (werkzeug.start_line, werkzeug.end_line) == (30, 45)


def test_hand_checked_v1_category(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["v1_category"])
    dev = {p.name for p in app.packages if p.dev}
    assert dev == {"atomicwrites", "attrs", "more-itertools", "packaging", "py", "pytest", "wcwidth"}
    assert all(p.relationship == "unknown" for p in app.packages)
    flask = next(p for p in app.packages if p.name == "flask")
    # names in [package.dependencies] are matched normalised (Jinja2 → jinja2, Werkzeug → werkzeug)
    assert flask.depends_on == ("click@8.1.8", "itsdangerous@2.2.0", "jinja2@3.1.5", "werkzeug@3.1.3")


def test_hand_checked_v2_groups(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["v2_groups"])
    by_name = {p.name: p for p in app.packages}
    assert by_name["alabaster"].dev and by_name["black"].dev  # groups = ["docs"], ["dev"]
    assert not by_name["certifi"].dev  # groups = ["main"]
    assert not by_name["colorama"].dev  # groups = ["main", "dev"]


FLASK_PYPROJECT = b"""
[tool.poetry]
name = "x"
[tool.poetry.dependencies]
python = "^3.9"
Flask = "1.0.3"
[tool.poetry.group.test.dependencies]
pytest = "5.4.3"
"""


def test_dev_closure_from_pyproject_overrides_category(lockfiles_dir: Path) -> None:
    rel = CASES["v1_category"]
    app = parse_poetry_lock((lockfiles_dir / rel).read_bytes(), rel, FLASK_PYPROJECT)
    by_name = {p.name: p for p in app.packages}
    # colorama is needed by click (prod) and by pytest (dev) → prod
    assert not by_name["colorama"].dev
    # pluggy says category "main" but is only reachable from pytest → dev
    assert by_name["pluggy"].dev
    assert by_name["pytest"].dev and by_name["pytest"].relationship == "direct"
    assert by_name["flask"].relationship == "direct" and not by_name["flask"].dev
    assert by_name["werkzeug"].relationship == "indirect" and not by_name["werkzeug"].dev


LOCK = b"""
[[package]]
name = "app-lib"
version = "1.0"

[package.dependencies]
shared = "*"
opt = {version = "*", optional = true}

[[package]]
name = "Shared"
version = "2.0"

[[package]]
name = "opt"
version = "3.0"

[[package]]
name = "devtool"
version = "4.0"

[package.dependencies]
shared = "*"
devonly = [{version = "<2", python = "<3.8"}, {version = ">=2", python = ">=3.8"}]

[[package]]
name = "devonly"
version = "1.0"

[[package]]
name = "devonly"
version = "2.0"

[[package]]
name = "orphan"
version = "5.0"
"""


def test_pep621_and_dependency_groups() -> None:
    pyproject = b"""
[project]
name = "x"
dependencies = ["app_lib[extra] >=1.0 ; python_version > '3'"]
[dependency-groups]
dev = ["DevTool==4.0", {include-group = "other"}]
"""
    app = parse_poetry_lock(LOCK, "poetry.lock", pyproject)
    got = {(p.name, p.version): (p.dev, p.relationship) for p in app.packages}
    assert got == {
        ("app-lib", "1.0"): (False, "direct"),
        ("Shared", "2.0"): (False, "indirect"),  # reachable from both → prod
        ("opt", "3.0"): (False, "indirect"),  # optional edges count
        ("devtool", "4.0"): (True, "direct"),
        ("devonly", "1.0"): (True, "indirect"),  # both per-marker alternatives are linked
        ("devonly", "2.0"): (True, "indirect"),
        ("orphan", "5.0"): (False, "indirect"),  # reachable from nothing: not provably dev
    }
    devtool = next(p for p in app.packages if p.name == "devtool")
    assert devtool.depends_on == ("Shared@2.0", "devonly@1.0", "devonly@2.0")


def test_legacy_dev_dependencies_and_main_group() -> None:
    prod, dev = pyproject_roots(
        b"""
[tool.poetry.dependencies]
python = "^3.8"
[tool.poetry.dev-dependencies]
Black = "*"
[tool.poetry.group.main.dependencies]
Requests = "*"
[tool.poetry.group.docs.dependencies]
sphinx = "*"
"""
    ) or (set(), set())
    assert prod == {"requests"} and dev == {"black", "sphinx"}


def test_unusable_pyproject_falls_back_to_lock() -> None:
    for pyproject in (b"not = [toml", b"[build-system]\nrequires = []\n", b'tool = "x"'):
        app = parse_poetry_lock(LOCK, "poetry.lock", pyproject)
        assert all(p.relationship == "unknown" and not p.dev for p in app.packages)


def test_block_lines() -> None:
    text = '# c\n[[package]]\nname = "a"\n\n[package.dependencies]\nb = "*"\n\n[[package]]\nname = "b"\n\n[metadata]\nx = 1\n'
    assert array_table_lines(text, "package") == [(2, 6), (8, 9)]


def test_invalid_documents_raise_parse_error() -> None:
    for bad in (b"package = 3", b"[[package]\n", b"\x00"):
        with pytest.raises(ParseError):
            parse_poetry_lock(bad)
    # entries that are not usable are skipped, not fatal
    app = parse_poetry_lock(b'package = [1, {name = "a"}, {name = "b", version = "1"}]\n')
    assert [(p.name, p.version, p.locations) for p in app.packages] == [("b", "1", ())]


def test_analyzer_uses_pyproject_sibling() -> None:
    inp = AnalysisInput(
        path="p/poetry.lock", data=LOCK, siblings={"pyproject.toml": b'[project]\ndependencies=["opt"]'}
    )
    (app,) = run_guarded(ANALYZER, inp).applications
    assert app.type == "poetry"
    assert {p.name for p in app.packages if p.relationship == "direct"} == {"opt"}
