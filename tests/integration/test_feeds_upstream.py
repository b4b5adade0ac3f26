"""`vigil db build --feeds-url` / `--feeds-from upstream` against a loopback HTTP server serving the real advisory
files of ../shared/data/advisories (a copy, so a test can change one): conditional requests (ETag and
If-Modified-Since, asserted on the server's request log), parsed-feed reuse, re-fetch of a changed file, failed
feeds; the upstream converters checked against the snapshot (converted upstream-format data parses to the same
records as the compacted file)."""

from __future__ import annotations

import bz2
import dataclasses
import datetime as dt
import email.utils
import fnmatch
import gzip
import io
import json
import os
import shutil
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import pytest
import yaml
from tests.cli_helpers import run
from tests.conftest import ADVISORIES, write_feeds

from vigil.vulndb.build import upstream
from vigil.vulndb.build.builder import build
from vigil.vulndb.build.feeds import all_feeds
from vigil.vulndb.build.feeds import osv as osv_feed
from vigil.vulndb.build.feeds import rubysec as rubysec_feed
from vigil.vulndb.build.feeds import rustsec as rustsec_feed
from vigil.vulndb.build.records import Feed, FeedError
from vigil.vulndb.delta import apply_delta, logical_digest
from vigil.vulndb.records import DBMetadata

if not ADVISORIES.is_dir():
    pytest.skip("../shared/data/advisories not present", allow_module_level=True)

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass
class Hit:
    path: str
    status: int
    if_none_match: str
    if_modified_since: str


class _Server(ThreadingHTTPServer):
    root: Path
    hits: list[Hit]
    fail: dict[str, int]


