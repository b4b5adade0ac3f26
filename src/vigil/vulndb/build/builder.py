"""Build the SQLite vulnerability DB from a directory of feeds.

Flow: every feed module parses its files completely (a feed that fails is skipped whole and reported, never
half-loaded) -> aliases are merged (union-find over GHSA/CVE/PYSEC/GO/RUSTSEC IDs) so that one vulnerability is
stored once per package with every source listed, and a record naming several CVEs is stored under each (never two
CVEs as one vulnerability) -> NVD (CVSS, CWE) and CISA KEV enrich the details -> the DB is
written to a temp file and atomically renamed into place.

Feed cache: with `parsed_cache`, each feed's parsed records are kept as msgpack in
<parsed_cache>/<feed>-<input digest>.msgpack, the digest covering the feed's input files and the ETL code; an
unchanged feed is decoded from there instead of parsed again. With `previous` (an earlier build's output dir), a
row-level delta against that DB is written next to the new one (vulndb.delta) and listed in metadata.json.
"""

from __future__ import annotations

import datetime as dt
import gc
import glob
import gzip
import hashlib
import os
import re
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import msgspec

from vigil.findings.records import severity_from_score
from vigil.log import get_logger
from vigil.vulndb.build.records import Feed, FeedError
from vigil.vulndb.names import normalize
from vigil.vulndb.records import AdvisoryRecord, CveEnrichment, CvssScore, DBMetadata, DeltaRef, VulnDetail
from vigil.vulndb.schema import DB_FILENAME, DDL, INDEXES, METADATA_FILENAME, SCHEMA_VERSION
from vigil.vulndb.tempfiles import BUILD
from vigil.vulndb.tempfiles import prefix as temp_prefix

log = get_logger(__name__)

UPDATE_INTERVAL = dt.timedelta(hours=24)
MAX_FEED_FILE_BYTES = 1 << 30  # decompressed; a feed file larger than 1 GiB is refused as a likely bomb

# Which source's text (title/description) wins when several describe one vulnerability: the ecosystem's own
# database first (it names the package), then GitHub, then the OS distributions (their per-CVE titles and
# paragraphs, cut out of multi-CVE advisories), then NVD. Severity precedence is applied at match time.
TEXT_PRIORITY = (
    "ghsa", "pypa", "go-vulndb", "rustsec", "ruby-advisory-db", "php-security-advisories",
    "nodejs-security-wg", "elixir-security-advisories", "retire.js", "retire.js-jslibs", "victims",
    "alpine-secdb", "debian-dsa", "debian-dla", "ubuntu-oval", "rocky-oval", "almalinux-osv", "nvd",
)


def _prio(source: str) -> int:
    try:
        return TEXT_PRIORITY.index(source)
    except ValueError:
        return len(TEXT_PRIORITY)


@dataclass
class FeedReport:
    name: str
    title: str
    url: str
    kind: str
    status: str = "ok"  # ok | failed | missing
    records: int = 0
    digest: str = ""
    error: str = ""
    seconds: float = 0.0
    cached: bool = False  # records decoded from the parsed-feed cache, not parsed


@dataclass
class BuildResult:
    db_path: Path
    metadata: DBMetadata
    feeds: list[FeedReport] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    delta: DeltaRef | None = None  # the delta against `previous`, when one was made
    delta_error: str = ""  # why no delta was made although `previous` was given


def _read(path: str) -> bytes:
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            data = f.read(MAX_FEED_FILE_BYTES + 1)
    else:
        with open(path, "rb") as f:
            data = f.read(MAX_FEED_FILE_BYTES + 1)
    if len(data) > MAX_FEED_FILE_BYTES:
        raise FeedError(f"{os.path.basename(path)}: larger than {MAX_FEED_FILE_BYTES} bytes decompressed")
    return data


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def os_eol_rows() -> list[tuple[str, str, str]]:
    """(family, release key, ISO date) rows from the packaged vigil/data/os_eol.json (EOL dates are data in the DB,
    not code). Keys starting with "_" are documentation. A malformed file is a packaging
    defect, reported as FeedError naming the file."""
    from importlib import resources

    from vigil.inventory.records import OS_FAMILIES

    where = "vigil/data/os_eol.json"
    try:
        doc = msgspec.json.decode(resources.files("vigil").joinpath("data/os_eol.json").read_bytes())
    except (OSError, msgspec.DecodeError) as exc:
        raise FeedError(f"{where}: {exc}") from exc
    if not isinstance(doc, dict):
        raise FeedError(f"{where}: expected an object of families")
    rows: list[tuple[str, str, str]] = []
    for family, releases in doc.items():
        if family.startswith("_"):
            continue
        if family not in OS_FAMILIES or not isinstance(releases, dict):
            raise FeedError(f"{where}: {family!r} is not an OS family with a release -> date object")
        for release, eol in releases.items():
            if not isinstance(eol, str) or not _ISO_DATE.fullmatch(eol):
                raise FeedError(f"{where}: {family} {release}: {eol!r} is not a yyyy-mm-dd date")
            dt.date.fromisoformat(eol)  # a real calendar date
            rows.append((family, release, eol))
    return rows


