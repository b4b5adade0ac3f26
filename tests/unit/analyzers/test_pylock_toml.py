"""pylock.toml (PEP 751): golden on the real file from ../shared/data/corpus/lockfiles plus semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.pylock_toml import ANALYZER, parse_pylock

CASE = "aquasecurity__trivy/integration/testdata/fixtures/repo/pylock/pylock.toml"


def test_golden(lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    golden.check("analyzers/pylock_toml/trivy_integration", parse_pylock((lockfiles_dir / CASE).read_bytes(), CASE))


def test_hand_checked(lockfiles_dir: Path) -> None:
    app = parse_pylock((lockfiles_dir / CASE).read_bytes())
    got = {p.name: (p.version, p.relationship, p.depends_on, p.locations[0].start_line) for p in app.packages}
    assert got == {
        "click": ("8.1.3", "unknown", ("colorama@0.4.6",), 4),
        "colorama": ("0.4.6", "unknown", (), 18),
        "werkzeug": ("0.11.1", "unknown", (), 29),
    }
    assert app.type == "pylock"


def test_with_pyproject(lockfiles_dir: Path) -> None:
    pyproject = b'[project]\nname = "x"\ndependencies = ["click"]\n[dependency-groups]\ndev = ["Werkzeug"]\n'
    app = parse_pylock((lockfiles_dir / CASE).read_bytes(), "pylock.toml", pyproject)
    got = {p.name: (p.relationship, p.dev) for p in app.packages}
    assert got == {"click": ("direct", False), "colorama": ("indirect", False), "werkzeug": ("direct", True)}


def test_versionless_and_invalid() -> None:
    app = parse_pylock(b'lock-version = "1.0"\n[[packages]]\nname = "local"\n[packages.directory]\npath = "."\n')
    assert app.packages == ()
    for bad in (b"packages = 1", b"[[packages]\n", b"\x00"):
        with pytest.raises(ParseError):
            parse_pylock(bad)


def test_matches() -> None:
    assert ANALYZER.matches("pylock.toml") and ANALYZER.matches("a/pylock.dev.toml")
    assert not ANALYZER.matches("pylock.toml.bak")
