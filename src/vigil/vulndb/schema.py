"""SQLite schema of the vulnerability DB. Bump SCHEMA_VERSION on any incompatible change: clients refuse a DB
whose schema is newer than theirs and rebuild/re-download an older one.

History: 1 = advisories, vulnerabilities, aliases, feeds, metadata; 2 = + os_eol (OS end-of-life dates, loaded from
vigil/data/os_eol.json) and OS advisories keyed by "<family>:<release>" ecosystems."""

from __future__ import annotations

SCHEMA_VERSION = 2
DB_FILENAME = "vigil.db"
METADATA_FILENAME = "metadata.json"

DDL = """
CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE feeds (
    name TEXT PRIMARY KEY, title TEXT NOT NULL, url TEXT NOT NULL, kind TEXT NOT NULL,
    status TEXT NOT NULL, records INTEGER NOT NULL, digest TEXT NOT NULL, error TEXT NOT NULL
);
-- one row per vulnerability (canonical ID); data = msgspec JSON of vulndb.records.VulnDetail
CREATE TABLE vulnerabilities (id TEXT PRIMARY KEY, data BLOB NOT NULL);
-- every known ID (CVE, GHSA, PYSEC, GO, RUSTSEC, ...) -> canonical vulnerability ID
CREATE TABLE aliases (alias TEXT PRIMARY KEY, id TEXT NOT NULL);
-- one row per (package, vulnerability, source); data = msgspec JSON of vulndb.records.AffectedPackage
CREATE TABLE advisories (
    ecosystem TEXT NOT NULL, name TEXT NOT NULL, vuln_id TEXT NOT NULL,
    source TEXT NOT NULL, advisory_id TEXT NOT NULL, data BLOB NOT NULL
);
-- OS end-of-life dates (ISO yyyy-mm-dd) per family and release key (vigil.inventory.records.os_release_key)
CREATE TABLE os_eol (family TEXT NOT NULL, release TEXT NOT NULL, eol TEXT NOT NULL, PRIMARY KEY (family, release));
"""
# Created after the rows are inserted: building an index once over sorted keys is much cheaper than maintaining it
# through ~400,000 inserts (the OS feeds), and leaves its pages contiguous.
INDEXES = """
CREATE INDEX advisories_pkg ON advisories (ecosystem, name);
"""
