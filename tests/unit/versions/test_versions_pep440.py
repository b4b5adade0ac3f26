"""PEP 440 (PyPI) ordering: tables from the PEP's "Summary of permitted suffixes and relative ordering"."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from vigil.detectors.versions import InvalidVersion, scheme_for

S = scheme_for("pypi")


def assert_ascending(versions: list[str]) -> None:
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert S.compare(low, high) == -1, f"{low} < {high}"
            assert S.compare(high, low) == 1, f"{high} > {low}"


def test_pep440_suffix_ordering() -> None:
    # PEP 440: dev < pre (a < b < rc) < final < post; dev releases of a post sort before that post.
    assert_ascending(
        [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
            "1!0.1",  # epochs dominate
        ]
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0", "1.0.0"),  # trailing zeros are insignificant
        ("1.0", "v1.0"),  # PEP 440 permits a leading "v"
        ("1.0a1", "1.0.alpha.1"),  # normalisation of pre-release spellings
        ("1.0c1", "1.0rc1"),
        ("1.0-post1", "1.0.post1"),
        ("1.0-1", "1.0.post1"),  # implicit post release
        ("1.0+Ubuntu-1", "1.0+ubuntu.1"),  # local labels are case-insensitive, separators normalised
        ("0!1.0", "1.0"),
    ],
)
def test_pep440_equal(a: str, b: str) -> None:
    assert S.compare(a, b) == 0
    assert S.key(a) == S.key(b)
    assert hash(S.key(a)) == hash(S.key(b))


@pytest.mark.parametrize(
    "bad", ["", "1.0-foo-bar", "dev", "1.0.x", "*", "1..0", "1.0 beta", "latest", "1" * 300]
)
def test_pep440_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        S.key(bad)


_seg = st.integers(min_value=0, max_value=12).map(str)
_pep440 = st.builds(
    lambda epoch, release, pre, post, dev, local: epoch + release + pre + post + dev + local,
    st.sampled_from(["", "", "1!"]),
    st.lists(_seg, min_size=1, max_size=4).map(".".join),
    st.one_of(st.just(""), st.builds(lambda k, n: f"{k}{n}", st.sampled_from(["a", "b", "rc"]), _seg)),
    st.sampled_from(["", "", ".post0", ".post1", ".post2"]),
    st.sampled_from(["", "", ".dev0", ".dev1"]),
    st.sampled_from(["", "", "+abc", "+1", "+abc.1", "+1.abc", "+local.7"]),
)


@given(_pep440, _pep440)
def test_pep440_key_matches_packaging(a: str, b: str) -> None:
    # Our tuple key must order exactly like packaging.version.Version.
    va, vb = Version(a), Version(b)
    expected = (va > vb) - (va < vb)
    assert S.compare(a, b) == expected
    assert (S.key(a) == S.key(b)) == (va == vb)
