"""Go module and toolchain versions (golang.org/x/mod/semver, go-vulndb's Go-tag mapping)."""

from __future__ import annotations

import pytest

from vigil.detectors.versions import InvalidVersion, scheme_for

S = scheme_for("go")


def assert_ascending(versions: list[str]) -> None:
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert S.compare(low, high) == -1, f"{low} < {high}"
            assert S.compare(high, low) == 1, f"{high} > {low}"


def test_go_pseudo_versions_order_as_prereleases() -> None:
    # https://go.dev/ref/mod#pseudo-versions: vX.0.0-yyyymmddhhmmss-abcdef (no base tag),
    # vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef (after release vX.Y.Z), vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef (after a pre).
    assert_ascending(
        [
            "v0.0.0-20190101000000-abcdefabcdef",
            "v0.0.0-20200101000000-abcdefabcdef",
            "v1.2.3-pre",
            "v1.2.3-pre.0.20200101000000-abcdef123456",
            "v1.2.3-pre.1",
            "v1.2.3",
            "v1.2.4-0.20200101000000-abcdef123456",
            "v1.2.4-0.20200202000000-abcdef123456",
            "v1.2.4",
        ]
    )
    assert S.compare("v1.2.3-0.20200101000000-abcdef123456", "v1.2.3") == -1


def test_go_incompatible_and_build_ignored() -> None:
    # +incompatible is build metadata: ignored for precedence (x/mod/semver.Compare ignores build).
    assert S.compare("v2.0.0+incompatible", "v2.0.0") == 0
    assert S.compare("v2.0.0+incompatible", "v2.0.1+incompatible") == -1
    assert S.compare("v3.0.1-0.20180525145409-4c9aadca8f89+incompatible", "v3.0.1") == -1


def test_go_optional_v_and_shorthands() -> None:
    # OSV/go-vulndb writes "1.2.3"; x/mod/semver allows "v1" and "v1.2" as shorthands.
    assert S.compare("1.2.3", "v1.2.3") == 0
    assert S.compare("v1", "v1.0.0") == 0
    assert S.compare("v1.2", "1.2.0") == 0
    assert S.compare("0", "v0.0.0") == 0


def test_go_toolchain_versions() -> None:
    # go-vulndb maps Go tags to SemVer: go1.21rc2 -> v1.21.0-rc.2, go1.9beta1 -> v1.9.0-beta.1, go1.21 -> v1.21.0.
    assert S.compare("go1.21rc2", "1.21.0-rc.2") == 0
    assert S.compare("go1.9beta1", "v1.9.0-beta.1") == 0
    assert S.compare("go1.21", "1.21.0") == 0
    assert S.compare("go1", "1.0.0") == 0
    assert S.compare("go1.21.3", "v1.21.3") == 0
    assert S.compare("1.21rc2", "go1.21rc2") == 0
    # "1.21.0-0" is go-vulndb's "before every 1.21.0 pre-release".
    assert_ascending(["1.20.14", "1.21.0-0", "go1.21rc1", "go1.21rc2", "go1.21.0", "go1.21.1", "go1.22rc1"])
    assert_ascending(["go1.9alpha1", "go1.9beta1", "go1.9beta2", "go1.9rc1", "go1.9", "go1.9.1", "go1.10"])


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "v",
        "go",
        "v1.2.3-",
        "v01.2.3",  # no leading zeros
        "v1.2.3-01",
        "v1.2-pre",  # no pre-release on a shorthand
        "v1.2.3.4",
        "V1.2.3",
        "vv1.2.3",
        "devel +abcdef",
        "go1.21.3 X:boringcrypto",
        "go1.21rc",
        "gov1.2.3",
        "v1.21rc2",
        "1.2.x",
        "latest",
    ],
)
def test_go_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        S.key(bad)
