"""rpm package databases in all three formats, read from bytes without rpm or libdb:

- `rpmdb.sqlite` (RHEL/Rocky/Alma 9, Fedora 33+): table Packages(hnum, blob), opened in memory with
  sqlite3's deserialize (analyzers do no I/O);
- `Packages` (Berkeley DB hash; RHEL/CentOS 7-8, Amazon Linux 2): see _bdb;
- `Packages.db` (NDB; SUSE): see _ndb.

Each value is an rpm header (see _rpmheader). The format is recognised by its magic, not its file name.
version = "[E:]V-R" (epoch only when > 0, as rpm prints it); the source package comes from SOURCERPM
"name-version-release.src.rpm" and carries the binary's epoch (a source rpm's file name never spells it).
gpg-pubkey pseudo-packages (imported signing keys) are skipped, like Trivy. A header that cannot be parsed becomes
an Unknown and the others are still returned.
"""

from __future__ import annotations

from collections.abc import Iterable

from vigil.analyzers.errors import ParseError
from vigil.analyzers.os._bdb import bdb_values, is_bdb_hash
from vigil.analyzers.os._ndb import is_ndb, ndb_blobs
from vigil.analyzers.os._rpmheader import RpmHeader, parse_header
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import Package, Unknown

NAME = "rpm"
ECOSYSTEM = "rpm"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_VM_STEP, _MAX_VM_STEPS = 1000, 200_000
_DIRS = ("/var/lib/rpm/", "/usr/lib/sysimage/rpm/", "/usr/share/rpm/")


def split_sourcerpm(sourcerpm: str) -> tuple[str, str, str] | None:
    """"openssl-3.0.1-41.el9_0.src.rpm" -> ("openssl", "3.0.1", "41.el9_0"); None when it is not of that shape."""
    for suffix in (".src.rpm", ".nosrc.rpm"):
        if sourcerpm.endswith(suffix):
            parts = sourcerpm[: -len(suffix)].rsplit("-", 2)
            if len(parts) == 3 and all(parts):
                return parts[0], parts[1], parts[2]
    return None


def _evr(epoch: int | None, version: str, release: str) -> str:
    vr = f"{version}-{release}" if release else version
    return f"{epoch}:{vr}" if epoch else vr


def to_package(h: RpmHeader, file_path: str) -> Package:
    """Epoch, version and release stay separate, as Trivy's JSON shows them (Package.full_version joins them).
    The source rpm's file name carries no epoch: it is the binary's (as Trivy assumes)."""
    version = _evr(h.epoch, h.version, h.release)
    src = split_sourcerpm(h.sourcerpm)
    src_name, src_version, src_release = src if src else (h.name, h.version, h.release)
    return Package(
        ecosystem=ECOSYSTEM,
        name=h.name,
        version=h.version,
        release=h.release,
        epoch=h.epoch or 0,
        id=f"{h.name}@{version}",
        arch=h.arch,
        src_name=src_name,
        src_version=src_version,
        src_release=src_release,
        src_epoch=h.epoch or 0,
        maintainer=h.vendor,
        licenses=(h.license,) if h.license else (),
        installed_files=h.files,
        file_path=file_path,
    )


def _sqlite_blobs(data: bytes) -> list[bytes]:
    import sqlite3

    # An in-memory copy cannot use a write-ahead log: mark a WAL-mode file (header bytes 18/19 = 2) as a
    # rollback-journal one so sqlite opens it; the pages in the main file are all we have anyway.
    # (copied only then: sqlite keeps its own copy of the file already, and these can be hundreds of MiB)
    if len(data) >= 100 and data[18] == 2 and data[19] == 2:
        data = data[:18] + b"\x01\x01" + data[20:]
    conn = sqlite3.connect(":memory:")
    conn.text_factory = bytes  # a damaged page can turn a blob into TEXT that is not UTF-8
    # A hostile file could make "Packages" a view over an endless recursive query: only a real table is read,
    # and the VM is interrupted after _MAX_VM_STEPS * _VM_STEP instructions (far above any real database).
    steps = [0]

    def budget() -> int:
        steps[0] += 1
        return 1 if steps[0] > _MAX_VM_STEPS else 0

    conn.set_progress_handler(budget, _VM_STEP)
    try:
        conn.deserialize(data)
        kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'Packages'").fetchone()
        if kind is None or kind[0] != b"table":
            raise ParseError("rpm sqlite database: no Packages table")
        rows = conn.execute("SELECT blob FROM Packages ORDER BY hnum").fetchall()
    except sqlite3.Error as e:
        raise ParseError(f"rpm sqlite database: {e}") from e
    except UnicodeDecodeError:  # sqlite's error text quoted damaged schema bytes
        raise ParseError("rpm sqlite database: malformed schema") from None
    finally:
        conn.close()
    return [bytes(r[0]) for r in rows if isinstance(r[0], (bytes, bytearray, memoryview))]


def header_blobs(data: bytes) -> Iterable[bytes]:
    if data[:16] == _SQLITE_MAGIC:
        return _sqlite_blobs(data)
    if is_ndb(data):
        return (blob for _, blob in ndb_blobs(data))
    if is_bdb_hash(data):
        return bdb_values(data)
    raise ParseError("not an rpm database (neither SQLite, Berkeley DB hash nor NDB)")


# A damaged database can hold thousands of bad headers: name the first few, count the rest.
MAX_UNKNOWNS = 10


def parse_rpmdb(data: bytes, path: str = "") -> AnalysisResult:
    """Packages sorted by (name, version, arch): the storage order differs between the three formats."""
    packages: list[Package] = []
    bad: list[str] = []
    for n, blob in enumerate(header_blobs(data), 1):
        try:
            h = parse_header(blob)
        except ParseError as e:
            bad.append(f"header #{n}: {e}")
            continue
        if h.name == "gpg-pubkey":
            continue
        packages.append(to_package(h, path))
    if len(bad) > MAX_UNKNOWNS:
        bad[MAX_UNKNOWNS:] = [f"{len(bad) - MAX_UNKNOWNS} more unparsable headers"]
    packages.sort(key=lambda p: (p.name, p.version, p.arch))
    return AnalysisResult(
        os_packages=tuple(packages),
        unknowns=tuple(Unknown(file_path=path, analyzer=NAME, reason=r) for r in bad),
    )


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return parse_rpmdb(inp.data, inp.path)


ANALYZER = Analyzer(
    name=NAME,
    version=2,
    kind="os",
    path_globs=tuple(d + f for d in _DIRS for f in ("rpmdb.sqlite", "Packages", "Packages.db")),
    analyze=_analyze,
)
