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


def test_clean_keeps_a_projects_own_db_folder(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    (proj / "db" / "migrations").mkdir(parents=True)
    (proj / "db" / "migrations" / "001.sql").write_text("CREATE TABLE users\n")
    (proj / "db" / "metadata.json").write_text("{}\n")  # a name Vigil also uses, in a folder Vigil did not make
    p = run("clean", "--all", "--cache-dir", ".", cwd=proj)
    assert p.returncode == 0, p.stderr
    assert (proj / "db" / "migrations" / "001.sql").read_text() == "CREATE TABLE users\n"
    assert (proj / "db" / "metadata.json").is_file()
    assert "not a Vigil DB directory" in p.stderr


def test_clean_removes_only_vigils_files_from_a_db_dir(tmp_path: Path) -> None:
    db = tmp_path / "cache" / "db"
    db.mkdir(parents=True)
    for name in ("vigil.db", "metadata.json", ".lock", ".vigil-db-state.json", ".vigil.db.abc123.tmp"):
        (db / name).write_bytes(b"x")
    (db / "notes.txt").write_text("mine\n")
    p = run("clean", "--vuln-db", "--cache-dir", str(tmp_path / "cache"))
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in db.iterdir()) == ["notes.txt"]
    assert "kept 1 entries" in p.stderr


def test_clean_removes_a_db_dir_vigil_created(tmp_path: Path) -> None:
    from vigil.dbdist.update import db_lock

    db = tmp_path / "cache" / "db"
    with db_lock(db):  # what an update does first: creates the directory with Vigil's marker
        pass
    (db / ".vigil.db.zst.x1.tmp").write_bytes(b"partial download")  # no vigil.db yet: the marker says whose it is
    p = run("clean", "--vuln-db", "--cache-dir", str(tmp_path / "cache"))
    assert p.returncode == 0, p.stderr
    assert not db.exists()


def test_clean_keeps_a_projects_own_compiled_and_analysis_folders(tmp_path: Path) -> None:
    """`--cache-dir .` in a project: its compiled/*.bin and its analysis/ folder (even an SQLite file named as
    Vigil's cache) are left byte for byte; nothing is created in them."""
    import sqlite3

    proj = tmp_path / "proj"
    (proj / "compiled").mkdir(parents=True)
    (proj / "compiled" / "firmware.bin").write_bytes(b"\x7fELF firmware")
    (proj / "compiled" / "build.tmp").write_bytes(b"partial build")
    (proj / "analysis").mkdir()
    (proj / "analysis" / "notes.md").write_text("results\n")
    p = run("clean", "--all", "--cache-dir", ".", cwd=proj)
    assert p.returncode == 0, p.stderr
    assert sorted(str(f.relative_to(proj)) for f in proj.rglob("*") if f.is_file()) == [
        "analysis/notes.md", "compiled/build.tmp", "compiled/firmware.bin"]
    assert "analysis cache: nothing to remove" in p.stderr and "compiled matchers" not in p.stderr
    with sqlite3.connect(proj / "analysis" / "analysis.sqlite") as c:
        c.execute("CREATE TABLE users (name TEXT)")
        c.execute("INSERT INTO users VALUES ('ada')")
    before = (proj / "analysis" / "analysis.sqlite").read_bytes()
    p = run("clean", "--scan-cache", "--cache-dir", ".", cwd=proj)
    assert p.returncode == 0, p.stderr
    assert (proj / "analysis" / "analysis.sqlite").read_bytes() == before
    assert sorted(f.name for f in (proj / "analysis").iterdir()) == ["analysis.sqlite", "notes.md"]
    assert "is not a Vigil analysis cache; nothing removed" in p.stderr


def test_clean_scan_cache_removes_vigils_analyses_and_matchers(tmp_path: Path) -> None:
    from vigil.cache import FSCache
    from vigil.compiled_cache import CompiledFiles
    from vigil.findings.analysis import BlobInfo

    cache = tmp_path / "cache"
    c = FSCache(cache / "analysis")
    c.put("sha256:" + "a" * 64, BlobInfo(diff_id="sha256:" + "b" * 64))
    c.close()
    CompiledFiles(cache / "compiled").put("hyperscan-k", b"payload")
    p = run("clean", "--scan-cache", "--cache-dir", str(cache))
    assert p.returncode == 0, p.stderr
    assert "analysis cache: removed 1 entries" in p.stderr and "compiled matchers: removed 1 files" in p.stderr
    assert not list((cache / "compiled").iterdir())