class _Handler(BaseHTTPRequestHandler):
    """A static file server with ETag (mtime+size) and Last-Modified, 304s for either condition, a request log and
    injectable failures."""

    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.server.hits.append(Hit(self.path, status, self.headers.get("If-None-Match", ""),
                                    self.headers.get("If-Modified-Since", "")))
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path in self.server.fail:
            self._send(self.server.fail[self.path], b"injected failure")
            return
        f = (self.server.root / self.path.lstrip("/")).resolve()
        if not f.is_file() or self.server.root.resolve() not in f.parents:
            self._send(404, b"not found")
            return
        st = f.stat()
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": last_modified}
        inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        if inm is not None:
            if inm == etag:
                self._send(304, headers=headers)
                return
        elif ims is not None:
            since = email.utils.parsedate_to_datetime(ims)
            if int(st.st_mtime) <= since.timestamp():
                self._send(304, headers=headers)
                return
        self._send(200, f.read_bytes(), headers)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    root = tmp_path / "mirror"
    shutil.copytree(ADVISORIES, root)
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.root, srv.hits, srv.fail = root, [], {}
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _url(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def _mirror_paths() -> set[str]:
    return {"/" + s.path for s in upstream.SOURCES}


def test_cli_build_from_mirror_then_everything_unchanged(server: _Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    r = run("db", "build", "--cache-dir", str(cache), "--feeds-url", _url(server), "-o", str(tmp_path / "out1"))
    assert r.returncode == 0, r.stderr
    assert {h.path for h in server.hits} == _mirror_paths()
    assert all(h.status == 200 and not h.if_none_match for h in server.hits)
    for s in upstream.SOURCES:  # the feeds cache holds the served bytes
        assert (cache / "feeds" / s.path).read_bytes() == (server.root / s.path).read_bytes()
    meta1 = msgspec.json.decode((tmp_path / "out1" / "metadata.json").read_bytes(), type=DBMetadata)
    assert all(f["status"] == "ok" for f in meta1.feeds.values()), meta1.feeds
    assert " (cached)" not in r.stderr

    server.hits.clear()
    r = run("db", "build", "--cache-dir", str(cache), "--feeds-url", _url(server), "-o", str(tmp_path / "out2"))
    assert r.returncode == 0, r.stderr
    # every file asked for conditionally, every answer a 304: nothing downloaded again
    assert {h.path for h in server.hits} == _mirror_paths()
    assert all(h.status == 304 and h.if_none_match and h.if_modified_since for h in server.hits)
    assert f"{len(server.hits)} not modified" in r.stderr
    # and no feed parsed again: each feed line says its records came from the parsed-feed cache
    feed_lines = [ln for ln in r.stderr.splitlines() if " records " in ln]
    assert len(feed_lines) == len(all_feeds()) and all(ln.endswith("ok (cached)") for ln in feed_lines)
    meta2 = msgspec.json.decode((tmp_path / "out2" / "metadata.json").read_bytes(), type=DBMetadata)
    assert meta2.logical_digest == meta1.logical_digest == logical_digest(tmp_path / "out2" / "vigil.db")


def test_cli_previous_publishes_a_delta(tmp_path: Path) -> None:
    feeds = write_feeds(tmp_path / "feeds")
    r = run("db", "build", "--cache-dir", str(tmp_path / "c"), "--feeds", str(feeds), "-o", str(tmp_path / "v1"))
    assert r.returncode == 0, r.stderr
    p = feeds / "pypa" / "pypa-osv.jsonl.gz"
    p.write_bytes(gzip.compress(b"".join(gzip.decompress(p.read_bytes()).splitlines(keepends=True)[:-1])))
    r = run("db", "build", "--cache-dir", str(tmp_path / "c"), "--feeds", str(feeds), "-o", str(tmp_path / "v2"),
            "--previous", str(tmp_path / "v1"))
    assert r.returncode == 0, r.stderr
    meta1 = msgspec.json.decode((tmp_path / "v1" / "metadata.json").read_bytes(), type=DBMetadata)
    meta2 = msgspec.json.decode((tmp_path / "v2" / "metadata.json").read_bytes(), type=DBMetadata)
    (ref,) = meta2.deltas
    assert ref.base == meta1.logical_digest != meta2.logical_digest
    assert (tmp_path / "v2" / ref.file).stat().st_size == ref.size and f"Delta {ref.file}: {ref.size} bytes" in r.stderr
    apply_delta(tmp_path / "v1" / "vigil.db", tmp_path / "v2" / ref.file, tmp_path / "client.db")
    assert logical_digest(tmp_path / "client.db") == meta2.logical_digest


def _subset(calls: dict[str, int]) -> tuple[Feed, ...]:
    """A few feeds (fast builds), their parse functions counting calls."""
    wanted = {"pypa", "rustsec", "cisa-kev", "victims", "nvd-curated"}

    def wrap(f: Feed) -> Feed:
        def parse(name: str, data: bytes):  # type: ignore[no-untyped-def]
            calls[f.name] = calls.get(f.name, 0) + 1
            return f.parse(name, data)

        return dataclasses.replace(f, parse=parse)

    return tuple(wrap(f) for f in all_feeds() if f.name in wanted)


def _sync_build(server: _Server, tmp_path: Path, feeds: tuple[Feed, ...], out: str) -> tuple[upstream.SyncResult,
                                                                                               list[object]]:
    cache = tmp_path / "cache"
    sync = upstream.sync_feeds(feeds, cache, base_url=_url(server))
    res = build(sync.feeds_dir, tmp_path / out, feeds=feeds, now=NOW, parsed_cache=cache / "feeds-parsed",
                fetch_errors=sync.errors)
    return sync, list(res.feeds)


def test_changed_file_refetched_and_only_its_feed_parsed(server: _Server, tmp_path: Path) -> None:
    calls: dict[str, int] = {}
    feeds = _subset(calls)
    sync, _ = _sync_build(server, tmp_path, feeds, "a")
    assert sync.fetched == 5 and not sync.errors and set(calls) == {f.name for f in feeds}

    # rustsec changes upstream: a day's new advisory is gone from "yesterday"'s end (same file, other bytes)
    p = server.root / "rustsec" / "rustsec.jsonl.gz"
    lines = gzip.decompress(p.read_bytes()).splitlines(keepends=True)
    p.write_bytes(gzip.compress(b"".join(lines[:-5]), mtime=0))
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 2_000_000_000))
    server.hits.clear()
    calls.clear()
    sync, reports = _sync_build(server, tmp_path, feeds, "b")
    by_path = {h.path: h.status for h in server.hits}
    assert by_path.pop("/rustsec/rustsec.jsonl.gz") == 200 and set(by_path.values()) == {304}
    assert (sync.fetched, sync.not_modified) == (1, 4)
    assert calls == {"rustsec": 1}
    cached = {r.name: r.cached for r in reports}  # type: ignore[attr-defined]
    assert cached == {f.name: f.name != "rustsec" for f in feeds}


