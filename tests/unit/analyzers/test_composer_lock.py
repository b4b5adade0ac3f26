"""composer.lock: goldens on real files from ../shared/data/corpus/lockfiles plus the tricky semantics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.composer_lock import ANALYZER, json_value_spans, parse_composer_lock
from vigil.analyzers.registry import AnalysisInput, run_guarded

CASES = {
    # with composer.json: direct/indirect
    "trivy_integration": "aquasecurity__trivy/integration/testdata/fixtures/repo/composer/composer.lock",
    # no composer.json; packages-dev; `license` both as array and as a bare string
    "happy_no_manifest": "aquasecurity__trivy/pkg/dependency/parser/php/composer/testdata/composer_happy/composer.lock",
    # laravel/framework replaces illuminate/*; big packages-dev section
    "replaced_dependency": "dependabot__dependabot-core/composer/spec/fixtures/projects/replaced_dependency/composer.lock",
    # dev-only lock: empty `packages`, everything under packages-dev
    "dev_only": "dependabot__dependabot-core/composer/spec/fixtures/projects/media_organizer/composer.lock",
}


def _parse_case(lockfiles_dir: Path, rel: str):  # type: ignore[no-untyped-def]
    lock = lockfiles_dir / rel
    manifest = lock.parent / "composer.json"
    return parse_composer_lock(lock.read_bytes(), rel, manifest.read_bytes() if manifest.exists() else None)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    golden.check(f"analyzers/composer_lock/{case}", _parse_case(lockfiles_dir, CASES[case]))


def test_hand_checked_trivy_integration(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["trivy_integration"])
    by_name = {p.name: p for p in app.packages}
    guzzle, psr7 = by_name["guzzlehttp/guzzle"], by_name["guzzlehttp/psr7"]
    assert guzzle.relationship == "direct" and psr7.relationship == "indirect"
    # require: ext-json, php (platform: ignored) and guzzlehttp/psr7
    assert guzzle.depends_on == ("guzzlehttp/psr7@1.8.3",)
    assert (guzzle.locations[0].start_line, guzzle.locations[0].end_line) == (9, 129)
    assert (psr7.locations[0].start_line, psr7.locations[0].end_line) == (130, 245)
    assert guzzle.licenses == ("MIT",) and guzzle.purl == "pkg:composer/guzzlehttp/guzzle@7.4.4"
    assert not guzzle.dev


def test_hand_checked_replaced_dependency(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["replaced_dependency"])
    by_name = {p.name: p for p in app.packages}
    # composer.json requires illuminate/console and illuminate/support, which laravel/framework replaces
    assert by_name["laravel/framework"].relationship == "direct"
    # orchestra/testbench-core requires illuminate/* too: resolved to laravel/framework
    assert "laravel/framework@v5.5.28" in by_name["orchestra/testbench"].depends_on
    # versions kept as locked, leading "v" included
    assert by_name["laravel/dusk"].version == "v2.0.8" and by_name["laravel/dusk"].dev
    loc = by_name["laravel/dusk"].locations[0]
    assert loc.start_line == 2244


def test_happy_without_manifest_is_unknown(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["happy_no_manifest"])
    assert {p.relationship for p in app.packages} == {"unknown"}
    assert any(p.dev for p in app.packages) and any(not p.dev for p in app.packages)


def _lock(packages: list[object], dev: list[object] | None = None) -> bytes:
    return json.dumps({"packages": packages, "packages-dev": dev or []}, indent=4).encode()


def test_dev_section_and_platform_requirements() -> None:
    data = _lock(
        [
            {
                "name": "a/a",
                "version": "v1.0.0",
                "require": {"php": ">=7", "ext-json": "*", "lib-icu": "*", "b/b": "^2"},
                "license": "MIT",
            }
        ],
        [
            {"name": "b/b", "version": "2.0.0", "require": {"composer-plugin-api": "^2", "missing/pkg": "*"}},
            {"name": "c/c", "version": "3.0.0", "license": ["BSD-3-Clause", 7]},
        ],
    )
    app = parse_composer_lock(
        data, "composer.lock", b'{"require": {"php": "^8", "A/A": "^1"}, "require-dev": {"c/c": "*"}}'
    )
    got = {p.name: (p.version, p.dev, p.relationship, p.depends_on, p.licenses) for p in app.packages}
    assert got == {
        "a/a": ("v1.0.0", False, "direct", ("b/b@2.0.0",), ("MIT",)),
        "b/b": ("2.0.0", True, "indirect", (), ()),
        "c/c": ("3.0.0", True, "direct", (), ("BSD-3-Clause",)),
    }


def test_bad_manifest_and_bad_entries_do_not_fail() -> None:
    data = _lock(
        [1, {"name": "x/x"}, {"name": "ok/ok", "version": "1.0", "require": ["not", "an", "object"]}]
    )
    for manifest in (b"{broken", b"[]", None):
        app = parse_composer_lock(data, "composer.lock", manifest)
        assert [(p.name, p.relationship) for p in app.packages] == [("ok/ok", "unknown")]


def test_invalid_documents_raise_parse_error() -> None:
    for bad in (b"[]", b'{"packages": {}}', b"{", b"\x00x"):
        with pytest.raises(ParseError):
            parse_composer_lock(bad)


def test_json_value_spans() -> None:
    text = '{\n "a": [\n  {"k": "}{[]"},\n  {"k": 2}\n ],\n "b\\"q": {"x": [1, {"y": 3}]},\n "c": 1\n}'
    spans = json_value_spans(text, max_depth=2)
    assert text[slice(*spans[("a", 0)])] == '{"k": "}{[]"}'
    assert text[slice(*spans[("a", 1)])] == '{"k": 2}'
    assert text[slice(*spans[('b"q', "x")])] == '"x": [1, {"y": 3}]'
    assert ('b"q', "x", 1) not in spans  # deeper than asked
    assert text[slice(*spans[("a",)])].startswith('"a": [')


def test_analyzer() -> None:
    data = _lock([{"name": "a/a", "version": "1.0"}])
    res = run_guarded(
        ANALYZER, AnalysisInput(path="p/composer.lock", data=data, siblings={"composer.json": b"{}"})
    )
    (app,) = res.applications
    assert app.type == "composer" and app.packages[0].relationship == "indirect"
