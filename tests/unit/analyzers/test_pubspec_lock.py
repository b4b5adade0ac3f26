"""pubspec.lock: goldens on real files from ../shared/data/corpus/lockfiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.pubspec_lock import parse_pubspec_lock

CASES = {
    # direct main / direct dev (sdk) / transitive
    "happy": "aquasecurity__trivy/pkg/dependency/parser/dart/pub/testdata/happy/pubspec.lock",
    "trivy_integration": "aquasecurity__trivy/integration/testdata/fixtures/repo/pubspec/pubspec.lock",
    "dependabot_constraints": "dependabot__dependabot-core/pub/spec/fixtures/projects/constraints/pubspec.lock",
    "dependabot_helpers": "dependabot__dependabot-core/pub/helpers/pubspec.lock",
    "empty": "aquasecurity__trivy/pkg/dependency/parser/dart/pub/testdata/empty/pubspec.lock",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    rel = CASES[case]
    golden.check(f"analyzers/pubspec_lock/{case}", parse_pubspec_lock((lockfiles_dir / rel).read_bytes(), rel))


def test_hand_checked_happy(lockfiles_dir: Path) -> None:
    app = parse_pubspec_lock((lockfiles_dir / CASES["happy"]).read_bytes())
    got = {p.name: (p.version, p.relationship, p.dev, (p.locations[0].start_line, p.locations[0].end_line)) for p in app.packages}
    # flutter_test comes from the SDK (version "0.0.0"): not reported
    assert got == {"crypto": ("3.0.2", "direct", False, (4, 10)), "uuid": ("3.0.6", "indirect", False, (16, 22))}
    assert app.packages[0].purl == "pkg:pub/crypto@3.0.2"


def test_dev() -> None:
    data = b'packages:\n  a:\n    dependency: "direct dev"\n    source: hosted\n    version: "1.0.0"\n  b:\n    dependency: "direct overridden"\n    version: "2.0.0"\n'
    app = parse_pubspec_lock(data)
    assert [(p.name, p.dev, p.relationship) for p in app.packages] == [("a", True, "direct"), ("b", False, "direct")]


def test_broken(lockfiles_dir: Path) -> None:
    with pytest.raises(ParseError):
        parse_pubspec_lock((lockfiles_dir / "aquasecurity__trivy/pkg/dependency/parser/dart/pub/testdata/broken/pubspec.lock").read_bytes())
    for bad in (b"- a", b"packages: [1]", b"a: [", b"\x00"):
        with pytest.raises(ParseError):
            parse_pubspec_lock(bad)