FeedItem = AdvisoryRecord | CveEnrichment | str
_PARSED_TYPES: dict[str, type[list[AdvisoryRecord]] | type[list[CveEnrichment]] | type[list[str]]] = {
    "advisories": list[AdvisoryRecord], "nvd": list[CveEnrichment], "kev": list[str],
}


@cache
def etl_fingerprint() -> str:
    """sha256 over the source of the ETL code (feed modules, record types): part of every parsed-feed cache key, so
    changing a parser invalidates exactly the cached output it produced."""
    from vigil.vulndb import records as db_records
    from vigil.vulndb.build import feeds as feeds_pkg
    from vigil.vulndb.build import records as build_records

    h = hashlib.sha256()
    paths = sorted(Path(feeds_pkg.__file__).parent.glob("*.py"))
    for p in (*paths, Path(db_records.__file__), Path(build_records.__file__)):
        h.update(p.name.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _cache_file(parsed_cache: Path, feed: Feed, input_digest: str) -> Path:
    key = hashlib.sha256(f"{etl_fingerprint()}\0{feed.kind}\0{input_digest}".encode()).hexdigest()
    return parsed_cache / f"{feed.name}-{key}.msgpack"


def _cache_load(path: Path, feed: Feed) -> list[FeedItem] | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        items: list[FeedItem] = msgspec.msgpack.decode(data, type=_PARSED_TYPES[feed.kind])
    except (msgspec.DecodeError, KeyError):
        log.warning("parsed-feed cache %s is unreadable; parsing the feed again", path.name)
        return None
    return items


def _cache_store(path: Path, feed: Feed, items: list[FeedItem]) -> None:
    """Atomic write (temp + rename, so concurrent builds never read half a file); older entries of the same feed
    are removed. Cache trouble never fails a build."""
    if feed.kind not in _PARSED_TYPES:
        return
    own = re.compile(re.escape(feed.name) + r"-[0-9a-f]{64}\.msgpack")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(msgspec.msgpack.encode(items))
        os.replace(tmp, path)
        for old in path.parent.iterdir():
            if old != path and own.fullmatch(old.name):
                old.unlink(missing_ok=True)
    except OSError as e:
        log.warning("cannot write the parsed-feed cache %s: %s", path, e)


def load_feed(
    feed: Feed, feeds_dir: Path, parsed_cache: Path | None = None
) -> tuple[FeedReport, list[FeedItem]]:
    rep = FeedReport(name=feed.name, title=feed.title, url=feed.url, kind=feed.kind)
    t0 = time.perf_counter()
    files = sorted({p for pat in feed.paths for p in glob.glob(str(feeds_dir / pat))})
    if not files:
        rep.status, rep.error = "missing", f"no files matching {', '.join(feed.paths)}"
        return rep, []
    digest = hashlib.sha256()
    out: list[FeedItem] = []
    try:
        for path in files:
            with open(path, "rb") as f:
                digest.update(hashlib.sha256(f.read()).digest())
        rep.digest = "sha256:" + digest.hexdigest()
        cache_file = _cache_file(parsed_cache, feed, rep.digest) if parsed_cache is not None else None
        cached = _cache_load(cache_file, feed) if cache_file is not None else None
        if cached is not None:
            rep.cached, rep.records, rep.seconds = True, len(cached), time.perf_counter() - t0
            return rep, cached
        for path in files:
            out.extend(feed.parse(os.path.basename(path), _read(path)))
    except (FeedError, OSError, EOFError, gzip.BadGzipFile) as e:
        rep.status, rep.error, rep.digest = "failed", str(e) or type(e).__name__, ""
        log.warning("feed %s skipped: %s", feed.name, rep.error)
        return rep, []
    except Exception as e:  # a defect in the ETL module: skip the whole feed, keep building
        log.debug("feed %s crashed", feed.name, exc_info=True)
        rep.status, rep.error, rep.digest = "failed", f"internal error: {type(e).__name__}: {e}", ""
        log.warning("feed %s skipped: %s", feed.name, rep.error)
        return rep, []
    rep.records = len(out)
    if cache_file is not None:
        _cache_store(cache_file, feed, out)
    rep.seconds = time.perf_counter() - t0
    return rep, out


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _is_cve(i: str) -> bool:
    return i.startswith("CVE-")


def _is_ghsa(i: str) -> bool:
    return i.startswith("GHSA-")


def attributed_cves(records: Iterable[AdvisoryRecord]) -> dict[tuple[str, str], tuple[str, ...]]:
    """(source, record id) -> the CVEs a record naming several CVEs is about, for every such record.

    Some feeds list CVEs loosely: retire.js gives lodash GHSA-35jh-r3h4-6jhm (<4.17.21) and GHSA-r5fr-rjxr-66jc
    (<4.18.0) the same pair "CVE-2021-23337, CVE-2026-4800", while RubySec states that GHSA-35jh-r3h4-6jhm is
    CVE-2021-23337 alone. Two rules settle such records, and settled records are evidence for the rest (repeated
    until nothing changes):
    - a record whose GHSA ID another record ties to some of its CVEs (a record naming one CVE, or one settled to
      one) is about those CVEs only;
    - siblings, records of one source for the same packages listing the same CVEs under different GHSA IDs, split
      the list: once some siblings are settled, the others are about the CVEs left.
    A record nothing settles is about every CVE it names, with its own ranges. A CVE is never dropped because some
    unrelated record names another GHSA for it: one CVE can have several GHSA IDs."""
    recs = list(records)
    ghsa_cves: dict[str, set[str]] = defaultdict(set)

    def learn(ids: Iterable[str], cve: str) -> None:
        for g in ids:
            if _is_ghsa(g):
                ghsa_cves[g].add(cve)

    Family = tuple[str, frozenset[str], frozenset[tuple[str, str]]]
    pending: dict[tuple[str, str], tuple[frozenset[str], frozenset[str], Family]] = {}
    for r in recs:
        own = (r.id, *r.aliases)
        cves = frozenset(i for i in own if _is_cve(i))
        if len(cves) == 1:
            learn(own, next(iter(cves)))
        elif cves:
            family = (r.source, cves, frozenset((a.ecosystem, a.name) for a in r.affected))
            pending[(r.source, r.id)] = (cves, frozenset(i for i in own if _is_ghsa(i)), family)
    settled: dict[Family, list[tuple[frozenset[str], set[str]]]] = defaultdict(list)  # (GHSAs, CVEs) per family
    out: dict[tuple[str, str], tuple[str, ...]] = {k: tuple(sorted(cves)) for k, (cves, _, _) in pending.items()}
    changed = True
    while changed:
        changed = False
        for key, (cves, ghsas, family) in list(pending.items()):
            named = {c for g in ghsas for c in ghsa_cves.get(g, ()) if c in cves}
            if not named and ghsas:
                taken = {c for other, got in settled[family] if not other & ghsas for c in got}
                if taken and cves - taken:
                    named = set(cves - taken)
            if not named:
                continue
            out[key] = tuple(sorted(named))
            settled[family].append((ghsas, named))
            if len(named) == 1:
                learn(ghsas, next(iter(named)))
            del pending[key]
            changed = True
    return out


def canonical_ids(
    records: Iterable[AdvisoryRecord], attributed: dict[tuple[str, str], tuple[str, ...]] | None = None
) -> dict[tuple[str, str], str]:
    """(source, record id) -> the one ID a record is known by.

    Rule (like Trivy, which reports CVE IDs where they exist): a record naming exactly one CVE (after
    attributed_cves) is that CVE; a record naming none takes the single CVE of its alias group (e.g. PYSEC -> GHSA
    -> CVE chains), else its GHSA, else its own ID. A record about several CVEs keeps its own ID here: it is stored
    under each of its CVEs (vulnerability_ids), and it links none of them to another, so alias groups never join
    two CVEs."""
    recs = list(records)
    if attributed is None:
        attributed = attributed_cves(recs)
    uf = _UnionFind()
    for r in recs:
        uf.find(r.id)
        about = attributed.get((r.source, r.id))
        if about is None:
            for a in r.aliases:
                uf.union(r.id, a)
            continue
        non_cve = [i for i in (r.id, *r.aliases) if not _is_cve(i)]
        for a in non_cve:
            uf.union(non_cve[0], a)
        if len(about) == 1 and non_cve:
            uf.union(non_cve[0], about[0])
    members: dict[str, set[str]] = defaultdict(set)
    for x in list(uf.parent):
        members[uf.find(x)].add(x)
    out: dict[tuple[str, str], str] = {}
    for r in recs:
        own = {r.id, *r.aliases}
        own_cves = list(attributed.get((r.source, r.id), ())) or sorted(i for i in own if _is_cve(i))
        if len(own_cves) == 1:
            out[(r.source, r.id)] = own_cves[0]
            continue
        if len(own_cves) > 1:
            out[(r.source, r.id)] = r.id
            continue
        group = members[uf.find(r.id)]
        group_cves = sorted(i for i in group if _is_cve(i))
        own_ghsa = sorted(i for i in own if i.startswith("GHSA-"))
        group_ghsa = sorted(i for i in group if i.startswith("GHSA-"))
        if len(group_cves) == 1:
            out[(r.source, r.id)] = group_cves[0]
        elif own_ghsa:
            out[(r.source, r.id)] = own_ghsa[0]
        elif len(group_ghsa) == 1:
            out[(r.source, r.id)] = group_ghsa[0]
        else:
            out[(r.source, r.id)] = r.id
    return out


def vulnerability_ids(records: Iterable[AdvisoryRecord]) -> dict[tuple[str, str], tuple[str, ...]]:
    """(source, record id) -> the vulnerabilities the record's rows are stored under: each CVE a record about
    several CVEs is about (two CVEs are two vulnerabilities, never one finding), else its canonical ID."""
    recs = list(records)
    attributed = attributed_cves(recs)
    canon = canonical_ids(recs, attributed)
    return {k: (attributed[k] if len(attributed.get(k, ())) > 1 else (c,)) for k, c in canon.items()}


def _record_severity(r: AdvisoryRecord) -> str:
    if r.severity:
        return r.severity
    if r.cvss is not None:
        score = r.cvss.v3_score or r.cvss.v2_score
        if score:
            return severity_from_score(score)
    return ""


def _merge_details(
    canonical: str,
    recs: list[AdvisoryRecord],
    aliases: set[str],
    nvd: dict[str, CveEnrichment],
    kev: set[str],
) -> VulnDetail:
    recs = sorted(recs, key=lambda r: (_prio(r.source), r.id))
    vendor_severity: dict[str, str] = {}
    cvss: dict[str, CvssScore] = {}
    cwe: dict[str, None] = {}
    refs: dict[str, None] = {}
    title = description = published = modified = ""
    for r in recs:
        sev = _record_severity(r)
        if sev and r.source not in vendor_severity:
            vendor_severity[r.source] = sev
        if r.cvss is not None and r.source not in cvss:
            cvss[r.source] = r.cvss
        title = title or r.title
        description = description or r.description
        cwe.update(dict.fromkeys(r.cwe_ids))
        refs.update(dict.fromkeys(r.references))
        if r.published and (not published or r.published < published):
            published = r.published
        if r.modified and r.modified > modified:
            modified = r.modified
    cves = [canonical] if _is_cve(canonical) else sorted(a for a in aliases if _is_cve(a))
    n = nvd.get(cves[0]) if len(cves) == 1 else None
    if n is not None:
        if n.severity:
            vendor_severity["nvd"] = n.severity
        elif n.cvss is not None and (n.cvss.v3_score or n.cvss.v2_score):
            vendor_severity["nvd"] = severity_from_score(n.cvss.v3_score or n.cvss.v2_score)
        if n.cvss is not None:
            cvss["nvd"] = n.cvss
        description = description or n.description
        cwe.update(dict.fromkeys(n.cwe_ids))
        refs.update(dict.fromkeys(n.references))
        published = published or n.published
        modified = max(modified, n.modified)
    sources = sorted({r.source for r in recs} | ({"nvd"} if n is not None else set()), key=_prio)
    return VulnDetail(
        id=canonical,
        aliases=tuple(sorted(aliases - {canonical})),
        title=title.strip(),
        description=description.strip(),
        vendor_severity=vendor_severity,
        cvss=cvss,
        cwe_ids=tuple(cwe),
        references=tuple(refs),
        published=published,
        modified=modified,
        known_exploited=bool(kev & ({canonical} | aliases)),
        sources=tuple(sources),
    )


def build(
    feeds_dir: Path,
    out_dir: Path,
    *,
    feeds: tuple[Feed, ...] | None = None,
    now: dt.datetime | None = None,
    vigil_version: str = "",
    parsed_cache: Path | None = None,
    fetch_errors: Mapping[str, str] | None = None,
    previous: Path | None = None,
) -> BuildResult:
    """Build <out_dir>/vigil.db and metadata.json from the feeds in feeds_dir.

    parsed_cache: directory of the parsed-feed cache (see the module doc); None parses every feed.
    fetch_errors: feed name -> why its download failed (vulndb.build.upstream): such feeds are reported failed.
    previous: an earlier build's output directory; a delta from its vigil.db to the new one is published."""
    # The build allocates ~1.5 million long-lived, acyclic objects (records, rows); the cyclic GC would rescan
    # them over and over (measured: ~2 s of a ~7 s build with the OS feeds). Nothing here relies on it.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(feeds_dir, out_dir, feeds=feeds, now=now, vigil_version=vigil_version,
                      parsed_cache=parsed_cache, fetch_errors=fetch_errors, previous=previous)
    finally:
        if gc_was_enabled:
            gc.enable()


