"""build.sbt.lock: golden on the real file from ../shared/data/corpus/lockfiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.sbt_lock import parse_sbt_lock

CASE = "aquasecurity__trivy/integration/testdata/fixtures/repo/sbt/build.sbt.lock"


def test_golden(lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    golden.check("analyzers/sbt_lock/trivy_integration", parse_sbt_lock((lockfiles_dir / CASE).read_bytes(), CASE))


def test_hand_checked(lockfiles_dir: Path) -> None:
    (p,) = parse_sbt_lock((lockfiles_dir / CASE).read_bytes()).packages
    assert (p.name, p.version, p.dev, p.relationship) == ("com.fasterxml.jackson.core:jackson-databind", "2.9.1", False, "unknown")
    assert (p.locations[0].start_line, p.locations[0].end_line) == (12, 27)
    assert p.purl == "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.1"


def test_test_only_and_invalid() -> None:
    data = b'{"dependencies": [{"org": "a", "name": "b", "version": "1", "configurations": ["test"]}, {"org": "a"}, 3]}'
    assert [(p.name, p.dev) for p in parse_sbt_lock(data).packages] == [("a:b", True)]
    for bad in (b"[]", b'{"dependencies": {}}', b"{"):
        with pytest.raises(ParseError):
            parse_sbt_lock(bad)
