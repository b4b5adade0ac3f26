"""Feeds from their upstream locations: download each feed file into <cache-dir>/feeds/ and build from
there.

Two modes:
- mirror (`vigil db build --feeds-url BASE`): BASE serves the layout of ../shared/data/advisories (one folder per
  feed, the compacted files the ETL modules read); each file is fetched verbatim from BASE/<path>. This is what tests
  and air-gapped mirrors use.
- upstream (`--feeds-from upstream`): each file is made from the public sources its folder's README names (OSV
  per-ecosystem archives, Alpine secdb JSON, Canonical OVAL, the advisory repositories' archives, CISA KEV, …) by a
  converter that reproduces the snapshot's compaction (zip of OSV documents -> JSON lines, YAML/TOML advisories ->
  JSON lines with `_source_path`, …). Files with no faithful upstream (hand-made or produced by a parser Vigil does not
  have yet) are "directory only": the table says why, and in this mode their feed is reported failed, not faked.

Every request is conditional (If-None-Match / If-Modified-Since from the ETag / Last-Modified stored per URL in
<cache-dir>/feeds/.http-state.json): an unchanged upstream answers 304, its file keeps its bytes and so its digest,
and the builder's parsed-feed cache then skips the parse too. A failed download fails only its feed.

This module does its own HTTP with httpx (vulndb must not import vigil.sources: layer contract).
"""

from __future__ import annotations

import bz2
import datetime as dt
import fnmatch
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from vigil.errors import UserError
from vigil.log import get_logger
from vigil.vulndb.build.records import Feed, FeedError

if TYPE_CHECKING:
    import httpx

log = get_logger(__name__)

MAX_DOWNLOAD_BYTES = 1 << 30
STATE_FILE = ".http-state.json"
RAW_DIR = ".upstream"  # upstream bodies (before conversion), named by URL hash
_CONVERTED = "converted:"  # STATE_FILE key prefix: feed file -> digest of the raw bodies it was converted from
ATTEMPTS = 2  # per URL, for transport errors, 429 and 5xx


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _jsonl_gz(docs: Iterable[Any]) -> bytes:
    return _gzip(b"".join(msgspec.json.encode(d) + b"\n" for d in docs))


# --- converters: upstream bodies (one per URL, in table order; None for an allowed 404) -> the feed file ---------
Converter = Callable[[list[bytes | None]], bytes]


def gzip_single(bodies: list[bytes | None]) -> bytes:
    """One plain file (JSON, XML) -> gzip, as the snapshot stores it."""
    (body,) = bodies
    assert body is not None
    return _gzip(body)


def verbatim(bodies: list[bytes | None]) -> bytes:
    (body,) = bodies
    assert body is not None
    return body


def bz2_to_gzip(bodies: list[bytes | None]) -> bytes:
    """Canonical publishes its OVAL files bz2-compressed; the feed reads gzip."""
    (body,) = bodies
    assert body is not None
    try:
        return _gzip(bz2.decompress(body))
    except (OSError, ValueError) as e:
        raise FeedError(f"not a bzip2 file: {e}") from e


def osv_zip(*prefixes: str) -> Converter:
    """osv.dev's <ecosystem>/all.zip archives (one OSV JSON document per file) -> JSON lines of the documents whose id
    starts with one of `prefixes` (e.g. PYSEC- for the PyPA feed: PyPI/all.zip also carries the GHSA copies), each
    id once (the GHSA feed reads several ecosystems' archives), sorted by id so the output is deterministic."""

    def convert(bodies: list[bytes | None]) -> bytes:
        docs: dict[str, Any] = {}
        for body in bodies:
            if body is None:
                continue
            try:
                zf = zipfile.ZipFile(io.BytesIO(body))
                for info in zf.infolist():
                    if not info.filename.endswith(".json") or info.file_size > MAX_DOWNLOAD_BYTES:
                        continue
                    doc = msgspec.json.decode(zf.read(info))
                    if isinstance(doc, dict) and str(doc.get("id", "")).startswith(prefixes):
                        docs.setdefault(str(doc["id"]), doc)
            except (zipfile.BadZipFile, msgspec.DecodeError, OSError) as e:
                raise FeedError(f"bad OSV archive: {e}") from e
        return _jsonl_gz(docs[k] for k in sorted(docs))

    return convert


