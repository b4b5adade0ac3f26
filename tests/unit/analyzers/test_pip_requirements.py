"""requirements.txt: goldens on real files from ../shared/data/corpus/lockfiles plus the tricky semantics."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang import pip_requirements as pr
from vigil.analyzers.lang.pip_requirements import ANALYZER, parse_requirements
from vigil.analyzers.registry import AnalysisInput, run_guarded

# case → corpus file (relative to ../shared/data/corpus/lockfiles)
CASES = {
    # plain pins, mixed-case names (Django, PyYAML) kept as written
    "pygoat": "adeyosemanputra__pygoat/requirements.txt",
    # pip-compile --generate-hashes: continuations, "# via" comment lines ending a continuation
    "compile_hashes": "dependabot__dependabot-core/python/spec/fixtures/requirements/pip_compile_extra_hashes/requirements.txt",
    # ranges, ~=, != and markers: only the == pins are packages
    "operators": "aquasecurity__trivy/pkg/dependency/parser/python/pip/testdata/requirements_operator/requirements.txt",
    # extras: the base package is kept
    "extras": "aquasecurity__trivy/pkg/dependency/parser/python/pip/testdata/requirement_exstras/requirements.txt",
    # UTF-16 LE with BOM and CRLF
    "utf16le": "aquasecurity__trivy/pkg/dependency/parser/python/pip/testdata/requirements_utf16le/requirements.txt",
    # "-e file:///…" line (skipped) and "# via" trailers
    "compile_editable": "dependabot__dependabot-core/python/spec/fixtures/requirements/pip_compile_imports_setup/requirements.txt",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    rel = CASES[case]
    app, skipped = parse_requirements((lockfiles_dir / rel).read_bytes(), rel)
    golden.check(f"analyzers/pip_requirements/{case}", {"application": app, "skipped": skipped})


def _parse(text: str, includes: dict[str, str] | None = None, path: str = "app/requirements.txt"):  # type: ignore[no-untyped-def]
    files = {k: v.encode() for k, v in (includes or {}).items()}
    return parse_requirements(text.encode(), path, files.get)


def _versions(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {p.name: p.version for p in app.packages}


def test_hand_checked_lines_in_golden_sources(lockfiles_dir: Path) -> None:
    rel = CASES["compile_hashes"]
    app, skipped = parse_requirements((lockfiles_dir / rel).read_bytes(), rel)
    by_name = {p.name: p for p in app.packages}
    # atomicwrites==1.2.1 \ (line 7), two --hash lines (8-9), "# via pytest" (10) ends it
    assert by_name["atomicwrites"].version == "1.2.1"
    loc = by_name["atomicwrites"].locations[0]
    assert (loc.start_line, loc.end_line) == (7, 9)
    assert by_name["pyasn1-modules"].version == "0.1.4"
    assert skipped == []
    assert all(p.relationship == "direct" and not p.dev for p in app.packages)


def test_pins_extras_markers_comments() -> None:
    app, skipped = _parse(
        "\n".join(
            [
                "# header",
                "Flask==2.0.0  # inline comment",
                "celery[redis, pytest]==4.4.7",
                "SomeProject ==5.4 ; python_version < '3.8'",
                "Jinja2==3.0.0#no-space comment",
                "arbitrary===1.0-custom",
                "paren (==1.2)",
                "spaced   ==   8.0.0",
                "",
            ]
        )
    )
    assert _versions(app) == {
        "Flask": "2.0.0",
        "celery": "4.4.7",
        "SomeProject": "5.4",
        "Jinja2": "3.0.0",
        "arbitrary": "1.0-custom",
        "paren": "1.2",
        "spaced": "8.0.0",
    }
    assert skipped == []
    celery = next(p for p in app.packages if p.name == "celery")
    assert celery.purl == "pkg:pypi/celery@4.4.7" and celery.locations[0].start_line == 3


def test_unpinned_lines_are_skipped_with_reasons() -> None:
    app, skipped = _parse(
        "\n".join(
            [
                "flask",  # 1
                "flask>=2",  # 2
                "requests>=2.31.0,<3",  # 3
                "django==5.*",  # 4
                "pkg @ https://example.com/pkg-1.0.tar.gz",  # 5
                "-e .",  # 6
                "git+https://github.com/org/repo.git#egg=repo",  # 7
                "./local/path",  # 8
                "foo|bar=='1.2.4'",  # 9
                "foo=='invalid-version'",  # 10
                "--index-url https://user:secret@example.com/simple",  # 11
                "ok==1.0",  # 12
            ]
        )
    )
    assert _versions(app) == {"ok": "1.0"}
    reasons = {s.line: s.reason for s in skipped}
    assert reasons == {
        1: pr.UNPINNED,
        2: pr.UNPINNED,
        3: pr.UNPINNED,
        4: pr.WILDCARD,
        5: pr.URL_OR_PATH,
        6: pr.EDITABLE,
        7: pr.URL_OR_PATH,
        8: pr.URL_OR_PATH,
        9: pr.INVALID_REQUIREMENT,
        10: pr.INVALID_VERSION,
        11: pr.OPTION,
    }
    # option arguments (often URLs with tokens) are never kept
    assert all("secret" not in s.text for s in skipped)
    assert all(s.file_path == "app/requirements.txt" for s in skipped)


def test_continuation_joins_lines_and_keeps_first_line_number() -> None:
    app, _ = _parse("a==1 \\\n  --hash=sha256:abc \\\n  --hash=sha256:def\nb==2\n")
    locs = {p.name: (p.locations[0].start_line, p.locations[0].end_line) for p in app.packages}
    assert locs == {"a": (1, 3), "b": (4, 4)}


def test_include_of_sibling_is_followed() -> None:
    app, skipped = _parse("-r base.txt\nflask==2.0.0\n", {"base.txt": "\n\nrequests==2.31.0\n"})
    assert _versions(app) == {"flask": "2.0.0", "requests": "2.31.0"}
    req = next(p for p in app.packages if p.name == "requests")
    # packages from the included file point at that file and its own line numbers
    assert req.file_path == "app/base.txt" and req.locations[0].start_line == 3
    assert app.file_path == "app/requirements.txt"
    assert skipped == []


def test_include_forms() -> None:
    files = {"a.txt": "a==1", "b.txt": "b==1", "c.txt": "c==1", "d.txt": "d==1"}
    app, skipped = _parse("-ra.txt\n--requirement b.txt\n--requirement=c.txt\n-r 'd.txt'\n", files)
    assert _versions(app) == {"a": "1", "b": "1", "c": "1", "d": "1"}
    assert skipped == []


def test_include_cycles_terminate() -> None:
    app, skipped = _parse(
        "-r requirements.txt\n-r a.txt\nroot==1\n",
        {"a.txt": "-r b.txt\na==1\n", "b.txt": "-r a.txt\n-r ./requirements.txt\nb==1\n"},
    )
    assert _versions(app) == {"root": "1", "a": "1", "b": "1"}
    cycles = [(s.file_path, s.line) for s in skipped if s.reason == pr.INCLUDE_CYCLE]
    assert cycles == [("app/requirements.txt", 1), ("app/b.txt", 1), ("app/b.txt", 2)]


def test_diamond_include_read_once() -> None:
    app, skipped = _parse(
        "-r a.txt\n-r b.txt\n", {"a.txt": "-r c.txt\n", "b.txt": "-r c.txt\n", "c.txt": "c==1\n"}
    )
    assert _versions(app) == {"c": "1"} and skipped == []


def test_missing_and_remote_includes_are_reported() -> None:
    app, skipped = _parse("-r missing.txt\n-r https://example.com/r.txt\nx==1\n")
    assert _versions(app) == {"x": "1"}
    assert [(s.line, s.reason) for s in skipped] == [(1, pr.INCLUDE_UNAVAILABLE), (2, pr.INCLUDE_UNAVAILABLE)]


def test_constraints_pin_unpinned_requirements_but_add_nothing() -> None:
    app, skipped = _parse(
        "-c constraints.txt\nflask\nrequests>=2\nunconstrained\n",
        {"constraints.txt": "flask==2.0.1\nrequests==2.31.0\nextra-only==9.9\n"},
    )
    assert _versions(app) == {"flask": "2.0.1", "requests": "2.31.0"}
    flask = next(p for p in app.packages if p.name == "flask")
    assert flask.file_path == "app/requirements.txt" and flask.locations[0].start_line == 2
    assert [(s.line, s.reason) for s in skipped] == [(4, pr.UNPINNED)]


def test_duplicate_pins_are_one_package() -> None:
    app, _ = _parse("Flask==2.0.0\nflask==2.0.0\nflask==2.0.1\n")
    assert sorted((p.name, p.version) for p in app.packages) == [("Flask", "2.0.0"), ("flask", "2.0.1")]


def test_binary_and_bad_encoding_raise_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_requirements(b"\x00\x01\x02")
    with pytest.raises(ParseError):
        parse_requirements(b"flask==1.0\n\xff\xfe\xfa")


def test_analyzer_uses_siblings_and_logs_summary(caplog: pytest.LogCaptureFixture) -> None:
    assert ANALYZER.matches("x/requirements.txt") and ANALYZER.matches("requirements-dev.txt")
    assert not ANALYZER.matches("x/constraints.txt")
    inp = AnalysisInput(
        path="svc/requirements-dev.txt",
        data=b"-r requirements.txt\n-r sub/other.txt\npytest\n",
        siblings={"requirements.txt": b"flask==2.0.0\n"},
    )
    with caplog.at_level(logging.INFO, logger=pr.__name__):
        res = run_guarded(ANALYZER, inp)
    (app,) = res.applications
    assert app.type == "pip" and _versions(app) == {"flask": "2.0.0"}
    assert app.packages[0].file_path == "svc/requirements.txt"
    summaries = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(summaries) == 1 and "1 requirement(s)" in summaries[0].getMessage()


def test_analyzer_without_packages_returns_nothing() -> None:
    res = run_guarded(ANALYZER, AnalysisInput(path="requirements.txt", data=b"flask\n# only comments\n"))
    assert res.applications == () and res.unknowns == ()