def _build(
    feeds_dir: Path,
    out_dir: Path,
    *,
    feeds: tuple[Feed, ...] | None,
    now: dt.datetime | None,
    vigil_version: str,
    parsed_cache: Path | None,
    fetch_errors: Mapping[str, str] | None,
    previous: Path | None,
) -> BuildResult:
    t0 = time.perf_counter()
    if feeds is None:
        from vigil.vulndb.build.feeds import all_feeds

        feeds = all_feeds()
    if not feeds_dir.is_dir():
        raise FeedError(f"feeds directory {feeds_dir} does not exist")
    reports: list[FeedReport] = []
    advisories: list[AdvisoryRecord] = []
    nvd: dict[str, CveEnrichment] = {}
    kev: set[str] = set()
    for feed in feeds:
        items: list[FeedItem] = []
        if fetch_errors and feed.name in fetch_errors:
            rep = FeedReport(feed.name, feed.title, feed.url, feed.kind, "failed", error=fetch_errors[feed.name])
            log.warning("feed %s skipped: %s", feed.name, rep.error)
        else:
            rep, items = load_feed(feed, feeds_dir, parsed_cache)
        reports.append(rep)
        for it in items:
            if isinstance(it, AdvisoryRecord):
                if not it.withdrawn:
                    advisories.append(it)
            elif isinstance(it, CveEnrichment):
                nvd[it.cve_id] = it  # later feeds (nvd-curated) override earlier ones (bulk NVD)
            else:
                kev.add(it)

    if reports and not any(r.status == "ok" for r in reports):
        # e.g. the network is down while building --feeds-from upstream: an empty DB must not replace a good one
        first = next((r for r in reports if r.error), reports[0])
        raise FeedError(f"no feed could be loaded ({first.name}: {first.error}); nothing was written")
    vids = vulnerability_ids(advisories)
    by_canon: dict[str, list[AdvisoryRecord]] = defaultdict(list)
    alias_sets: dict[str, set[str]] = defaultdict(set)
    for r in advisories:
        about = vids[(r.source, r.id)]
        for c in about:
            by_canon[c].append(r)
            # the record's other IDs (GHSA, RUSTSEC …) are aliases of each CVE it is about; other CVEs it names are
            # not (an ignore entry for one CVE must not suppress another)
            alias_sets[c].update(i for i in (r.id, *r.aliases) if i in about or not _is_cve(i))

    now = now or dt.datetime.now(dt.UTC)
    meta = DBMetadata(
        schema_version=SCHEMA_VERSION,
        built_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        next_update=(now + UPDATE_INTERVAL).strftime("%Y-%m-%dT%H:%M:%SZ"),
        vigil_version=vigil_version,
        feeds={
            r.name: {"status": r.status, "records": r.records, "digest": r.digest, "error": r.error}
            for r in reports
        },
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    # the PID in the name lets a later build or update remove this file if this process is killed before the rename
    fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(BUILD), suffix=".tmp", dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    counts: dict[str, int] = {}
    try:
        conn = sqlite3.connect(tmp)
        conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + DDL)
        enc = msgspec.json.Encoder()
        adv_rows = []
        seen_rows: set[tuple[str, str, str, str, bytes]] = set()
        # OS feeds give every CVE of an advisory the same AffectedPackage objects (~400,000 rows from ~110,000
        # objects): encode each object once. Keyed by id(): the objects live in `advisories` until the end.
        blobs: dict[int, tuple[str, bytes]] = {}
        for r in advisories:
            for c in vids[(r.source, r.id)]:
                for ap in r.affected:
                    cached = blobs.get(id(ap))
                    if cached is None:
                        cached = blobs[id(ap)] = (normalize(ap.ecosystem, ap.name), enc.encode(ap))
                    name, blob = cached
                    k = (ap.ecosystem, name, c, r.source, blob)
                    if k in seen_rows:
                        continue
                    seen_rows.add(k)
                    adv_rows.append((ap.ecosystem, name, c, r.source, r.id, blob))
        conn.executemany("INSERT INTO advisories VALUES (?,?,?,?,?,?)", adv_rows)
        detail_rows = [
            (c, enc.encode(_merge_details(c, recs, alias_sets[c], nvd, kev))) for c, recs in by_canon.items()
        ]
        conn.executemany("INSERT INTO vulnerabilities VALUES (?,?)", detail_rows)
        alias_rows: dict[str, str] = {}
        for c in alias_sets:
            alias_rows.setdefault(c, c)
        for c, ids in alias_sets.items():
            for i in ids:
                alias_rows.setdefault(i, c)
        conn.executemany("INSERT INTO aliases VALUES (?,?)", alias_rows.items())
        eol_rows = os_eol_rows()
        conn.executemany("INSERT INTO os_eol VALUES (?,?,?)", eol_rows)
        conn.executemany(
            "INSERT INTO feeds VALUES (?,?,?,?,?,?,?,?)",
            [(r.name, r.title, r.url, r.kind, r.status, r.records, r.digest, r.error) for r in reports],
        )
        conn.execute("INSERT INTO metadata VALUES ('metadata', ?)", (enc.encode(meta).decode(),))
        # No VACUUM: the file is written once, without deletes, and the index is built after the rows, so there is
        # nothing to reclaim (measured: 0.4 % of 116 MB) while it cost ~0.6 s, a tenth of the build.
        conn.executescript(INDEXES)
        conn.commit()
        conn.close()
        counts = {
            "vulnerabilities": len(detail_rows),
            "advisories": len(adv_rows),
            "aliases": len(alias_rows),
            "nvd_records": len(nvd),
            "kev_records": len(kev),
            "os_eol": len(eol_rows),
        }
        db_path = out_dir / DB_FILENAME
        # the delta is made before the rename, so `previous` may be out_dir itself
        delta, delta_error, digest = _publish_delta(previous, tmp, out_dir)
        os.replace(tmp, db_path)  # atomic: concurrent readers see the old or the new DB, never half of one
    finally:
        if tmp.exists():
            tmp.unlink()
    meta = msgspec.structs.replace(meta, logical_digest=digest, deltas=(delta,) if delta else ())
    _remove_stale_deltas(out_dir, delta)
    (out_dir / METADATA_FILENAME).write_bytes(msgspec.json.format(msgspec.json.encode(meta)))
    return BuildResult(
        db_path=db_path, metadata=meta, feeds=reports, counts=counts, seconds=time.perf_counter() - t0,
        delta=delta, delta_error=delta_error,
    )


def _publish_delta(previous: Path | None, new_db: Path, out_dir: Path) -> tuple[DeltaRef | None, str, str]:
    """(delta ref or None, why not, logical digest of new_db)."""
    from vigil.vulndb.delta import DeltaError, delta_filename, logical_digest, make_delta

    if previous is None:
        return None, "", logical_digest(new_db)
    old_db = previous / DB_FILENAME
    try:
        info = make_delta(old_db, new_db, out_dir / ".delta.tmp")  # computes both logical digests on the way
        final = out_dir / delta_filename(info.base)
        os.replace(info.path, final)
    except DeltaError as e:
        log.warning("no delta published: %s", e)
        return None, str(e), logical_digest(new_db)
    return DeltaRef(base=info.base, file=final.name, size=info.size, sha256=info.sha256), "", info.target


def _remove_stale_deltas(out_dir: Path, keep: DeltaRef | None) -> None:
    """Deltas of earlier builds in out_dir lead to the previous DB, not to this one: remove them."""
    from vigil.vulndb.delta import DELTA_SUFFIX

    for p in out_dir.glob("delta-*" + DELTA_SUFFIX):
        if keep is None or p.name != keep.file:
            p.unlink(missing_ok=True)
