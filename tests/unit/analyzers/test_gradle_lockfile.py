"""gradle.lockfile: goldens on real files from ../shared/data/corpus/lockfiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.lang.gradle_lockfile import ANALYZER, parse_gradle_lockfile

CASES = {
    # test-only configurations → dev; indented lines; a commented-out module; the trailing  line
    "happy": "aquasecurity__trivy/pkg/dependency/parser/gradle/lockfile/testdata/happy/gradle.lockfile",
    "trivy_integration": "aquasecurity__trivy/integration/testdata/fixtures/repo/gradle/gradle.lockfile",
    "empty": "aquasecurity__trivy/pkg/dependency/parser/gradle/lockfile/testdata/empty/gradle.lockfile",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    rel = CASES[case]
    golden.check(f"analyzers/gradle_lockfile/{case}", parse_gradle_lockfile((lockfiles_dir / rel).read_bytes(), rel))


def test_hand_checked_happy(lockfiles_dir: Path) -> None:
    app = parse_gradle_lockfile((lockfiles_dir / CASES["happy"]).read_bytes())
    got = {p.name: (p.version, p.dev, p.locations[0].start_line) for p in app.packages}
    assert got == {
        "cglib:cglib-nodep": ("2.1.2", False, 4),  # testRuntimeClasspath AND classpath → production
        "junit:junit": ("4.13.2", True, 5),  # test configurations only
        "org.springframework:spring-asm": ("3.1.3.RELEASE", False, 6),
        "org.springframework:spring-beans": ("5.0.5.RELEASE", False, 7),
    }
    assert app.packages[0].ecosystem == "maven" and app.type == "gradle"
    assert app.packages[0].purl == "pkg:maven/cglib/cglib-nodep@2.1.2"


def test_odd_lines() -> None:
    app = parse_gradle_lockfile(b"a:b\nx:y:z:w=c\n:b:1=c\ng:a:1\n\xc3\xa9:a:2=testX\n")
    assert [(p.name, p.version, p.dev) for p in app.packages] == [("g:a", "1", False), ("é:a", "2", True)]


def test_matches() -> None:
    assert ANALYZER.matches("app/gradle.lockfile") and ANALYZER.matches("buildscript-gradle.lockfile")
    assert not ANALYZER.matches("gradle.lockfile.orig")
