"""Package.resolved: goldens on real files from ../shared/data/corpus/lockfiles (v1 and v2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.swift_resolved import parse_package_resolved, repo_name

CASES = {
    "v1": "aquasecurity__trivy/pkg/dependency/parser/swift/swift/testdata/happy-v1-Package/Package.resolved",
    "v2": "aquasecurity__trivy/pkg/dependency/parser/swift/swift/testdata/happy-v2-Package/Package.resolved",
    "trivy_integration": "aquasecurity__trivy/integration/testdata/fixtures/repo/swift/Package.resolved",
    "empty": "aquasecurity__trivy/pkg/dependency/parser/swift/swift/testdata/empty-Package/Package.resolved",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    rel = CASES[case]
    golden.check(f"analyzers/swift_resolved/{case}", parse_package_resolved((lockfiles_dir / rel).read_bytes(), rel))


def test_hand_checked(lockfiles_dir: Path) -> None:
    app = parse_package_resolved((lockfiles_dir / CASES["trivy_integration"]).read_bytes())
    got = {p.name: (p.version, p.locations[0].start_line, p.locations[0].end_line) for p in app.packages}
    assert got == {"github.com/apple/swift-atomics": ("1.1.0", 4, 12), "github.com/apple/swift-nio": ("2.41.0", 13, 21)}
    assert app.type == "swift" and app.packages[0].ecosystem == "swift"
    v2 = parse_package_resolved((lockfiles_dir / CASES["v2"]).read_bytes())
    assert ("github.com/mattgallagher/CwlCatchException", "2.1.2") in {(p.name, p.version) for p in v2.packages}


def test_branch_pins_and_names() -> None:
    data = (b'{"pins": [{"location": "https://github.com/a/b.git", "state": {"branch": "main", "revision": "abc"}},'
            b' {"location": "git@github.com:c/d.git", "state": {"version": "1.0.0"}},'
            b' {"location": "https://github.com/e/f", "state": {"branch": "0.0.1", "revision": "abc"}},'
            b' {"location": "https://github.com/g/h", "state": {"revision": "abc"}}], "version": 2}')
    # a branch pin is listed, at the branch's name when that is a version (as Trivy), else without a version;
    # a bare revision pin is not
    assert [(p.name, p.version) for p in parse_package_resolved(data).packages] == [
        ("github.com/a/b", ""), ("github.com/c/d", "1.0.0"), ("github.com/e/f", "0.0.1")]
    assert repo_name("https://user:tok@gitlab.com/g/p.git/") == "gitlab.com/g/p"
    assert repo_name("ssh://git@example.com:2222/x/y.git") == "example.com:2222/x/y"


def test_invalid() -> None:
    for bad in (b"[]", b'{"pins": {}}', b"{", b'{"object": {"pins": 3}}'):
        with pytest.raises(ParseError):
            parse_package_resolved(bad)
