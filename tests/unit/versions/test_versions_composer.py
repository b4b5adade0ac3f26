"""Composer versions: composer/semver VersionParser::normalize() + PHP version_compare()."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.detectors.versions import InvalidVersion
from vigil.detectors.versions.composer import SCHEME as S
from vigil.detectors.versions.composer import normalize


def assert_ascending(versions: list[str]) -> None:
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert S.compare(low, high) == -1, f"{low} < {high}"
            assert S.compare(high, low) == 1, f"{high} > {low}"


def test_composer_stability_order() -> None:
    # version_compare special forms: dev < alpha < beta < RC < (release) < patch/pl/p.
    assert_ascending(
        [
            "1.0.0-dev",
            "1.0.0-alpha",
            "1.0.0-alpha1",
            "1.0.0-alpha2",
            "1.0.0-beta1-dev",
            "1.0.0-beta1",
            "1.0.0-beta2",
            "1.0.0-beta10",
            "1.0.0-RC1",
            "1.0.0",
            "1.0.0-patch1",
            "1.0.0-p2",
            "1.0.0.1",
            "1.0.1",
            "1.1",
            "v2.0.0",
        ]
    )
    assert S.compare("1.0.0-dev", "1.0.0-alpha1") == -1


@pytest.mark.parametrize(
    ("version", "normalized"),
    [
        # Cases from composer/semver's VersionParserTest (normalize).
        ("1.0.0", "1.0.0.0"),
        ("1.2.3.4", "1.2.3.4"),
        ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
        ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
        ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
        ("1.0.0-rc1", "1.0.0.0-RC1"),
        ("1.0.0-pl3", "1.0.0.0-patch3"),
        ("1.0-dev", "1.0.0.0-dev"),
        ("0", "0.0.0.0"),
        ("10.4.13-beta", "10.4.13.0-beta"),
        ("10.4.13beta2", "10.4.13.0-beta2"),
        ("10.4.13beta.2", "10.4.13.0-beta2"),
        ("v1.13.11-beta.0", "1.13.11.0-beta0"),
        ("10.4.13-b", "10.4.13.0-beta"),
        ("10.4.13-b5", "10.4.13.0-beta5"),
        ("v1.0.0", "1.0.0.0"),
        ("2010.01", "2010.01.0.0"),
        ("2010.01.02", "2010.01.02.0"),
        ("2010-01-02", "2010.01.02"),
        ("2010-01-02.5", "2010.01.02.5"),
        ("20100102-203040", "20100102.203040"),
        ("1.0.0-stable", "1.0.0.0"),
        ("1.0.0+foo", "1.0.0.0"),
        ("1.0.0-alpha.3.1+foo/-bar", "1.0.0.0-alpha3.1"),
        ("1.0.0@dev", "1.0.0.0"),
        ("1.0.0 as 1.0.1", "1.0.0.0"),
        ("  1.0.0  ", "1.0.0.0"),
    ],
)
def test_composer_normalize(version: str, normalized: str) -> None:
    assert normalize(version) == normalized


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "dev-master",  # branches never match a version (Constraint::versionCompare)
        "master",
        "dev-feature/foo",
        "2.x-dev",
        "2.1.*-dev",
        "1.2.x",
        "^1.2",
        ">=1.0",
        "foo",
        "1.0.0-gamma",
        "123456.0.0",  # more than 5 digits in the first part is neither classical nor a date
        "1.0.0.0.0",
    ],
)
def test_composer_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        S.key(bad)


# --- A literal transcription of php-src ext/standard/versioning.c, as an oracle for the key. ---


def _php_canonicalize(version: str) -> str:
    def isdig(c: str) -> bool:
        return c.isdigit() and c != "."

    def isndig(c: str) -> bool:
        return not c.isdigit() and c != "."

    out = [version[0]]
    lp = version[0]
    for c in version[1:]:
        if c in "-_+":
            if out[-1] != ".":
                out.append(".")
        elif (isndig(lp) and isdig(c)) or (isdig(lp) and isndig(c)):
            if out[-1] != ".":
                out.append(".")
            out.append(c)
        elif not c.isalnum():
            if out[-1] != ".":
                out.append(".")
        else:
            out.append(c)
        lp = c
    return "".join(out)


_SPECIAL = [
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
]


def _special(a: str, b: str) -> int:
    fa = next((o for n, o in _SPECIAL if a.startswith(n)), -1)
    fb = next((o for n, o in _SPECIAL if b.startswith(n)), -1)
    return (fa > fb) - (fa < fb)


def php_version_compare(v1: str, v2: str) -> int:
    if not v1 or not v2:
        return 0 if not v1 and not v2 else (1 if v1 else -1)
    p1 = (v1 if v1[0] == "#" else _php_canonicalize(v1)).split(".")
    p2 = (v2 if v2[0] == "#" else _php_canonicalize(v2)).split(".")
    i = 0
    compare = 0
    while i < len(p1) and i < len(p2):
        a, b = p1[i], p2[i]
        if a[:1].isdigit() and b[:1].isdigit():
            compare = (int(a) > int(b)) - (int(a) < int(b))
        elif not a[:1].isdigit() and not b[:1].isdigit():
            compare = _special(a, b)
        elif a[:1].isdigit():
            compare = _special("#N#", b)
        else:
            compare = _special(a, "#N#")
        if compare:
            return compare
        i += 1
    if i < len(p1):
        return 1 if p1[i][:1].isdigit() else php_version_compare(".".join(p1[i:]), "#N#")
    if i < len(p2):
        return -1 if p2[i][:1].isdigit() else php_version_compare("#N#", ".".join(p2[i:]))
    return 0


def test_php_oracle_sanity() -> None:
    assert php_version_compare("1.0.0.0", "1.0.0.0-beta2") == 1
    assert php_version_compare("1.0", "1.0.0") == -1
    assert (
        php_version_compare("1.0rc1", "1.0") == -1
    )  # a trailing name below the number rank makes it smaller
    assert php_version_compare("1.0pl1", "1.0") == 1


_num = st.sampled_from(["0", "1", "2", "10", "01"])
_composer = st.builds(
    lambda prefix, nums, stab, n, dev: prefix + ".".join(nums) + stab + (n if stab else "") + dev,
    st.sampled_from(["", "v"]),
    st.lists(_num, min_size=1, max_size=4),
    st.sampled_from(
        ["", "", "-alpha", "-a", "-beta", "-b", "-RC", "-rc", "RC", "-patch", "-pl", "-p", ".beta", "-stable"]
    ),
    st.sampled_from(["", "1", "2", ".3", "10", "1.2"]),
    st.sampled_from(["", "", "-dev"]),
)


@given(_composer, _composer)
def test_composer_key_matches_version_compare(a: str, b: str) -> None:
    assert S.compare(a, b) == php_version_compare(normalize(a), normalize(b))
