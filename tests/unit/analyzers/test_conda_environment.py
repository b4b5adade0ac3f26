"""environment.yml (conda): hand-made fixture (no corpus file; see tests/fixtures/lockfiles/conda/RECIPE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.conda_environment import ANALYZER, conda_spec, parse_conda_environment

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles" / "conda" / "environment.yml"


def test_golden(golden) -> None:  # type: ignore[no-untyped-def]
    golden.check("analyzers/conda_environment/fixture", parse_conda_environment(FIXTURE.read_bytes(), "environment.yml"))


def test_hand_checked() -> None:
    app = parse_conda_environment(FIXTURE.read_bytes())
    got = {(p.ecosystem, p.name): p.version for p in app.packages}
    assert got == {
        ("conda", "_libgcc_mutex"): "0.1",
        ("conda", "ca-certificates"): "2024.8.30",
        ("conda", "openssl"): "3.3.2",  # channel prefix dropped
        ("conda", "python"): "3.11.9",
        ("conda", "numpy"): "1.26.4",
        ("conda", "pandas"): "",  # a range pins nothing
        ("conda", "scipy"): "",  # a wildcard pins nothing
        ("conda", "pip"): "",
        ("pypi", "requests"): "2.25.1",
        ("pypi", "Flask"): "",
        ("pypi", "urllib3"): "1.26.4",
    }
    assert app.type == "conda-environment"


def test_specs() -> None:
    assert conda_spec("numpy 1.21.2 py39_0") == ("numpy", "1.21.2")
    assert conda_spec("numpy=1.21.2=py39h20f2e39_0") == ("numpy", "1.21.2")
    assert conda_spec("libffi==3.4.2=h3557bc0_5") == ("libffi", "3.4.2")  # Trivy's happy.yaml
    assert conda_spec("numpy!=1.0") == ("numpy", "")
    assert conda_spec("") is None


def test_invalid() -> None:
    for bad in (b"- a", b"dependencies: 3", b"a: [", b"\x00"):
        with pytest.raises(ParseError):
            parse_conda_environment(bad)
    assert parse_conda_environment(b"dependencies:\n  - 3\n  - {pip: 4}\n  - [x]\n").packages == ()


def test_matches() -> None:
    assert ANALYZER.matches("env/environment.yml") and ANALYZER.matches("environment.yaml")