def test_failed_downloads_fail_only_their_feed(server: _Server, tmp_path: Path) -> None:
    calls: dict[str, int] = {}
    feeds = _subset(calls)
    server.fail["/pypa/pypa-osv.jsonl.gz"] = 404
    server.fail["/cisa-kev/known_exploited_vulnerabilities.json.gz"] = 500
    sync, reports = _sync_build(server, tmp_path, feeds, "a")
    assert set(sync.errors) == {"pypa", "cisa-kev"}
    assert "HTTP 404" in sync.errors["pypa"] and "HTTP 500" in sync.errors["cisa-kev"]
    status = {r.name: (r.status, r.error) for r in reports}  # type: ignore[attr-defined]
    assert status["pypa"][0] == "failed" and "HTTP 404" in status["pypa"][1]
    assert status["cisa-kev"][0] == "failed" and "HTTP 500" in status["cisa-kev"][1]
    assert {n for n, (s, _) in status.items() if s == "ok"} == {"rustsec", "victims", "nvd-curated"}
    assert "pypa" not in calls and "cisa-kev" not in calls
    # a 5xx is retried once, a 404 is not
    kev_hits = [h for h in server.hits if h.path.startswith("/cisa-kev/")]
    assert len(kev_hits) == upstream.ATTEMPTS and len([h for h in server.hits if h.path.startswith("/pypa/")]) == 1
    assert (tmp_path / "a" / "vigil.db").is_file()


def test_unreachable_mirror_is_one_failed_feed_each(server: _Server, tmp_path: Path) -> None:
    feeds = tuple(f for f in all_feeds() if f.name in {"elixir-security-advisories", "victims"})
    sync = upstream.sync_feeds(feeds, tmp_path, base_url="http://127.0.0.1:9")  # discard port: refused
    assert set(sync.errors) == {"elixir-security-advisories", "victims"}
    assert all("ConnectError" in e and "\n" not in e for e in sync.errors.values())
    # with every feed failed nothing is written: an outage must not publish an empty DB over a good one
    out = tmp_path / "out"
    with pytest.raises(FeedError, match=r"no feed could be loaded .*ConnectError.*nothing was written"):
        build(sync.feeds_dir, out, feeds=feeds, fetch_errors=sync.errors)
    assert not (out / "vigil.db").exists()
    server.fail.update(dict.fromkeys(_mirror_paths(), 404))  # a mirror that lost its files: fast, no retries
    r = run("db", "build", "--cache-dir", str(tmp_path), "--feeds-url", _url(server), "-o", str(out))
    assert r.returncode == 2 and "nothing was written" in r.stderr.splitlines()[-1]
    assert not (out / "vigil.db").exists()


def test_cli_source_flags_are_checked(tmp_path: Path) -> None:
    for args, msg in (
        ((), "exactly one of"),
        (("--feeds", str(ADVISORIES), "--feeds-url", "http://127.0.0.1:9"), "exactly one of"),
        (("--feeds-url", "ftp://mirror/x"), "must be an http(s) URL"),
        (("--feeds", str(ADVISORIES), "--previous", str(tmp_path / "nowhere")), "no vigil.db there"),
    ):
        r = run("db", "build", "--cache-dir", str(tmp_path), "-o", str(tmp_path / "o"), *args)
        assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)


# --- the upstream table and its converters ------------------------------------------------------------------------


