"""Rocky Linux OVAL (org.rockylinux.rlsa-<major>.xml): Red Hat style patch definitions, streamed (os_advisories).

- Each `<definition class="patch">` is one RLSA; its title ends with the Red Hat style severity
  ("RLSA-2022:4582: gzip security update (Important)"), also given in `<advisory><severity>`
  (Important -> HIGH, Moderate -> MEDIUM, Low, Critical).
- The file names no CVE in `<reference>`s (only the RLSA); the CVEs are read from the description, whose
  "* gzip: arbitrary-file-write vulnerability (CVE-2022-1271)" bullets also give each CVE its own title.
- Criteria reference `rpminfo_test`s: object = binary rpm name, state = `<evr operation="less than">` (fixed
  EVR, epoch dropped when 0). The `rpmverifyfile` test (is rocky-release installed) names no package.
  Architecture patterns in states are ignored: they list every architecture Rocky builds.
- Release from the advisory's CPE ("cpe:/o:rocky:rocky:9:GA"), else from the file name; ecosystem "rocky:9".
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from vigil.inventory.records import ROCKY, os_ecosystem
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.os_advisories import (
    CVE_ID,
    bullet_titles,
    child,
    child_text,
    fixed_below,
    local,
    per_vulnerability,
    read_oval,
    vulnerability_ids,
)
from vigil.vulndb.build.records import Feed, FeedError
from vigil.vulndb.records import AdvisoryRecord

NAME = "rocky-oval"
_CPE = re.compile(r"cpe:/o:rocky:rocky:(\d+)")
_FILE = re.compile(r"rlsa-(\d+)\.xml")
_TITLE_ID = re.compile(r"(RLSA-\d{4}:\d+)")


def parse(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(NAME, filename)
    doc = read_oval(filename, data, "rpminfo_test", "rpminfo_object", "rpminfo_state")
    m = _FILE.search(filename)
    file_release = m.group(1) if m else ""
    records: list[AdvisoryRecord] = []
    for d in doc.definitions:
        if d.cls != "patch" or d.metadata is None:
            continue
        meta = d.metadata
        title = child_text(meta, "title")
        rlsa = next(
            (r.get("ref_id", "") for r in meta if local(r.tag) == "reference" and r.get("source") == "RLSA"), ""
        )
        if not rlsa:
            tm = _TITLE_ID.match(title)
            rlsa = tm.group(1) if tm else ""
        if not rlsa:
            raise FeedError(f"{filename}: definition {d.id or '?'} has no RLSA reference or title")
        advisory = child(meta, "advisory")
        cm = _CPE.match(advisory.get("from", "")) if advisory is not None else None
        release = cm.group(1) if cm else file_release
        if not release:
            skips.skip("no release (CPE or file name)", rlsa)
            continue
        pairs = doc.packages(d)
        if not pairs:
            skips.skip("no package test", rlsa)
            continue
        ecosystem = os_ecosystem(ROCKY, release)
        severity = common.norm_severity(child_text(advisory, "severity"))
        description = child_text(meta, "description")
        cves = [r.get("ref_id", "") for r in meta if local(r.tag) == "reference" and r.get("source") == "CVE"]
        cves += CVE_ID.findall(description)
        issued = child(advisory, "issued")
        updated = child(advisory, "updated")
        records.extend(
            per_vulnerability(
                vulnerability_ids([*cves, rlsa]),
                [fixed_below(ecosystem, name, fixed, severity) for name, fixed in pairs],
                source=NAME,
                severity=severity,
                titles=bullet_titles(description),
                references=[f"https://errata.rockylinux.org/{rlsa}"],
                published=common.norm_date(issued.get("date", "")) if issued is not None else "",
                modified=common.norm_date(updated.get("date", "")) if updated is not None else "",
            )
        )
    yield from common.finish(records, skips)


FEED = Feed(
    name=NAME,
    title="Rocky Linux Security Advisories (OVAL)",
    url="https://errata.rockylinux.org/",
    paths=("rocky-oval/org.rockylinux.rlsa-*.xml.gz", "rocky-oval/org.rockylinux.rlsa-*.xml"),
    kind="advisories",
    parse=parse,
)
FEEDS = (FEED,)
