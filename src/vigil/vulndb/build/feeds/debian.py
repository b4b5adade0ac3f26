"""Debian security tracker: DSA (stable releases) and DLA (LTS) lists, parsed to JSON lines
(`{id, date, source_package, title, cves[], fixed: [{release, package, fixed_version, note}], notes[]}`).

- Each `fixed` entry says: in release <codename>, SOURCE package <package> is fixed in <fixed_version>. The
  codename becomes the release's major version ("bullseye" -> "debian:11"); the name stays the source package,
  which is what Trivy matches Debian packages on (SrcName).
- `<not-affected>`: that release never had the bug -> no entry. `<unfixed>` / `<end-of-life>`: affected with no
  fix -> an entry with no intervals (every version affected, status "affected").
- One record per CVE (os_advisories); a DSA/DLA naming no CVE keeps its own ID. The same CVE fixed by several
  advisories (a DSA for stable and a DLA for LTS, or a regression update) becomes one record listing each
  (release, package, fix); the matcher reports the smallest fix above the installed version.
- DSA/DLA lists carry no severity (Trivy's Debian severity comes from the tracker's per-CVE urgency, which the
  lists do not have), so AffectedPackage.severity stays empty and NVD's rating applies.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from vigil.inventory.records import DEBIAN, os_ecosystem
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.os_advisories import fixed_below, per_vulnerability, unfixed, vulnerability_ids
from vigil.vulndb.build.records import Feed
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage

# Debian release codenames -> version (https://www.debian.org/releases/, distro-info-data debian.csv).
CODENAMES = {
    "buzz": "1.1", "rex": "1.2", "bo": "1.3", "hamm": "2.0", "slink": "2.1", "potato": "2.2", "woody": "3.0",
    "sarge": "3.1", "etch": "4", "lenny": "5", "squeeze": "6", "wheezy": "7", "jessie": "8", "stretch": "9",
    "buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14",
}
# A dpkg version starts with a digit (after an optional epoch) and has no white space.
_VERSION = re.compile(r"(\d+:)?\d\S*")
_NO_FIX = ("<unfixed>", "<end-of-life>")


def _tracker_url(advisory_id: str) -> str:
    return f"https://security-tracker.debian.org/tracker/{advisory_id}"


def _parse(source: str, filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(source, filename)
    affected: dict[str, list[AffectedPackage]] = defaultdict(list)
    meta: dict[str, tuple[str, str]] = {}  # vulnerability id -> (first advisory id, its date)
    refs: dict[str, list[str]] = defaultdict(list)
    for where, doc in common.iter_jsonl(filename, data):
        advisory_id = common.req_str(doc, "id", where)
        published = _date(common.opt_str(doc, "date", where))
        pkgs: list[AffectedPackage] = []
        for raw in common.opt_list(doc, "fixed", where):
            fix = common.as_dict(raw, f"{where}: fixed[]")
            release = common.opt_str(fix, "release", where)
            name = common.opt_str(fix, "package", where)
            version = common.opt_str(fix, "fixed_version", where).strip()
            codename = CODENAMES.get(release)
            if codename is None or not name:
                skips.skip(f"release {release or '(none)'}", f"{advisory_id} {name}")
                continue
            ecosystem = os_ecosystem(DEBIAN, codename)
            if version in _NO_FIX:
                pkgs.append(unfixed(ecosystem, name))
            elif version == "<not-affected>":
                skips.skip("not affected", f"{advisory_id} {name}")
            elif _VERSION.fullmatch(version):
                pkgs.append(fixed_below(ecosystem, name, version))
            else:
                skips.skip("not a version", f"{advisory_id} {name} {version!r}")
        if not pkgs:
            skips.skip("no affected release", advisory_id)
            continue
        for vid in vulnerability_ids(common.str_list(doc, "cves", where) or [advisory_id]):
            affected[vid].extend(pkgs)
            refs[vid].append(_tracker_url(advisory_id))
            if vid not in meta or (published and (not meta[vid][1] or published < meta[vid][1])):
                meta[vid] = (advisory_id, published)  # the first advisory that fixed it
    records: list[AdvisoryRecord] = []
    for vid, pkgs in affected.items():
        records.extend(
            per_vulnerability(
                (vid,),
                dict.fromkeys(pkgs),
                source=source,
                references=[_tracker_url(vid), *refs[vid]] if vid.startswith("CVE-") else refs[vid],
                published=meta[vid][1],
            )
        )
    yield from common.finish(records, skips)


_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                         "Nov", "Dec"), start=1)}
_DATE = re.compile(r"(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})")


def _date(text: str) -> str:
    """"29 Mar 2023" -> "2023-03-29" ("" if not in that form)."""
    m = _DATE.fullmatch(text.strip())
    if not m or m.group(2) not in _MONTHS:
        return ""
    return f"{m.group(3)}-{_MONTHS[m.group(2)]:02d}-{int(m.group(1)):02d}"


def parse_dsa(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    return _parse("debian-dsa", filename, data)


def parse_dla(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    return _parse("debian-dla", filename, data)


FEED_DSA = Feed(
    name="debian-dsa",
    title="Debian Security Advisories (DSA)",
    url="https://security-tracker.debian.org/tracker/data/DSA/list",
    paths=("debian/dsa-parsed.jsonl.gz",),
    kind="advisories",
    parse=parse_dsa,
)
FEED_DLA = Feed(
    name="debian-dla",
    title="Debian LTS Advisories (DLA)",
    url="https://security-tracker.debian.org/tracker/data/DLA/list",
    paths=("debian/dla-parsed.jsonl.gz",),
    kind="advisories",
    parse=parse_dla,
)
FEEDS = (FEED_DSA, FEED_DLA)
