"""Helpers shared by the OS advisory feeds (alpine_secdb, debian, ubuntu_oval, rocky_oval, AlmaLinux in osv).

One record per vulnerability: distro advisories (DSA, USN, RLSA, ALSA) each fix several CVEs, but scanners report
CVE IDs for OS packages (Trivy's OS buckets are keyed by CVE). A record naming several CVEs would keep the
advisory's own ID in the builder's canonical-ID rule, so every OS ETL splits an advisory into one record per CVE
(id = the CVE, no aliases). The vendor advisory is kept as a reference URL rather than as an alias: an alias
links every CVE of a multi-CVE advisory into one alias group, which would change how language advisories that
reach those CVEs through GHSA chains are canonicalised. Advisories without any CVE keep their own ID.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from io import BytesIO

from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.records import FeedError
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage, CvssScore, Interval

CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")


def strip_zero_epoch(version: str) -> str:
    """"0:1.10-9.el9_0" -> "1.10-9.el9_0": OVAL writes every EVR with an epoch, but an absent epoch is 0 in both
    dpkg and rpm ordering, and installed versions (and Trivy's FixedVersion) omit a zero epoch."""
    return version[2:] if version.startswith("0:") else version


def fixed_below(ecosystem: str, name: str, fixed: str, severity: str = "") -> AffectedPackage:
    """A package vulnerable below `fixed` (the distro feeds' only rule: installed < fixed version). `fixed` is
    left empty: the fix is the interval's exclusive upper bound (AffectedPackage's documented fallback), and the
    OS feeds store hundreds of thousands of these rows, so not repeating the version keeps the DB smaller."""
    return AffectedPackage(ecosystem=ecosystem, name=name, vulnerable=(Interval(hi=fixed),), severity=severity)


def unfixed(ecosystem: str, name: str, severity: str = "") -> AffectedPackage:
    """Every version affected, no fix yet (reported with status "affected")."""
    return AffectedPackage(ecosystem=ecosystem, name=name, severity=severity)


def vulnerability_ids(ids: Iterable[str]) -> tuple[str, ...]:
    """The IDs one record per vulnerability is made for: the CVEs, or the advisory's own ID when it names none."""
    all_ids = common.dedupe(ids)
    cves = tuple(i for i in all_ids if i.startswith("CVE-") and CVE_ID.fullmatch(i))
    return cves or all_ids[:1]


def per_vulnerability(
    vuln_ids: Iterable[str],
    affected: Iterable[AffectedPackage],
    *,
    source: str,
    severity: str = "",
    titles: dict[str, str] | None = None,
    descriptions: dict[str, str] | None = None,
    references: Iterable[str] = (),
    published: str = "",
    modified: str = "",
    cvss: CvssScore | None = None,
) -> Iterator[AdvisoryRecord]:
    """One AdvisoryRecord per ID in `vuln_ids` (as vulnerability_ids() chose them), all affecting `affected` (see
    the module docstring). `titles`/`descriptions` map a CVE to its own text where the advisory has per-CVE text."""
    pkgs = tuple(affected)
    if not pkgs:
        return
    refs = common.dedupe(references)
    titles = titles or {}
    descriptions = descriptions or {}
    for vid in vuln_ids:
        yield AdvisoryRecord(
            id=vid,
            source=source,
            affected=pkgs,
            title=titles.get(vid, ""),
            description=descriptions.get(vid, ""),
            severity=severity,
            references=refs,
            published=published,
            modified=modified,
            cvss=cvss,
        )


# Per-CVE titles in Red Hat style errata text ("* gzip: arbitrary-file-write vulnerability (CVE-2022-1271)").
_BULLET = re.compile(r"^\s*\*\s*(.+?)\s*\(((?:CVE-\d{4}-\d{4,}[,\s]*)+)\)\s*$", re.MULTILINE)


def bullet_titles(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _BULLET.finditer(text):
        for cve in CVE_ID.findall(m.group(2)):
            out.setdefault(cve, m.group(1))
    return out


# ------------------------------------------------------------------------------------------------ OVAL (XML)


def local(tag: str) -> str:
    """"{http://oval.mitre.org/XMLSchema/oval-definitions-5}definition" -> "definition"."""
    return tag.rpartition("}")[2]


def iter_xml(filename: str, data: bytes) -> Iterator[ET.Element]:
    """Stream the elements of an XML document as they end (iterparse), turning every parse problem into a
    FeedError naming the file. Callers clear() what they have consumed, so memory stays bounded by one
    definition, not by the document."""
    try:
        for _event, elem in ET.iterparse(BytesIO(data), events=("end",)):
            yield elem
    except ET.ParseError as exc:
        raise FeedError(f"{filename}: invalid XML: {exc}") from exc


@dataclass
class OvalDefinition:
    """What the OS feeds need of one `<definition>`: its class, metadata element (kept whole: small) and the
    test IDs its criteria reference (whatever the AND/OR structure: every package test of a patch definition
    is one "installed < fixed" check)."""

    id: str
    cls: str
    metadata: ET.Element | None
    tests: list[str]


@dataclass
class OvalDocument:
    definitions: list[OvalDefinition] = field(default_factory=list)
    tests: dict[str, tuple[str, str]] = field(default_factory=dict)  # test id -> (object id, state id)
    objects: dict[str, tuple[str, str]] = field(default_factory=dict)  # object id -> (inline name, variable id)
    states: dict[str, str] = field(default_factory=dict)  # state id -> fixed version ("less than" EVR)
    variables: dict[str, list[str]] = field(default_factory=dict)  # constant_variable id -> values

    def packages(self, definition: OvalDefinition) -> dict[tuple[str, str], None]:
        """(package name, fixed version) pairs the definition's package tests name, in order, de-duplicated.
        Tests of other kinds (kernel/uname, file checks, release or signing-key checks) name none."""
        pairs: dict[tuple[str, str], None] = {}
        for test_id in definition.tests:
            obj_id, state_id = self.tests.get(test_id, ("", ""))
            fixed = self.states.get(state_id)
            if not fixed or obj_id not in self.objects:
                continue
            inline, var_id = self.objects[obj_id]
            for name in [inline] if inline else self.variables.get(var_id, []):
                if name:
                    pairs[(name, fixed)] = None
        return pairs


def child(parent: ET.Element | None, tag: str) -> ET.Element | None:
    if parent is None:
        return None
    return next((c for c in parent if local(c.tag) == tag), None)


def child_text(parent: ET.Element | None, tag: str) -> str:
    el = child(parent, tag)
    return (el.text or "").strip() if el is not None else ""


def read_oval(filename: str, data: bytes, test_tag: str, object_tag: str, state_tag: str) -> OvalDocument:
    """Stream an OVAL document (iterparse) into what the OS feeds use. `test_tag`/`object_tag`/`state_tag` are the
    package test kinds (dpkginfo_* for Ubuntu, rpminfo_* for Red Hat style feeds). Each element is cleared once
    read; only small tuples are kept. Only "less than" EVR states count: that is how OVAL patch definitions say
    "fixed in"; other operations are not fix statements."""
    doc = OvalDocument()
    root_seen = False
    for elem in iter_xml(filename, data):
        tag = local(elem.tag)
        if tag == "definition":
            criteria = child(elem, "criteria")
            tests = (
                [c.get("test_ref", "") for c in criteria.iter() if local(c.tag) == "criterion" and c.get("test_ref")]
                if criteria is not None
                else []
            )
            meta = child(elem, "metadata")
            doc.definitions.append(OvalDefinition(elem.get("id", ""), elem.get("class", ""), meta, tests))
            elem.clear()  # `meta` stays alive on its own; the criteria tree is not needed any more
        elif tag == test_tag:
            obj = child(elem, "object")
            ste = child(elem, "state")
            doc.tests[elem.get("id", "")] = (
                obj.get("object_ref", "") if obj is not None else "",
                ste.get("state_ref", "") if ste is not None else "",
            )
            elem.clear()
        elif tag == object_tag:
            name_el = child(elem, "name")
            if name_el is not None:
                doc.objects[elem.get("id", "")] = ((name_el.text or "").strip(), name_el.get("var_ref", ""))
            elem.clear()
        elif tag == state_tag:
            evr = child(elem, "evr")
            text = (evr.text or "").strip() if evr is not None else ""
            if evr is not None and evr.get("operation") == "less than" and text:
                doc.states[elem.get("id", "")] = strip_zero_epoch(text)
            elem.clear()
        elif tag == "constant_variable":
            doc.variables[elem.get("id", "")] = [(v.text or "").strip() for v in elem if local(v.tag) == "value"]
            elem.clear()
        elif tag in ("tests", "objects", "states", "variables"):
            elem.clear()
        elif tag == "oval_definitions":
            root_seen = True
    if not root_seen:
        raise FeedError(f"{filename}: not an OVAL definitions document")
    return doc
