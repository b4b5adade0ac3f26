"""Maven versions: ComparableVersion (Maven 3.9.x). Tables are the ones in Maven's ComparableVersionTest."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vigil.detectors.versions import InvalidVersion
from vigil.detectors.versions.maven import SCHEME as S
from vigil.detectors.versions.maven import _parse_items, canonical


def assert_ascending(versions: list[str]) -> None:
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert S.compare(low, high) == -1, f"{low} < {high}"
            assert S.compare(high, low) == 1, f"{high} > {low}"


def assert_equal(a: str, b: str) -> None:
    assert S.compare(a, b) == 0, f"{a} == {b}"
    assert S.key(a) == S.key(b)
    assert hash(S.key(a)) == hash(S.key(b))


def test_maven_qualifier_order() -> None:
    # ComparableVersionTest.VERSIONS_QUALIFIER.
    assert_ascending(
        [
            "1-alpha2snapshot",
            "1-alpha2",
            "1-alpha-123",
            "1-beta-2",
            "1-beta123",
            "1-m2",
            "1-m11",
            "1-rc",
            "1-cr2",
            "1-rc123",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-sp2",
            "1-sp123",
            "1-abc",
            "1-def",
            "1-pom-1",
            "1-1-snapshot",
            "1-1",
            "1-2",
            "1-123",
        ]
    )


def test_maven_number_order() -> None:
    # ComparableVersionTest.VERSIONS_NUMBER as of Maven 3.8.8/3.9 (after MNG-7644).
    assert_ascending(
        [
            "2.0",
            "2.0.a",
            "2-1",
            "2.0.2",
            "2.0.123",
            "2.1.0",
            "2.1-a",
            "2.1b",
            "2.1-c",
            "2.1-1",
            "2.1.0.1",
            "2.2",
            "2.123",
            "11.a2",
            "11.a11",
            "11.b2",
            "11.b11",
            "11.m2",
            "11.m11",
            "11",
            "11.a",
            "11b",
            "11c",
            "11m",
        ]
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # ComparableVersionTest.testVersionsEqual
        ("1", "1.0"),
        ("1", "1.0.0"),
        ("1.0", "1.0.0"),
        ("1", "1-0"),
        ("1", "1.0-0"),
        ("1.0", "1.0-0"),
        ("1a", "1-a"),
        ("1a", "1.0-a"),
        ("1a", "1.0.0-a"),
        ("1.0a", "1-a"),
        ("1.0.0a", "1-a"),
        ("1x", "1-x"),
        ("1x", "1.0.0-x"),
        ("1ga", "1"),
        ("1release", "1"),
        ("1final", "1"),
        ("1cr", "1rc"),
        ("1a1", "1-alpha-1"),
        ("1b2", "1-beta-2"),
        ("1m3", "1-milestone-3"),
        ("1X", "1x"),
        ("1A", "1a"),
        ("1GA", "1"),
        ("1RELeaSE", "1"),
        ("1FinaL", "1"),
        ("1Cr", "1Rc"),
        ("1m3", "1MILESTONE3"),
        ("1-abcdefghijklmnopqrstuvwxyz", "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        # Spring's ".RELEASE" / ".Final" are the release itself.
        ("1.0.0.RELEASE", "1"),
        ("5.3.20.RELEASE", "5.3.20"),
        ("2.0.0.Final", "2.0.0"),
        # Leading zeros (MNG-6572).
        ("0000000000000000001", "1"),
        ("000000000000000000", "0"),
    ],
)
def test_maven_equal(a: str, b: str) -> None:
    assert_equal(a, b)


def test_maven_mng_7644() -> None:
    # 1.0.0.X1 < 1.0.0-X2 and 2.0.X == 2-X == 2.0.0.X for any string X.
    for x in ["abc", "alpha", "a", "beta", "b", "def", "milestone", "m", "RC"]:
        assert S.compare(f"1.0.0.{x}1", f"1.0.0-{x}2") == -1, x
        assert_equal(f"2-{x}", f"2.0.{x}")
        assert_equal(f"2-{x}", f"2.0.0.{x}")


def test_maven_named_issues() -> None:
    # MNG-5568: transitivity of 6.1.0rc3 < 6.1.0 < 6.1H.5-beta.
    assert_ascending(["6.1.0rc3", "6.1.0", "6.1H.5-beta"])
    # MNG-6572: numbers of any length.
    assert_ascending(
        ["20190126.230843", "1234567890.12345", "123456789012345.1H.5-beta", "12345678901234567890.1H.5-beta"]
    )
    # MNG-6964: the whole sub-list is compared with null.
    assert_ascending(["1-0.alpha", "1-0.beta", "1"])
    # The examples from the brief / ComparableVersion javadoc.
    assert_ascending(["1-SNAPSHOT", "1", "1-sp"])
    assert_ascending(
        ["1.0-alpha-1", "1.0-alpha-2", "1.0-beta-1", "1.0-SNAPSHOT", "1.0", "1.0-1", "1.0-2", "1.0.1"]
    )
    assert_ascending(["1.0.RC2", "1.0-RC3", "1.0.1"])
    assert_ascending(["2.0.1", "2.0.1-xyz", "2.0.1-123"])


def test_maven_canonical() -> None:
    assert canonical("1.0.0.RC1") == "1-rc-1"
    assert canonical("1.0alpha1") == "1-alpha-1"
    assert canonical("1.0-SNAPSHOT") == "1-snapshot"


def test_maven_cycle_is_broken_consistently() -> None:
    # ComparableVersion has 1.0.alpha.1 < 1 < 1-1 < 1.0.alpha.1 (a cycle: "0 beats a list" in the last step).
    # We keep the first two answers and order the pre-release of 1 before the post-release of 1.
    assert_ascending(["1.0.alpha.1", "1", "1-1"])


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "${project.version}", "${revision}", "[1.0,2.0)", "(,1.0]", "1.0 beta", "1,2", "a" * 300],
)
def test_maven_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        S.key(bad)


# --- A literal transcription of ComparableVersion.Item#compareTo, as an oracle for the token key. ---


def _qual_rank(q: str) -> tuple[int, str]:
    order = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"]
    return (order.index(q), "") if q in order else (len(order), q)


def _java_cmp(a: object, b: object) -> int:
    """Item a compareTo item b (b may be None)."""
    if isinstance(a, int):
        if b is None:
            return 0 if a == 0 else 1
        if isinstance(b, int):
            return (a > b) - (a < b)
        return 1  # 1.1 > 1-sp, 1.1 > 1-1
    if isinstance(a, str):
        if b is None:
            ra, rr = _qual_rank(a), _qual_rank("")
            return (ra > rr) - (ra < rr)
        if isinstance(b, str):
            ra, rb = _qual_rank(a), _qual_rank(b)
            return (ra > rb) - (ra < rb)
        return -1  # 1.any < 1.1, 1.any < 1-1
    assert isinstance(a, list)
    if b is None:
        return next((r for r in (_java_cmp(i, None) for i in a) if r), 0)
    if isinstance(b, int):
        return -1
    if isinstance(b, str):
        return 1
    assert isinstance(b, list)
    for left, right in itertools.zip_longest(a, b):
        r = -_java_cmp(right, None) if left is None else _java_cmp(left, right)
        if r:
            return r
    return 0


def java_compare(a: str, b: str) -> int:
    return _java_cmp(_parse_items(a), _parse_items(b))


def _prefixes(version: str) -> set[str]:
    """The version cut at each item boundary ("1.0-rc1" -> "1", "1.0", "1.0-rc")."""
    cuts = set()
    for i in range(1, len(version)):
        if version[i] in ".-" or version[i].isdigit() != version[i - 1].isdigit():
            cut = version[:i].rstrip(".-")
            if cut:
                cuts.add(cut)
    return cuts


def _java_cycle_through(a: str, b: str) -> str | None:
    """A version w with a < w < b < a (or the reverse) under ComparableVersion, w a prefix of a or b."""
    ab = java_compare(a, b)
    for w in sorted(_prefixes(a) | _prefixes(b)):
        if java_compare(a, w) == java_compare(w, b) == -ab != 0:
            return w
    return None


# Version shapes seen in Maven Central: numbers, then qualifiers introduced by "-", by a digit/letter transition
# or by ".", optionally with their own number, and build numbers.
_qualifier = st.sampled_from(
    [
        "alpha",
        "a",
        "beta",
        "b",
        "m",
        "milestone",
        "rc",
        "cr",
        "SNAPSHOT",
        "ga",
        "final",
        "RELEASE",
        "sp",
        "abc",
        "xyz",
    ]
)
_num = st.sampled_from(["0", "1", "2", "10", "01"])
_suffix = st.one_of(
    st.builds(lambda q: f"-{q}", _qualifier),
    st.builds(lambda q, n: f"-{q}{n}", _qualifier, _num),
    st.builds(lambda q, n: f"-{q}-{n}", _qualifier, _num),
    st.builds(lambda q, n: f".{q}{n}", _qualifier, _num),
    st.builds(lambda q, n: f".{q}.{n}", _qualifier, _num),
    st.builds(lambda n: f"-{n}", _num),
    st.builds(lambda n: f".{n}", _num),
)
_maven = st.builds(
    lambda core, suffixes, tail: core + "".join(suffixes) + tail,
    st.lists(_num, min_size=1, max_size=4).map(".".join),
    st.lists(_suffix, max_size=3),
    st.one_of(st.just(""), st.builds(lambda q: f".{q}", _qualifier), st.builds(lambda q: q, _qualifier)),
)


def _has_inner_null_qualifier(items: list[object]) -> bool:
    return any(i == "" or (isinstance(i, list) and _has_inner_null_qualifier(i)) for i in items)


@given(_maven, _maven)
def test_maven_key_matches_comparable_version(a: str, b: str) -> None:
    # Same answer as ComparableVersion on every pair, except where ComparableVersion is itself inconsistent:
    # then a cycle a < w < b < a through a prefix w of one of them must exist. Documented deviation: a
    # "ga"/"final"/"release" that normalisation leaves inside a list ("1.ga.1") counts as 0.
    assume(not _has_inner_null_qualifier(_parse_items(a)) and not _has_inner_null_qualifier(_parse_items(b)))
    ours, java = S.compare(a, b), java_compare(a, b)
    if ours != java:
        assert _java_cycle_through(a, b) is not None, (a, b, canonical(a), canonical(b), ours, java)
