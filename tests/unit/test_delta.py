"""Incremental DB updates: logical digest, make_delta/apply_delta, the builder's --previous and parsed-feed cache.

DBs are built by the real builder from the fixture feeds (real records); "yesterday" drops or edits records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import shutil
import sqlite3
from pathlib import Path

import msgspec
import pytest
import zstandard

from tests.conftest import write_feeds
from vigil.vulndb.build.builder import build
from vigil.vulndb.build.feeds import all_feeds
from vigil.vulndb.build.records import Feed
from vigil.vulndb.delta import DeltaDoc, DeltaError, apply_delta, logical_digest, make_delta, read_delta
from vigil.vulndb.records import DBMetadata
from vigil.vulndb.store import Store

DAY1 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY2 = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def _rewrite_jsonl(path: Path, keep: int | None = None, edit: dict[str, str] | None = None) -> None:
    """Keep the first `keep` lines of a .jsonl.gz feed file and/or replace substrings (a modified advisory)."""
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    lines = lines[:keep] if keep is not None else lines
    text = "\n".join(lines) + "\n"
    for old, new in (edit or {}).items():
        assert old in text
        text = text.replace(old, new, 1)
    path.write_bytes(gzip.compress(text.encode(), mtime=0))


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(yesterday, today): yesterday lacks the last pypa and rustsec records and has an older text for one
    GHSA record; built one day apart."""
    root = tmp_path_factory.mktemp("delta")
    today_feeds = write_feeds(root / "today")
    old_feeds = write_feeds(root / "yesterday")
    _rewrite_jsonl(old_feeds / "pypa" / "pypa-osv.jsonl.gz", keep=3)
    _rewrite_jsonl(old_feeds / "rustsec" / "rustsec.jsonl.gz", keep=1)
    ghsa = old_feeds / "ghsa-subset" / "ghsa-osv-subset.jsonl.gz"
    first = json.loads(gzip.decompress(ghsa.read_bytes()).decode().splitlines()[0])
    _rewrite_jsonl(ghsa, edit={json.dumps(first["summary"])[1:-1]: "an older summary"})
    old = build(old_feeds, root / "out-old", now=DAY1, vigil_version="t").db_path
    new = build(today_feeds, root / "out-new", now=DAY2, vigil_version="t").db_path
    return old, new


def test_digest_is_deterministic_across_builds(tmp_path: Path, feeds_dir: Path) -> None:
    a = build(feeds_dir, tmp_path / "a", now=DAY1, vigil_version="t")
    b = build(feeds_dir, tmp_path / "b", now=DAY2, vigil_version="t")
    assert a.db_path.read_bytes() != b.db_path.read_bytes()  # built_at differs
    assert logical_digest(a.db_path) == logical_digest(b.db_path) == a.metadata.logical_digest
    assert a.metadata.logical_digest.startswith("sha256:") and len(a.metadata.logical_digest) == 71
    # metadata.json carries it; the DB's own metadata row does not (it describes the finished file)
    meta = msgspec.json.decode((tmp_path / "a" / "metadata.json").read_bytes(), type=DBMetadata)
    assert meta.logical_digest == a.metadata.logical_digest and meta.deltas == ()
    assert Store(a.db_path).metadata.logical_digest == ""
    # any content change changes it, including one cell
    conn = sqlite3.connect(b.db_path)
    conn.execute("UPDATE aliases SET id = id || 'x' WHERE rowid = (SELECT min(rowid) FROM aliases)")
    conn.commit()
    conn.close()
    assert logical_digest(b.db_path) != logical_digest(a.db_path)


