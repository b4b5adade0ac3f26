"""Ordering laws for every scheme on generated valid versions, and parser fuzzing.

Each scheme must be a total order (reflexive, antisymmetric, transitive), `compare` must agree with the ordering
of `key`, equal keys must hash equal, and any string must either parse or raise InvalidVersion.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.detectors.versions import InvalidVersion, known_ecosystems, scheme_for

_small = st.sampled_from(["0", "1", "2", "3", "10", "11"])


def _join(parts: list[str], sep: str = ".") -> str:
    return sep.join(parts)


def _ids(*alphabet: str) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(alphabet), min_size=1, max_size=3).map(_join)


def _opt(strategy: st.SearchStrategy[str], prefix: str) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), strategy.map(lambda s: prefix + s))


_core3 = st.lists(_small, min_size=3, max_size=3).map(_join)
_semver_ids = _ids("0", "1", "2", "11", "alpha", "beta", "rc", "x-y", "-", "a1")
_strict_semver = st.one_of(
    st.lists(_small, min_size=1, max_size=2).map(_join),
    st.builds(
        lambda c, p, b: c + p + b, _core3, _opt(_semver_ids, "-"), _opt(_ids("1", "001", "sha", "x"), "+")
    ),
)

_DPKG = st.builds(
    lambda e, core, tail, rev: e + core + tail + rev,
    st.sampled_from(["", "1:", "0:"]),
    st.lists(_small, min_size=1, max_size=3).map(_join),
    st.sampled_from(["", "~rc1", "+dfsg", "a", "~", "+b1"]),
    st.sampled_from(["", "-1", "-1ubuntu2", "-1~deb11u1", "-0"]),
)
_RPM = st.builds(
    lambda e, core, tail, rel: e + core + tail + rel,
    st.sampled_from(["", "1:", "0:"]),
    st.lists(_small, min_size=1, max_size=3).map(_join),
    st.sampled_from(["", "~rc1", "^post1", "a", "_1", "+git"]),
    st.sampled_from(["", "-1", "-1.el8", "-2.el9_1", "-1.module+el8.6.0+1"]),
)

STRATEGIES: dict[str, st.SearchStrategy[str]] = {
    "pypi": st.builds(
        lambda e, r, pre, post, dev, local: e + r + pre + post + dev + local,
        st.sampled_from(["", "1!"]),
        st.lists(_small, min_size=1, max_size=4).map(_join),
        st.sampled_from(["", "a1", "b2", "rc1", "a10"]),
        st.sampled_from(["", ".post1", ".post2"]),
        st.sampled_from(["", ".dev0", ".dev3"]),
        st.sampled_from(["", "+abc", "+1", "+abc.2"]),
    ),
    "npm": st.builds(
        lambda pre, core, p, b: pre + core + p + b,
        st.sampled_from(["", "v", "=", "=v"]),
        st.lists(_small, min_size=1, max_size=3).map(_join),
        _opt(_semver_ids, "-"),
        _opt(_ids("1", "sha"), "+"),
    ),
    "cargo": _strict_semver,
    "hex": _strict_semver,
    "pub": st.builds(
        lambda c, p, b: c + p + b,
        _core3,
        _opt(_ids("0", "1", "01", "0x1", "-1", "alpha", "beta", "x-y"), "-"),
        _opt(_ids("1", "2", "01", "build", "b-1"), "+"),
    ),
    "go": st.one_of(
        st.builds(
            lambda v, c, p, b: v + c + p + b,
            st.sampled_from(["", "v"]),
            _core3,
            st.sampled_from(
                [
                    "",
                    "-pre",
                    "-rc.1",
                    "-0",
                    "-0.20200101000000-abcdef123456",
                    "-0.20210101000000-abcdef123456",
                    "-pre.0.20200101000000-abcdef123456",
                    "-20200101000000-abcdef123456",
                ]
            ),
            st.sampled_from(["", "+incompatible"]),
        ),
        st.builds(
            lambda c, s: "go" + c + s,
            st.lists(_small, min_size=1, max_size=3).map(_join),
            st.sampled_from(["", "rc1", "rc2", "beta1"]),
        ),
    ),
    "rubygems": st.builds(
        lambda head, rest, pre: head + "".join(rest) + pre,
        _small,
        st.lists(st.sampled_from([".0", ".1", ".2", ".a", ".b", ".rc1", ".0a", ".pre", ".A"]), max_size=5),
        st.sampled_from(["", "-rc1", "-0", "-beta.2"]),
    ),
    "maven": st.builds(
        lambda core, rest: core + "".join(rest),
        st.lists(_small, min_size=1, max_size=4).map(_join),
        st.lists(
            st.sampled_from(
                [
                    "-SNAPSHOT",
                    "-alpha",
                    "-a1",
                    "-beta-2",
                    "rc1",
                    ".RC1",
                    ".RELEASE",
                    ".Final",
                    "-sp",
                    "-1",
                    ".0",
                    "-xyz",
                    "-ga",
                    "b2",
                    "m",
                    "-0",
                    ".cr.1",
                    "-jre",
                    "-android",
                ]
            ),
            max_size=3,
        ),
    ),
    "composer": st.builds(
        lambda v, nums, stab, n, dev: v + nums + stab + (n if stab else "") + dev,
        st.sampled_from(["", "v"]),
        st.lists(_small, min_size=1, max_size=4).map(_join),
        st.sampled_from(["", "-alpha", "-beta", "-b", "-RC", "RC", "-patch", "-p", ".beta"]),
        st.sampled_from(["", "1", "2", ".3"]),
        st.sampled_from(["", "-dev"]),
    ),
    "nuget": st.builds(
        lambda core, p, b: core + p + b,
        st.lists(_small, min_size=1, max_size=4).map(_join),
        _opt(_ids("1", "2", "10", "alpha", "ALPHA", "Beta", "rc", "x-y"), "-"),
        _opt(_ids("1", "sha"), "+"),
    ),
    "debian": _DPKG,
    "ubuntu": _DPKG,
    "rpm": _RPM,
    "redhat": _RPM,
    "centos": _RPM,
    "rocky": _RPM,
    "alma": _RPM,
    "alpine": st.builds(
        lambda nums, letter, suffix, rev: nums + letter + suffix + rev,
        st.lists(_small, min_size=1, max_size=4).map(_join),
        st.sampled_from(["", "a", "p1"]),
        st.sampled_from(["", "_rc1", "_alpha", "_p", "_p2", "_git20240101"]),
        st.sampled_from(["", "-r0", "-r1", "-r10"]),
    ),
}


def test_every_ecosystem_has_a_strategy() -> None:
    assert set(STRATEGIES) == set(known_ecosystems())


@pytest.mark.parametrize("eco", sorted(STRATEGIES))
def test_generated_versions_parse(eco: str) -> None:
    scheme = scheme_for(eco)

    @given(STRATEGIES[eco])
    def check(v: str) -> None:
        scheme.key(v)

    check()


@pytest.mark.parametrize("eco", sorted(STRATEGIES))
def test_ordering_laws(eco: str) -> None:
    scheme = scheme_for(eco)
    strategy = STRATEGIES[eco]

    @given(strategy, strategy, strategy)
    def check(a: str, b: str, c: str) -> None:
        ab, ba, bc, ac = (
            scheme.compare(a, b),
            scheme.compare(b, a),
            scheme.compare(b, c),
            scheme.compare(a, c),
        )
        # reflexivity
        assert scheme.compare(a, a) == 0
        # antisymmetry
        assert ab == -ba
        # transitivity (of <= and of ==)
        if ab <= 0 and bc <= 0:
            assert ac <= 0, (a, b, c)
        if ab == 0 and bc == 0:
            assert ac == 0, (a, b, c)
        # key consistency: compare agrees with key ordering; equal keys hash equal
        ka, kb = scheme.key(a), scheme.key(b)
        assert ab == (ka > kb) - (ka < kb)
        assert (ab == 0) == (ka == kb)
        if ka == kb:
            assert hash(ka) == hash(kb)

    check()


@pytest.mark.parametrize("eco", sorted(STRATEGIES))
def test_sorting_is_stable_under_keys(eco: str) -> None:
    # sorted(key=scheme.key) must produce a sequence that compare() agrees is non-decreasing.
    scheme = scheme_for(eco)

    @given(st.lists(STRATEGIES[eco], min_size=2, max_size=12))
    def check(versions: list[str]) -> None:
        ordered = sorted(versions, key=scheme.key)
        for low, high in itertools.pairwise(ordered):
            assert scheme.compare(low, high) <= 0

    check()


_garbage = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789.-+_~^=<>*xXvVabcdefrcpl@ ", max_size=30),
)


@pytest.mark.fuzz
@pytest.mark.parametrize("eco", sorted(STRATEGIES))
def test_fuzz_key_returns_or_raises_invalid_version(eco: str) -> None:
    scheme = scheme_for(eco)

    @given(_garbage)
    def check(text: str) -> None:
        try:
            key = scheme.key(text)
        except InvalidVersion:
            return
        hash(key)
        assert scheme.compare(text, text) == 0

    check()


@pytest.mark.parametrize("eco", sorted(STRATEGIES))
def test_non_strings_and_huge_strings_are_invalid(eco: str) -> None:
    scheme = scheme_for(eco)
    for bad in [None, 1, b"1.0.0", "1" * 5000, "1." * 3000 + "1"]:
        with pytest.raises(InvalidVersion):
            scheme.key(bad)  # type: ignore[arg-type]
