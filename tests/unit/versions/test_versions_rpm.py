"""RPM versions: rpmvercmp (rpm >= 4.15, "~" and "^") on [epoch:]version[-release]."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.version_helpers import assert_real_versions_parse

from vigil.detectors.versions import InvalidVersion, scheme_for
from vigil.detectors.versions.rpm import SCHEME as S

ADVISORIES = Path(__file__).resolve().parents[4] / "shared" / "data" / "advisories"


def assert_ascending(versions: list[str]) -> None:
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert S.compare(low, high) == -1, f"{low} < {high}"
            assert S.compare(high, low) == 1, f"{high} > {low}"


def test_registered_for_rpm_distros() -> None:
    for eco in ("rpm", "redhat", "rocky", "alma"):
        assert scheme_for(eco) is S


def test_rpm_tilde_caret_chain() -> None:
    # "~" sorts before the end of the string; "^" after it but before any further segment.
    assert_ascending(["1.0~rc1", "1.0~rc2", "1.0", "1.0^", "1.0^post1", "1.0^post2", "1.0.1"])


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("1:9.9", "2:1.0"),  # epoch first
        ("9.9", "1:0.1"),  # a missing epoch is 0
        ("1.0a", "1.0.1"),  # a numeric segment is newer than an alphabetic one
        ("1.0", "1.0a"),  # leftover segments win
        ("1.0a", "1.0b"),  # letters compare byte-wise
        ("1.0B", "1.0a"),
        ("1.9", "1.10"),  # numbers compare numerically
        ("1.0~~", "1.0~"),
        ("1.0~rc1", "1.0~rc1^git1"),
        ("1.0-1", "1.0-1.el8"),  # releases compare with the same algorithm
        ("1.0-1.el8", "1.0-2.el8"),
        ("1.0", "1.0-1"),  # a missing release compares as "" (total order; see module docstring)
        ("2.17-326.el7_9", "2.17-326.el7_9.3"),
        ("128.11.0-1.el10_0", "128.12.0-1.el10_0"),
        ("1.0-1.el8", "1.0-1.el8_1"),
    ],
)
def test_rpm_ordering(low: str, high: str) -> None:
    assert_ascending([low, high])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0", "1_0"),  # separators only separate
        ("1.0", "1..0"),
        ("1a", "1.a"),
        ("1.0.", "1.0"),
        ("1.01", "1.1"),  # leading zeros stripped
        ("0:1.0", "1.0"),
        (":1.0", "1.0"),  # an empty epoch is 0
    ],
)
def test_rpm_equal(a: str, b: str) -> None:
    assert S.compare(a, b) == 0
    assert S.key(a) == S.key(b)


@pytest.mark.parametrize(
    "bad", ["", "-1", "1.0-", "1 0", "a:1.0", "1:2:3", "1.0-1-2x y", "~", ".", "1.0-^", "é"]
)
def test_rpm_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        S.key(bad)


def _rpmvercmp(a: str, b: str) -> int:
    """rpmvercmp transcribed as a pointer walk (the reference the token key must agree with)."""
    if a == b:
        return 0

    def alnum(c: str) -> bool:
        return c.isascii() and c.isalnum()

    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and not alnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < len(b) and not alnum(b[j]) and b[j] not in "~^":
            j += 1
        ca = a[i] if i < len(a) else ""
        cb = b[j] if j < len(b) else ""
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i += 1
            j += 1
            continue
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i += 1
            j += 1
            continue
        if not (ca and cb):
            break
        isnum = ca.isdigit()
        kind = str.isdigit if isnum else str.isalpha
        si, sj = i, j
        while i < len(a) and a[i].isascii() and kind(a[i]):
            i += 1
        while j < len(b) and b[j].isascii() and kind(b[j]):
            j += 1
        if sj == j:
            return 1 if isnum else -1
        sa, sb = a[si:i], b[sj:j]
        if isnum:
            sa, sb = sa.lstrip("0"), sb.lstrip("0")
            if len(sa) != len(sb):
                return -1 if len(sa) < len(sb) else 1
        if sa != sb:
            return -1 if sa < sb else 1
    if i >= len(a) and j >= len(b):
        return 0
    return 1 if i < len(a) else -1


def _rpm_cmp(a: str, b: str) -> int:
    def split(v: str) -> tuple[int, str, str]:
        epoch, colon, rest = v.partition(":")
        if not colon:
            epoch, rest = "0", v
        ver, hyphen, rel = rest.rpartition("-")
        return (int(epoch or 0), ver, rel) if hyphen else (int(epoch or 0), rest, "")

    ea, va, ra = split(a)
    eb, vb, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _rpmvercmp(va, vb) or _rpmvercmp(ra, rb)


_seg = st.sampled_from(
    ["0", "1", "2", "10", "01", ".", "_", "+", "~", "^", "a", "b", "B", "rc1", "git", ".el8"]
)
RPM = st.builds(
    lambda e, head, rest, rel: e + head + "".join(rest) + rel,
    st.sampled_from(["", "", "0:", "1:", "2:"]),
    st.sampled_from(["0", "1", "2", "10", "a"]),
    st.lists(_seg, max_size=5),
    st.sampled_from(["", "-0", "-1", "-1.el8", "-1.el8_1", "-2.module+el8.6.0+1", "-1~rc", "-1^a"]),
)


@given(RPM, RPM)
def test_rpm_key_matches_reference(a: str, b: str) -> None:
    assert S.compare(a, b) == _rpm_cmp(a, b), (a, b)


def test_rpm_parses_real_almalinux_fixed_versions() -> None:
    path = ADVISORIES / "almalinux" / "almalinux-osv.jsonl.gz"
    if not path.exists():
        pytest.skip("../shared advisory data not present")
    versions: list[str] = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            for affected in json.loads(line).get("affected") or []:
                for rng in affected.get("ranges") or []:
                    versions.extend(ev["fixed"] for ev in rng.get("events") or [] if "fixed" in ev)
    assert_real_versions_parse(S, versions)
