from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from tests.conftest import write_feeds

from vigil.vulndb.build.builder import build, canonical_ids
from vigil.vulndb.records import AdvisoryRecord
from vigil.vulndb.store import DBError, Store

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_metadata_and_counts(fixture_db: Path) -> None:
    st = Store(fixture_db)
    assert st.metadata.schema_version == 2
    assert st.metadata.built_at == "2026-01-01T00:00:00Z" and st.metadata.next_update == "2026-01-02T00:00:00Z"
    feeds = {f["name"]: f for f in st.feeds()}
    assert feeds["pypa"]["status"] == "ok" and feeds["pypa"]["records"] == 5
    assert str(feeds["pypa"]["digest"]).startswith("sha256:")
    assert st.counts()["vulnerabilities"] > 10


def test_alias_merge_and_enrichment(fixture_db: Path) -> None:
    st = Store(fixture_db)
    assert st.resolve_alias("PYSEC-2021-142") == "CVE-2020-14343"
    assert st.resolve_alias("GHSA-8q59-q68h-6hv4") == "CVE-2020-14343"
    d = st.detail("CVE-2020-14343")
    assert d is not None and "nvd" in d.vendor_severity and d.cvss["nvd"].v3_score > 9
    assert d.cwe_ids and "pypa" in d.sources and "nvd" in d.sources
    protobuf = st.advisories("pypi", "protobuf")
    assert {r.source for r in protobuf} == {"pypa", "ghsa"} and {r.vuln_id for r in protobuf} == {"CVE-2021-22570"}
    text4shell = st.detail("CVE-2022-42889")
    assert text4shell is not None and text4shell.vendor_severity.get("nvd") == "CRITICAL"
    assert st.detail("CVE-2021-44228") is None  # NVD-only CVEs (no package advisory) are not stored
    x = st.detail("CVE-2023-44487")
    assert x is not None and x.known_exploited


def test_failed_feed_is_skipped_whole_and_reported(tmp_path: Path) -> None:
    feeds = write_feeds(tmp_path / "feeds", {"rustsec/rustsec.jsonl.gz": '{"advisory": {"id": "RUSTSEC-1"}}\nnot json\n'})
    res = build(feeds, tmp_path / "out", now=NOW)
    by = {f.name: f for f in res.feeds}
    assert by["rustsec"].status == "failed" and by["rustsec"].records == 0 and by["rustsec"].error
    assert by["pypa"].status == "ok"
    st = Store(res.db_path)
    assert not st.advisories("cargo", "abi_stable")
    assert st.metadata.feeds["rustsec"]["status"] == "failed"


def test_missing_feed_reported(tmp_path: Path) -> None:
    feeds = write_feeds(tmp_path / "feeds")
    import shutil

    shutil.rmtree(feeds / "elixir-hex")
    res = build(feeds, tmp_path / "out", now=NOW)
    assert {f.name: f.status for f in res.feeds}["elixir-security-advisories"] == "missing"


def test_canonical_id_rules() -> None:
    recs = [
        AdvisoryRecord(id="PYSEC-1", source="pypa", aliases=("GHSA-a",)),
        AdvisoryRecord(id="GHSA-a", source="ghsa", aliases=("CVE-2020-1",)),
        AdvisoryRecord(id="RUSTSEC-1", source="rustsec", aliases=("CVE-2020-2", "CVE-2020-3")),
        AdvisoryRecord(id="GO-1", source="go-vulndb", aliases=("GHSA-b",)),
        AdvisoryRecord(id="NSWG-1", source="nodejs-security-wg"),
    ]
    c = canonical_ids(recs)
    assert c[("pypa", "PYSEC-1")] == "CVE-2020-1"  # via the GHSA -> CVE chain
    assert c[("ghsa", "GHSA-a")] == "CVE-2020-1"
    assert c[("rustsec", "RUSTSEC-1")] == "RUSTSEC-1"  # several CVEs: keep the advisory's own ID
    assert c[("go-vulndb", "GO-1")] == "GHSA-b"
    assert c[("nodejs-security-wg", "NSWG-1")] == "NSWG-1"


def test_store_refuses_bad_dbs(tmp_path: Path, fixture_db: Path) -> None:
    with pytest.raises(DBError, match="vigil db build"):
        Store(tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite" * 100)
    with pytest.raises(DBError, match="not a valid Vigil DB"):
        Store(junk)
    newer = tmp_path / "newer.db"
    newer.write_bytes(fixture_db.read_bytes())
    con = sqlite3.connect(newer)
    v = con.execute("SELECT value FROM metadata").fetchone()[0].replace('"schema_version":2', '"schema_version":99')
    con.execute("UPDATE metadata SET value = ?", (v,))
    con.commit()
    con.close()
    with pytest.raises(DBError, match="newer"):
        Store(newer)


def test_store_is_read_only(fixture_db: Path) -> None:
    st = Store(fixture_db)
    with pytest.raises(sqlite3.OperationalError):
        st._conn.execute("DELETE FROM advisories")


def test_a_record_naming_several_cves_is_stored_under_each() -> None:
    from vigil.vulndb.build.builder import vulnerability_ids

    recs = [
        AdvisoryRecord(id="RUSTSEC-1", source="rustsec", aliases=("CVE-2020-2", "CVE-2020-3", "GHSA-r")),
        AdvisoryRecord(id="GHSA-g", source="ghsa", aliases=("CVE-2020-2",)),
        AdvisoryRecord(id="PYSEC-1", source="pypa", aliases=("GHSA-r",)),
    ]
    v = vulnerability_ids(recs)
    assert v[("rustsec", "RUSTSEC-1")] == ("CVE-2020-2", "CVE-2020-3")
    assert v[("ghsa", "GHSA-g")] == ("CVE-2020-2",)
    # GHSA-r belongs to a record about two CVEs: its alias group does not join CVE-2020-2 and CVE-2020-3 into one
    assert v[("pypa", "PYSEC-1")] == ("GHSA-r",)


def test_loose_cve_lists_are_settled_by_other_records() -> None:
    """retire.js lists the same two CVEs on two lodash GHSAs; RubySec ties the first GHSA to one CVE, so the first
    is that CVE and the second is the other."""
    from vigil.vulndb.build.builder import vulnerability_ids

    pair = ("CVE-2021-23337", "CVE-2026-4800")
    recs = [
        AdvisoryRecord(id="GHSA-35jh-r3h4-6jhm", source="retire.js-jslibs", aliases=pair),
        AdvisoryRecord(id="GHSA-r5fr-rjxr-66jc", source="retire.js-jslibs", aliases=pair),
        AdvisoryRecord(id="CVE-2021-23337", source="ruby-advisory-db", aliases=("GHSA-35jh-r3h4-6jhm",)),
    ]
    v = vulnerability_ids(recs)
    assert v[("retire.js-jslibs", "GHSA-35jh-r3h4-6jhm")] == ("CVE-2021-23337",)
    assert v[("retire.js-jslibs", "GHSA-r5fr-rjxr-66jc")] == ("CVE-2026-4800",)
    # without the RubySec record nothing settles it: each applies to both CVEs, still two vulnerabilities
    v = vulnerability_ids(recs[:2])
    assert v[("retire.js-jslibs", "GHSA-35jh-r3h4-6jhm")] == pair == v[("retire.js-jslibs", "GHSA-r5fr-rjxr-66jc")]
