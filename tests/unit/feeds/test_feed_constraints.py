"""Table tests for the range-syntax parsers (vigil.vulndb.build.feeds.constraints)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.vulndb.build.feeds.constraints import (
    cargo_requirement,
    composer_constraint,
    elixir_requirement,
    loose_compare,
    npm_range,
    ruby_requirement,
    simple_comparators,
)
from vigil.vulndb.records import Interval


def describe(ivs: tuple[Interval, ...] | None) -> list[str] | None:
    return None if ivs is None else [iv.describe() for iv in ivs]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("<4.17.5", ["<4.17.5"]),
        (">=4.17.5", [">=4.17.5"]),
        ("*", ["*"]),
        ("", ["*"]),
        ("x", ["*"]),
        ("1.2.3", ["=1.2.3"]),
        ("=3.0.0-rc.1", ["=3.0.0-rc.1"]),
        ("v1.2.3", ["=1.2.3"]),
        ("<=v2.0.0-alpha7", ["<=2.0.0-alpha7"]),
        # operator followed by spaces (node-semver tolerates it)
        ("<  2.0.5", ["<2.0.5"]),
        (">= 2.0.1 <3.0.2", [">=2.0.1, <3.0.2"]),
        # || alternatives, AND by spaces
        ("< 3.1.3  || >= 4.0.0 <4.1.1", ["<3.1.3", ">=4.0.0, <4.1.1"]),
        ("<1.6.5 || < 2.1.7 > 2.0.0", ["<1.6.5", ">2.0.0, <2.1.7"]),
        ("<=3.7.1 || >= 3.7.3", ["<=3.7.1", ">=3.7.3"]),
        ("2.1.0-M1 || 2.1.0-M2", ["=2.1.0-M1", "=2.1.0-M2"]),
        # x-ranges
        ("1.x", [">=1.0.0, <2.0.0"]),
        ("1.2.x", [">=1.2.0, <1.3.0"]),
        ("1", [">=1.0.0, <2.0.0"]),
        ("1.2", [">=1.2.0, <1.3.0"]),
        ("2.0.x || 2.1.x", [">=2.0.0, <2.1.0", ">=2.1.0, <2.2.0"]),
        (">= 2.2.x", [">=2.2.0"]),
        (">= 1.x", [">=1.0.0"]),
        (">1", [">=2.0.0"]),
        (">1.2", [">=1.3.0"]),
        ("<1.2", ["<1.2.0"]),
        ("<=1.2", ["<1.3.0"]),
        ("<=1", ["<2.0.0"]),
        ("<*", ["<0.0.0-0"]),  # matches nothing
        # caret
        ("^1.2.3", [">=1.2.3, <2.0.0"]),
        ("^0.2.3", [">=0.2.3, <0.3.0"]),
        ("^0.0.3", [">=0.0.3, <0.0.4"]),
        ("^1.2.3-beta.2", [">=1.2.3-beta.2, <2.0.0"]),
        ("^0.0.x", [">=0.0.0, <0.1.0"]),
        ("^0.0", [">=0.0.0, <0.1.0"]),
        ("^1.x", [">=1.0.0, <2.0.0"]),
        ("^0.x", [">=0.0.0, <1.0.0"]),
        # tilde
        ("~1.2.3", [">=1.2.3, <1.3.0"]),
        ("~1.2", [">=1.2.0, <1.3.0"]),
        ("~1", [">=1.0.0, <2.0.0"]),
        ("~0.2.3", [">=0.2.3, <0.3.0"]),
        ("~1.2.3-beta.2", [">=1.2.3-beta.2, <1.3.0"]),
        (">= 0.2.0 <= 0.9.6 || ~0.8.0-pre", [">=0.2.0, <=0.9.6", ">=0.8.0-pre, <0.9.0"]),
        # hyphen ranges
        ("1.2.3 - 2.3.4", [">=1.2.3, <=2.3.4"]),
        ("1.2 - 2.3.4", [">=1.2.0, <=2.3.4"]),
        ("1.2.3 - 2.3", [">=1.2.3, <2.4.0"]),
        ("1.2.3 - 2", [">=1.2.3, <3.0.0"]),
        # prerelease-carrying bounds are kept verbatim
        (
            ">=1.7.0 <1.7.16 || >=3.0.0-beta.1 <3.0.0-beta.7",
            [">=1.7.0, <1.7.16", ">=3.0.0-beta.1, <3.0.0-beta.7"],
        ),
        (">=2.0.0-alpha8 <=2.0.0-rc2", [">=2.0.0-alpha8, <=2.0.0-rc2"]),
        # two bounds on one side: the tighter one wins
        (">=1.0.0 >=1.2.0 <3 <2.5.0", [">=1.2.0, <2.5.0"]),
        (">=1.0.0-rc1 >=1.0.0", [">=1.0.0"]),
        # not parsable
        ("latest", None),
        ("1.2.3.4.5", None),
        (">=", ["*"]),  # node-semver: an operator without version is "*"
    ],
)
def test_npm_range(expr: str, expected: list[str] | None) -> None:
    assert describe(npm_range(expr)) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (">= 0.9.1", [">=0.9.1"]),
        (">=0.10", [">=0.10.0"]),
        ("< 0.2, >= 0.1.5", [">=0.1.5, <0.2.0"]),
        (">= 111.18, < 300.0", [">=111.18.0, <300.0.0"]),
        ("< 0.10.0-alpha.1, >= 0.9.5", [">=0.9.5, <0.10.0-alpha.1"]),
        ("^ 0.2.2", [">=0.2.2, <0.3.0"]),
        ("^1.7.5", [">=1.7.5, <2.0.0"]),
        ("0.9.1", [">=0.9.1, <0.10.0"]),  # bare = caret
        ("1.2.*", [">=1.2.0, <1.3.0"]),
        ("1.*", [">=1.0.0, <2.0.0"]),
        ("*", ["*"]),
        ("=0.4.0", ["=0.4.0"]),
        ("=1.2", [">=1.2.0, <1.3.0"]),
        ("~1.2", [">=1.2.0, <1.3.0"]),
        ("", None),
        ("< 1.0,", None),
        ("garbage", None),
    ],
)
def test_cargo_requirement(expr: str, expected: list[str] | None) -> None:
    assert describe(cargo_requirement(expr)) == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([">= 1.5.4"], [">=1.5.4"]),
        (["~> 1.5.11", ">= 1.6.1"], [">=1.5.11, <1.6", ">=1.6.1"]),
        (["~> 1.2.3"], [">=1.2.3, <1.3"]),
        (["~> 1.2"], [">=1.2, <2"]),
        (["~> 1"], [">=1, <2"]),
        (["~> 1.2.0.rc1"], [">=1.2.0.rc1, <1.3"]),
        (["~> 5.2.4, >= 5.2.4.3"], [">=5.2.4.3, <5.3"]),
        (["~> 4.2.11, >= 4.2.11.1", ">= 6.0.0.beta3"], [">=4.2.11.1, <4.3", ">=6.0.0.beta3"]),
        ([">= 1.0, < 2"], [">=1.0, <2"]),
        ([">= 2.0.0, <= 2.2.2"], [">=2.0.0, <=2.2.2"]),
        (["= 1.1.2"], ["=1.1.2"]),
        (["1.1.2"], ["=1.1.2"]),
        (["< 0.2.0"], ["<0.2.0"]),
        (["!= 1.0"], ["<1.0", ">1.0"]),
        ([], []),
        (["~>"], None),
        ([">= 1.0 garbage"], None),
    ],
)
def test_ruby_requirement(items: list[str], expected: list[str] | None) -> None:
    assert describe(ruby_requirement(items)) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (">=2.0,<2.1.3", [">=2.0, <2.1.3"]),
        (">=2.0 <2.1.3", [">=2.0, <2.1.3"]),
        ("<1.2", ["<1.2"]),
        (">=4.4.0,<4.4.7 || >=5.0.0,<5.0.7", [">=4.4.0, <4.4.7", ">=5.0.0, <5.0.7"]),
        (">=4.4.0,<4.4.7 | >=5.0.0,<5.0.7", [">=4.4.0, <4.4.7", ">=5.0.0, <5.0.7"]),
        ("<=5.20.12", ["<=5.20.12"]),
        (">5.0", [">5.0"]),
        ("1.0.2", ["=1.0.2"]),
        ("v1.0.2", ["=1.0.2"]),
        ("1.0.*", [">=1.0, <1.1"]),
        ("*", ["*"]),
        ("~1.2", [">=1.2, <2.0"]),
        ("~1.2.3", [">=1.2.3, <1.3"]),
        ("^1.2.3", [">=1.2.3, <2.0.0"]),
        ("^0.3", [">=0.3, <0.4.0"]),
        ("^0.0.3", [">=0.0.3, <0.0.4"]),
        ("1.0 - 2.0", [">=1.0, <2.1"]),
        ("1.0.0 - 2.1.0", [">=1.0.0, <=2.1.0"]),
        (">=1.0@dev", [">=1.0"]),
        ("!=1.5", ["<1.5", ">1.5"]),
        ("", None),
        ("<<1", None),
    ],
)
def test_composer_constraint(expr: str, expected: list[str] | None) -> None:
    assert describe(composer_constraint(expr)) == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([">= 0.5.2"], [">=0.5.2"]),
        (["> 2.2.0"], [">2.2.0"]),
        (["~> 1.2.3"], [">=1.2.3, <1.3.0"]),
        (["~> 1.2"], [">=1.2.0, <2.0.0"]),
        (["~> 2.1.3-dev"], [">=2.1.3-dev, <2.2.0"]),
        ([">= 1.3.0-rc.1", "~> 1.2.3", "~> 1.1.7"], [">=1.3.0-rc.1", ">=1.2.3, <1.3.0", ">=1.1.7, <1.2.0"]),
        ([">= 1.0.0 and < 1.2.0"], [">=1.0.0, <1.2.0"]),
        ([">= 1.0.0 and < 1.2.0 or >= 2.0.0"], [">=1.0.0, <1.2.0", ">=2.0.0"]),
        (["== 1.0.0"], ["=1.0.0"]),
        (["1.0.0"], ["=1.0.0"]),
        (["~> 1"], None),  # Elixir requires at least MAJOR.MINOR after ~>
        (["and"], None),
    ],
)
def test_elixir_requirement(items: list[str], expected: list[str] | None) -> None:
    assert describe(elixir_requirement(items)) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("< 0.2, >= 0.1.5", [">=0.1.5, <0.2"]),
        ("== 1.0", ["=1.0"]),
        ("1.0", ["=1.0"]),
        (">=1.0,<=2.0", [">=1.0, <=2.0"]),
        ("< 0.2 >= 0.1", None),
        ("", None),
    ],
)
def test_simple_comparators(expr: str, expected: list[str] | None) -> None:
    assert describe(simple_comparators(expr)) == expected


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [
        ("1.0", "1.0.0", 0),
        ("1.0", "1.0.0.1", -1),
        ("1.2.10", "1.2.9", 1),
        ("1.0.0-rc1", "1.0.0", -1),
        ("1.0.0", "1.0.0-rc1", 1),
        ("1.0.0-alpha", "1.0.0-beta", -1),
        ("5.2.4", "5.2.4.3", -1),
        ("2.0.0.beta3", "2.0.0", -1),
    ],
)
def test_loose_compare(a: str, b: str, sign: int) -> None:
    assert loose_compare(a, b) == sign
    assert loose_compare(b, a) == -sign


@pytest.mark.fuzz
@given(st.text(max_size=40))
def test_parsers_never_raise(text: str) -> None:
    for fn in (npm_range, cargo_requirement, composer_constraint, simple_comparators):
        result = fn(text)
        assert result is None or all(isinstance(iv, Interval) for iv in result)
    for fn2 in (ruby_requirement, elixir_requirement):
        result = fn2([text, text])
        assert result is None or all(isinstance(iv, Interval) for iv in result)


@pytest.mark.fuzz
@given(
    st.lists(
        st.sampled_from(
            ["<", "<=", ">", ">=", "=", "~", "^", "", " ", "||", " - ", "1", "0", ".", "x", "*", "-rc.1"]
        ),
        max_size=12,
    )
)
def test_npm_range_grammar_fragments_never_raise(parts: list[str]) -> None:
    result = npm_range("".join(parts))
    assert result is None or isinstance(result, tuple)
