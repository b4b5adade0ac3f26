"""A damaged DB (corrupted pages, garbage records) met during a scan: exit 2 with one line, not exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli_helpers import run
from tests.dbdist_helpers import damaged_copy


@pytest.mark.parametrize("how", ["pages", "blobs"])
def test_scan_with_a_damaged_db_is_exit_2_with_one_line(how: str, fixture_db: Path, tmp_path: Path) -> None:
    db = damaged_copy(fixture_db, tmp_path / "db" / "vigil.db", how)
    target = tmp_path / "app"
    target.mkdir()
    (target / "requirements.txt").write_text("pyyaml==5.3\n")
    p = run("fs", str(target), "--db-path", str(db), "--skip-db-update", "--format", "json", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"the vulnerability DB at {db} is damaged" in lines[0], p.stderr
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr
