"""Read-only query API over the vulnerability DB (what matchers see)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import msgspec

from vigil.vulndb.errors import DBError as DBError  # raised by the queries; named here for their callers
from vigil.vulndb.records import AffectedPackage, DBMetadata, VulnDetail
from vigil.vulndb.schema import SCHEMA_VERSION


class DBDamaged(DBError):
    """The DB opened, but a page or a record read later is unreadable (corrupted pages, garbage blobs). Raised from
    any query, so it can surface in the middle of detection, not only when the DB is opened."""

    def __init__(self, path: Path, cause: Exception) -> None:
        super().__init__(
            f"the vulnerability DB at {path} is damaged ({type(cause).__name__}: {cause}); "
            "rebuild it with 'vigil db build' or re-download it with 'vigil db pull'"
        )
        self.path = path


class AdvisoryRow(msgspec.Struct, frozen=True):
    vuln_id: str
    source: str
    advisory_id: str
    affected: AffectedPackage


_affected_decoder = msgspec.json.Decoder(AffectedPackage)
# Names per prefetch query (under SQLite's default limit of 999 bound parameters of old builds), and how many
# packages' rows a Store keeps from prefetches (like the per-name cache's 65,536).
_PREFETCH_CHUNK = 500
_PREFETCH_KEEP = 65536
_detail_decoder = msgspec.json.Decoder(VulnDetail)


class Store:
    """Opens the SQLite file read-only. Safe to share within a thread; open one per thread/process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise DBError(
                f"no vulnerability DB at {path}. Build one with "
                "'vigil db build --feeds <advisories dir>' (or pass --db-path to an existing vigil.db)"
            )
        try:
            self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            rows = dict(self._conn.execute("SELECT key, value FROM metadata").fetchall())
        except sqlite3.DatabaseError as e:
            raise DBError(f"{path} is not a valid Vigil DB ({e}); rebuild it with 'vigil db build'") from e
        try:
            self.metadata = msgspec.json.decode(rows["metadata"], type=DBMetadata)
        except (KeyError, msgspec.DecodeError):
            raise DBError(f"{path} has no readable metadata; rebuild it with 'vigil db build'") from None
        if self.metadata.schema_version > SCHEMA_VERSION:
            raise DBError(
                f"DB schema {self.metadata.schema_version} is newer than this Vigil supports ({SCHEMA_VERSION}); "
                "upgrade Vigil"
            )
        if self.metadata.schema_version < SCHEMA_VERSION:
            raise DBError(
                f"DB schema {self.metadata.schema_version} is older than this Vigil needs ({SCHEMA_VERSION}); "
                "rebuild it with 'vigil db build'"
            )
        self._cached_advisories = lru_cache(maxsize=65536)(self._advisories)
        self._prefetched: dict[tuple[str, str], tuple[AdvisoryRow, ...]] = {}
        self._cached_detail = lru_cache(maxsize=65536)(self._detail)
        self._prefetched_details: dict[str, VulnDetail | None] = {}

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Every read after open goes through here: SQLite reports a corrupted page only when a query touches it,
        and a garbage JSON blob fails only when decoded, so both can happen in the middle of a scan. They are the
        DB's fault, not a defect of ours: one line, exit 2 (a server answers 503). A closed connection
        (ProgrammingError) is a defect and is left alone."""
        try:
            yield
        except sqlite3.ProgrammingError:
            raise
        except (sqlite3.DatabaseError, msgspec.DecodeError) as e:
            raise DBDamaged(self.path, e) from e

    def advisories(self, ecosystem: str, name: str) -> tuple[AdvisoryRow, ...]:
        """The advisory rows of one package (name as vulndb.names.normalize gives it), in DB order."""
        rows = self._prefetched.get((ecosystem, name))
        return rows if rows is not None else self._cached_advisories(ecosystem, name)

    def prefetch_advisories(self, ecosystem: str, names: Iterable[str]) -> None:
        """Read the advisories of many names of one ecosystem with one query per _PREFETCH_CHUNK names, for the
        advisories() calls that follow: a lockfile corpus of 10,000 packages was 3,500 queries, one per name.
        The rows and their order are those advisories() would read by itself (the same index, in its order)."""
        todo = sorted({n for n in names if (ecosystem, n) not in self._prefetched})
        if len(self._prefetched) + len(todo) > _PREFETCH_KEEP:  # a long-lived Store (the server) stays bounded
            self._prefetched.clear()
        for i in range(0, len(todo), _PREFETCH_CHUNK):
            chunk = todo[i : i + _PREFETCH_CHUNK]
            found: dict[str, list[AdvisoryRow]] = {n: [] for n in chunk}
            with self._reading():
                cur = self._conn.execute(
                    "SELECT name, vuln_id, source, advisory_id, data FROM advisories "
                    f"WHERE ecosystem = ? AND name IN ({','.join('?' * len(chunk))}) ORDER BY name, rowid",
                    (ecosystem, *chunk),
                )
                for n, v, s, a, d in cur:
                    found[n].append(AdvisoryRow(vuln_id=v, source=s, advisory_id=a,
                                                affected=_affected_decoder.decode(d)))
            for n, rows in found.items():
                self._prefetched[(ecosystem, n)] = tuple(rows)

    def _advisories(self, ecosystem: str, name: str) -> tuple[AdvisoryRow, ...]:
        with self._reading():
            cur = self._conn.execute(
                "SELECT vuln_id, source, advisory_id, data FROM advisories WHERE ecosystem = ? AND name = ?",
                (ecosystem, name),
            )
            return tuple(
                AdvisoryRow(vuln_id=v, source=s, advisory_id=a, affected=_affected_decoder.decode(d))
                for v, s, a, d in cur
            )

    def detail(self, vuln_id: str) -> VulnDetail | None:
        """A vulnerability's details (title, description, CVSS, vendor severities…); None when the DB has none."""
        if vuln_id in self._prefetched_details:
            return self._prefetched_details[vuln_id]
        return self._cached_detail(vuln_id)

    def prefetch_details(self, vuln_ids: Iterable[str]) -> None:
        """Read the details of many vulnerabilities with one query per _PREFETCH_CHUNK IDs, for the detail() calls
        that follow: a query per ID costs about twice the decoding (816 findings of a lockfile corpus: ~22 ms one
        by one, ~8 ms in chunks)."""
        todo = sorted({v for v in vuln_ids if v not in self._prefetched_details})
        if len(self._prefetched_details) + len(todo) > _PREFETCH_KEEP:  # a long-lived Store stays bounded
            self._prefetched_details.clear()
        for i in range(0, len(todo), _PREFETCH_CHUNK):
            chunk = todo[i : i + _PREFETCH_CHUNK]
            found: dict[str, VulnDetail | None] = dict.fromkeys(chunk)
            with self._reading():
                cur = self._conn.execute(
                    f"SELECT id, data FROM vulnerabilities WHERE id IN ({','.join('?' * len(chunk))})", chunk
                )
                for v, d in cur:
                    found[v] = _detail_decoder.decode(d)
            self._prefetched_details.update(found)

    def _detail(self, vuln_id: str) -> VulnDetail | None:
        with self._reading():
            row = self._conn.execute("SELECT data FROM vulnerabilities WHERE id = ?", (vuln_id,)).fetchone()
            return _detail_decoder.decode(row[0]) if row else None

    def resolve_alias(self, some_id: str) -> str | None:
        with self._reading():
            row = self._conn.execute("SELECT id FROM aliases WHERE alias = ?", (some_id,)).fetchone()
        return str(row[0]) if row else None

    def has_ecosystem(self, ecosystem: str) -> bool:
        """Whether any advisory is stored for `ecosystem` (e.g. "debian:12"): an OS release the DB has no feed
        for is "unsupported", not "clean"."""
        return self._has_ecosystem(ecosystem)

    @lru_cache(maxsize=256)  # noqa: B019 - one Store per scan; a handful of ecosystems
    def _has_ecosystem(self, ecosystem: str) -> bool:
        # the (ecosystem, name) index answers this with one seek
        with self._reading():
            row = self._conn.execute("SELECT 1 FROM advisories WHERE ecosystem = ? LIMIT 1", (ecosystem,)).fetchone()
        return row is not None

    def eol_date(self, family: str, release_key: str) -> str | None:
        """The end-of-life date (ISO yyyy-mm-dd) of an OS release, `release_key` as os_release_key() gives it
        ("12", "3.16", "24.04"); None when the DB does not know the release."""
        with self._reading():
            row = self._conn.execute(
                "SELECT eol FROM os_eol WHERE family = ? AND release = ?", (family, release_key)
            ).fetchone()
        return str(row[0]) if row else None

    def feeds(self) -> list[dict[str, object]]:
        cols = ("name", "title", "url", "kind", "status", "records", "digest", "error")
        with self._reading():
            cur = self._conn.execute(f"SELECT {', '.join(cols)} FROM feeds ORDER BY name")
            return [dict(zip(cols, r, strict=True)) for r in cur]

    def counts(self) -> dict[str, int]:
        q = {
            "vulnerabilities": "SELECT count(*) FROM vulnerabilities",
            "advisories": "SELECT count(*) FROM advisories",
            "packages": "SELECT count(*) FROM (SELECT DISTINCT ecosystem, name FROM advisories)",
            "aliases": "SELECT count(*) FROM aliases",
        }
        with self._reading():
            return {k: int(self._conn.execute(sql).fetchone()[0]) for k, sql in q.items()}
