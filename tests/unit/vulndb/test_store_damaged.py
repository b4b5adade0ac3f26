"""A DB that opens but whose pages or records are unreadable is the user's DB problem (one line, exit 2; a server
answers 503), whichever query meets the damage first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tests.dbdist_helpers import damaged_copy

from vigil.errors import UserError
from vigil.vulndb.store import DBError, Store


@pytest.mark.parametrize("how", ["pages", "blobs"])
def test_unreadable_advisories_are_a_db_error(how: str, fixture_db: Path, tmp_path: Path) -> None:
    st = Store(damaged_copy(fixture_db, tmp_path / "vigil.db", how))  # metadata is intact: it opens
    with pytest.raises(DBError, match=r"^the vulnerability DB at .*vigil\.db is damaged .*re-download") as e:
        st.advisories("pypi", "pyyaml")
    assert isinstance(e.value, UserError) and "\n" not in str(e.value)
    assert isinstance(e.value.__cause__, (sqlite3.DatabaseError, ValueError))  # the cause is kept for --debug


def test_unreadable_vulnerability_detail_is_a_db_error(fixture_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "vigil.db"
    db.write_bytes(fixture_db.read_bytes())
    con = sqlite3.connect(db)
    con.execute("UPDATE vulnerabilities SET data = 'not json'")
    con.commit()
    con.close()
    st = Store(db)
    assert st.advisories("pypi", "pyyaml")  # advisories are fine
    with pytest.raises(DBError, match="is damaged"):
        st.detail("CVE-2020-14343")
