"""Incremental DB updates: a row-level diff between two builds of the vulnerability DB.

A day-to-day rebuild changes a few hundred of ~500,000 rows, so a client that holds yesterday's DB fetches the
changed rows instead of the whole file. Identity is by content, not by file bytes: `logical_digest` hashes the sorted
rows of every table (SQLite page layout, row order and the build timestamps do not count), so two builds of the same
feeds have the same digest and a delta names exactly the DB it applies to and the DB it produces.

Delta file: zstd(msgpack(DeltaDoc)). Per table: the deleted keys (whole rows for tables without a primary key, which
are treated as multisets) and the inserted-or-replaced rows. apply_delta copies the base, applies everything in one
transaction and checks the base digest before and the target digest after, so a wrong base or a damaged delta never
yields a DB that differs from the published one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from vigil.errors import UserError
from vigil.vulndb.records import DBMetadata, DeltaRef

FORMAT = "vigil-db-delta"
FORMAT_VERSION = 1
DELTA_SUFFIX = ".vdelta.zst"
MAX_DELTA_BYTES = 2 << 30  # decompressed; a larger "delta" is refused as a likely bomb
ZSTD_LEVEL = 19  # deltas are small (a few MB raw), so the slow levels cost little and shrink them further

# metadata fields that differ between two builds of the same feeds, or describe the finished file itself
_VOLATILE_METADATA = ("built_at", "next_update", "logical_digest", "deltas")


class DeltaError(UserError):
    """A delta cannot be made or applied (wrong base, damaged file, schema mismatch). One-line message."""


class TableDelta(msgspec.Struct, frozen=True):
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # primary-key columns; () = a row is identified by all its cells (multiset semantics)
    # SQLite cells are dynamically typed (str, bytes, int, float, None): rows stay untyped lists of cells
    deleted: list[list[Any]]  # key cells (keyed tables) or whole rows, one entry per row to delete
    upserted: list[list[Any]]  # whole rows: INSERT OR REPLACE (keyed tables) or INSERT (multiset tables)


class DeltaDoc(msgspec.Struct, frozen=True):
    format: str
    version: int
    schema: str  # sha256 of the tables' and indexes' SQL: base and target must have the same schema
    base: str
    target: str
    metadata: DBMetadata  # the target's metadata (as stored in its metadata table)
    tables: list[TableDelta]


@dataclass(frozen=True)
class DeltaInfo:
    path: Path
    base: str
    target: str
    size: int
    sha256: str
    metadata: DBMetadata
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (deleted, upserted)
    seconds: float = 0.0

    def ref(self) -> DeltaRef:
        return DeltaRef(base=self.base, file=self.path.name, size=self.size, sha256=self.sha256)


def delta_filename(base_digest: str) -> str:
    """delta-<first 12 hex of the base digest>.vdelta.zst"""
    return f"delta-{base_digest.removeprefix('sha256:')[:12]}{DELTA_SUFFIX}"


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]


_row_encoder = msgspec.msgpack.Encoder()


def _connect_ro(db: Path) -> sqlite3.Connection:
    if not db.is_file():
        raise DeltaError(f"no DB at {db}")
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as e:
        raise DeltaError(f"{db} is not a readable SQLite DB ({e})") from e
    return conn


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _schema(conn: sqlite3.Connection) -> tuple[str, list[_Table]]:
    objs = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'index') AND sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite_%' ORDER BY type, name"
    ).fetchall()
    fingerprint = hashlib.sha256("\n".join(f"{t} {n} {s}" for t, n, s in objs).encode()).hexdigest()
    tables = []
    for typ, name, _ in objs:
        if typ != "table":
            continue
        info = conn.execute(f"PRAGMA table_info({_q(name)})").fetchall()
        columns = tuple(r[1] for r in info)
        key = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        tables.append(_Table(name, columns, key))
    return "sha256:" + fingerprint, tables


def _normalised_metadata(row: tuple[Any, ...]) -> tuple[Any, ...]:
    key, value = row
    if key != "metadata":
        return row
    try:
        doc = msgspec.json.decode(value)
    except (msgspec.DecodeError, TypeError):
        return row
    if isinstance(doc, dict):
        for k in _VOLATILE_METADATA:
            doc.pop(k, None)
        value = msgspec.json.encode(doc, order="sorted").decode()
    return (key, value)


def _rows(conn: sqlite3.Connection, t: _Table) -> Iterator[tuple[Any, ...]]:
    cols = ", ".join(_q(c) for c in t.columns)
    yield from conn.execute(f"SELECT {cols} FROM {_q(t.name)}")


def _row_hash(row: tuple[Any, ...]) -> bytes:
    return hashlib.sha256(_row_encoder.encode(row)).digest()


def _table_digest(h: Any, t: _Table, row_hashes: list[bytes]) -> None:
    h.update(_row_encoder.encode((t.name, t.columns, t.key, len(row_hashes))))
    for rh in sorted(row_hashes):
        h.update(rh)


def _digest_of(conn: sqlite3.Connection, tables: list[_Table]) -> str:
    h = hashlib.sha256()
    for t in tables:
        hashes = [
            _row_hash(_normalised_metadata(r) if t.name == "metadata" else r) for r in _rows(conn, t)
        ]
        _table_digest(h, t, hashes)
    return "sha256:" + h.hexdigest()


def logical_digest(db: Path) -> str:
    """"sha256:…" over the sorted rows of every table (metadata without built_at/next_update): equal for two builds of
    the same feeds, whatever the file layout. Rows are hashed one by one and the sorted row hashes are hashed per
    table, so memory stays at 32 bytes a row."""
    conn = _connect_ro(db)
    try:
        _, tables = _schema(conn)
        return _digest_of(conn, tables)
    except sqlite3.DatabaseError as e:
        raise DeltaError(f"{db}: cannot read the DB ({e})") from e
    finally:
        conn.close()


def _read_metadata(conn: sqlite3.Connection, where: Path) -> DBMetadata:
    try:
        row = conn.execute("SELECT value FROM metadata WHERE key = 'metadata'").fetchone()
        if row is None:
            raise DeltaError(f"{where} has no metadata row")
        return msgspec.json.decode(row[0], type=DBMetadata)
    except (sqlite3.DatabaseError, msgspec.DecodeError) as e:
        raise DeltaError(f"{where}: unreadable metadata ({e})") from e


def _diff_table(old: sqlite3.Connection, new: sqlite3.Connection, t: _Table) -> tuple[TableDelta, list[bytes],
                                                                                       list[bytes]]:
    """One table's delta plus both sides' row hashes (for the digests). Two passes per side: hash every row
    (memory: 32 bytes a row), then fetch only the rows that differ."""
    norm = _normalised_metadata if t.name == "metadata" else None
    key_idx = [t.columns.index(k) for k in t.key]

    def scan(conn: sqlite3.Connection) -> tuple[list[bytes], dict[Any, bytes] | Counter[bytes]]:
        digest_hashes: list[bytes] = []
        by_key: dict[Any, bytes] = {}
        multiset: Counter[bytes] = Counter()
        for r in _rows(conn, t):
            rh = _row_hash(r)
            digest_hashes.append(_row_hash(norm(r)) if norm else rh)
            if key_idx:
                by_key[tuple(r[i] for i in key_idx)] = rh
            else:
                multiset[rh] += 1
        return digest_hashes, (by_key if key_idx else multiset)

    old_hashes, old_index = scan(old)
    new_hashes, new_index = scan(new)
    deleted: list[list[Any]] = []
    upserted: list[list[Any]] = []
    if key_idx:
        assert isinstance(old_index, dict) and isinstance(new_index, dict)
        deleted = [list(k) for k in old_index if k not in new_index]
        changed = {k for k, rh in new_index.items() if old_index.get(k) != rh}
        if changed:
            upserted = [list(r) for r in _rows(new, t) if tuple(r[i] for i in key_idx) in changed]
    else:
        assert isinstance(old_index, Counter) and isinstance(new_index, Counter)
        gone, added = old_index - new_index, new_index - old_index
        for conn, want, out in ((old, gone, deleted), (new, added, upserted)):
            if not want:
                continue
            left = Counter(want)
            for r in _rows(conn, t):
                rh = _row_hash(r)
                if left.get(rh, 0) > 0:
                    left[rh] -= 1
                    out.append(list(r))
    deleted.sort(key=_row_encoder.encode)
    upserted.sort(key=_row_encoder.encode)
    return TableDelta(t.name, t.columns, t.key, deleted, upserted), old_hashes, new_hashes


def make_delta(old_db: Path, new_db: Path, out: Path) -> DeltaInfo:
    """Write the delta that turns old_db into new_db (same schema required) to `out` (zstd-compressed msgpack)."""
    import zstandard

    t0 = time.perf_counter()
    old, new = _connect_ro(old_db), _connect_ro(new_db)
    try:
        old_schema, _ = _schema(old)
        new_schema, new_tables = _schema(new)
        if old_schema != new_schema:
            raise DeltaError(f"{old_db} and {new_db} have different schemas: publish the full DB only")
        metadata = _read_metadata(new, new_db)
        base_h, target_h = hashlib.sha256(), hashlib.sha256()
        tables: list[TableDelta] = []
        for t in new_tables:
            td, old_hashes, new_hashes = _diff_table(old, new, t)
            _table_digest(base_h, t, old_hashes)
            _table_digest(target_h, t, new_hashes)
            if td.deleted or td.upserted:
                tables.append(td)
    except sqlite3.DatabaseError as e:
        raise DeltaError(f"cannot read the DBs ({e})") from e
    finally:
        old.close()
        new.close()
    doc = DeltaDoc(
        format=FORMAT, version=FORMAT_VERSION, schema=new_schema, base="sha256:" + base_h.hexdigest(),
        target="sha256:" + target_h.hexdigest(), metadata=metadata, tables=tables,
    )
    data = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(msgspec.msgpack.encode(doc))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return DeltaInfo(
        path=out, base=doc.base, target=doc.target, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        metadata=metadata, tables={td.name: (len(td.deleted), len(td.upserted)) for td in tables},
        seconds=time.perf_counter() - t0,
    )


def read_delta(delta: Path) -> DeltaDoc:
    """Decompress and decode a delta file; DeltaError if it is not one."""
    import zstandard

    try:
        chunks: list[bytes] = []
        total = 0
        with open(delta, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as r:
            while total <= MAX_DELTA_BYTES and (chunk := r.read(1 << 20)):
                chunks.append(chunk)
                total += len(chunk)
        raw = b"".join(chunks)
    except OSError as e:
        raise DeltaError(f"cannot read delta {delta}: {e.strerror or e}") from e
    except zstandard.ZstdError as e:
        raise DeltaError(f"{delta} is not a zstd-compressed delta ({e})") from e
    if len(raw) > MAX_DELTA_BYTES:
        raise DeltaError(f"{delta}: larger than {MAX_DELTA_BYTES} bytes decompressed")
    try:
        doc = msgspec.msgpack.decode(raw, type=DeltaDoc)
    except msgspec.DecodeError as e:
        raise DeltaError(f"{delta} is damaged ({e})") from e
    if doc.format != FORMAT or doc.version != FORMAT_VERSION:
        raise DeltaError(f"{delta}: unsupported delta format {doc.format!r} version {doc.version}")
    return doc


def _apply(conn: sqlite3.Connection, tables: dict[str, _Table], td: TableDelta) -> None:
    t = tables.get(td.name)
    if t is None or t.columns != tuple(td.columns) or t.key != tuple(td.key):
        raise DeltaError(f"delta table {td.name!r} does not match the base DB's schema")
    width = len(t.key) if t.key else len(t.columns)
    if any(len(r) != width for r in td.deleted) or any(len(r) != len(t.columns) for r in td.upserted):
        raise DeltaError(f"delta table {td.name!r} has rows of the wrong width")
    name = _q(t.name)
    placeholders = ", ".join("?" for _ in t.columns)
    if t.key:
        cond = " AND ".join(f"{_q(c)} = ?" for c in t.key)
        before = conn.total_changes
        conn.executemany(f"DELETE FROM {name} WHERE {cond}", td.deleted)
        if conn.total_changes - before != len(td.deleted):
            raise DeltaError(f"delta deletes rows of {td.name!r} that the base DB does not have")
        conn.executemany(f"INSERT OR REPLACE INTO {name} VALUES ({placeholders})", td.upserted)
    else:
        cond = " AND ".join(f"{_q(c)} IS ?" for c in t.columns)
        before = conn.total_changes
        conn.executemany(
            f"DELETE FROM {name} WHERE rowid = (SELECT rowid FROM {name} WHERE {cond} LIMIT 1)", td.deleted
        )
        if conn.total_changes - before != len(td.deleted):
            raise DeltaError(f"delta deletes rows of {td.name!r} that the base DB does not have")
        conn.executemany(f"INSERT INTO {name} VALUES ({placeholders})", td.upserted)


def apply_delta(base_db: Path, delta: Path, out_db: Path) -> None:
    """Write base_db + delta to out_db (atomically: a temp file renamed into place only once the result's logical
    digest equals the delta's target). base_db is left untouched; out_db may be base_db itself."""
    doc = read_delta(delta)
    conn = _connect_ro(base_db)
    try:
        schema, base_tables = _schema(conn)
        base_digest = _digest_of(conn, base_tables)
    except sqlite3.DatabaseError as e:
        raise DeltaError(f"{base_db}: cannot read the DB ({e})") from e
    finally:
        conn.close()
    if base_digest != doc.base:
        raise DeltaError(f"delta {delta.name} applies to DB {doc.base[:19]}…, not to {base_db} ({base_digest[:19]}…)")
    if schema != doc.schema:
        raise DeltaError(f"delta {delta.name} was made for another DB schema")
    out_db.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_db.with_name(f".{out_db.name}.{os.getpid()}.delta.tmp")
    try:
        shutil.copyfile(base_db, tmp)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=MEMORY")
            tables = {t.name: t for t in _schema(conn)[1]}
            conn.execute("BEGIN")
            try:
                for td in doc.tables:
                    _apply(conn, tables, td)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            got = _digest_of(conn, list(tables.values()))
        except sqlite3.DatabaseError as e:
            raise DeltaError(f"delta {delta.name} does not apply to {base_db} ({e})") from e
        finally:
            conn.close()
        if got != doc.target:
            raise DeltaError(
                f"DB after applying {delta.name} has digest {got[:19]}…, expected {doc.target[:19]}…: delta damaged"
            )
        os.replace(tmp, out_db)
    finally:
        if tmp.exists():
            tmp.unlink()
