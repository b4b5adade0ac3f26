"""The DB artifact: what a publisher ships and a client verifies before installing.

An artifact directory (the same files go into the OCI artifact's layers or sit in a plain HTTP(S) directory):
- `vigil.db.zst`: the SQLite DB, zstandard-compressed;
- `metadata.json`: the build's DBMetadata (schema_version, built_at, next_update, feeds) plus what the client checks:
  `db_sha256`/`db_size` (the decompressed DB), `compressed_sha256`/`compressed_size` (vigil.db.zst),
  `logical_digest` (when vigil.vulndb.delta provides it) and `deltas` ([{base, file, size, sha256}], written by the
  delta builder: a client whose DB has logical digest `base` may fetch `file` instead of the full DB).

Unknown keys in metadata.json are kept as they are, so the builder and the delta code can add fields.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from vigil.errors import UserError
from vigil.vulndb.schema import DB_FILENAME, METADATA_FILENAME, SCHEMA_VERSION

COMPRESSED_FILENAME = "vigil.db.zst"

# Own media types (OCI artifact): artifactType of the manifest and one per layer.
ARTIFACT_TYPE = "application/vnd.vigil.db.v1"
MT_DB_LAYER = "application/vnd.vigil.db.layer.v1.sqlite+zstd"
MT_METADATA = "application/vnd.vigil.db.metadata.v1+json"
MT_DELTA = "application/vnd.vigil.db.delta.v1+zstd"
MT_EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"

MAX_METADATA = 4 << 20  # metadata.json is read whole: bounded
CHUNK = 1 << 20
ZSTD_LEVEL = 19  # published once, downloaded by every client: spend the CPU at build time


class ArtifactError(UserError):
    """A malformed, incomplete or tampered artifact. One line, for the user."""


class DeltaRef(msgspec.Struct, frozen=True):
    base: str  # logical digest of the DB the delta applies to
    file: str
    size: int
    sha256: str


class ArtifactMetadata(msgspec.Struct, frozen=True, omit_defaults=True):
    schema_version: int
    built_at: str
    next_update: str
    vigil_version: str = ""
    feeds: dict[str, dict[str, str | int]] = {}
    db_sha256: str = ""
    db_size: int = 0
    compressed_sha256: str = ""
    compressed_size: int = 0
    logical_digest: str = ""
    deltas: list[DeltaRef] = []


def decode_metadata(raw: bytes, where: str) -> ArtifactMetadata:
    if len(raw) > MAX_METADATA:
        raise ArtifactError(f"{where}: metadata.json larger than {MAX_METADATA >> 20} MiB")
    try:
        meta = msgspec.json.decode(raw, type=ArtifactMetadata)
    except msgspec.DecodeError as e:
        raise ArtifactError(f"{where}: malformed metadata.json ({e})") from e
    return meta


def require_complete(meta: ArtifactMetadata, where: str) -> None:
    """A published artifact names the digests and sizes the client verifies; refuse one that does not."""
    if not (_is_hex(meta.db_sha256) and _is_hex(meta.compressed_sha256) and meta.db_size > 0
            and meta.compressed_size > 0):
        raise ArtifactError(f"{where}: metadata.json lacks db_sha256/db_size/compressed_sha256 (not packed?)")


def _is_hex(s: str) -> bool:
    return len(s) == 64 and all(c in "0123456789abcdef" for c in s)


def file_sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def _logical_digest_fn() -> Callable[[Path], str] | None:
    """vigil.vulndb.delta.logical_digest when that module exists (incremental updates), else None."""
    try:
        from vigil.vulndb import delta  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return None
    fn = getattr(delta, "logical_digest", None)
    return fn if callable(fn) else None


def logical_digest(db: Path) -> str:
    fn = _logical_digest_fn()
    return str(fn(db)) if fn is not None else ""


def pack(build_dir: Path, level: int = ZSTD_LEVEL) -> ArtifactMetadata:
    """Turn a `vigil db build` output dir into an artifact dir in place: write vigil.db.zst and add the digests to
    metadata.json. Idempotent: an up-to-date vigil.db.zst is not recompressed."""
    import zstandard

    db = build_dir / DB_FILENAME
    meta_path = build_dir / METADATA_FILENAME
    if not db.is_file():
        raise ArtifactError(f"{build_dir}: no {DB_FILENAME} (run 'vigil db build -o {build_dir}' first)")
    try:
        doc: Any = json.loads(meta_path.read_bytes())
    except FileNotFoundError:
        raise ArtifactError(f"{build_dir}: no {METADATA_FILENAME} next to {DB_FILENAME}") from None
    except ValueError as e:
        raise ArtifactError(f"{meta_path}: not JSON ({e})") from e
    if not isinstance(doc, dict):
        raise ArtifactError(f"{meta_path}: not a JSON object")
    check_db(db, f"{db}")
    db_sha, db_size = file_sha256(db)
    zst = build_dir / COMPRESSED_FILENAME
    fresh = (
        doc.get("db_sha256") == db_sha
        and zst.is_file()
        and doc.get("compressed_sha256") == file_sha256(zst)[0]
    )
    if not fresh:
        fd, tmp_name = tempfile.mkstemp(prefix=".vigil.db.zst.", suffix=".tmp", dir=build_dir)
        try:
            with os.fdopen(fd, "wb") as out, open(db, "rb") as src:
                cctx = zstandard.ZstdCompressor(level=level, write_checksum=True, threads=-1)
                cctx.copy_stream(src, out, size=db_size)
            os.chmod(tmp_name, 0o644)  # published: readable by the web server that serves the dir
            os.replace(tmp_name, zst)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    z_sha, z_size = file_sha256(zst)
    # The builder writes logical_digest with the DB; recompute only when it is missing or the DB changed since.
    if not doc.get("logical_digest") or doc.get("db_sha256") not in (None, db_sha):
        ld = logical_digest(db)
        if ld:
            doc["logical_digest"] = ld
    doc.update(db_sha256=db_sha, db_size=db_size, compressed_sha256=z_sha, compressed_size=z_size)
    meta = decode_metadata(json.dumps(doc).encode(), str(meta_path))
    for d in meta.deltas:
        if not (build_dir / d.file).is_file() or "/" in d.file or d.file.startswith("."):
            raise ArtifactError(f"{meta_path}: delta file {d.file!r} missing or not a plain file name")
    tmp = meta_path.with_name(f".{METADATA_FILENAME}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, meta_path)
    return meta


def check_db(path: Path, where: str) -> int:
    """Open `path` as a Vigil DB (read-only) and return its schema version; ArtifactError when it is not one or its
    schema is not this Vigil's."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM metadata WHERE key = 'metadata'").fetchone()
            conn.execute("SELECT count(*) FROM advisories WHERE ecosystem = '' AND name = ''").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise ArtifactError(f"{where}: not a valid Vigil DB ({e})") from e
    try:
        version = int(json.loads(row[0])["schema_version"])
    except (TypeError, ValueError, KeyError):
        raise ArtifactError(f"{where}: DB without readable metadata") from None
    if version != SCHEMA_VERSION:
        raise ArtifactError(f"{where}: DB schema {version}, this Vigil needs {SCHEMA_VERSION}")
    return version


