"""RubyGems versions: Gem::Version rules (rubygems lib/rubygems/version.rb)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.detectors.versions import InvalidVersion
from vigil.detectors.versions.gem import SCHEME as S
from vigil.detectors.versions.gem import segments


def assert_ascending(versions: list[str]) -> None:
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert S.compare(low, high) == -1, f"{low} < {high}"
            assert S.compare(high, low) == 1, f"{high} > {low}"


def test_gem_prerelease_ordering() -> None:
    # Any letter segment makes a pre-release, which sorts before the release; strings sort before numbers.
    assert_ascending(
        [
            "0.9",
            "1.0.0.a",
            "1.0.0.a1",
            "1.0.0.a10",
            "1.0.0.b1",
            "1.0.0.pre",
            "1.0.0.pre1",
            "1.0.0.rc1",
            "1.0.0",
            "1.0.0.1",
            "1.0.1.a",
            "1.0.1",
            "1.1",
            "1.10",
        ]
    )
    assert S.compare("1.0.0.pre", "1.0.0") == -1
    assert S.compare("1.0.a", "1.0") == -1


def test_gem_dash_means_pre() -> None:
    # "-" is replaced by ".pre.": 1.0.0-rc1 is 1.0.0.pre.rc1, which sorts before 1.0.0.rc1 ("pre" < "rc").
    assert S.compare("1.0.0-rc1", "1.0.0.pre.rc1") == 0
    assert S.compare("1.0.0-rc1", "1.0.0") == -1
    assert S.compare("1.0.0-rc1", "1.0.0.rc1") == -1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0", "1"),  # trailing zeros are ignored
        ("1.0.0.0", "1"),
        ("1.0.a", "1.a"),  # zeros before the first letter are dropped (canonical_segments)
        ("1.a.0", "1.a"),
        ("1.0a", "1.0.a"),  # digit/letter runs are segments
        (" 1.2 ", "1.2"),
        ("01.2", "1.2"),
    ],
)
def test_gem_equal(a: str, b: str) -> None:
    assert S.compare(a, b) == 0
    assert S.key(a) == S.key(b)


def test_gem_padding_cases() -> None:
    # Missing segments compare as 0: "1" > "1.a" (0 > "a"), "1.a" > "1.a.0.b" ... (0 > "b").
    assert S.compare("1", "1.a") == 1
    assert S.compare("1.a", "1.a.0.b") == 1
    assert S.compare("1", "1.0.2") == -1
    assert S.compare("1.a", "1.a.1") == -1
    assert S.compare("1.A", "1.a") == -1  # byte-wise, case-sensitive


@pytest.mark.parametrize(
    "bad", ["", "  ", "a", "1a", ".1", "1..2", "1.0.", "1.0-", "1 0", "1.0+abc", "1.0_1", "=1.0", "v1.0"]
)
def test_gem_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        S.key(bad)


def _gem_cmp(a: str, b: str) -> int:
    """Gem::Version#<=> transcribed literally (canonical segments, padded with 0)."""
    lhs, rhs = segments(a), segments(b)
    if lhs == rhs:
        return 0
    for left, right in itertools.zip_longest(lhs, rhs, fillvalue=0):
        if left == right:
            continue
        if isinstance(left, str) and isinstance(right, int):
            return -1
        if isinstance(left, int) and isinstance(right, str):
            return 1
        return -1 if left < right else 1  # type: ignore[operator]
    return 0


_gem = st.builds(
    lambda head, rest, pre: head + "".join(rest) + pre,
    st.sampled_from(["0", "1", "2"]),
    st.lists(
        st.sampled_from([".0", ".1", ".2", ".a", ".b", ".a1", ".0a", ".1b2", ".pre", ".rc1", ".B"]),
        max_size=5,
    ),
    st.sampled_from(["", "", "-rc1", "-0", "-a.1"]),
)


@given(_gem, _gem)
def test_gem_key_matches_reference(a: str, b: str) -> None:
    # The run-length token key must agree with the literal <=> on every pair.
    assert S.compare(a, b) == _gem_cmp(a, b)