def test_round_trip(dbs: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = dbs
    info = make_delta(old, new, tmp_path / "d.vdelta.zst")
    assert info.base == logical_digest(old) and info.target == logical_digest(new) and info.base != info.target
    assert info.size == (tmp_path / "d.vdelta.zst").stat().st_size < new.stat().st_size / 10
    _, upserted = info.tables["advisories"]
    assert upserted > 0 and "vulnerabilities" in info.tables and "aliases" in info.tables
    assert info.metadata.built_at == "2026-01-02T00:00:00Z"
    out = tmp_path / "applied.db"
    apply_delta(old, info.path, out)
    assert logical_digest(out) == logical_digest(new)
    st_new, st_out = Store(new), Store(out)
    assert st_out.metadata == st_new.metadata  # the new built_at/next_update came along
    assert st_out.counts() == st_new.counts()
    assert old.read_bytes() != out.read_bytes() and logical_digest(old) == info.base  # base untouched


def test_apply_in_place_and_reverse(dbs: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = dbs
    work = tmp_path / "vigil.db"
    shutil.copyfile(new, work)
    back = make_delta(new, old, tmp_path / "back.zst")  # deletions only for the dropped records
    assert back.tables["advisories"][0] > 0
    apply_delta(work, back.path, work)  # out_db may be the base itself
    assert logical_digest(work) == logical_digest(old)


def test_wrong_base_refused(dbs: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = dbs
    d = make_delta(old, new, tmp_path / "d.zst").path
    out = tmp_path / "out.db"
    with pytest.raises(DeltaError, match="applies to DB sha256:") as e:
        apply_delta(new, d, out)
    assert "\n" not in str(e.value)
    assert not out.exists() and not list(tmp_path.glob(".*tmp"))


def test_corrupt_delta_refused(dbs: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = dbs
    d = make_delta(old, new, tmp_path / "d.zst").path
    raw = d.read_bytes()
    out = tmp_path / "out.db"
    cases = {
        "truncated": raw[: len(raw) // 2],
        "flipped": raw[:40] + bytes([raw[40] ^ 0xFF]) + raw[41:],
        "not zstd": b"PK\x03\x04 this is not a delta",
        "zstd of garbage": zstandard.ZstdCompressor().compress(b"\x93\x01\x02"),
        "wrong format": zstandard.ZstdCompressor().compress(
            msgspec.msgpack.encode(dataclasses.replace(_Doc.of(read_delta(d)), format="something-else").doc())
        ),
        "empty": b"",
    }
    for name, data in cases.items():
        bad = tmp_path / f"{name}.zst"
        bad.write_bytes(data)
        with pytest.raises(DeltaError) as e:
            apply_delta(old, bad, out)
        assert "\n" not in str(e.value), name
        assert not out.exists(), name


@dataclasses.dataclass
class _Doc:
    """A mutable view of a DeltaDoc to forge variants."""

    format: str
    rest: dict[str, object]

    @classmethod
    def of(cls, doc: DeltaDoc) -> _Doc:
        d = msgspec.to_builtins(doc)
        return cls(d.pop("format"), d)

    def doc(self) -> dict[str, object]:
        return {"format": self.format, **self.rest}


def test_tampered_rows_fail_the_target_digest(dbs: tuple[Path, Path], tmp_path: Path) -> None:
    """A well-formed delta whose rows were altered applies cleanly but produces another DB: refused, nothing written."""
    old, new = dbs
    doc = read_delta(make_delta(old, new, tmp_path / "d.zst").path)
    tables = [
        msgspec.structs.replace(t, upserted=[[*r[:-1], b'{"ecosystem":"pypi","name":"evil"}'] for r in t.upserted])
        if t.name == "advisories" else t
        for t in doc.tables
    ]
    forged = tmp_path / "forged.zst"
    forged.write_bytes(zstandard.ZstdCompressor().compress(
        msgspec.msgpack.encode(msgspec.structs.replace(doc, tables=tables))))
    out = tmp_path / "out.db"
    with pytest.raises(DeltaError, match=r"expected sha256:.*delta damaged"):
        apply_delta(old, forged, out)
    assert not out.exists()
    # a delta deleting a row the base lacks is refused too
    missing = [msgspec.structs.replace(t, deleted=[["NOPE-1"]]) if t.name == "vulnerabilities" else t
               for t in doc.tables]
    forged.write_bytes(zstandard.ZstdCompressor().compress(
        msgspec.msgpack.encode(msgspec.structs.replace(doc, tables=missing))))
    with pytest.raises(DeltaError, match="does not have"):
        apply_delta(old, forged, out)


def test_empty_delta(dbs: tuple[Path, Path], tmp_path: Path) -> None:
    _, new = dbs
    info = make_delta(new, new, tmp_path / "same.zst")
    assert info.base == info.target and info.tables == {} and info.size < 2000
    apply_delta(new, info.path, tmp_path / "copy.db")
    assert logical_digest(tmp_path / "copy.db") == info.target


def test_schema_mismatch_and_missing_db(dbs: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = dbs
    other = tmp_path / "other.db"
    shutil.copyfile(new, other)
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE extra (x TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(DeltaError, match="different schemas"):
        make_delta(old, other, tmp_path / "d.zst")
    with pytest.raises(DeltaError, match="no DB at"):
        logical_digest(tmp_path / "absent.db")
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(DeltaError, match=r"not a readable SQLite DB|cannot read"):
        logical_digest(tmp_path / "junk.db")


def test_build_previous_publishes_delta(tmp_path: Path, feeds_dir: Path) -> None:
    out = tmp_path / "out"
    first = build(feeds_dir, out, now=DAY1, vigil_version="t")
    prev = tmp_path / "prev"
    shutil.copytree(out, prev)
    changed = write_feeds(tmp_path / "feeds2")
    _rewrite_jsonl(changed / "pypa" / "pypa-osv.jsonl.gz", keep=2)
    # previous = the output dir itself: the delta is made before the new DB replaces the old one
    second = build(changed, out, now=DAY2, vigil_version="t", previous=out)
    assert second.delta is not None and not second.delta_error
    assert second.delta.base == first.metadata.logical_digest
    assert second.delta.file == f"delta-{first.metadata.logical_digest[7:19]}.vdelta.zst"
    meta = msgspec.json.decode((out / "metadata.json").read_bytes(), type=DBMetadata)
    assert meta.deltas == (second.delta,) and meta.logical_digest == logical_digest(out / "vigil.db")
    d = out / second.delta.file
    assert d.stat().st_size == second.delta.size
    import hashlib

    assert hashlib.sha256(d.read_bytes()).hexdigest() == second.delta.sha256
    apply_delta(prev / "vigil.db", d, tmp_path / "client.db")
    assert logical_digest(tmp_path / "client.db") == meta.logical_digest
    # the next build without --previous removes the now-stale delta
    third = build(changed, out, now=DAY2, vigil_version="t")
    assert third.delta is None and not list(out.glob("delta-*"))
    # a previous DB of another schema: no delta, the build still succeeds
    conn = sqlite3.connect(prev / "vigil.db")
    conn.execute("CREATE TABLE extra (x TEXT)")
    conn.commit()
    conn.close()
    fourth = build(changed, out, now=DAY2, vigil_version="t", previous=prev)
    assert fourth.delta is None and "different schemas" in fourth.delta_error and fourth.db_path.is_file()


def _counting(feeds: tuple[Feed, ...], calls: dict[str, int]) -> tuple[Feed, ...]:
    def wrap(f: Feed) -> Feed:
        def parse(name: str, data: bytes):  # type: ignore[no-untyped-def]
            calls[f.name] = calls.get(f.name, 0) + 1
            return f.parse(name, data)

        return dataclasses.replace(f, parse=parse)

    return tuple(wrap(f) for f in feeds)


def test_parsed_feed_cache(tmp_path: Path) -> None:
    feeds_dir = write_feeds(tmp_path / "feeds")
    cache = tmp_path / "parsed"
    calls: dict[str, int] = {}
    feeds = _counting(all_feeds(), calls)
    cold = build(feeds_dir, tmp_path / "a", feeds=feeds, now=DAY1, parsed_cache=cache)
    parsed = dict(calls)
    assert parsed and not any(f.cached for f in cold.feeds)
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == len([f for f in cold.feeds if f.status == "ok"])
    assert all(n.endswith(".msgpack") for n in files) and any(n.startswith("pypa-") for n in files)
    calls.clear()
    warm = build(feeds_dir, tmp_path / "b", feeds=feeds, now=DAY1, parsed_cache=cache)
    assert calls == {} and all(f.cached for f in warm.feeds if f.status == "ok")
    assert warm.metadata.logical_digest == cold.metadata.logical_digest
    assert [(f.name, f.records, f.digest) for f in warm.feeds] == [(f.name, f.records, f.digest) for f in cold.feeds]
    # one changed feed file: only that feed is parsed again, and its old cache entry is replaced
    _rewrite_jsonl(feeds_dir / "rustsec" / "rustsec.jsonl.gz", keep=1)
    third = build(feeds_dir, tmp_path / "c", feeds=feeds, now=DAY1, parsed_cache=cache)
    assert set(calls) == {"rustsec"}
    assert {f.name for f in third.feeds if not f.cached and f.status == "ok"} == {"rustsec"}
    assert len([p for p in cache.iterdir() if p.name.startswith("rustsec-")]) == 1
    # a damaged cache entry is ignored (parsed again), never a failed build
    calls.clear()
    entry = next(p for p in cache.iterdir() if p.name.startswith("pypa-"))
    entry.write_bytes(b"\xc1garbage")
    fourth = build(feeds_dir, tmp_path / "d", feeds=feeds, now=DAY1, parsed_cache=cache)
    assert set(calls) == {"pypa"} and fourth.metadata.logical_digest == third.metadata.logical_digest
    # "retire.js" is a prefix of "retire.js-jslibs": pruning one feed's entries keeps the other's
    names = {p.name.rsplit("-", 1)[0] for p in cache.iterdir()}
    assert {"retire.js", "retire.js-jslibs"} <= names