def decompress(zst: Path, out: Path, meta: ArtifactMetadata, what: str) -> None:
    """vigil.db.zst -> `out`, refusing more bytes than db_size (a bomb) and a result whose sha256 differs."""
    import zstandard

    h = hashlib.sha256()
    n = 0
    try:
        with open(zst, "rb") as src, open(out, "wb") as dst:
            reader = zstandard.ZstdDecompressor().stream_reader(src)
            while chunk := reader.read(CHUNK):
                n += len(chunk)
                if n > meta.db_size:
                    raise ArtifactError(f"{what}: decompresses to more than the {meta.db_size} bytes declared")
                h.update(chunk)
                dst.write(chunk)
    except zstandard.ZstdError as e:
        raise ArtifactError(f"{what}: corrupt zstd stream ({e})") from e
    if n != meta.db_size:
        raise ArtifactError(f"{what}: decompressed to {n} bytes, metadata.json says {meta.db_size}")
    if h.hexdigest() != meta.db_sha256:
        raise ArtifactError(f"{what}: decompressed DB sha256 mismatch (got {h.hexdigest()})")


def artifact_files(build_dir: Path, meta: ArtifactMetadata) -> list[tuple[Path, str]]:
    """(file, media type) of everything an artifact dir publishes, metadata first."""
    files = [(build_dir / METADATA_FILENAME, MT_METADATA), (build_dir / COMPRESSED_FILENAME, MT_DB_LAYER)]
    files += [(build_dir / d.file, MT_DELTA) for d in meta.deltas]
    return files
