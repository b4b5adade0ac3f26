"""Filters applied after detection: severity, --ignore-unfixed, ignore files with expiry.

Findings removed by an ignore file stay in the report (Metadata.Suppressed) with the reason (ARCHITECTURE.md §10).

`.vigilignore` format (Trivy's .trivyignore): one ID per line, `#` starts a comment, an optional `exp:YYYY-MM-DD`
after the ID. Like Trivy, the expiry date is the first day on which the entry no longer applies (it expires at
00:00 UTC that day). Expired entries do not suppress and are reported as warnings. An ID matches a finding's
ID or any of its aliases (GHSA ↔ CVE ↔ PYSEC ...).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import msgspec

from vigil.findings.records import Report, Result, SuppressedFinding, Vulnerability

_EXP = re.compile(r"^exp:(\d{4}-\d{2}-\d{2})$")


class IgnoreFileError(Exception):
    """Malformed ignore file (user error)."""


@dataclass(frozen=True)
class IgnoreEntry:
    id: str
    line: int
    expires: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today >= self.expires


def parse_ignorefile(text: str, name: str = ".vigilignore") -> list[IgnoreEntry]:
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        exp: dt.date | None = None
        for extra in fields[1:]:
            m = _EXP.match(extra)
            if not m:
                raise IgnoreFileError(f"{name}:{n}: unexpected {extra!r} (expected 'ID [exp:YYYY-MM-DD]')")
            try:
                exp = dt.date.fromisoformat(m.group(1))
            except ValueError:
                raise IgnoreFileError(f"{name}:{n}: invalid date {m.group(1)!r}") from None
        out.append(IgnoreEntry(id=fields[0], line=n, expires=exp))
    return out


@dataclass(frozen=True)
class Filters:
    severities: tuple[str, ...]
    ignore_unfixed: bool = False
    ignores: tuple[IgnoreEntry, ...] = ()
    today: dt.date | None = None


def expiry_warnings(entries: tuple[IgnoreEntry, ...], today: dt.date, name: str) -> list[str]:
    return [
        f"{name}:{e.line}: ignore entry for {e.id} expired on {e.expires.isoformat()} and no longer applies"
        for e in entries
        if e.expires is not None and e.expired(today)
    ]


def apply(report: Report, f: Filters) -> Report:
    today = f.today or dt.datetime.now(dt.UTC).date()
    active: dict[str, IgnoreEntry] = {e.id: e for e in f.ignores if not e.expired(today)}
    suppressed: list[SuppressedFinding] = list(report.metadata.suppressed)
    sev = set(f.severities)
    new_results: list[Result] = []
    for res in report.results:
        kept: list[Vulnerability] = []
        for v in res.vulnerabilities:
            if v.severity not in sev:
                continue
            if f.ignore_unfixed and v.status != "fixed":
                continue
            hit = next((active[i] for i in (v.vulnerability_id, *v.aliases) if i in active), None)
            if hit is not None:
                reason = f"ignore file line {hit.line}: {hit.id}"
                if hit.expires:
                    reason += f" (until {hit.expires.isoformat()})"
                suppressed.append(
                    SuppressedFinding(
                        target=res.target, vulnerability_id=v.vulnerability_id, pkg_name=v.pkg_name, reason=reason
                    )
                )
                continue
            kept.append(v)
        new_results.append(_replace_vulns(res, tuple(kept)))
    meta = msgspec.structs.replace(report.metadata, suppressed=tuple(suppressed))
    return msgspec.structs.replace(report, results=tuple(new_results), metadata=meta)


def _replace_vulns(res: Result, vulns: tuple[Vulnerability, ...]) -> Result:
    return msgspec.structs.replace(res, vulnerabilities=vulns)
