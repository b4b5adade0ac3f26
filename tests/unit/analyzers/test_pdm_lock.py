"""pdm.lock: hand-made fixture (no corpus file; see tests/fixtures/lockfiles/pdm/RECIPE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.pdm_lock import ANALYZER, parse_pdm_lock
from vigil.analyzers.registry import AnalysisInput, run_guarded

DIR = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles" / "pdm"


def test_golden(golden) -> None:  # type: ignore[no-untyped-def]
    app = parse_pdm_lock((DIR / "pdm.lock").read_bytes(), "pdm.lock", (DIR / "pyproject.toml").read_bytes())
    golden.check("analyzers/pdm_lock/fixture", app)


def test_hand_checked() -> None:
    app = parse_pdm_lock((DIR / "pdm.lock").read_bytes(), "pdm.lock", (DIR / "pyproject.toml").read_bytes())
    got = {p.name: (p.version, p.dev, p.relationship, p.depends_on) for p in app.packages}
    assert got == {
        "certifi": ("2024.8.30", False, "indirect", ()),
        "iniconfig": ("2.0.0", True, "indirect", ()),  # groups = ["test"]
        "packaging": ("24.1", False, "direct", ()),  # groups = ["default", "test"]
        "pytest": ("8.3.3", True, "direct", ("iniconfig@2.0.0", "packaging@24.1")),  # [tool.pdm.dev-dependencies]
        "requests": ("2.31.0", False, "direct", ("certifi@2024.8.30", "packaging@24.1")),
    }
    req = next(p for p in app.packages if p.name == "requests")
    assert (req.locations[0].start_line, req.locations[0].end_line) == (57, 69)


def test_without_pyproject() -> None:
    (app,) = run_guarded(ANALYZER, AnalysisInput(path="pdm.lock", data=(DIR / "pdm.lock").read_bytes())).applications
    assert all(p.relationship == "unknown" for p in app.packages)
    assert {p.name for p in app.packages if p.dev} == {"iniconfig", "pytest"}


def test_invalid() -> None:
    for bad in (b"package = 1", b"[[package]\n", b"\x00"):
        with pytest.raises(ParseError):
            parse_pdm_lock(bad)
    assert parse_pdm_lock(b'package = [1, {name = "a"}]').packages == ()
