"""Work bounds of the JSON position helpers (counted, never timed): subtrees whose insides nobody asked about are
skipped by the C decoder, with the same spans as the token-by-token walk, and where that decoder fails (JSONC,
invalid or hostile text) it is asked at most once more, so the work stays linear."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from vigil.analyzers.lang import _jsonlines as jl
from vigil.analyzers.lang import npm_lock


def _descend_v1(p: list[str | None]) -> bool:
    """May a container hold an npm v1 (`_want_v1`) one: every even step of its path is `dependencies`. npm_lock does
    not pass it (its small `requires` objects decode no faster than they tokenize), but it is a deep predicate."""
    return all(p[i] == "dependencies" for i in range(0, len(p), 2))


class _CountingPattern:
    """Stands in for a module's token regex and counts the tokens handed out."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern, self.tokens = pattern, 0

    def finditer(self, text: str, pos: int = 0) -> Iterator[re.Match[str]]:
        for m in self.pattern.finditer(text, pos):
            self.tokens += 1
            yield m


def _counting(monkeypatch: pytest.MonkeyPatch) -> tuple[_CountingPattern, _CountingPattern, list[int]]:
    container, value = _CountingPattern(jl._CONTAINER_TOKEN), _CountingPattern(jl._VALUE_TOKEN)
    monkeypatch.setattr(jl, "_CONTAINER_TOKEN", container)
    monkeypatch.setattr(jl, "_VALUE_TOKEN", value)
    decodes: list[int] = []
    real = jl._value_end

    def counting_end(text: str, start: int) -> int | None:
        decodes.append(start)
        return real(text, start)

    monkeypatch.setattr(jl, "_value_end", counting_end)
    return container, value, decodes


def _token_walk(monkeypatch: pytest.MonkeyPatch, fn: Any, *args: Any) -> Any:
    """What `fn` gives when nothing is skipped: the decoder 'fails' on the first subtree, so all is tokenized."""
    with monkeypatch.context() as m:
        m.setattr(jl, "_value_end", lambda text, start: None)
        return fn(*args)


def _v1_lock(packages: int, requires: int) -> str:
    deps = {
        f"p{i}": {
            "version": "1.0.0",
            "requires": {f"r{j}": f"^{j}.0.0" for j in range(requires)},
            "dependencies": {"inner": {"version": "2.0.0", "integrity": "sha512-[{x}]"}},
        }
        for i in range(packages)
    }
    return json.dumps({"name": "x", "lockfileVersion": 1, "dependencies": deps}, indent=2)


def test_npm_v1_spans_tokenize_per_package_not_per_requirement(monkeypatch: pytest.MonkeyPatch) -> None:
    small, big = _v1_lock(20, 1), _v1_lock(20, 200)
    want, descend = npm_lock._want_v1, _descend_v1
    expected = _token_walk(monkeypatch, jl.json_container_spans, big, want)
    expected_small = _token_walk(monkeypatch, jl.json_container_spans, small, want)
    container, _, decodes = _counting(monkeypatch)
    assert jl.json_container_spans(small, want, descend) == expected_small
    small_tokens = container.tokens
    decodes.clear()
    container.tokens = 0
    got = jl.json_container_spans(big, want, descend)
    assert got == expected
    assert len(got) == 40  # 20 packages and their nested `inner`
    # 200 requirements each add tokens to the text, none to the walk: each `requires` is one decoder call
    assert container.tokens == small_tokens
    assert len(decodes) == 20  # each package's `requires`; `dependencies` and `inner` may hold wanted ones
    assert all(big[s] in "{[" for s in decodes)


def test_value_spans_skip_below_the_depth_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = {"packages": [{"name": f"n{i}", "require": {f"d{j}": "*" for j in range(100)},
                         "extra": [[1, 2], {"a": "]"}]} for i in range(30)],
           "hash": "x", "nested": {"deep": {"deeper": [1, 2, 3]}}}
    text = json.dumps(doc, indent=4)
    expected = {d: _token_walk(monkeypatch, jl.json_value_spans, text, d) for d in range(5)}
    _, value, _ = _counting(monkeypatch)
    for d in range(5):
        assert jl.json_value_spans(text, d) == expected[d]
    value.tokens = 0
    spans = jl.json_value_spans(text, 2)
    assert spans[("packages", 3)] == expected[2][("packages", 3)]
    # depth 2 stops at each package object: a handful of tokens, not the 100 requirements of each of 30 packages
    assert value.tokens < 30 * 4 + 20