def json_documents(bodies: list[bytes | None]) -> bytes:
    """Several JSON documents (e.g. Alpine secdb <release>/<repo>.json) -> one JSON line each."""
    out = []
    for body in bodies:
        if body is None:
            continue
        try:
            out.append(msgspec.json.decode(body))
        except msgspec.DecodeError as e:
            raise FeedError(f"bad JSON document: {e}") from e
    return _jsonl_gz(out)


def _plain(value: Any) -> Any:
    """YAML timestamps become ISO-8601 strings (as in the snapshot); everything else stays."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _load_yaml(text: str) -> Any:
    import yaml

    try:
        loader = yaml.CSafeLoader
    except AttributeError:  # PyYAML without libyaml
        loader = yaml.SafeLoader  # type: ignore[assignment]
    return yaml.load(text, Loader=loader)


def _load_toml_markdown(text: str) -> Any:
    """RustSec: a ```toml fenced front matter, then the Markdown text (kept as `_markdown`)."""
    import tomllib

    _, sep, rest = text.partition("```toml")
    if not sep:
        raise ValueError("no ```toml front matter")
    front, sep, markdown = rest.partition("```")
    if not sep:
        raise ValueError("unterminated ```toml front matter")
    doc = tomllib.loads(front)
    doc["_markdown"] = markdown.strip()
    return doc


_LOADERS: dict[str, Callable[[str], Any]] = {
    "yaml": _load_yaml, "json": json.loads, "toml-md": _load_toml_markdown,
}


def repo_archive(patterns: tuple[str, ...], fmt: str) -> Converter:
    """A repository archive (GitHub's <repo>/archive/HEAD.tar.gz) -> JSON lines: every file matching `patterns`
    (paths inside the repository), parsed (`fmt`: yaml, json or toml-md), plus `_source_path`, sorted by path."""
    load = _LOADERS[fmt]

    def convert(bodies: list[bytes | None]) -> bytes:
        (body,) = bodies
        assert body is not None
        docs: list[tuple[str, Any]] = []
        try:
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tf:
                for m in tf:
                    if not m.isfile() or "/" not in m.name:
                        continue
                    path = m.name.split("/", 1)[1]  # drop the "<repo>-<commit>/" top directory
                    if not any(fnmatch.fnmatchcase(path, p) for p in patterns):
                        continue
                    f = tf.extractfile(m)
                    if f is None:
                        continue
                    try:
                        doc = load(f.read(MAX_DOWNLOAD_BYTES).decode("utf-8"))
                    except Exception as e:  # one broken advisory file: skip it, say which
                        log.warning("upstream %s: skipped (%s)", path, e)
                        continue
                    if isinstance(doc, dict):
                        doc = _plain(doc)
                        doc["_source_path"] = path
                        docs.append((path, doc))
        except (tarfile.TarError, OSError, EOFError) as e:
            raise FeedError(f"bad repository archive: {e}") from e
        docs.sort(key=lambda d: d[0])
        return _jsonl_gz(d for _, d in docs)

    return convert


_DEBIAN_HEAD = re.compile(r"\[(\d{1,2} \w{3} \d{4})\] (D[SL]A-\d+(?:-\d+)?) (\S+)(?: - (.*))?")
_DEBIAN_FIX = re.compile(r"\[([\w-]+)\] - (\S+)(?: (\S+)(?: (.*))?)?")


