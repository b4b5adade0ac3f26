"""Retire.js vulnerability repositories.

FEED ("retire.js", npmrepository.json): npm packages, keyed by package name (mostly nsp-era data).
FEED_JSLIBS ("retire.js-jslibs", jsrepository.json): JavaScript libraries that retire.js detects in browser files.
Its ranges are the libraries' release versions, which for the libraries published on npm are the npm package
versions; it is the only permissively licensed source we have with the lodash CVE-2019-10744 / CVE-2020-8203 /
CVE-2021-23337 ranges (GHSA ids included). A library maps to an npm package through the entry's own `npmname`, else
its `basePurl` (pkg:npm/…), else its component name when that is a valid lower-case npm name ("lodash", "axios",
"handlebars"); other components (e.g. "ExtJS", "YUI" without npmname) are skipped. Kept as a separate feed so the
builder can rank or disable it independently.

Each vulnerability entry {atOrAbove?, below, severity, identifiers{CVE[], githubID, summary}, info[]} becomes one
advisory: vulnerable = [atOrAbove, below), fixed = below.

id = the entry's CVE when it names exactly one; an entry naming several CVEs is one advisory about several
vulnerabilities, so its id is its GHSA id (else its NSWG-ECO id, else its first CVE); an entry without a CVE takes its
GHSA id, else its NSWG-ECO id; entries with none of these are skipped (they could not be merged with the same
vulnerability from other feeds and would duplicate it). The other CVEs, the GHSA id and "NSWG-ECO-<n>" for
nodesecurity.io/advisories/<n> links become aliases. Entries that share an id for one package merge (their ranges
are unioned). Caveat from the data: retire.js' CVE lists are loose — lodash GHSA-35jh-r3h4-6jhm (<4.17.21, the
original CVE-2021-23337) and GHSA-r5fr-rjxr-66jc (>=4.0.0 <4.18.0, the 2026 follow-up CVE-2026-4800) both list
"CVE-2021-23337, CVE-2026-4800". Keyed by the first CVE they used to merge into one advisory CVE-2021-23337 covering
<4.18.0 (lodash 4.17.21, fixed for CVE-2021-23337, was reported as vulnerable to it). Keyed by GHSA they stay two
advisories, and the builder decides which CVE each is about (vulndb.build.builder.vulnerability_ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from vigil.inventory import records as inv
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.common import JsonObj
from vigil.vulndb.build.records import Feed, FeedError
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage, Interval

NAME = "retire.js"
NAME_JSLIBS = "retire.js-jslibs"

_NPM_NAME = re.compile(r"^(?:@[a-z0-9\-~][a-z0-9\-._~]*/)?[a-z0-9\-~][a-z0-9\-._~]*$")
_NSP_URL = re.compile(r"nodesecurity\.io/advisories/(\d+)")
# retire.js' own sample entry, not a real library.
_NOT_LIBRARIES = frozenset({"retire-example"})


def _npm_name(component: str, entry: JsonObj, where: str) -> str:
    npmname = common.opt_str(entry, "npmname", where).strip()
    if npmname:
        return npmname
    purl = common.opt_str(entry, "basePurl", where).strip()
    if purl.startswith("pkg:npm/"):
        return purl[len("pkg:npm/") :].replace("%40", "@")
    if _NPM_NAME.match(component) and component not in _NOT_LIBRARIES:
        return component
    return ""


def _convert(
    source: str, component: str, package: str, index: int, raw: object, where: str, skips: common.Skips
) -> AdvisoryRecord | None:
    vuln = common.as_dict(raw, f"{where}: vulnerabilities[{index}]")
    below = common.opt_str(vuln, "below", where).strip()
    at_or_above = common.opt_str(vuln, "atOrAbove", where).strip()
    if not below and not at_or_above:
        skips.skip("no range", f"{component}[{index}]")
        return None
    ids = common.opt_dict(vuln, "identifiers", where)
    cves = [c.strip() for c in common.str_list(ids, "CVE", where) if c.strip()]
    ghsa = common.opt_str(ids, "githubID", where).strip()
    info = common.str_list(vuln, "info", where)
    nsp = [f"NSWG-ECO-{m.group(1)}" for url in info for m in [_NSP_URL.search(url)] if m]
    if not (cves or ghsa or nsp):
        # No CVE/GHSA/NSWG identifier: such an entry cannot be merged with the same vulnerability from other
        # sources and would be reported twice (e.g. lodash "prototype pollution" = CVE-2020-8203), so it is
        # skipped and counted rather than given a synthetic ID.
        skips.skip("no identifier", f"{component}[{index}]")
        return None
    if len(cves) == 1:
        record_id = cves[0]
    elif cves:  # several CVEs: merging entries by the first one would merge different vulnerabilities
        record_id = ghsa or (nsp[0] if nsp else cves[0])
    else:
        record_id = ghsa or nsp[0]
    aliases = common.dedupe(a for a in [*cves, ghsa, *nsp] if a != record_id)
    lo = None if at_or_above in ("", "0") else at_or_above
    interval = Interval(lo=lo, hi=below or None)
    summary = common.opt_str(ids, "summary", where).strip()
    cwes = common.str_list(vuln, "cwe", where)
    title = summary.splitlines()[0][:200] if summary else ""
    return AdvisoryRecord(
        id=record_id,
        source=source,
        affected=(
            AffectedPackage(
                ecosystem=inv.NPM,
                name=package,
                vulnerable=(interval,),
                fixed=(below,) if below else (),
            ),
        ),
        aliases=aliases,
        title=title,
        description=summary if summary != title else "",
        severity=common.norm_severity(common.opt_str(vuln, "severity", where)),
        cwe_ids=common.dedupe(cwes),
        references=common.dedupe(info),
    )


def _parse(source: str, filename: str, data: bytes, *, libraries: bool) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(source, filename)
    doc = common.decode_json_object(filename, data)
    records: list[AdvisoryRecord] = []
    for component, raw in doc.items():
        where = f"{filename}: {component}"
        if not isinstance(raw, dict):
            raise FeedError(f"{where}: expected an object")
        if libraries:
            package = _npm_name(component, raw, where)
            if not package:
                skips.skip("no npm package name", component)
                continue
        else:
            package = component
        for index, vraw in enumerate(common.opt_list(raw, "vulnerabilities", where)):
            rec = _convert(source, component, package, index, vraw, where, skips)
            if rec is not None:
                records.append(rec)
    merged = common.merge_by_id(records)
    skips.parsed = len(merged)
    skips.done()
    yield from merged


def parse(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    return _parse(NAME, filename, data, libraries=False)


def parse_jslibs(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    return _parse(NAME_JSLIBS, filename, data, libraries=True)


FEED = Feed(
    name=NAME,
    title="Retire.js (npm packages)",
    url="https://github.com/RetireJS/retire.js",
    paths=("retirejs/npmrepository.json.gz",),
    kind="advisories",
    parse=parse,
)
FEED_JSLIBS = Feed(
    name=NAME_JSLIBS,
    title="Retire.js (JavaScript libraries published on npm)",
    url="https://github.com/RetireJS/retire.js",
    paths=("retirejs/jsrepository.json.gz",),
    kind="advisories",
    parse=parse_jslibs,
)
FEEDS = (FEED, FEED_JSLIBS)
