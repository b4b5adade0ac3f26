"""Alpine versions: apk-tools 2.x ordering (`apk version -t`)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.version_helpers import assert_real_versions_parse

from vigil.detectors.versions import InvalidVersion, scheme_for
from vigil.detectors.versions.apk import SCHEME as S

ADVISORIES = Path(__file__).resolve().parents[4] / "shared" / "data" / "advisories"


def assert_ascending(versions: list[str]) -> None:
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert S.compare(low, high) == -1, f"{low} < {high}"
            assert S.compare(high, low) == 1, f"{high} > {low}"


def test_registered_for_alpine() -> None:
    assert scheme_for("alpine") is S


def test_apk_suffix_chain() -> None:
    # Pre-release suffixes sort before the bare version, post-release suffixes after it, revisions last.
    assert_ascending(
        [
            "1.2.3_alpha",
            "1.2.3_alpha1",
            "1.2.3_beta1",
            "1.2.3_pre1",
            "1.2.3_rc1",
            "1.2.3_rc2",
            "1.2.3",
            "1.2.3-r1",
            "1.2.3-r10",
            "1.2.3_cvs1",
            "1.2.3_svn1",
            "1.2.3_git20200101",
            "1.2.3_hg1",
            "1.2.3_p",
            "1.2.3_p0",  # a suffix stating no number runs out of tokens first
            "1.2.3_p1",
            "1.2.3_p1-r1",
            "1.2.3a",
            "1.2.3b",
            "1.2.3.1",
            "1.2.4",
        ]
    )


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("1.2.3_rc1", "1.2.3"),
        ("1.2.3", "1.2.3_p1"),
        ("1.2.3-r1", "1.2.3-r10"),  # revisions are numbers
        ("1.2", "1.2a"),  # a trailing letter is newer than none
        ("1.2a", "1.2.1"),  # ... but older than a further dotted number
        ("1.2_p1", "1.2a"),
        ("1.2-r1", "1.2_p1"),
        ("1.2_rc1", "1.2-r1"),
        ("1", "1.0"),  # the longer version wins: "1.0" is not "1"
        ("1.9", "1.10"),
        ("1.05", "1.5"),  # leading zeros after "." make a fraction-like token, not the number
        ("2.15.05", "2.15.4"),  # zero-padded components sort low (Alpine ships nasm 2.15.05)
        ("1.00", "1.0"),
        ("1.005", "1.05"),
        ("3.3.3p1-r2", "3.3.3p1-r3"),  # letter followed by digits (openssh-style)
        ("1.0-r0", "1.0-r1"),
        ("1.18-r2", "1.18.-r2"),  # an empty dotted component counts as a 0 token (real secfixes have these)
    ],
)
def test_apk_ordering(low: str, high: str) -> None:
    assert_ascending([low, high])


@pytest.mark.parametrize(
    ("a", "b"), [("1.0-r00", "1.0-r0"), ("01.2", "1.2"), ("1.2_p01", "1.2_p1"), ("1.a01", "1.a1")]
)
def test_apk_equal(a: str, b: str) -> None:
    assert S.compare(a, b) == 0
    assert S.key(a) == S.key(b)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "a",
        "v1.0",
        "1.0-1",
        "1.0-r",
        "1.0_foo",
        "1.0A",
        "1.0 ",
        " 1.0",
        "1.0_p1a",
        "1.2a.3",
        "1.0~abc",
        "2021-03-27-r5",
    ],
)
def test_apk_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        S.key(bad)


# --- reference: apk's token walk, simulated character by character --------------------------------------------
_DOZ, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _REV, _END = range(7)
_PRE = ["alpha", "beta", "pre", "rc"]
_POST = ["cvs", "svn", "git", "hg", "p"]


def _read(state: int, s: str, i: int) -> tuple[int, int, int]:
    """Read one token of type `state` at s[i:]; return (value, next_state, next_index)."""
    if i >= len(s):
        return 0, _END, i
    nxt = -1
    if state == _DOZ and s[i] == "0":
        j = i
        while j < len(s) and s[j] == "0":
            j += 1
        value, i, nxt = -(j - i), j, _DIGIT
    elif state in (_DOZ, _DIGIT, _SUFFIX_NO, _REV):
        j = i
        while j < len(s) and s[j].isdigit():
            j += 1
        value, i = int(s[i:j] or "0"), j
    elif state == _LETTER:
        value, i = ord(s[i]), i + 1
    else:  # _SUFFIX
        for names, base in ((_PRE, -len(_PRE)), (_POST, 0)):
            hit = next((k for k, name in enumerate(names) if s.startswith(name, i)), None)
            if hit is not None:
                value, i = base + hit, i + len(names[hit])
                break
        else:
            raise AssertionError(s)
    if i >= len(s):
        return value, _END, i
    if nxt != -1:
        return value, nxt, i
    c = s[i]
    if state in (_DIGIT, _DOZ) and c.islower():
        return value, _LETTER, i
    if state == _LETTER and c.isdigit():
        return value, _DIGIT, i
    if state == _SUFFIX and c.isdigit():
        return value, _SUFFIX_NO, i
    if c == ".":
        return value, _DOZ, i + 1
    if c == "_":
        return value, _SUFFIX, i + 1
    assert s.startswith("-r", i), s
    return value, _REV, i + 2


def _apk_cmp(a: str, b: str) -> int:
    at = bt = _DIGIT
    av = bv = 0
    i = j = 0
    while at == bt and at != _END and av == bv:
        av, at2, i = _read(at, a, i)
        bv, bt2, j = _read(bt, b, j)
        at, bt = at2, bt2
    if av != bv:
        return -1 if av < bv else 1
    if at == bt:
        return 0
    if at == _SUFFIX and _read(at, a, i)[0] < 0:
        return -1
    if bt == _SUFFIX and _read(bt, b, j)[0] < 0:
        return 1
    return -1 if at > bt else 1


APK = st.builds(
    lambda first, dots, letter, suffixes, rev: first + "".join(dots) + letter + "".join(suffixes) + rev,
    st.sampled_from(["0", "1", "2", "10", "01"]),
    st.lists(st.sampled_from([".0", ".1", ".2", ".10", ".00", ".05", ".5", "."]), max_size=4),
    st.sampled_from(["", "", "a", "b", "p1", "z"]),
    st.lists(
        st.sampled_from(
            ["_alpha", "_beta2", "_pre", "_rc1", "_rc", "_cvs", "_git1", "_hg", "_p", "_p0", "_p1"]
        ),
        max_size=2,
    ),
    st.sampled_from(["", "-r0", "-r1", "-r10", "-r00"]),
)


@given(APK, APK)
def test_apk_key_matches_reference(a: str, b: str) -> None:
    assert S.compare(a, b) == _apk_cmp(a, b), (a, b)


def test_apk_parses_real_alpine_secdb_fixed_versions() -> None:
    paths = sorted((ADVISORIES / "alpine-secdb").glob("*.jsonl.gz"))
    if not paths:
        pytest.skip("../shared advisory data not present")
    versions: list[str] = []
    for path in paths:
        with gzip.open(path, "rt") as fh:
            for line in fh:
                for pkg in json.loads(line).get("packages") or []:
                    versions.extend(pkg["pkg"].get("secfixes") or {})
    # The few rejects ("1.11-20-r0", "10.0.11-0", "2021-03-27-r5" ...) are typos that apk-tools rejects too.
    assert_real_versions_parse(S, versions)