def debian_list(bodies: list[bytes | None]) -> bytes:
    """The security tracker's data/DSA/list or data/DLA/list text -> the snapshot's parsed JSON lines
    {id, date, source_package, title, cves, fixed: [{release, package, fixed_version, note}], notes}.

        [29 Mar 2023] DSA-5380-1 xorg-server - security update
        \t{CVE-2023-1393}
        \t[bullseye] - xorg-server 2:1.20.11-1+deb11u6
        \t[lenny] - vlc <not-affected> (Vulnerable code not present)

    Lines that fit none of these shapes (NOTE: lines, malformed entries, headers of several words) are kept as
    `notes` of the entry above, as the snapshot's parser did (its output is reproduced exactly: tested)."""
    (body,) = bodies
    assert body is not None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FeedError(f"not UTF-8 text: {e}") from e
    out: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if not line.startswith(("\t", " ")):
            m = _DEBIAN_HEAD.fullmatch(s)
            if m:
                cur = {"id": m[2], "date": m[1], "source_package": m[3], "title": m[4], "cves": [], "fixed": [],
                       "notes": []}
                out.append(cur)
            elif cur is not None:
                cur["notes"].append(s)
            continue
        if cur is None:
            continue
        if s.startswith("{") and s.endswith("}"):
            cur["cves"].extend(s[1:-1].split())
        elif s.startswith("[") and (m := _DEBIAN_FIX.fullmatch(s)):
            cur["fixed"].append({"release": m[1], "package": m[2], "fixed_version": m[3], "note": m[4]})
        else:
            cur["notes"].append(s)
    if not out:
        raise FeedError("no DSA/DLA entries in the list")
    return _jsonl_gz(out)


@dataclass(frozen=True)
class Upstream:
    """One file of the feeds directory and where it comes from.
    path: relative to the feeds dir, matched by the feed's globs (and the name a mirror serves it under).
    urls + convert: the upstream source; no urls = directory only, `note` says why."""

    feed: str
    path: str
    urls: tuple[str, ...] = ()
    convert: Converter | None = None
    note: str = ""
    allow_missing: bool = False  # a 404 on some (not all) urls is expected (e.g. a release without "community")

    @property
    def directory_only(self) -> bool:
        return not self.urls


OSV = "https://osv-vulnerabilities.storage.googleapis.com"
GH = "https://github.com"
RAW = "https://raw.githubusercontent.com"
_ALPINE_RELEASES = (*(f"v3.{i}" for i in range(2, 23)), "edge")
# ecosystems whose osv.dev archives carry GitHub-reviewed advisories (GHSA-…)
_GHSA_ECOSYSTEMS = ("Maven", "npm", "NuGet", "PyPI", "Go", "RubyGems", "Packagist", "crates.io", "Hex", "Pub",
                    "SwiftURL")

