"""OSV-format feeds: PyPA (PYSEC), the Go vulnerability database, GitHub-reviewed advisories (GHSA subset).

Mapping (OSV schema https://ossf.github.io/osv-schema/):
- affected[].ranges of type ECOSYSTEM/SEMVER -> vulnerable intervals, built from the events in order:
  `introduced` opens an interval ("0" = unbounded below), `fixed` closes it exclusively, `last_affected`
  inclusively, `limit` exclusively; an interval still open at the end is unbounded above. GIT ranges are ignored.
- affected[].versions (an explicit list) -> exact intervals, used only when the package has no ECOSYSTEM/SEMVER
  range. The list is generated from the ranges by OSV tooling and is huge (140,846 versions in the PyPA feed, of
  which only 8 fall outside the ranges); storing it alongside the ranges would multiply the DB size for no
  matching benefit. It matters when the only ranges are GIT ranges.
- `fixed` events -> AffectedPackage.fixed. `aliases` -> aliases (`related` is NOT an alias). Withdrawn -> skipped.
- Go: OSV writes Go versions without the leading "v"; go.mod/go.sum versions have it, so every Go bound gets "v"
  ("1.16.0-0" -> "v1.16.0-0"). The standard library and toolchain keep go-vulndb's package names "stdlib" and
  "toolchain".
- severity: database_specific.severity (GHSA: LOW/MODERATE/HIGH/CRITICAL, MODERATE -> MEDIUM); otherwise derived
  from the CVSS vectors in `severity[]` (v3 score computed from the vector).

AlmaLinux errata (feed "almalinux-osv", parse_alma): the same OSV shape with ecosystem "AlmaLinux:<major>" ->
"alma:<major>" (vigil.inventory.records.os_ecosystem), names = binary rpm names, `fixed` = "[epoch:]version-release".
The CVEs an erratum fixes are in `related` (not `aliases`), so each ALSA is split into one record per CVE like the
other OS feeds (os_advisories); ALBA/ALEA (bug-fix/enhancement errata) naming no CVE are not vulnerabilities and
are skipped. Severity is the Red Hat style word that prefixes the summary ("Important: openssl security update").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from vigil.inventory import records as inv
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.common import JsonObj, Skips
from vigil.vulndb.build.feeds.cvss import build_cvss, severity_from_cvss
from vigil.vulndb.build.feeds.os_advisories import CVE_ID, bullet_titles, per_vulnerability, vulnerability_ids
from vigil.vulndb.build.records import Feed
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage, Interval

ECOSYSTEMS = {
    "PyPI": inv.PYPI,
    "Go": inv.GO,
    "npm": inv.NPM,
    "crates.io": inv.CARGO,
    "RubyGems": inv.RUBYGEMS,
    "Packagist": inv.COMPOSER,
    "Maven": inv.MAVEN,
    "NuGet": inv.NUGET,
    "Hex": inv.HEX,
    "Pub": inv.PUB,
}


_ALMA = re.compile(r"AlmaLinux:(\d+)")


@cache
def _ecosystem(raw: str) -> str | None:
    """OSV ecosystem -> Vigil ecosystem: language ecosystems by name, "AlmaLinux:9" -> "alma:9"."""
    m = _ALMA.fullmatch(raw)
    if m:
        return inv.os_ecosystem(inv.ALMA, m.group(1))
    return ECOSYSTEMS.get(raw)


def _go_version(version: str) -> str:
    return version if version.startswith("v") else "v" + version


def _intervals_from_events(events: list[object], where: str, fix: list[str], go: bool) -> list[Interval]:
    out: list[Interval] = []
    open_lo: str | None = None
    is_open = False

    def bound(value: str) -> str:
        return _go_version(value) if go else value

    for raw in events:
        ev = common.as_dict(raw, f"{where}: events[]")
        if "introduced" in ev:
            intro = common.req_str(ev, "introduced", where)
            if is_open:  # two introduced in a row: the first stays open-ended
                out.append(Interval(lo=open_lo))
            open_lo = None if intro == "0" else bound(intro)
            is_open = True
        elif "fixed" in ev or "last_affected" in ev or "limit" in ev:
            key = "fixed" if "fixed" in ev else "last_affected" if "last_affected" in ev else "limit"
            value = bound(common.req_str(ev, key, where))
            if key == "fixed":
                fix.append(value)
            if not is_open and out:
                continue  # a closing event without an opening one after a closed interval: nothing to close
            if key == "limit" and value == "*":
                out.append(Interval(lo=open_lo))
            else:
                out.append(Interval(lo=open_lo, hi=value, hi_incl=key == "last_affected"))
            open_lo, is_open = None, False
        # other event kinds: ignored (forward compatibility)
    if is_open:
        out.append(Interval(lo=open_lo))
    return out


def _affected(raw: object, where: str, skips: Skips, record_id: str) -> AffectedPackage | None:
    aff = common.as_dict(raw, f"{where}: affected[]")
    pkg = common.opt_dict(aff, "package", where)
    ecosystem_raw = common.opt_str(pkg, "ecosystem", where)
    name = common.opt_str(pkg, "name", where)
    ecosystem = _ecosystem(ecosystem_raw)
    if ecosystem is None or not name:
        skips.skip(f"ecosystem {ecosystem_raw or '(none)'}", f"{record_id} {name}")
        return None
    go = ecosystem == inv.GO
    vulnerable: list[Interval] = []
    fixed: list[str] = []
    has_range = False
    for rraw in common.opt_list(aff, "ranges", where):
        rng = common.as_dict(rraw, f"{where}: ranges[]")
        rtype = common.opt_str(rng, "type", where)
        if rtype not in ("ECOSYSTEM", "SEMVER"):
            continue
        has_range = True
        vulnerable.extend(_intervals_from_events(common.opt_list(rng, "events", where), where, fixed, go))
    if not has_range:
        versions = common.str_list(aff, "versions", where)
        if not versions:
            skips.skip("no ECOSYSTEM/SEMVER range or versions (GIT-only)", f"{record_id} {name}")
            return None
        for v in versions:
            v = _go_version(v) if go else v
            vulnerable.append(Interval(lo=v, hi=v, hi_incl=True))
    elif not vulnerable:
        skips.skip("ranges without events", f"{record_id} {name}")
        return None
    return AffectedPackage(
        ecosystem=ecosystem,
        name=name,
        vulnerable=tuple(dict.fromkeys(vulnerable)),
        fixed=common.dedupe(fixed),
    )


def osv_to_record(
    doc: JsonObj, source: str, *, where: str = "", skips: Skips | None = None
) -> AdvisoryRecord | None:
    """Convert one OSV document; None when it is withdrawn or affects no package we can match (counted in
    `skips`). FeedError if it is structurally not an OSV record."""
    where = where or source
    skips = skips or Skips(source, where)
    record_id = common.req_str(doc, "id", where)
    if doc.get("withdrawn"):
        skips.skip("withdrawn", record_id)
        return None
    affected: list[AffectedPackage] = []
    for raw in common.opt_list(doc, "affected", where):
        pkg = _affected(raw, where, skips, record_id)
        if pkg is not None:
            affected.append(pkg)
    if not affected:
        skips.skip("no matchable affected package", record_id)
        return None

    vectors: dict[str, str] = {}
    for sraw in common.opt_list(doc, "severity", where):
        sev = common.as_dict(sraw, f"{where}: severity[]")
        stype = common.opt_str(sev, "type", where)
        score = common.opt_str(sev, "score", where)
        if stype in ("CVSS_V2", "CVSS_V3", "CVSS_V4") and stype not in vectors:
            vectors[stype] = score
    cvss = build_cvss(
        v2_vector=vectors.get("CVSS_V2", ""),
        v3_vector=vectors.get("CVSS_V3", ""),
        v40_vector=vectors.get("CVSS_V4", ""),
    )
    dbs = common.opt_dict(doc, "database_specific", where)
    severity = common.norm_severity(common.opt_str(dbs, "severity", where)) or severity_from_cvss(cvss)

    references: list[str] = []
    for rraw in common.opt_list(doc, "references", where):
        ref = common.as_dict(rraw, f"{where}: references[]")
        references.append(common.opt_str(ref, "url", where))

    return AdvisoryRecord(
        id=record_id,
        source=source,
        affected=tuple(affected),
        aliases=common.other_ids(common.str_list(doc, "aliases", where), record_id),
        title=common.opt_text(doc, "summary", where),
        description=common.opt_text(doc, "details", where),
        severity=severity,
        cvss=cvss,
        cwe_ids=common.dedupe(common.str_list(dbs, "cwe_ids", where)),
        references=common.dedupe(references),
        published=common.opt_date(doc, "published", where),
        modified=common.opt_date(doc, "modified", where),
    )


def _parse_jsonl(source: str, filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = Skips(source, filename)
    records: list[AdvisoryRecord] = []
    for where, doc in common.iter_jsonl(filename, data):
        rec = osv_to_record(doc, source, where=where, skips=skips)
        if rec is not None:
            records.append(rec)
    yield from common.finish(records, skips)


ALMA = "almalinux-osv"
_ALMA_SEVERITY = re.compile(r"(Low|Moderate|Important|Critical):")


def _alma_affected(raw: object, where: str, severity: str, skips: Skips) -> AffectedPackage | None:
    """One AlmaLinux `affected[]` entry. A leaner twin of _affected (errata have ECOSYSTEM ranges only and ~71,000
    entries, so the per-entry work matters for the build time); `fixed` is left empty — it would repeat the
    intervals' upper bounds, AffectedPackage's fallback — to keep these ~230,000 DB rows small."""
    aff = common.as_dict(raw, f"{where}: affected[]")
    pkg = common.opt_dict(aff, "package", where)
    ecosystem_raw = common.opt_str(pkg, "ecosystem", where)
    name = common.opt_str(pkg, "name", where)
    ecosystem = _ecosystem(ecosystem_raw)
    if ecosystem is None or not ecosystem.startswith(inv.ALMA + ":") or not name:
        skips.skip(f"ecosystem {ecosystem_raw or '(none)'}", name)
        return None
    vulnerable: list[Interval] = []
    for rraw in common.opt_list(aff, "ranges", where):
        rng = common.as_dict(rraw, f"{where}: ranges[]")
        if common.opt_str(rng, "type", where) == "ECOSYSTEM":
            vulnerable.extend(_intervals_from_events(common.opt_list(rng, "events", where), where, [], False))
    if not vulnerable:
        skips.skip("no ECOSYSTEM range", name)
        return None
    return AffectedPackage(ecosystem=ecosystem, name=name, vulnerable=tuple(dict.fromkeys(vulnerable)),
                           severity=severity)


def parse_alma(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = Skips(ALMA, filename)
    records: list[AdvisoryRecord] = []
    for where, doc in common.iter_jsonl(filename, data):
        record_id = common.req_str(doc, "id", where)
        related = common.str_list(doc, "related", where)
        ids = [i for i in (*related, *common.str_list(doc, "aliases", where)) if CVE_ID.fullmatch(i)]
        if doc.get("withdrawn"):
            skips.skip("withdrawn", record_id)
            continue
        if not ids and not record_id.startswith("ALSA-"):
            skips.skip("bug-fix/enhancement erratum without CVE", record_id)
            continue
        summary = common.opt_text(doc, "summary", where)
        m = _ALMA_SEVERITY.match(summary)
        severity = common.norm_severity(m.group(1)) if m else ""
        affected = [
            a for a in (_alma_affected(raw, where, severity, skips) for raw in common.opt_list(doc, "affected", where))
            if a is not None
        ]
        if not affected:
            skips.skip("no matchable affected package", record_id)
            continue
        urls = [common.opt_str(common.as_dict(r, f"{where}: references[]"), "url", where)
                for r in common.opt_list(doc, "references", where)]
        records.extend(
            per_vulnerability(
                vulnerability_ids([*ids, record_id]),
                affected,
                source=ALMA,
                severity=severity,
                titles=bullet_titles(common.opt_str(doc, "details", where)),
                references=[u for u in urls if "errata" in u] or urls,
                published=common.opt_date(doc, "published", where),
                modified=common.opt_date(doc, "modified", where),
            )
        )
    yield from common.finish(records, skips)


def parse_pypa(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    return _parse_jsonl("pypa", filename, data)


def parse_go(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    return _parse_jsonl("go-vulndb", filename, data)


def parse_ghsa(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    return _parse_jsonl("ghsa", filename, data)


FEED_PYPA = Feed(
    name="pypa",
    title="Python Packaging Advisory Database",
    url="https://github.com/pypa/advisory-database",
    paths=("pypa/*.jsonl.gz",),
    kind="advisories",
    parse=parse_pypa,
)
FEED_GO = Feed(
    name="go-vulndb",
    title="Go Vulnerability Database",
    url="https://pkg.go.dev/vuln/",
    paths=("go-vulndb/go-vulndb-osv.jsonl.gz",),
    kind="advisories",
    parse=parse_go,
)
FEED_GHSA = Feed(
    name="ghsa",
    title="GitHub Security Advisory Database",
    url="https://github.com/advisories",
    paths=("ghsa-subset/*.jsonl.gz",),
    kind="advisories",
    parse=parse_ghsa,
)
FEED_ALMA = Feed(
    name=ALMA,
    title="AlmaLinux Errata (OSV)",
    url="https://github.com/AlmaLinux/osv-database",
    paths=("almalinux/*.jsonl.gz",),
    kind="advisories",
    parse=parse_alma,
)
FEEDS = (FEED_PYPA, FEED_GO, FEED_GHSA, FEED_ALMA)
