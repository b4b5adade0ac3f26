"""Helpers shared by the report formats: reproducible IDs and timestamps, severity scores, flattened findings.

Every output is a pure function of the Report: timestamps come from Report.created_at and UUIDs/serial numbers
are derived from a hash of the report, so the same report renders byte-identically (golden files, `vigil
convert`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

import msgspec

from vigil.findings.records import Report, Result, Vulnerability
from vigil.inventory.records import Package

INFO_URI = "https://github.com/vigil-scanner/vigil"
TOOL_NAME = "Vigil"

# SARIF security-severity for a severity without a CVSS score (Trivy's mapping).
SEVERITY_SCORE = {"CRITICAL": 9.5, "HIGH": 8.0, "MEDIUM": 5.5, "LOW": 2.0, "UNKNOWN": 0.0}


def report_digest(report: Report) -> str:
    return hashlib.sha256(msgspec.json.encode(report)).hexdigest()


def report_uuid(report: Report, salt: str = "") -> uuid.UUID:
    """A UUID derived from the report's content (same report -> same UUID)."""
    return uuid.UUID(bytes=hashlib.sha256((report_digest(report) + salt).encode()).digest()[:16], version=4)


def created(report: Report) -> dt.datetime:
    try:
        return dt.datetime.strptime(report.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def created_iso(report: Report) -> str:
    return created(report).strftime("%Y-%m-%dT%H:%M:%SZ")


def cvss_score(v: Vulnerability) -> float | None:
    """Highest CVSS score of the finding across sources (v4.0, then v3, then v2 per source), or None."""
    best: float | None = None
    for c in v.cvss.values():
        s = c.v40_score or c.v3_score or c.v2_score
        if s and (best is None or s > best):
            best = s
    return best


def security_severity(v: Vulnerability) -> float:
    s = cvss_score(v)
    return s if s is not None else SEVERITY_SCORE[v.severity]


@dataclass(frozen=True)
class Line:
    start: int
    end: int


def vuln_line(res: Result, v: Vulnerability) -> Line | None:
    """The package's first location in the lockfile, when the analyzer recorded one."""
    for p in res.packages:
        if (p.id and p.id == v.pkg_id) or (not v.pkg_id and p.name == v.pkg_name and p.version == v.installed_version):
            if p.locations:
                return Line(p.locations[0].start_line, p.locations[0].end_line)
            return None
    return None




def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


def vuln_title(v: Vulnerability) -> str:
    return v.title or first_line(v.description) or v.vulnerability_id


def result_packages(res: Result) -> list[Package]:
    """The result's packages; when the report lists none (no --list-all-pkgs), the vulnerable ones."""
    if res.packages:
        return list(res.packages)
    seen: dict[str, Package] = {}
    for v in res.vulnerabilities:
        key = v.pkg_id or f"{v.pkg_name}@{v.installed_version}"
        if key not in seen:
            eco = v.purl[4:].split("/", 1)[0] if v.purl.startswith("pkg:") else ""
            seen[key] = Package(ecosystem=eco, name=v.pkg_name, version=v.installed_version, id=key, purl=v.purl)
    return list(seen.values())
