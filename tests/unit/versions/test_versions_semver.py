"""SemVer ecosystems (npm, crates.io, Hex, pub.dev): table tests of the tricky cases."""

from __future__ import annotations

import pytest

from vigil.detectors.versions import InvalidVersion, Scheme, scheme_for

SEMVER_ECOSYSTEMS = ("npm", "cargo", "hex", "pub")

# semver.org §11 example, verbatim.
SPEC_ORDER = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
]


def assert_ascending(scheme: Scheme, versions: list[str]) -> None:
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert scheme.compare(low, high) == -1, f"{scheme.name}: {low} < {high}"
            assert scheme.compare(high, low) == 1, f"{scheme.name}: {high} > {low}"


def assert_equal(scheme: Scheme, a: str, b: str) -> None:
    assert scheme.compare(a, b) == 0, f"{scheme.name}: {a} == {b}"
    assert scheme.key(a) == scheme.key(b)


@pytest.mark.parametrize("eco", SEMVER_ECOSYSTEMS)
def test_semver_spec_precedence(eco: str) -> None:
    assert_ascending(scheme_for(eco), SPEC_ORDER)


@pytest.mark.parametrize("eco", SEMVER_ECOSYSTEMS)
def test_semver_numeric_parts_and_identifiers(eco: str) -> None:
    s = scheme_for(eco)
    # §11.2: numeric comparison, not lexical; §11.4.1/11.4.3: numeric ids < alphanumeric ids.
    assert_ascending(
        s, ["0.9.9", "1.9.0", "1.10.0", "1.11.0", "2.0.0-0", "2.0.0-1", "2.0.0-10", "2.0.0-a", "2.0.0"]
    )
    # "-" is an alphanumeric identifier character; ASCII order puts "-" and digits before letters.
    assert_ascending(s, ["1.0.0-1a", "1.0.0-a-b", "1.0.0-ab", "1.0.0-b"])
    # Partial versions (advisory bounds such as ">= 0.3") pad with zeros.
    assert_equal(s, "1", "1.0.0")
    assert_equal(s, "1.2", "1.2.0")
    assert_equal(s, "0", "0.0.0")


@pytest.mark.parametrize("eco", ["npm", "cargo", "hex"])
def test_semver_build_metadata_ignored(eco: str) -> None:
    # §10: build metadata MUST be ignored when determining precedence.
    s = scheme_for(eco)
    assert_equal(s, "1.0.0+20130313144700", "1.0.0")
    assert_equal(s, "1.0.0-beta+exp.sha.5114f85", "1.0.0-beta")
    assert_equal(s, "1.0.0+a", "1.0.0+b")


def test_pub_build_metadata_orders() -> None:
    # pub_semver Version.compareTo: "Builds always come after no build string", builds compare like pre-releases.
    s = scheme_for("pub")
    assert_ascending(
        s, ["1.0.0-beta", "1.0.0-beta+1", "1.0.0", "1.0.0+1", "1.0.0+2", "1.0.0+10", "1.0.0+a", "1.0.1"]
    )
    # int.tryParse: leading zeros, sign and 0x prefix make numbers.
    assert_equal(s, "1.0.0-01", "1.0.0-1")
    assert_equal(s, "1.0.0-0x10", "1.0.0-16")
    assert_equal(s, "01.02.03", "1.2.3")
    assert s.compare("1.0.0--1", "1.0.0-0") == -1


def test_npm_loose_forms() -> None:
    # node-semver loose mode: leading "v"/"=", whitespace, leading zeros, "-" optional before a pre-release.
    s = scheme_for("npm")
    for spelling in ["v1.2.3", "=1.2.3", "=v1.2.3", " v1.2.3 ", "v 1.2.3", "01.02.03", "1.2.3+build.5"]:
        assert_equal(s, spelling, "1.2.3")
    assert_equal(s, "1.2.3beta", "1.2.3-beta")
    assert_equal(s, "1.2.3-beta.01", "1.2.3-beta.1")
    assert_equal(s, "1.2-beta", "1.2.0-beta")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "1.2.x",
        "*",
        "^1.2.3",
        ">=1.2.3",
        "1.2.3 - 2.0.0",
        "latest",
        "1.2.3.4",
        "1.2beta",
        "a.b.c",
        "1.2.3-",
        "1.2.3-a..b",
        "1.2.3+",
        "V1.2.3",
        "9007199254740992.0.0",  # > Number.MAX_SAFE_INTEGER
    ],
)
def test_npm_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        scheme_for("npm").key(bad)


@pytest.mark.parametrize("eco", ["cargo", "hex"])
@pytest.mark.parametrize(
    "bad",
    [
        "",
        "v1.2.3",  # no prefix in Cargo.lock / mix.lock
        "=1.2.3",
        "01.2.3",  # semver §2: no leading zeros
        "1.02.3",
        "1.2.3-01",  # §9: numeric identifiers MUST NOT include leading zeros
        "1.2.3-",
        "1.2.3-a..b",
        "1.2-beta",  # a pre-release needs the full core
        "1.2.3.4",
        "1.2.3beta",
        "^1.2",
    ],
)
def test_strict_semver_invalid(eco: str, bad: str) -> None:
    with pytest.raises(InvalidVersion):
        scheme_for(eco).key(bad)


def test_strict_semver_accepts_build_leading_zeros() -> None:
    # §10: build identifiers may have leading zeros.
    assert scheme_for("cargo").compare("1.2.3+001", "1.2.3") == 0


@pytest.mark.parametrize("bad", ["", "v1.2.3", "1.2.3-", "1.2.3.4", "1.2.3beta", "1.2.3-a..b"])
def test_pub_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        scheme_for("pub").key(bad)
