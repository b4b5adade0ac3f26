"""Podfile.lock: goldens on real files from ../shared/data/corpus/lockfiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.podfile_lock import parse_podfile_lock

CASES = {
    "happy": "aquasecurity__trivy/pkg/dependency/parser/swift/cocoapods/testdata/happy/Podfile.lock",
    "trivy_integration": "aquasecurity__trivy/integration/testdata/fixtures/repo/cocoapods/Podfile.lock",
    "empty": "aquasecurity__trivy/pkg/dependency/parser/swift/cocoapods/testdata/empty/Podfile.lock",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    rel = CASES[case]
    golden.check(f"analyzers/podfile_lock/{case}", parse_podfile_lock((lockfiles_dir / rel).read_bytes(), rel))


def test_hand_checked(lockfiles_dir: Path) -> None:
    app = parse_podfile_lock((lockfiles_dir / CASES["happy"]).read_bytes())
    got = {p.name: (p.version, p.depends_on) for p in app.packages}
    assert got == {
        "AppCenter": ("4.2.0", ("AppCenter/Analytics@4.2.0", "AppCenter/Crashes@4.2.0")),
        "AppCenter/Analytics": ("4.2.0", ("AppCenter/Core@4.2.0",)),
        "AppCenter/Core": ("4.2.0", ()),
        "AppCenter/Crashes": ("4.2.0", ("AppCenter/Core@4.2.0",)),
        "KeychainAccess": ("4.2.1", ()),
    }
    assert all(p.relationship == "unknown" for p in app.packages)  # no DEPENDENCIES section


def test_dependencies_section() -> None:
    data = b"PODS:\n  - A (1.0):\n    - B (~> 2.0)\n  - B (2.1)\nDEPENDENCIES:\n  - A (= 1.0)\nCOCOAPODS: 1.11.2\n"
    app = parse_podfile_lock(data)
    assert [(p.name, p.relationship, p.depends_on) for p in app.packages] == [("A", "direct", ("B@2.1",)), ("B", "indirect", ())]


def test_sad(lockfiles_dir: Path) -> None:
    # "AppCenter = 4.2.0" is not "Name (version)": skipped (Trivy fails the file)
    sad = lockfiles_dir / "aquasecurity__trivy/pkg/dependency/parser/swift/cocoapods/testdata/sad/Podfile.lock"
    assert parse_podfile_lock(sad.read_bytes()).packages == ()
    for bad in (b"- x", b"PODS: 3", b"PODS: ["):
        with pytest.raises(ParseError):
            parse_podfile_lock(bad)