SOURCES: tuple[Upstream, ...] = (
    Upstream("pypa", "pypa/pypa-osv.jsonl.gz", (f"{OSV}/PyPI/all.zip",), osv_zip("PYSEC-"),
             "osv.dev's PyPI archive holds pypa/advisory-database's PYSEC records (and GHSA copies, dropped here)"),
    Upstream("go-vulndb", "go-vulndb/go-vulndb-osv.jsonl.gz", (f"{OSV}/Go/all.zip",), osv_zip("GO-"),
             "osv.dev's Go archive = vuln.go.dev's records, with real published/modified dates"),
    Upstream("ghsa", "ghsa-subset/ghsa-osv-subset.jsonl.gz",
             tuple(f"{OSV}/{e}/all.zip" for e in _GHSA_ECOSYSTEMS), osv_zip("GHSA-"),
             "upstream is every GitHub-reviewed advisory (the snapshot is a 364-record subset)"),
    Upstream("almalinux-osv", "almalinux/almalinux-osv.jsonl.gz", (f"{OSV}/AlmaLinux/all.zip",),
             osv_zip("ALSA-", "ALBA-", "ALEA-")),
    Upstream("rustsec", "rustsec/rustsec.jsonl.gz", (f"{GH}/rustsec/advisory-db/archive/HEAD.tar.gz",),
             repo_archive(("crates/*/RUSTSEC-*.md", "rust/*/*.md"), "toml-md")),
    Upstream("ruby-advisory-db", "rubysec/ruby-advisory-db.jsonl.gz",
             (f"{GH}/rubysec/ruby-advisory-db/archive/HEAD.tar.gz",),
             repo_archive(("gems/*/*.yml", "rubies/*/*.yml"), "yaml")),
    Upstream("php-security-advisories", "friendsofphp/friendsofphp-security-advisories.jsonl.gz",
             (f"{GH}/FriendsOfPHP/security-advisories/archive/HEAD.tar.gz",),
             repo_archive(("*/*/*.yaml",), "yaml")),
    Upstream("nodejs-security-wg", "nodejs-security-wg/nodejs-security-wg.jsonl.gz",
             (f"{GH}/nodejs/security-wg/archive/HEAD.tar.gz",),
             repo_archive(("vuln/npm/*.json", "vuln/core/*.json"), "json")),
    Upstream("retire.js", "retirejs/npmrepository.json.gz",
             (f"{RAW}/RetireJS/retire.js/HEAD/repository/npmrepository.json",), gzip_single),
    Upstream("retire.js-jslibs", "retirejs/jsrepository.json.gz",
             (f"{RAW}/RetireJS/retire.js/HEAD/repository/jsrepository.json",), gzip_single),
    Upstream("victims", "victims-java-python/victims-cve-db.jsonl.gz",
             (f"{GH}/victims/victims-cve-db/archive/HEAD.tar.gz",),
             repo_archive(("database/java/*/*.yaml", "database/python/*/*.yaml"), "yaml"),
             "project inactive since 2020"),
    Upstream("elixir-security-advisories", "elixir-hex/elixir-security-advisories.jsonl.gz",
             (f"{GH}/dependabot/elixir-security-advisories/archive/HEAD.tar.gz",),
             repo_archive(("packages/*/*.yml",), "yaml")),
    Upstream("alpine-secdb", "alpine-secdb/alpine-secdb-2024.jsonl.gz",
             tuple(f"https://secdb.alpinelinux.org/{r}/{repo}.json" for r in _ALPINE_RELEASES
                   for repo in ("main", "community")),
             json_documents, "secdb.alpinelinux.org, one document per release and repository", allow_missing=True),
    Upstream("alpine-secdb", "alpine-secdb/alpine-secdb.jsonl.gz",
             (f"{GH}/alpinelinux/alpine-secdb/archive/HEAD.tar.gz",),
             repo_archive(("v3.*/*.yaml",), "yaml"), "the deprecated YAML repository (v3.3 … v3.11), frozen"),
    *(
        Upstream(f"debian-{k.lower()}", f"debian/{k.lower()}-parsed.jsonl.gz",
                 (f"https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/{k}/list",),
                 debian_list, "the security tracker's list text, parsed as the snapshot's parsed files")
        for k in ("DSA", "DLA")
    ),
    *(
        Upstream("ubuntu-oval", f"ubuntu-oval/com.ubuntu.{r}.usn.oval.xml.gz",
                 (f"https://security-metadata.canonical.com/oval/com.ubuntu.{r}.usn.oval.xml.bz2",), bz2_to_gzip)
        for r in ("lunar", "noble", "oracular")
    ),
    Upstream("rocky-oval", "rocky-oval/org.rockylinux.rlsa-9.xml.gz",
             (f"{RAW}/pschou/oval/HEAD/rocky/org.rockylinux.rlsa-9.xml",), gzip_single,
             "Rocky's OVAL as archived by pschou/oval (the README's source)"),
    *(
        Upstream("nvd", f"nvd-feeds/nvdcve-1.1-{y}.json.gz",
                 (f"{RAW}/jeremylong/DependencyCheck/HEAD/src/site/resources/hb_nvd/nvdcve-1.1-{y}.json.gz",),
                 verbatim,
                 "NVD retired its 1.1 JSON feeds in 2023 and the nvd ETL reads that format; this is the copy "
                 "DependencyCheck keeps (frozen at 2022-10-20). The NVD API 2.0 needs another ETL.")
        for y in ("2022", "modified")
    ),
    Upstream("nvd-curated", "nvd-curated/nvd-curated-cves.jsonl",
             note="hand-transcribed from single NVD records; no upstream file"),
    Upstream("cisa-kev", "cisa-kev/known_exploited_vulnerabilities.json.gz",
             ("https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",), gzip_single),
)


