"""Debian versions: dpkg's verrevcmp (Debian Policy §5.6.12)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.version_helpers import assert_real_versions_parse

from vigil.detectors.versions import InvalidVersion, scheme_for
from vigil.detectors.versions.dpkg import SCHEME as S

ADVISORIES = Path(__file__).resolve().parents[4] / "shared" / "data" / "advisories"


def assert_ascending(versions: list[str]) -> None:
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert S.compare(low, high) == -1, f"{low} < {high}"
            assert S.compare(high, low) == 1, f"{high} > {low}"


def test_registered_for_debian_and_ubuntu() -> None:
    assert scheme_for("debian") is S
    assert scheme_for("ubuntu") is S


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("1.0~rc1", "1.0"),  # "~" sorts before everything, even the end of the string
        ("1.0~~", "1.0~"),  # ... so more tildes sort earlier (Policy's example ~~ < ~~a < ~ < "" < a)
        ("1.0~~a", "1.0~"),
        ("1.0", "1.0a"),
        ("2.0", "1:0.9"),  # the epoch is compared first
        ("1.0-1", "1.0-1.1"),  # revisions compare with the same algorithm
        ("1.0", "1.0+b1"),  # binNMU: "+" after the end of the string
        ("1.0a", "1.0+"),  # letters sort before non-letters
        ("1.0Z", "1.0a"),  # letters compare by ASCII
        ("1.9", "1.10"),  # digit runs compare numerically
        ("1.0-1", "1.0-1ubuntu1"),
        ("1.0-1ubuntu1", "1.0-2"),
        ("2.4.56-1~deb11u1", "2.4.56-1"),  # backports/security uploads sort before the release
        ("1.2-3-1", "1.2-4-1"),  # upstream may contain "-"; the revision starts at the LAST "-"
        ("0:1.0-1", "1:1.0-1"),
    ],
)
def test_dpkg_ordering(low: str, high: str) -> None:
    assert_ascending([low, high])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0", "0:1.0"),  # epoch defaults to 0
        ("1.0", "1.0-0"),  # a missing revision compares like "0" (an empty run is 0)
        ("1.01", "1.1"),  # leading zeros are insignificant
        (" 1.0-1 ", "1.0-1"),  # dpkg ignores surrounding whitespace
        ("00:1.0", "1.0"),
    ],
)
def test_dpkg_equal(a: str, b: str) -> None:
    assert S.compare(a, b) == 0
    assert S.key(a) == S.key(b)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        " ",
        "a1.0",
        ":1.0",
        "x:1.0",
        "1.0-",
        "1.0-a_b",
        "1.0 1",
        "1:",
        "1.0_1",
        "1:1.0-",
        "-1",
        "1.0-1:2",
        "é",
    ],
)
def test_dpkg_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        S.key(bad)


def _order(c: str) -> int:
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    """dpkg's verrevcmp transcribed as a pointer walk (the reference the token key must agree with)."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return -1 if first_diff < 0 else 1
    return 0


def _dpkg_cmp(a: str, b: str) -> int:
    def split(v: str) -> tuple[int, str, str]:
        epoch, colon, rest = v.partition(":")
        if not colon:
            epoch, rest = "0", v
        up, hyphen, rev = rest.rpartition("-")
        return (int(epoch), up, rev) if hyphen else (int(epoch), rest, "")

    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


_run = st.sampled_from(["0", "1", "2", "10", "01", ".", "~", "~~", "+", "a", "b", "Z", "+b1", "~rc1"])
DPKG = st.builds(
    lambda e, head, rest, rev: e + head + "".join(rest) + rev,
    st.sampled_from(["", "", "0:", "1:", "2:"]),
    st.sampled_from(["0", "1", "2", "10"]),
    st.lists(_run, max_size=5),
    st.sampled_from(
        ["", "-0", "-1", "-1.1", "-1ubuntu1", "-1~deb11u1", "-2+b1", "-a", "-~", "-2-1", "-1~a-0"]
    ),
)


@given(DPKG, DPKG)
def test_dpkg_key_matches_reference(a: str, b: str) -> None:
    assert S.compare(a, b) == _dpkg_cmp(a, b), (a, b)


def test_dpkg_parses_real_debian_fixed_versions() -> None:
    path = ADVISORIES / "debian" / "dsa-parsed.jsonl.gz"
    if not path.exists():
        pytest.skip("../shared advisory data not present")
    versions: list[str] = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            for fixed in json.loads(line).get("fixed") or []:
                v = fixed.get("fixed_version")
                # "<not-affected>", "<end-of-life>" ... are states, not versions
                if v and not v.startswith("<"):
                    versions.append(v)
    assert_real_versions_parse(S, versions)
