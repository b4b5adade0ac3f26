"""The linear-time matcher for regexes from a secret config: `re`'s results, bounded work, RE2's subset."""

from __future__ import annotations

import logging
import random
import re

import pytest

from tests.secret_corpus import planted_files
from vigil.analyzers.secrets import linear, rules
from vigil.analyzers.secrets.engine import SecretScanner
from vigil.analyzers.secrets.linear import LinearPattern, UnsupportedRegex

PATTERNS = [
    rb"a+", rb"(a|aa)+b", rb"(?P<secret>[A-Z0-9]{4,8})", rb"x(?:ab|a)*?b", rb"^\w+$", rb"\bfoo\b",
    rb"(?i)key\s*[:=]\s*(?P<secret>[a-z0-9]{3,})", rb"a*", rb"(?s).+", rb".+?c", rb"\Aab|ab\Z", rb"(a|b)*?c",
    rb"[^\n]{2}", rb"(?m)^ab$", rb"ab$", rb"\B.", rb"(x)?(y)?z", rb"(?:a|ab)(?:c|bcd)", rb"a{2,3}?",
    rb"(?i:K)ey", rb"[\d\-]+", rb"()", rb"[^a-c]+",
]


def _all(rx: re.Pattern[bytes] | LinearPattern, s: bytes, pos: int, groups: int) -> list[object]:
    return [(m.span(), [m.span(g) for g in range(1, groups + 1)]) for m in rx.finditer(s, pos)]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("flags", [0, re.MULTILINE])
def test_same_matches_and_groups_as_re(pattern: bytes, flags: int) -> None:
    rng = random.Random(pattern)
    rx, lp = re.compile(pattern, flags), LinearPattern(pattern, flags)
    for _ in range(300):
        s = bytes(rng.choice(b"abcxyzK \n0-:=e") for _ in range(rng.randint(0, 14)))
        pos = rng.randint(0, len(s))
        assert _all(lp, s, pos, rx.groups) == _all(rx, s, pos, rx.groups), (s, pos)


def test_packaged_rules_it_can_run_give_res_results() -> None:
    """On the planted secrets corpus, every packaged rule without lookarounds matches exactly as with `re`."""
    texts = [t.encode() for t in planted_files()[0].values()]
    ran = 0
    for r in rules.builtin().rules:
        try:
            lp = LinearPattern(r.regex, re.MULTILINE)
        except UnsupportedRegex:
            continue
        ran += 1
        rx = re.compile(r.regex.encode(), re.MULTILINE)
        for s in texts:
            assert _all(lp, s, 0, rx.groups) == _all(rx, s, 0, rx.groups), r.id
    assert ran >= 10


def test_catastrophic_pattern_costs_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """(a|aa)+b on a long run of a's: exponential for `re`, here at most len(program) visits per byte."""
    visits: list[int] = []
    real = LinearPattern._add

    def counting(self: LinearPattern, *a: object) -> int:
        n: int = real(self, *a)  # type: ignore[arg-type]
        visits.append(n)
        return n

    monkeypatch.setattr(LinearPattern, "_add", counting)
    lp = LinearPattern(rb"(a|aa)+b")
    text = b"x=" + b"a" * 5000 + b"!\nab"
    assert [m.span() for m in lp.finditer(text)] == [(len(text) - 2, len(text))]
    assert sum(visits) <= len(lp.prog) * len(text) * 2


@pytest.mark.parametrize("pattern", [r"(?=x)a", r"(?!x)a", r"(?<=x)a", r"(?<!x)a", r"(a)\1", r"(?>a+)b",
                                     r"a++", r"(a)?(?(1)b|c)"])
def test_constructs_that_backtrack_are_refused(pattern: str) -> None:
    with pytest.raises(UnsupportedRegex):
        LinearPattern(pattern)
    with pytest.raises(rules.SecretConfigError, match="cannot be used in a secret config"):
        rules.parse_config(f"rules:\n  - id: x\n    regex: '{pattern}'\n".encode())


def test_huge_unrolled_repeat_is_refused() -> None:
    with pytest.raises(UnsupportedRegex, match="too large"):
        LinearPattern(rb"(?:[a-z]{1000}){50}")


def test_user_rule_over_budget_is_skipped_with_a_warning(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(linear, "WORK_BASE", 0)
    monkeypatch.setattr(linear, "WORK_PER_BYTE", 1)
    rs = rules.effective(rules.parse_config(
        b"rules:\n  - id: heavy\n    regex: '(?:a|aa)+b'\n    keywords: [aaaa]\n"))
    text = b"GITHUB=ghp_" + b"Zq8xY2wV" * 4 + b"AbCd\nx=" + b"a" * 200 + b"!\n"
    with caplog.at_level(logging.WARNING):
        found = [f.rule_id for f in SecretScanner(rs, backend="re").scan("c.env", text)]
    assert found == ["github-pat"]  # the packaged rules still ran
    assert any("heavy" in r.getMessage() and "c.env" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("backend", ["re", "hyperscan"])
def test_redos_rule_from_a_config_is_bounded(backend: str) -> None:
    rs = rules.effective(rules.parse_config(
        b"rules:\n  - id: redos\n    category: t\n    title: t\n    regex: '(a|aa)+b'\n    keywords: [aaaa]\n"))
    text = b"x=" + b"a" * 200 + b"!\nab\n"
    if backend == "hyperscan":
        pytest.importorskip("hyperscan")
    assert [(f.rule_id, f.start_line) for f in SecretScanner(rs, backend=backend).scan("n.txt", text)] == [
        ("redos", 2)]


def test_user_globs_and_paths_run_linearly() -> None:
    rs = rules.effective(rules.parse_config(
        b"skip-patterns: ['**/a/**/a/**/a/**/a/**/a/**/b']\n"
        b"allow-rules:\n  - id: p\n    path: '(x|xx)+y'\n"))
    sc = SecretScanner(rs)
    assert not sc.wants("a/" * 40 + "b")
    assert sc.wants("a/" * 2000 + "c")
    assert not sc.wants("x" * 3000 + "y")
    assert sc.wants("x" * 3000 + "z")