def test_table_covers_every_feed_file() -> None:
    feeds = {f.name: f for f in all_feeds()}
    table = {(s.feed, s.path) for s in upstream.SOURCES}
    assert {f for f, _ in table} == set(feeds)
    for name, f in feeds.items():
        on_disk = {str(p.relative_to(ADVISORIES)) for pat in f.paths for p in ADVISORIES.glob(pat)}
        assert on_disk == {p for n, p in table if n == name}, name
    for s in upstream.SOURCES:
        assert any(fnmatch.fnmatch(s.path, pat) for pat in feeds[s.feed].paths)
        assert s.directory_only == (s.convert is None)
        if s.directory_only:
            assert s.note, s.path
        else:
            assert all(u.startswith("https://") for u in s.urls)


def _records(parse: object, name: str, data: bytes) -> list[object]:
    return list(parse(name, data))  # type: ignore[operator]


def _snapshot_docs(rel: str) -> list[dict[str, object]]:
    return [msgspec.json.decode(ln) for ln in gzip.decompress((ADVISORIES / rel).read_bytes()).splitlines()]


OSV_FEEDS = {  # table file -> the ETL module's feed
    "pypa/pypa-osv.jsonl.gz": osv_feed.FEED_PYPA,
    "go-vulndb/go-vulndb-osv.jsonl.gz": osv_feed.FEED_GO,
    "ghsa-subset/ghsa-osv-subset.jsonl.gz": osv_feed.FEED_GHSA,
    "almalinux/almalinux-osv.jsonl.gz": osv_feed.FEED_ALMA,
}


@pytest.mark.parametrize("rel", sorted(OSV_FEEDS))
def test_osv_zip_converters_match_snapshot(rel: str) -> None:
    """The snapshot's OSV documents in an osv.dev-style all.zip (plus a record of another database): the table's
    converter keeps every snapshot document verbatim (its id filter drops only the foreign one), each id once
    (the AlmaLinux snapshot repeats 37 documents), ordered by id; the result parses with the feed's ETL."""
    (src,) = (s for s in upstream.SOURCES if s.path == rel)
    assert src.convert is not None
    unique: dict[str, dict[str, object]] = {}
    for d in _snapshot_docs(rel):
        unique.setdefault(str(d["id"]), {k: v for k, v in d.items() if not k.startswith("_source")})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, d in unique.items():
            zf.writestr(f"{i}.json", msgspec.json.encode(d))
        zf.writestr("OTHER-2024-1.json", json.dumps({"id": "OTHER-2024-1", "affected": []}))
        zf.writestr("README.txt", "not a record")
    out = src.convert([buf.getvalue()] + [None] * (len(src.urls) - 1))
    lines = gzip.decompress(out).splitlines(keepends=True)
    # byte comparison: msgspec keeps key order, so equal documents encode to equal lines (and it is 3x faster than
    # decoding ~40 MB of AlmaLinux JSON again)
    assert lines == [msgspec.json.encode(unique[i]) + b"\n" for i in sorted(unique)] and len(lines) > 300
    feed = OSV_FEEDS[rel]
    assert _records(feed.parse, rel.rsplit("/", 1)[1], b"".join(lines[:300]))
    with pytest.raises(upstream.FeedError, match="bad OSV archive"):
        src.convert([b"not a zip"] + [None] * (len(src.urls) - 1))


