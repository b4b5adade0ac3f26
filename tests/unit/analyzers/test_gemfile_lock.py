"""Gemfile.lock: goldens on real files from ../shared/data/corpus/lockfiles plus the tricky semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.gemfile_lock import ANALYZER, parse_gemfile_lock
from vigil.analyzers.registry import AnalysisInput, run_guarded

CASES = {
    # real app: nokogiri locked for 9 platforms, CHECKSUMS and RUBY VERSION sections
    "railsgoat": "OWASP__railsgoat/Gemfile.lock",
    # two GIT sources, `name!` in DEPENDENCIES
    "git_sources": "dependabot__dependabot-core/bundler/spec/fixtures/projects/bundler2/git_source_with_multiple_deps/Gemfile.lock",
    # PATH source (`remote: .`, the project's gemspec) before GEM
    "path_source": "dependabot__dependabot-core/bundler/spec/fixtures/projects/bundler2/imports_gemspec_imports_gemspec_large/Gemfile.lock",
    # GIT + GEM with a platform-suffixed gem (nokogiri 1.15.4-arm64-darwin)
    "git_and_platform": "dependabot__dependabot-core/bundler/spec/fixtures/projects/bundler2/top_level_update_with_git_gems/Gemfile.lock",
}


def _parse_case(lockfiles_dir: Path, rel: str):  # type: ignore[no-untyped-def]
    return parse_gemfile_lock((lockfiles_dir / rel).read_bytes(), rel)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    golden.check(f"analyzers/gemfile_lock/{case}", _parse_case(lockfiles_dir, CASES[case]))


def test_hand_checked_railsgoat_platform_variants(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["railsgoat"])
    nokogiri = [p for p in app.packages if p.name == "nokogiri"]
    assert len(nokogiri) == 1
    (n,) = nokogiri
    assert n.version == "1.19.0" and n.purl == "pkg:gem/nokogiri@1.19.0"
    # the plain-ruby variant needs mini_portile2, the native ones only racc: union
    assert n.depends_on == ("mini_portile2@2.8.9", "racc@1.8.1")
    assert [(loc.start_line, loc.end_line) for loc in n.locations][:3] == [(259, 261), (262, 263), (264, 265)]
    assert len(n.locations) == 9
    assert n.relationship == "indirect"
    rails = next(p for p in app.packages if p.name == "rails")
    assert rails.relationship == "direct" and rails.version == "8.0.4"
    assert rails.locations[0].start_line == 320
    assert not any(p.dev for p in app.packages)


def test_hand_checked_git_sources(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["git_sources"])
    by_name = {p.name: p for p in app.packages}
    assert {n for n, p in by_name.items() if p.relationship == "direct"} == {
        "elasticsearch-dsl",
        "elasticsearch-model",
        "elasticsearch-rails",
    }
    assert by_name["elasticsearch-model"].depends_on == (
        "activesupport@5.2.0",
        "elasticsearch@5.0.4",
        "hashie@3.5.7",
    )
    loc = by_name["elasticsearch-model"].locations[0]
    assert (loc.start_line, loc.end_line) == (6, 9)


GEMFILE_LOCK = b"""GEM
  remote: https://rubygems.org/
  specs:
    ffi (1.17.3-x86_64-linux-gnu)
    nokogiri (1.13.10-x86_64-linux)
      racc (~> 1.4)
    racc (1.6.2)
    sass-embedded (1.69.5-x86_64-linux-gnu)
      google-protobuf (~> 3.23)
      rake (>= 13.0.0)

PLATFORMS
  x86_64-linux

DEPENDENCIES
  nokogiri (~> 1.13)!
  sass-embedded

CHECKSUMS
  nokogiri (1.13.10-x86_64-linux) sha256=abc

BUNDLED WITH
   2.5.3
"""


def test_platform_suffix_is_stripped_and_deps_resolved() -> None:
    app = parse_gemfile_lock(GEMFILE_LOCK, "Gemfile.lock")
    got = {p.name: (p.version, p.relationship, p.depends_on) for p in app.packages}
    assert got == {
        "ffi": ("1.17.3", "indirect", ()),
        "nokogiri": ("1.13.10", "direct", ("racc@1.6.2",)),
        "racc": ("1.6.2", "indirect", ()),
        # google-protobuf and rake are not locked: no dangling edges
        "sass-embedded": ("1.69.5", "direct", ()),
    }
    assert app.type == "bundler"


def test_without_dependencies_section_relationship_is_unknown() -> None:
    app = parse_gemfile_lock(b"GEM\n  specs:\n    rack (3.0.0)\n")
    assert [(p.name, p.relationship) for p in app.packages] == [("rack", "unknown")]


def test_crlf_and_odd_lines_are_tolerated() -> None:
    data = b"GEM\r\n  specs:\r\n    rack (3.0.0)\r\n     odd-indent (1)\r\n    broken (\r\n\tx\r\nDEPENDENCIES\r\n  rack\r\n"
    app = parse_gemfile_lock(data)
    assert [(p.name, p.version, p.relationship) for p in app.packages] == [("rack", "3.0.0", "direct")]


def test_not_a_gemfile_lock_raises_parse_error(lockfiles_dir: Path) -> None:
    # Trivy's own "malformed" fixture: one word, no sections
    rel = "aquasecurity__trivy/pkg/dependency/parser/ruby/bundler/testdata/Gemfile_malformed/Gemfile.lock"
    with pytest.raises(ParseError):
        parse_gemfile_lock((lockfiles_dir / rel).read_bytes())
    with pytest.raises(ParseError):
        parse_gemfile_lock(b"\x00\x01")
    assert parse_gemfile_lock(b"").packages == ()


def test_analyzer() -> None:
    (app,) = run_guarded(ANALYZER, AnalysisInput(path="r/Gemfile.lock", data=GEMFILE_LOCK)).applications
    assert app.file_path == "r/Gemfile.lock" and len(app.packages) == 4
    res = run_guarded(ANALYZER, AnalysisInput(path="Gemfile.lock", data=b"malformed"))
    assert res.applications == () and res.unknowns[0].analyzer == "bundler"