def sources_for(feeds: Iterable[Feed]) -> list[Upstream]:
    names = {f.name for f in feeds}
    return [s for s in SOURCES if s.feed in names]


# --- conditional HTTP ----------------------------------------------------------------------------------------------


class _State(msgspec.Struct, omit_defaults=True):
    etag: str = ""
    last_modified: str = ""
    sha256: str = ""


@dataclass
class SyncResult:
    feeds_dir: Path
    errors: dict[str, str] = field(default_factory=dict)  # feed name -> why it is unavailable
    fetched: int = 0  # 200 responses
    not_modified: int = 0  # 304 responses
    failed: int = 0
    converted: int = 0
    bytes: int = 0
    seconds: float = 0.0


class FetchError(UserError):
    pass


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


class _Fetcher:
    def __init__(self, client: httpx.Client, root: Path, res: SyncResult) -> None:
        self.client, self.root, self.res = client, root, res
        self.state_path = root / STATE_FILE
        try:
            self.state = msgspec.json.decode(self.state_path.read_bytes(), type=dict[str, _State])
        except (OSError, msgspec.DecodeError):
            self.state = {}

    def save(self) -> None:
        tmp = self.state_path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        tmp.write_bytes(msgspec.json.format(msgspec.json.encode(dict(sorted(self.state.items())))))
        os.replace(tmp, self.state_path)

    def fetch(self, url: str, dest: Path, allow_missing: bool = False) -> bool | None:
        """Download url to dest unless unchanged. True: new bytes; False: unchanged (304, or same content);
        None: 404 and allow_missing (dest removed). FetchError otherwise."""
        import httpx

        st = self.state.get(url, _State())
        headers = {}
        if dest.is_file() and st.sha256:
            if st.etag:
                headers["If-None-Match"] = st.etag
            if st.last_modified:
                headers["If-Modified-Since"] = st.last_modified
        last = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(0.5)
            try:
                with self.client.stream("GET", url, headers=headers) as r:
                    if r.status_code == 304:
                        self.res.not_modified += 1
                        return False
                    if r.status_code == 404 and allow_missing:
                        dest.unlink(missing_ok=True)
                        self.state.pop(url, None)
                        return None
                    if r.status_code != 200:
                        last = f"HTTP {r.status_code} from {url}"
                        if r.status_code == 429 or r.status_code >= 500:
                            continue
                        raise FetchError(last)
                    h = hashlib.sha256()
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
                    size = 0
                    with open(tmp, "wb") as f:
                        for chunk in r.iter_bytes(1 << 20):
                            size += len(chunk)
                            if size > MAX_DOWNLOAD_BYTES:
                                tmp.unlink(missing_ok=True)
                                raise FetchError(f"{url}: larger than {MAX_DOWNLOAD_BYTES} bytes")
                            h.update(chunk)
                            f.write(chunk)
                    os.replace(tmp, dest)
                    self.res.fetched += 1
                    self.res.bytes += size
                    changed = h.hexdigest() != st.sha256
                    self.state[url] = _State(r.headers.get("etag", ""), r.headers.get("last-modified", ""),
                                             h.hexdigest())
                    return changed
            except httpx.HTTPError as e:
                last = f"{url}: {type(e).__name__}: {e}"
        raise FetchError(last)