def _tarball(prefix: str, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{prefix}/{path}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ARCHIVES = {  # table file -> how the repository stores each advisory
    "rubysec/ruby-advisory-db.jsonl.gz": "yaml",
    "friendsofphp/friendsofphp-security-advisories.jsonl.gz": "yaml",
    "nodejs-security-wg/nodejs-security-wg.jsonl.gz": "json",
    "victims-java-python/victims-cve-db.jsonl.gz": "yaml",
    "elixir-hex/elixir-security-advisories.jsonl.gz": "yaml",
    "alpine-secdb/alpine-secdb.jsonl.gz": "yaml",
}


@pytest.mark.parametrize("rel", sorted(ARCHIVES))
def test_repo_archive_converters_reproduce_the_snapshot(rel: str) -> None:
    """The snapshot's documents written back as the repository's files (at their `_source_path`), in a GitHub-style
    archive with other files around: the table's converter (its globs, its loader) gives the snapshot back."""
    (src,) = (s for s in upstream.SOURCES if s.path == rel)
    assert src.convert is not None
    docs = _snapshot_docs(rel)
    files = {"README.md": "# not an advisory", "lib/tool.rb": "puts 1", ".github/workflows/ci.yml": "on: push"}
    for d in docs:
        body = {k: v for k, v in d.items() if k != "_source_path"}
        files[str(d["_source_path"])] = (yaml.dump(body, Dumper=yaml.CSafeDumper, sort_keys=False)
                                         if ARCHIVES[rel] == "yaml" else json.dumps(body))
    out = src.convert([_tarball("repo-0123abc", files)])
    got = [json.loads(ln) for ln in gzip.decompress(out).splitlines()]
    key = lambda d: d["_source_path"]  # noqa: E731
    assert sorted(got, key=key) == sorted(docs, key=key)


def test_repo_archive_yaml_dates_become_iso_strings() -> None:
    files = {"gems/zz-demo/CVE-2099-0001.yml": "gem: zz-demo\ncve: 2099-0001\ndate: 2099-01-02\ntitle: demo\n"
                                               "patched_versions:\n  - '>= 1.0'\n",
             "gems/zz-demo/broken.yml": "gem: [unclosed\n"}
    out = upstream.repo_archive(("gems/*/*.yml",), "yaml")([_tarball("ruby-advisory-db-0123abc", files)])
    (demo,) = (json.loads(ln) for ln in gzip.decompress(out).splitlines())
    assert demo["date"] == "2099-01-02" and demo["_source_path"] == "gems/zz-demo/CVE-2099-0001.yml"
    (rec,) = _records(rubysec_feed.FEED.parse, "ruby-advisory-db.jsonl.gz", gzip.decompress(out))
    assert rec.id == "CVE-2099-0001" and rec.published.startswith("2099-01-02")  # type: ignore[attr-defined]
    with pytest.raises(upstream.FeedError, match="bad repository archive"):
        upstream.repo_archive(("*",), "json")([b"not a tarball"])


RUSTSEC_MD = '''```toml
[advisory]
id = "RUSTSEC-2020-0105"
package = "abi_stable"
date = 2020-12-21
url = "https://github.com/rodrimati1992/abi_stable_crates/issues/44"
categories = ["memory-corruption"]
aliases = ["CVE-2020-36212", "CVE-2020-36213", "GHSA-vq23-5h4f-vwpv", "GHSA-wqxc-qrq4-w5v4"]
cvss = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"

[versions]
patched = [">= 0.9.1"]
```

# Update unsound DrainFilter and RString::retain

Affected versions of this crate contained code from the Rust standard library that contained soundness bugs rust-lang/rust#60977 (double drop) & rust-lang/rust#78498 (create invalid utf-8 string).

The flaw was corrected in v0.9.1 by making a similar fix to the one made in the Rust standard library.
'''


def test_repo_archive_toml_markdown_converter() -> None:
    """RustSec's Markdown files with TOML front matter -> the snapshot's JSON line (the first snapshot record)."""
    out = upstream.repo_archive(("crates/*/RUSTSEC-*.md",), "toml-md")(
        [_tarball("advisory-db-main", {"crates/abi_stable/RUSTSEC-2020-0105.md": RUSTSEC_MD,
                                       "crates/bad/RUSTSEC-2020-9999.md": "no front matter"})])
    (doc,) = (json.loads(ln) for ln in gzip.decompress(out).splitlines())
    snapshot = _snapshot_docs("rustsec/rustsec.jsonl.gz")[0]
    assert doc == snapshot
    assert _records(rustsec_feed.FEED.parse, "x", gzip.decompress(out)) == _records(
        rustsec_feed.FEED.parse, "x", json.dumps(snapshot).encode() + b"\n")


def test_debian_list_converter_reproduces_the_parsed_snapshot() -> None:
    for kind in ("dsa", "dla"):
        text = gzip.decompress((ADVISORIES / f"debian/{kind}-list.txt.gz").read_bytes())
        got = [json.loads(ln) for ln in gzip.decompress(upstream.debian_list([text])).splitlines()]
        assert got == _snapshot_docs(f"debian/{kind}-parsed.jsonl.gz") and len(got) > 3000
    with pytest.raises(upstream.FeedError, match="no DSA/DLA entries"):
        upstream.debian_list([b"<html>maintenance</html>"])


def test_simple_converters() -> None:
    xml = gzip.decompress((ADVISORIES / "ubuntu-oval/com.ubuntu.oracular.usn.oval.xml.gz").read_bytes())
    assert gzip.decompress(upstream.bz2_to_gzip([bz2.compress(xml)])) == xml
    with pytest.raises(upstream.FeedError, match="bzip2"):
        upstream.bz2_to_gzip([b"plain"])
    docs = [{"distroversion": "v3.21", "reponame": "main", "packages": []}, {"distroversion": "edge"}]
    out = upstream.json_documents([json.dumps(docs[0]).encode(), None, json.dumps(docs[1]).encode()])
    assert [json.loads(ln) for ln in gzip.decompress(out).splitlines()] == docs
    assert gzip.decompress(upstream.gzip_single([b"{}"])) == b"{}"


def test_upstream_mode_converts_once_and_then_sends_conditional_requests(server: _Server, tmp_path: Path) -> None:
    """The upstream path end to end with a table pointing at the loopback server: an osv.dev-style zip and a
    secdb-style document set (one URL 404, allowed) are fetched, converted and built; the next sync is all 304s and
    converts nothing; a directory-only file fails its feed with the table's reason."""
    srv_root, base = server.root, _url(server)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for d in _snapshot_docs("pypa/pypa-osv.jsonl.gz")[:50]:
            zf.writestr(f"{d['id']}.json", json.dumps(d))
    (srv_root / "osv" / "PyPI").mkdir(parents=True)
    (srv_root / "osv" / "PyPI" / "all.zip").write_bytes(buf.getvalue())
    (srv_root / "secdb" / "v3.21").mkdir(parents=True)
    first = _snapshot_docs("alpine-secdb/alpine-secdb-2024.jsonl.gz")[-1]
    (srv_root / "secdb" / "v3.21" / "main.json").write_text(json.dumps(first))
    table = (
        upstream.Upstream("pypa", "pypa/pypa-osv.jsonl.gz", (f"{base}/osv/PyPI/all.zip",), upstream.osv_zip("PYSEC-")),
        upstream.Upstream("alpine-secdb", "alpine-secdb/alpine-secdb-2024.jsonl.gz",
                          (f"{base}/secdb/v3.21/main.json", f"{base}/secdb/v3.21/community.json"),
                          upstream.json_documents, allow_missing=True),
        upstream.Upstream("nvd-curated", "nvd-curated/nvd-curated-cves.jsonl", note="hand-made"),
    )
    feeds = tuple(f for f in all_feeds() if f.name in {"pypa", "alpine-secdb", "nvd-curated"})
    cache = tmp_path / "cache"
    sync = upstream.sync_feeds(feeds, cache, sources=table)
    assert (sync.fetched, sync.converted) == (2, 2)
    assert set(sync.errors) == {"nvd-curated"} and "directory only (hand-made)" in sync.errors["nvd-curated"]
    res = build(sync.feeds_dir, tmp_path / "out", feeds=feeds, now=NOW, fetch_errors=sync.errors)
    status = {f.name: (f.status, f.records) for f in res.feeds}
    assert status["pypa"][0] == "ok" and 40 <= status["pypa"][1] <= 50
    assert status["alpine-secdb"][0] == "ok" and status["alpine-secdb"][1] > 100
    assert status["nvd-curated"][0] == "failed"
    digest_before = (cache / "feeds" / "pypa/pypa-osv.jsonl.gz").read_bytes()
    server.hits.clear()
    again = upstream.sync_feeds(feeds, cache, sources=table)
    assert (again.fetched, again.converted, again.not_modified) == (0, 0, 2)
    assert [h.status for h in server.hits] == [304, 404, 304] or sorted(h.status for h in server.hits) == [304, 304,
                                                                                                          404]
    assert (cache / "feeds" / "pypa/pypa-osv.jsonl.gz").read_bytes() == digest_before


def test_upstream_file_changed_before_a_failed_sync_is_converted_on_the_next(server: _Server, tmp_path: Path) -> None:
    """A feed made from two URLs: the first changes, the second fails in that sync (the feed fails, its new raw body
    is kept). The next sync gets 304 for both: the feed file must still be rebuilt from the new body, not left at
    the old content as if nothing had changed."""
    base = _url(server)
    (server.root / "secdb").mkdir()
    docs = _snapshot_docs("alpine-secdb/alpine-secdb-2024.jsonl.gz")
    a, b = server.root / "secdb" / "a.json", server.root / "secdb" / "b.json"
    a.write_text(json.dumps(docs[0]))
    b.write_text(json.dumps(docs[1]))
    table = (upstream.Upstream("alpine-secdb", "alpine-secdb/alpine-secdb-2024.jsonl.gz",
                               (f"{base}/secdb/a.json", f"{base}/secdb/b.json"), upstream.json_documents),)
    feeds = tuple(f for f in all_feeds() if f.name == "alpine-secdb")
    cache = tmp_path / "cache"
    dest = cache / "feeds" / "alpine-secdb/alpine-secdb-2024.jsonl.gz"

    def lines() -> list[object]:
        return [json.loads(ln) for ln in gzip.decompress(dest.read_bytes()).splitlines()]

    assert not upstream.sync_feeds(feeds, cache, sources=table).errors
    assert lines() == [docs[0], docs[1]]
    a.write_text(json.dumps(docs[2]))
    server.fail["/secdb/b.json"] = 503
    assert "alpine-secdb" in upstream.sync_feeds(feeds, cache, sources=table).errors
    server.fail.clear()
    server.hits.clear()
    again = upstream.sync_feeds(feeds, cache, sources=table)
    assert not again.errors and [h.status for h in server.hits] == [304, 304]
    assert lines() == [docs[2], docs[1]]
    assert again.converted == 1


def test_corrupt_upstream_archive_fails_only_its_feed(server: _Server, tmp_path: Path) -> None:
    """A zip whose deflate stream is damaged (zlib.error, not a BadZipFile) fails its feed; the other feeds sync."""
    base = _url(server)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("PYSEC-1.json", json.dumps({"id": "PYSEC-1", "details": "y" * 5000}))
    data = bytearray(buf.getvalue())
    start = 30 + len("PYSEC-1.json")  # the member's compressed bytes follow its local header
    for i in range(start + 2, start + 40):
        data[i] ^= 0xFF
    (server.root / "osv").mkdir()
    (server.root / "osv" / "all.zip").write_bytes(bytes(data))
    (server.root / "secdb").mkdir()
    (server.root / "secdb" / "main.json").write_text(
        json.dumps(_snapshot_docs("alpine-secdb/alpine-secdb-2024.jsonl.gz")[0]))
    table = (
        upstream.Upstream("pypa", "pypa/pypa-osv.jsonl.gz", (f"{base}/osv/all.zip",), upstream.osv_zip("PYSEC-")),
        upstream.Upstream("alpine-secdb", "alpine-secdb/alpine-secdb-2024.jsonl.gz", (f"{base}/secdb/main.json",),
                          upstream.json_documents),
    )
    feeds = tuple(f for f in all_feeds() if f.name in {"pypa", "alpine-secdb"})
    sync = upstream.sync_feeds(feeds, tmp_path / "cache", sources=table)
    assert set(sync.errors) == {"pypa"} and "decompress" in sync.errors["pypa"]
    assert sync.converted == 1 and (sync.feeds_dir / "alpine-secdb/alpine-secdb-2024.jsonl.gz").is_file()
