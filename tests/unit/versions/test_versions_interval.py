"""interval.py: the AffectedPackage matching semantics and fixed-version selection."""

from __future__ import annotations

import logging

import pytest

from vigil.detectors.versions import InvalidVersion, scheme_for
from vigil.detectors.versions.interval import contains, is_vulnerable, smallest_fix_above
from vigil.vulndb.records import AffectedPackage, Interval

NPM = scheme_for("npm")
PYPI = scheme_for("pypi")


def _in(version: str, interval: Interval) -> bool:
    return contains(NPM, NPM.key(version), interval)


def test_contains_bounds() -> None:
    half_open = Interval("1.0.0", True, "2.0.0", False)  # >=1.0.0, <2.0.0
    assert not _in("0.9.9", half_open)
    assert _in("1.0.0", half_open)
    assert _in("1.9.9", half_open)
    assert not _in("2.0.0", half_open)
    assert _in("2.0.0-rc.1", half_open)  # pre-releases of 2.0.0 sort below it

    open_ = Interval("1.0.0", False, "2.0.0", True)  # >1.0.0, <=2.0.0
    assert not _in("1.0.0", open_)
    assert _in("1.0.1", open_)
    assert _in("2.0.0", open_)
    assert not _in("2.0.1", open_)


def test_contains_unbounded_and_exact() -> None:
    assert _in("0.0.1", Interval(None, True, "1.0.0", False))
    assert not _in("1.0.0", Interval(None, True, "1.0.0", False))
    assert _in("99.0.0", Interval("1.0.0", True, None, False))
    assert _in("5.0.0", Interval())  # "*"
    exact = Interval("1.5.0", True, "1.5.0", True)
    assert _in("1.5.0", exact)
    assert _in("v1.5.0", exact)  # compared as versions, not strings
    assert not _in("1.5.1", exact)
    assert not _in("1.4.9", exact)


def test_contains_invalid_bound_matches_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="vigil.detectors.versions.interval"):
        assert not _in("1.0.0", Interval("not-a-version", True, None, False))
        assert not _in("1.0.0", Interval(None, True, "1.x", False))
    assert "ignoring interval" in caplog.text


def test_is_vulnerable_semantics() -> None:
    vuln = Interval("1.0", True, "1.5", False)
    affected = AffectedPackage("pypi", "pkg", vulnerable=(Interval(None, True, "0.5", False), vuln))
    assert is_vulnerable(PYPI, "1.2", affected) == (True, vuln)
    assert is_vulnerable(PYPI, "0.4", affected) == (True, affected.vulnerable[0])
    assert is_vulnerable(PYPI, "0.7", affected) == (False, None)
    assert is_vulnerable(PYPI, "1.5", affected) == (False, None)

    # A safe interval wins over a vulnerable one.
    both = AffectedPackage("pypi", "pkg", vulnerable=(vuln,), safe=(Interval("1.2", True, "1.3", False),))
    assert is_vulnerable(PYPI, "1.2.5", both) == (False, None)
    assert is_vulnerable(PYPI, "1.1", both) == (True, vuln)


def test_is_vulnerable_empty_lists() -> None:
    # Both empty: every version is affected ("never patched"); the matching interval is None.
    assert is_vulnerable(PYPI, "3.0", AffectedPackage("pypi", "pkg")) == (True, None)
    # Only safe intervals (patched/unaffected): vulnerable unless inside one of them.
    only_safe = AffectedPackage(
        "pypi", "pkg", safe=(Interval("2.2.25", True, "3.0", False), Interval("3.0.14", True, None, False))
    )
    assert is_vulnerable(PYPI, "2.2.24", only_safe) == (True, None)
    assert is_vulnerable(PYPI, "2.2.30", only_safe) == (False, None)
    assert is_vulnerable(PYPI, "3.0.1", only_safe) == (True, None)
    assert is_vulnerable(PYPI, "3.0.14", only_safe) == (False, None)


def test_is_vulnerable_invalid_bounds() -> None:
    # An unreadable vulnerable interval does not make everything vulnerable; an unreadable safe one hides nothing.
    bad_vuln = AffectedPackage("npm", "p", vulnerable=(Interval("garbage", True, None, False),))
    assert is_vulnerable(NPM, "1.0.0", bad_vuln) == (False, None)
    bad_safe = AffectedPackage(
        "npm",
        "p",
        vulnerable=(Interval(None, True, "2.0.0", False),),
        safe=(Interval("x.y", True, None, False),),
    )
    assert is_vulnerable(NPM, "1.0.0", bad_safe) == (True, bad_safe.vulnerable[0])


def test_is_vulnerable_invalid_installed_version_raises() -> None:
    with pytest.raises(InvalidVersion):
        is_vulnerable(NPM, "not a version", AffectedPackage("npm", "p"))


def test_smallest_fix_above_across_branches() -> None:
    affected = AffectedPackage("pypi", "django", fixed=("3.1.8", "2.2.25", "3.0.14"))
    assert smallest_fix_above(PYPI, "3.0.1", affected) == "3.0.14"
    assert smallest_fix_above(PYPI, "2.0", affected) == "2.2.25"
    assert smallest_fix_above(PYPI, "3.1.0", affected) == "3.1.8"
    assert smallest_fix_above(PYPI, "3.1.8", affected) == ""  # strictly greater
    assert smallest_fix_above(PYPI, "4.0", affected) == ""


def test_smallest_fix_above_from_intervals() -> None:
    affected = AffectedPackage(
        "pypi",
        "pkg",
        vulnerable=(
            Interval("3.0", True, "3.0.14", False),
            Interval("2.0", True, "2.2.25", False),
            Interval("3.1", True, "3.1.8", True),  # inclusive: 3.1.8 is the last affected, not a fix
        ),
        safe=(Interval("3.2", True, None, False),),
    )
    assert smallest_fix_above(PYPI, "3.0.1", affected) == "3.0.14"
    assert smallest_fix_above(PYPI, "2.1", affected) == "2.2.25"
    assert smallest_fix_above(PYPI, "3.1.2", affected) == "3.2"
    assert smallest_fix_above(PYPI, "3.3", affected) == ""
    assert smallest_fix_above(PYPI, "1.0", AffectedPackage("pypi", "pkg")) == ""


def test_smallest_fix_above_skips_unparsable() -> None:
    affected = AffectedPackage("npm", "p", fixed=("next", "1.2.x", "1.3.0", "1.2.5"))
    assert smallest_fix_above(NPM, "1.2.0", affected) == "1.2.5"
    # `fixed` takes precedence over interval bounds even when none of it parses.
    only_bad = AffectedPackage("npm", "p", vulnerable=(Interval(None, True, "1.3.0", False),), fixed=("bad",))
    assert smallest_fix_above(NPM, "1.2.0", only_bad) == ""
