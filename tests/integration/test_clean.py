"""`vigil clean` on user mistakes: one line and exit 2, never an 'Internal error'."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import run


def test_clean_vuln_db_that_cannot_be_removed_is_one_line(tmp_path: Path) -> None:
    real = tmp_path / "shared-db"
    real.mkdir()
    (real / "vigil.db").write_bytes(b"x")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "db").symlink_to(real)  # e.g. the DB dir linked to a shared volume
    p = run("clean", "--vuln-db", "--cache-dir", str(cache))
    assert p.returncode == 2, p.stderr
    assert "Internal error" not in p.stderr and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and str(cache / "db") in lines[0], p.stderr
    assert (real / "vigil.db").is_file()
