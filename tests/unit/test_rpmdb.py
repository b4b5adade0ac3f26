"""rpm databases (issue 4): the real rpmdb.sqlite of ../shared/data/images/rhel9-like.docker.tar, and the Berkeley
DB (little/big-endian, overflow and inline values) and NDB files that tests/fixtures/os/rpm/make_fixtures.sh
rebuilt from its header blobs. All formats must give the same packages as `rpm -qa` (expected.txt).

Robustness: random bytes, truncations, flipped bytes, overflow-chain cycles and lying header counts end in a
ParseError (or an Unknown per bad header), never a hang or a crash.
"""

from __future__ import annotations

import json
import random
import sqlite3
import struct
import tarfile
from functools import cache
from pathlib import Path

import pytest

from tests.work_budget import line_budget
from vigil.analyzers.errors import ParseError
from vigil.analyzers.os import rpm
from vigil.analyzers.os._bdb import bdb_values
from vigil.analyzers.os._rpmheader import parse_header
from vigil.analyzers.registry import AnalysisInput, run_guarded

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "os" / "rpm"
IMAGE = ROOT.parent / "shared" / "data" / "images" / "rhel9-like.docker.tar"
FIXTURES = ("Packages", "Packages.be", "Packages.inline", "Packages.db")


@cache
def real_sqlite() -> bytes:
    if not IMAGE.is_file():
        pytest.skip("../shared images not present")
    with tarfile.open(IMAGE) as t:
        (manifest,) = json.load(t.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer in manifest["Layers"]:
            with tarfile.open(fileobj=t.extractfile(layer)) as lt:
                for m in lt:
                    if m.name.removeprefix("./") == "var/lib/rpm/rpmdb.sqlite":
                        return lt.extractfile(m).read()  # type: ignore[union-attr]
    raise AssertionError("rpmdb.sqlite not in the image")


def expected() -> list[tuple[str, str, str, str, str]]:
    """(name, version, arch, src_name, src_version) from `rpm -qa` of the same database."""
    out = []
    for line in (FIX / "expected.txt").read_text().splitlines():
        name, epoch, ver, rel, arch, srpm = line.split("|")
        e = f"{epoch}:" if epoch != "0" else ""
        src_name, src_ver, src_rel = srpm.removesuffix(".src.rpm").rsplit("-", 2)
        out.append((name, f"{e}{ver}-{rel}", arch, src_name, f"{e}{src_ver}-{src_rel}"))
    return sorted(out)


def summary(res) -> list[tuple[str, str, str, str, str]]:  # type: ignore[no-untyped-def]
    return [(p.name, p.full_version, p.arch, p.src_name, p.src_full_version) for p in res.os_packages]


def test_real_sqlite_matches_rpm_qa(golden) -> None:  # type: ignore[no-untyped-def]
    res = run_guarded(rpm.ANALYZER, AnalysisInput(path="var/lib/rpm/rpmdb.sqlite", data=real_sqlite()))
    assert res.unknowns == ()
    assert summary(res) == expected() and len(res.os_packages) == 7
    by = {p.name: p for p in res.os_packages}
    assert by["openssl-libs"].full_version == "1:3.0.1-41.el9_0"  # epoch > 0 is spelled
    # split as Trivy's JSON shows it
    ossl = by["openssl-libs"]
    assert (ossl.version, ossl.release, ossl.epoch, ossl.src_version, ossl.src_release, ossl.src_epoch) == (
        "3.0.1", "41.el9_0", 1, "3.0.1", "41.el9_0", 1)
    assert by["bash"].full_version == "5.1.8-4.el9"  # Epoch: 0 is stored in the header but not spelled
    assert by["bash"].installed_files == ("usr/share/doc/bash/FIXTURE",)
    assert by["libcurl"].installed_files == ()  # a subpackage without files
    assert (by["bash"].maintainer, by["bash"].licenses, by["bash"].ecosystem) == ("Red Hat, Inc.", ("test-fixture",), "rpm")
    golden.check("os/rpm/rhel9_sqlite", res.os_packages)


@pytest.mark.parametrize("name", FIXTURES)
def test_bdb_and_ndb_give_the_same_packages(name: str) -> None:
    path = f"var/lib/rpm/{name}" if name != "Packages.db" else "usr/lib/sysimage/rpm/Packages.db"
    got = run_guarded(rpm.ANALYZER, AnalysisInput(path=path, data=(FIX / name).read_bytes()))
    ref = rpm.parse_rpmdb(real_sqlite(), path)
    assert got.unknowns == ()
    assert got.os_packages == ref.os_packages  # every field, installed files included


def test_sqlite_work_is_small(monkeypatch: pytest.MonkeyPatch) -> None:
    # 7 packages: under 1,000 SQLite VM instructions and about 4,100 lines of Vigil code today
    monkeypatch.setattr(rpm, "_VM_STEP", 1)
    monkeypatch.setattr(rpm, "_MAX_VM_STEPS", 5_000)  # past it, the parse is interrupted (a ParseError)
    with line_budget(20_000):
        assert summary(rpm.parse_rpmdb(real_sqlite(), "x")) == expected()


def test_sqlite_in_wal_mode_and_without_the_table() -> None:
    wal = bytearray(real_sqlite())
    wal[18] = wal[19] = 2  # what a database left in journal_mode=WAL says in its header
    assert summary(rpm.parse_rpmdb(bytes(wal))) == expected()
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE other (x)")
    with pytest.raises(ParseError, match="no Packages table"):
        rpm.parse_rpmdb(conn.serialize())
    # a view that never ends is neither a table nor allowed to run: refused before any row is read (had the view
    # run, the small VM budget would have interrupted it with another message)
    conn.execute("CREATE VIEW Packages AS WITH RECURSIVE n(hnum, blob) AS (SELECT 1, x'00' UNION ALL "
                 "SELECT hnum + 1, blob FROM n) SELECT hnum, blob FROM n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rpm, "_VM_STEP", 1)
        mp.setattr(rpm, "_MAX_VM_STEPS", 5_000)
        with line_budget(2_000), pytest.raises(ParseError, match="no Packages table"):
            rpm.parse_rpmdb(conn.serialize())


# --- headers ---------------------------------------------------------------------------------------------------

def make_header(entries: list[tuple[int, int, object]]) -> bytes:
    """An rpm header blob: (tag, type, value) with type 4 (INT32 list), 6 (STRING), 8 (STRING_ARRAY) or 9."""
    index, store = [], b""
    for tag, typ, value in entries:
        if typ == 4:
            store += b"\0" * (-len(store) % 4)
            payload, count = b"".join(struct.pack(">i", v) for v in value), len(value)  # type: ignore[attr-defined]
        elif typ == 6:
            payload, count = str(value).encode() + b"\0", 1
        else:
            payload, count = b"".join(s.encode() + b"\0" for s in value), len(value)  # type: ignore[attr-defined]
        index.append(struct.pack(">IIII", tag, typ, len(store), count))
        store += payload
    return struct.pack(">II", len(index), len(store)) + b"".join(index) + store


def pkg(name: str, *, epoch: int | None = None, srpm: str | None = "x-1-1.src.rpm", extra=()) -> bytes:  # type: ignore[no-untyped-def]
    entries: list[tuple[int, int, object]] = [(1000, 6, name), (1001, 6, "1.2"), (1002, 6, "3.el8"),
                                              (1022, 6, "noarch")]
    if epoch is not None:
        entries.append((1003, 4, [epoch]))
    if srpm is not None:
        entries.append((1044, 6, srpm))
    return make_header(entries + list(extra))


def test_header_fields_and_source_rpm() -> None:
    h = parse_header(pkg("a", epoch=2, srpm="a-src-1.2-3.el8.src.rpm",
                         extra=[(1118, 8, ["/usr/bin/", "/etc/"]), (1117, 8, ["a", "a.conf", "b"]),
                                (1116, 4, [0, 1, 0]), (5096, 6, "perl:5.26:8000020190628015203:6d4a6d3c"),
                                (1014, 9, ["GPLv2+", "ignored-locale-variant"])]))
    p = rpm.to_package(h, "f")
    assert (p.full_version, p.src_name, p.src_full_version) == ("2:1.2-3.el8", "a-src", "2:1.2-3.el8")
    assert p.installed_files == ("usr/bin/a", "etc/a.conf", "usr/bin/b")
    assert p.licenses == ("GPLv2+",) and h.modularity_label.startswith("perl:5.26")
    no_src = rpm.to_package(parse_header(pkg("b", epoch=0, srpm=None)), "f")
    assert (no_src.full_version, no_src.src_name, no_src.src_full_version) == ("1.2-3.el8", "b", "1.2-3.el8")
    old = parse_header(pkg("c", extra=[(1027, 8, ["/bin/c", "/etc/c"])]))
    assert old.files == ("bin/c", "etc/c")
    assert rpm.split_sourcerpm("glibc-2.28-251.el8_10.2.src.rpm") == ("glibc", "2.28", "251.el8_10.2")
    assert rpm.split_sourcerpm("(none)") is None and rpm.split_sourcerpm("x-1.src.rpm") is None


def _sqlite_db(blobs: list[bytes]) -> bytes:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    conn.executemany("INSERT INTO Packages (blob) VALUES (?)", [(b,) for b in blobs])
    conn.commit()
    return conn.serialize()


def test_gpg_pubkey_skipped_and_bad_headers_become_unknowns() -> None:
    blobs = [pkg("gpg-pubkey", srpm=None), pkg("good"), b"\0\0\0\x01", pkg("")]
    res = run_guarded(rpm.ANALYZER, AnalysisInput(path="var/lib/rpm/rpmdb.sqlite", data=_sqlite_db(blobs)))
    assert [p.name for p in res.os_packages] == ["good"]
    assert [u.reason for u in res.unknowns] == ["header #3: rpm header: truncated intro",
                                                "header #4: rpm header without a NAME"]
    many = run_guarded(rpm.ANALYZER, AnalysisInput(path="p", data=_sqlite_db([b"junk"] * 30)))
    assert len(many.unknowns) == rpm.MAX_UNKNOWNS + 1 and many.unknowns[-1].reason == "20 more unparsable headers"


@pytest.mark.parametrize(("blob", "message"), [
    (struct.pack(">II", 70000, 0), "implausible size"),
    (struct.pack(">II", 1, 1000) + struct.pack(">IIII", 1000, 6, 0, 1), "exceed"),
    (struct.pack(">II", 1, 4) + struct.pack(">IIII", 1000, 6, 0, 1) + b"abcd", "unterminated"),
    (struct.pack(">II", 1, 4) + struct.pack(">IIiI", 1000, 6, -5, 1) + b"abc\0", "outside"),
    (struct.pack(">II", 1, 4) + struct.pack(">IIII", 1116, 4, 0, 2) + b"\0" * 4, "runs past"),
    (make_header([(1000, 6, "x"), (1117, 8, ["a"]), (1116, 4, [3]), (1118, 8, ["/"])]), "past DIRNAMES"),
    (make_header([(1000, 6, "x"), (1117, 8, ["a", "b"]), (1116, 4, [0]), (1118, 8, ["/"])]), "differ in length"),
])
def test_lying_headers(blob: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_header(blob)


# --- robustness ------------------------------------------------------------------------------------------------

def _page_offsets(data: bytes, pagesize: int, endian: str, page_type: int) -> list[int]:
    return [p * pagesize for p in range(1, len(data) // pagesize) if data[p * pagesize + 25] == page_type]


@pytest.mark.parametrize("name", ["Packages", "Packages.be"])
def test_bdb_overflow_cycle_and_bad_links(name: str) -> None:
    data = (FIX / name).read_bytes()
    e = "<" if name == "Packages" else ">"
    pagesize = struct.unpack_from(e + "I", data, 20)[0]
    overflow = _page_offsets(data, pagesize, e, 7)
    # an overflow page whose "next" points at itself: a cycle must be detected, not followed forever
    for target in (overflow[0], overflow[-1]):
        bad = bytearray(data)
        struct.pack_into(e + "I", bad, target + 16, target // pagesize)
        struct.pack_into(e + "H", bad, target + 22, 1)  # and it carries only one byte, so the chain must go on
        with line_budget(20_000), pytest.raises(ParseError, match="overflow"):
            rpm.parse_rpmdb(bytes(bad))
    # a chain pointing past the end of the file, and an item offset outside its page
    bad = bytearray(data)
    struct.pack_into(e + "I", bad, overflow[0] + 16, 10**6)
    struct.pack_into(e + "H", bad, overflow[0] + 22, 1)
    with pytest.raises(ParseError):
        rpm.parse_rpmdb(bytes(bad))
    hash_page = _page_offsets(data, pagesize, e, 13)[0]
    bad = bytearray(data)
    struct.pack_into(e + "H", bad, hash_page + 26, 0xFFFF)
    with pytest.raises(ParseError, match="outside the page"):
        list(bdb_values(bytes(bad)))


def test_ndb_damage_is_detected() -> None:
    data = (FIX / "Packages.db").read_bytes()
    flipped = bytearray(data)
    flipped[4096 + 100] ^= 0x40  # inside the first blob
    with pytest.raises(ParseError, match="checksum"):
        rpm.parse_rpmdb(bytes(flipped))
    bad_slot = bytearray(data)
    struct.pack_into("<I", bad_slot, 32 + 8, 10**6)  # first slot's block offset past the end
    with pytest.raises(ParseError, match="outside the file"):
        rpm.parse_rpmdb(bytes(bad_slot))


def test_random_truncated_and_flipped_databases() -> None:
    """Every input ends in packages, Unknowns or a ParseError; none takes long."""
    rng = random.Random(7)
    sources = [real_sqlite()] + [(FIX / n).read_bytes() for n in FIXTURES]
    magics = [b"SQLite format 3\0", b"RpmP", b"\0" * 12 + struct.pack("<I", 0x061561),
              b"\0" * 12 + struct.pack(">I", 0x061561), b""]
    cases: list[bytes] = []
    for src in sources:
        cases += [src[:n] for n in sorted(rng.sample(range(len(src)), 25))]
        for _ in range(25):
            b = bytearray(src)
            for _ in range(rng.randrange(1, 20)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            cases.append(bytes(b))
    for m in magics:
        cases += [m + bytes(rng.randrange(256) for _ in range(rng.choice((0, 10, 600, 5000)))) for _ in range(20)]
    for data in cases:
        with line_budget(20_000):  # per input; SQLite's own work is capped by the parser's VM budget
            res = run_guarded(rpm.ANALYZER, AnalysisInput(path="var/lib/rpm/Packages", data=data))
        assert all("internal error" not in u.reason for u in res.unknowns), res.unknowns


def test_sqlite_work_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rpm, "_VM_STEP", 1)  # the budget a hostile query would exhaust
    monkeypatch.setattr(rpm, "_MAX_VM_STEPS", 5)
    with pytest.raises(ParseError, match="interrupted"):
        rpm.parse_rpmdb(real_sqlite())


def test_bdb_overflow_chain_shared_by_many_items_is_refused_quickly() -> None:
    # Every value of a hostile hash database points at the same 1 MiB overflow chain: copying it once per value
    # (64 000 values here: 64 GB of copies). In a real database each overflow page belongs to one item.
    ps, hash_pages, chain = 4096, 64, 256
    npages = 1 + hash_pages + chain
    meta = bytearray(ps)
    struct.pack_into("<I", meta, 12, 0x061561)
    struct.pack_into("<I", meta, 20, ps)
    meta[25] = 8  # hash metadata page
    struct.pack_into("<I", meta, 32, npages - 1)
    pages = [bytes(meta)]
    first = 1 + hash_pages
    total = chain * (ps - 26)
    for _ in range(1, first):
        page = bytearray(ps)
        entries = 2000
        key_off, val_off = ps - 4, ps - 16
        page[25] = 13  # hash page
        struct.pack_into("<H", page, 20, entries)
        struct.pack_into(f"<{entries}H", page, 26, *([key_off, val_off] * (entries // 2)))
        page[key_off] = 1  # H_KEYDATA key
        page[val_off] = 3  # H_OFFPAGE value: first overflow page, total length
        struct.pack_into("<II", page, val_off + 4, first, total)
        pages.append(bytes(page))
    for pgno in range(first, npages):
        page = bytearray(ps)
        page[25] = 7  # overflow page
        struct.pack_into("<I", page, 16, pgno + 1 if pgno + 1 < npages else 0)
        struct.pack_into("<H", page, 22, ps - 26)
        pages.append(bytes(page))
    data = b"".join(pages)
    with line_budget(20_000), pytest.raises(ParseError, match="overflow"):  # following the chain once: 256 pages
        for _ in bdb_values(data):
            pass


def test_ndb_slots_sharing_one_blob_are_refused_quickly() -> None:
    # 16 000 slots of a hostile Packages.db all name the same 1 MiB blob: checksumming and copying it once per slot
    # would be 16 GB of work. Blobs of a real database never overlap, so their blocks add up to at most the file.
    import zlib

    from vigil.analyzers.os._ndb import ndb_blobs

    slot_pages, length = 64, 1 << 20
    blkcnt = (16 + length + 12 + 15) // 16
    blkoff = slot_pages * 4096 // 16
    head = struct.pack("<IIII", 0x53626C42, 7, 0, length)
    body = head + bytes(length) + bytes(blkcnt * 16 - 12 - 16 - length)
    blob = body + struct.pack("<III", zlib.adler32(body, 1), length, 0x45626C42)
    slots = bytearray(slot_pages * 4096)
    slots[:32] = b"RpmP" + struct.pack("<IIII", 0, 1, slot_pages, 8) + bytes(12)
    for off in range(32, len(slots), 16):
        struct.pack_into("<IIII", slots, off, 0x746F6C53, 7, blkoff, blkcnt)
    data = bytes(slots) + blob
    with line_budget(2_000), pytest.raises(ParseError, match="overlap"):  # one slot's blob is read, not 16 000
        for _ in ndb_blobs(data):
            pass


def test_the_rpm_header_reader_defines_no_dataclass() -> None:
    """A cold scan of an RPM-based image imports the header reader: a dataclass costs ~1 ms to define on Python 3.11
    (its methods are generated as source and compiled), a msgspec Struct ~0.02 ms."""
    import dataclasses

    from vigil.analyzers.os import _rpmheader

    classes = [c for c in vars(_rpmheader).values() if isinstance(c, type) and c.__module__ == _rpmheader.__name__]
    assert _rpmheader.RpmHeader in classes
    assert not [c for c in classes if dataclasses.is_dataclass(c)]
