"""Ubuntu USN OVAL (com.ubuntu.<codename>.usn.oval.xml), streamed with ElementTree.iterparse (os_advisories).

- Each `<definition class="patch">` is one USN: `<reference source="CVE">` entries name its CVEs, `<advisory>`
  has the USN severity and one `<cve priority=…>` per CVE (Ubuntu's per-CVE priority, which Trivy uses as the
  Ubuntu severity; negligible counts as LOW, untriaged as unrated).
- Its criteria reference `dpkginfo_test`s; a test pairs an object (package names, inline or through a
  `constant_variable`) with a state (`<evr operation="less than">` = the fixed version). Tests of other kinds
  (kernel livepatch `uname`/file checks, the "release is installed" check) name no package and are ignored.
- The release comes from the inventory definition ("Check that Ubuntu 24.04 LTS (noble) is installed."), else
  from the codename in the file name. Ecosystem "ubuntu:24.04".
- Names are BINARY package names: USN OVAL lists the binaries a fix ships (libssl3t64, openssl, …) and carries no
  source-package name, so the records use those names; OSMatcher looks Ubuntu packages up by binary name as well
  as by source name (see detectors/vuln/ospkg.py). Every binary of one source gets the same fixed version.
- USNs only announce fixes: this feed has no unfixed entries. A zero epoch ("0:") is dropped.
- Per-CVE text: USN descriptions are paragraphs each ending in "(CVE-…)"; each CVE gets its own paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from vigil.inventory.records import UBUNTU, os_ecosystem
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.cvss import build_cvss
from vigil.vulndb.build.feeds.os_advisories import (
    CVE_ID,
    OvalDefinition,
    child,
    child_text,
    fixed_below,
    local,
    per_vulnerability,
    read_oval,
)
from vigil.vulndb.build.records import Feed, FeedError
from vigil.vulndb.records import AdvisoryRecord, CvssScore

NAME = "ubuntu-oval"

# Codename -> release (distro-info-data ubuntu.csv); used only when the file has no inventory definition.
CODENAMES = {
    "trusty": "14.04", "xenial": "16.04", "bionic": "18.04", "focal": "20.04", "jammy": "22.04",
    "kinetic": "22.10", "lunar": "23.04", "mantic": "23.10", "noble": "24.04", "oracular": "24.10",
    "plucky": "25.04", "questing": "25.10",
}
PRIORITY = {"negligible": "LOW", "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "critical": "CRITICAL"}
_RELEASE = re.compile(r"Ubuntu (\d+\.\d+)")
_FILE = re.compile(r"com\.ubuntu\.([a-z]+)\.")
_PARAGRAPH = re.compile(r"\s*(.*?)\s*\(((?:CVE-\d{4}-\d{4,}(?:,\s*)?)+)\)", re.DOTALL)


def cve_paragraphs(description: str, cves: tuple[str, ...]) -> dict[str, str]:
    """CVE -> the paragraph of a USN description that ends with "(CVE-…)"; a USN for a single CVE often has no
    such suffix, and then its whole text is that CVE's."""
    text = description.split("Update Instructions:", 1)[0]
    text = " ".join(text.split("Original advisory details:", 1)[-1].split())
    if len(cves) == 1 and "(CVE-" not in text:
        return {cves[0]: text} if text else {}
    out: dict[str, str] = {}
    for m in _PARAGRAPH.finditer(text):
        para = m.group(1).strip()
        if para:
            for cve in CVE_ID.findall(m.group(2)):
                out.setdefault(cve, para)
    return out


def _cvss(vector: str) -> CvssScore | None:
    """Ubuntu's CVSS v3 vector for a CVE (scored by cvss.build_cvss); None when absent or not a v3 vector."""
    if not vector.startswith("CVSS:3."):
        return None
    return build_cvss(v3_vector=vector)


def _release(filename: str, definitions: list[OvalDefinition]) -> str:
    for d in definitions:
        if d.cls == "inventory":
            m = _RELEASE.search(child_text(d.metadata, "title"))
            if m:
                return m.group(1)
    m = _FILE.search(filename)
    release = CODENAMES.get(m.group(1), "") if m else ""
    if not release:
        raise FeedError(f"{filename}: cannot tell which Ubuntu release this OVAL file is for")
    return release


def parse(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(NAME, filename)
    doc = read_oval(filename, data, "dpkginfo_test", "dpkginfo_object", "dpkginfo_state")
    ecosystem = os_ecosystem(UBUNTU, _release(filename, doc.definitions))
    records: list[AdvisoryRecord] = []
    for d in doc.definitions:
        if d.cls != "patch" or d.metadata is None:
            continue
        meta = d.metadata
        title = child_text(meta, "title")
        usn = next(
            (r.get("ref_id", "") for r in meta if local(r.tag) == "reference" and r.get("source") == "USN"), ""
        ) or title.split(" ", 1)[0]
        if not usn:
            raise FeedError(f"{filename}: definition {d.id or '?'} has no USN reference or title")
        pairs = doc.packages(d)
        if not pairs:
            skips.skip("no package test (kernel livepatch or release check)", usn)
            continue
        cves = [
            r.get("ref_id", "")
            for r in meta
            if local(r.tag) == "reference" and r.get("source") == "CVE" and CVE_ID.fullmatch(r.get("ref_id", ""))
        ]
        advisory = child(meta, "advisory")
        usn_severity = PRIORITY.get(child_text(advisory, "severity").lower(), "")
        issued = child(advisory, "issued")
        priorities: dict[str, str] = {}
        vectors: dict[str, str] = {}
        for c in advisory if advisory is not None else ():
            if local(c.tag) == "cve":
                cve = (c.text or "").strip()
                priorities[cve] = PRIORITY.get(c.get("priority", "").lower(), "")
                vectors[cve] = c.get("cvss_vector", "")
        unique = common.dedupe(cves)
        paragraphs = cve_paragraphs(child_text(meta, "description"), unique)
        for vid in unique or (usn,):
            severity = priorities.get(vid) or usn_severity
            records.extend(
                per_vulnerability(
                    (vid,),
                    [fixed_below(ecosystem, name, fixed, severity) for name, fixed in pairs],
                    source=NAME,
                    severity=severity,
                    descriptions=paragraphs,
                    references=[f"https://ubuntu.com/security/notices/{usn}"],
                    published=common.norm_date(issued.get("date", "")) if issued is not None else "",
                    cvss=_cvss(vectors.get(vid, "")),
                )
            )
    yield from common.finish(records, skips)


FEED = Feed(
    name=NAME,
    title="Ubuntu Security Notices (OVAL)",
    url="https://security-metadata.canonical.com/oval/",
    paths=("ubuntu-oval/*.usn.oval.xml.gz", "ubuntu-oval/*.usn.oval.xml"),
    kind="advisories",
    parse=parse,
)
FEEDS = (FEED,)
