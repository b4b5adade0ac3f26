"""NuGet versions: NuGet.Versioning NuGetVersion + VersionComparer.Default."""

from __future__ import annotations

import pytest

from vigil.detectors.versions import InvalidVersion, scheme_for

S = scheme_for("nuget")


def assert_ascending(versions: list[str]) -> None:
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert S.compare(low, high) == -1, f"{low} < {high}"
            assert S.compare(high, low) == 1, f"{high} > {low}"


def test_nuget_ordering() -> None:
    # SemVer 2 precedence plus a 4th (Revision) part; labels compare numeric < alphanumeric, case-insensitively.
    assert_ascending(
        [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.0.1-beta",
            "1.0.0.1",
            "1.0.0.2",
            "1.0.1",
            "1.10",
        ]
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0.0-RC", "1.0.0-rc"),  # OrdinalIgnoreCase
        ("1.0.0-Beta.X", "1.0.0-beta.x"),
        ("1.0.0.0", "1.0.0"),  # NormalizeVersionValue: missing parts are 0
        ("1.0", "1.0.0"),
        ("1", "1.0.0.0"),
        ("1.0.0+build.1", "1.0.0"),  # build metadata ignored
        ("1.0.0-rc+a", "1.0.0-rc+b"),
        ("01.02.03", "1.2.3"),  # System.Version parses leading zeros
        ("1.0.0-01", "1.0.0-1"),  # int.TryParse on labels
        (" 1.0.0 ", "1.0.0"),
    ],
)
def test_nuget_equal(a: str, b: str) -> None:
    assert S.compare(a, b) == 0
    assert S.key(a) == S.key(b)


def test_nuget_label_numbers() -> None:
    # Labels that int.TryParse accepts are numeric (before alphanumeric); too large for Int32 means a string.
    assert S.compare("1.0.0-2", "1.0.0-10") == -1
    assert S.compare("1.0.0-10", "1.0.0-a") == -1
    assert S.compare("1.0.0-99999999999", "1.0.0-a") == -1  # both strings: "9" < "A"
    assert S.compare("1.0.0-2147483648", "1.0.0-3") == 1  # string vs number


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "v1.0.0",
        "1.0.0.0.0",
        "1.0.0-",
        "1.0.0-a..b",
        "1.0.0+",
        "1.*",
        "[1.0,2.0)",
        "1.0.0 beta",
        "2147483648.0",
    ],
)
def test_nuget_invalid(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        S.key(bad)