def sync_feeds(
    feeds: Iterable[Feed],
    cache_dir: Path,
    *,
    base_url: str | None = None,
    client: httpx.Client | None = None,
    user_agent: str = "vigil (vulnerability DB builder)",
    sources: Sequence[Upstream] = SOURCES,
) -> SyncResult:
    """Bring <cache_dir>/feeds/ up to date: from the mirror at base_url, or (base_url None) from the upstream
    sources with conversion. Returns the directory to build from and per-feed errors (for build(fetch_errors=)).
    `sources` is the table (tests and private mirrors of single upstreams pass their own)."""
    import httpx

    t0 = time.perf_counter()
    root = cache_dir / "feeds"
    root.mkdir(parents=True, exist_ok=True)
    res = SyncResult(feeds_dir=root)
    own_client = client is None
    if client is None:
        client = httpx.Client(
            follow_redirects=True, timeout=httpx.Timeout(60.0, connect=15.0),
            headers={"User-Agent": user_agent},
        )
    fetcher = _Fetcher(client, root, res)
    try:
        names = {f.name for f in feeds}
        for src in (s for s in sources if s.feed in names):
            if src.feed in res.errors:
                continue
            dest = root / src.path
            try:
                if base_url is not None:
                    fetcher.fetch(base_url.rstrip("/") + "/" + src.path, dest)
                elif src.directory_only:
                    dest.unlink(missing_ok=True)  # never build from a stale mirror copy as if it were upstream
                    raise FetchError(f"directory only ({src.note}); build it with --feeds DIR or --feeds-url")
                else:
                    _sync_upstream(fetcher, src, dest, res)
            except (FetchError, FeedError) as e:
                res.failed += 1
                res.errors[src.feed] = str(e)
                log.warning("feed %s: %s", src.feed, e)
            except Exception as e:  # a damaged body a converter did not expect (zlib.error, …): fail only this feed
                log.debug("feed %s: conversion crashed", src.feed, exc_info=True)
                res.failed += 1
                res.errors[src.feed] = f"cannot convert {src.path}: {type(e).__name__}: {e}"
                log.warning("feed %s: %s", src.feed, res.errors[src.feed])
            finally:
                fetcher.save()
    finally:
        if own_client:
            client.close()
    res.seconds = time.perf_counter() - t0
    return res


def _sync_upstream(fetcher: _Fetcher, src: Upstream, dest: Path, res: SyncResult) -> None:
    assert src.convert is not None
    raw_dir = fetcher.root / RAW_DIR
    outcomes: list[bool | None] = []
    raws: list[Path] = []
    changed = False
    for url in src.urls:
        raw = raw_dir / _url_key(url)
        existed = raw.is_file()
        outcome = fetcher.fetch(url, raw, allow_missing=src.allow_missing)
        changed = changed or bool(outcome) or (outcome is None and existed)
        outcomes.append(outcome)
        raws.append(raw)
    if all(o is None for o in outcomes):
        raise FetchError(f"every upstream URL of {src.path} answered 404")
    # What the file is converted from: the raw bodies' digests. A body that changed in a sync where the feed then
    # failed (another URL down, a conversion error) answers 304 next time: compare with what dest was made from.
    inputs = hashlib.sha256(" ".join(fetcher.state.get(u, _State()).sha256 if o is not None else "404"
                                     for u, o in zip(src.urls, outcomes, strict=True)).encode()).hexdigest()
    made_from = _CONVERTED + src.path
    if dest.is_file() and not changed and fetcher.state.get(made_from, _State()).sha256 == inputs:
        return  # nothing changed upstream: keep the file (and its digest) as it is
    bodies = [r.read_bytes() if o is not None else None for r, o in zip(raws, outcomes, strict=True)]
    data = src.convert(bodies)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    fetcher.state[made_from] = _State(sha256=inputs)
    res.converted += 1


def iter_table() -> Iterator[tuple[str, str, str, str]]:
    """(feed, file, upstream or "directory only", note): the table, for docs and `vigil db build --help` users."""
    for s in SOURCES:
        yield s.feed, s.path, " ".join(s.urls) if s.urls else "directory only", s.note