HOSTILE = [
    '{"packages": {"a": ' + "[" * 5_000 + "]" * 5_000 + "}}",  # past the C decoder's recursion limit
    '{"dependencies": {"a": {"requires": {"x": 1,}, "version": "1"}, "b": {"requires": {"y": 2,}}}}',  # trailing commas
    '{"packages": {"a": {"x": 1 /* c */}, "b": {"y": // c\n 2}}}',  # JSONC comments
    '{"dependencies": {"a": {"requires": {' + '"k": [, ' * 2_000 + "}}}}",  # invalid, many subtrees below a failure
    '{"packages": {"a": {"n": ' + "9" * 5000 + "}}}",  # an integer past Python's digit limit
    '{"packages": {"a": {"s": "\\ud800 \x01"}, "b": {}}}',  # a control character strict decoding refuses
]


@pytest.mark.parametrize("text", HOSTILE)
def test_decoder_failures_fall_back_to_the_walk_once(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    cases = [(npm_lock._want_v1, _descend_v1), (npm_lock._want_v2, npm_lock._descend_v2)]
    expected_c = [_token_walk(monkeypatch, jl.json_container_spans, text, w) for w, _ in cases]
    expected_v = [_token_walk(monkeypatch, jl.json_value_spans, text, d) for d in (1, 2, 3)]
    container, value, decodes = _counting(monkeypatch)
    for (w, d), exp in zip(cases, expected_c, strict=True):
        decodes.clear()
        container.tokens = 0
        assert jl.json_container_spans(text, w, d) == exp
        failed = [s for s in decodes if _raw_fails(text, s)]
        assert len(failed) <= 1  # once the decoder fails, nothing more is handed to it
        assert container.tokens <= len(text)
    for depth, exp in zip((1, 2, 3), expected_v, strict=True):
        decodes.clear()
        value.tokens = 0
        assert jl.json_value_spans(text, depth) == exp
        assert len([s for s in decodes if _raw_fails(text, s)]) <= 1
        assert value.tokens <= len(text)


def _raw_fails(text: str, start: int) -> bool:
    try:
        json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError):
        return True
    return False


def test_a_failure_stops_all_later_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    # every `requires` below is invalid: were each handed to the decoder, the scans would add up quadratically
    text = '{"dependencies": {' + ", ".join(f'"p{i}": {{"requires": {{"x": 1,}}}}' for i in range(500)) + "}}"
    _, _, decodes = _counting(monkeypatch)
    jl.json_container_spans(text, npm_lock._want_v1, _descend_v1)
    assert len(decodes) == 1
    decodes.clear()
    jl.json_value_spans(text, 2)
    assert len(decodes) == 1



def _split_reference(s: str) -> list[str]:
    """yarn_lock's header split as a character-by-character walk (what the regex scan must equal)."""
    from vigil.analyzers.lang.yarn_lock import _QUOTED

    parts: list[str] = []
    pos = start = 0
    while pos < len(s):
        m = _QUOTED.match(s, pos) if s[pos] == '"' else None
        if m:
            pos = m.end()
        elif s[pos] == ",":
            parts.append(s[start:pos])
            pos += 1
            start = pos
        else:
            pos += 1
    parts.append(s[start:])
    return parts


def test_yarn_header_split_equals_the_character_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    import itertools

    from vigil.analyzers.lang import yarn_lock

    for n in range(8):
        for chars in itertools.product('"\\,a', repeat=n):
            s = "".join(chars)
            assert yarn_lock._split_outside_quotes(s) == _split_reference(s), s
    # one regex match per comma or quoted string, not one Python step per character
    pattern = _CountingPattern(yarn_lock._QUOTED_OR_COMMA)
    monkeypatch.setattr(yarn_lock, "_QUOTED_OR_COMMA", pattern)
    header = ", ".join(f'"@scope/pkg-{i}@^{i}.0.0"' for i in range(50))
    assert len(yarn_lock._split_outside_quotes(header)) == 50
    assert pattern.tokens == 50 + 49
