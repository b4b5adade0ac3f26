"""An integer longer than Python reads from text (sys.get_int_max_str_digits) in a lockfile or an SBOM is a parse
error of that input ("number too large"), not an internal error or an unrecognised format."""

from __future__ import annotations

import sys

import pytest

from vigil.analyzers.registry import AnalysisInput, all_analyzers, run_guarded
from vigil.analyzers.sbom import SBOMError, parse_sbom

HUGE = "9" * (sys.get_int_max_str_digits() + 100)


@pytest.mark.parametrize(("path", "text"), [
    ("package-lock.json", f'{{"lockfileVersion": {HUGE}, "packages": {{}}}}'),
    ("composer.lock", f'{{"packages": [], "x": {HUGE}}}'),
    ("Pipfile.lock", f'{{"_meta": {{"x": {HUGE}}}, "default": {{}}}}'),
    ("Cargo.lock", f"version = {HUGE}\n"),
])
def test_lockfile_with_huge_integer_is_a_parse_error(path: str, text: str) -> None:
    (analyzer,) = [a for a in all_analyzers() if a.kind == "lockfile" and a.matches(path)]
    res = run_guarded(analyzer, AnalysisInput(path=path, data=text.encode()))
    (u,) = res.unknowns
    assert u.reason == f"number too large (more than {sys.get_int_max_str_digits()} digits)"


def test_sbom_with_huge_integer_says_so() -> None:
    """In a field Vigil reads (a component's version) the number is an error of the SBOM; a CycloneDX document is
    read by the fields Vigil uses, as Trivy reads it, so one in a field it does not read is not (nor is it read)."""
    doc = (f'{{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": '
           f'[{{"type": "library", "name": "a", "version": {HUGE}, "purl": "pkg:npm/a@1"}}]}}')
    with pytest.raises(SBOMError, match="number too large"):
        parse_sbom(doc.encode())
    unread = f'{{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": {HUGE}, "components": []}}'
    assert parse_sbom(unread.encode()) == ()
    spdx = f'{{"spdxVersion": "SPDX-2.3", "x": {HUGE}, "packages": []}}'  # read whole: the error is said
    with pytest.raises(SBOMError, match="number too large"):
        parse_sbom(spdx.encode())
