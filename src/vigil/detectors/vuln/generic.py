"""Generic language-package matcher (ARCHITECTURE.md §5): `handles(pkg)`, `match(pkg, store)`.

A package is affected by a vulnerability when its installed version lies in an affected range of any advisory
for it (see vulndb.records.AffectedPackage). Advisories from several sources for the same vulnerability are
merged into one finding, listing every source and the range each matched (findings explain themselves, §10).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from functools import cache

from vigil.detectors.versions import InvalidVersion, scheme_for
from vigil.detectors.versions.interval import is_vulnerable, smallest_fix_above
from vigil.findings.records import (
    CVSS,
    SEVERITIES,
    DataSource,
    MatchDetail,
    Severity,
    Vulnerability,
)
from vigil.inventory.records import LANGUAGE_ECOSYSTEMS, Package
from vigil.vulndb.names import normalize
from vigil.vulndb.records import VulnDetail
from vigil.vulndb.store import AdvisoryRow, Store

log = logging.getLogger(__name__)

# Severity precedence (Trivy's autoDetectSeverity): the ecosystem's own database first, then GitHub, then NVD,
# then anything else. Sources not listed rank after ghsa.
GHSA, NVD = "ghsa", "nvd"


def _source_rank(source: str) -> int:
    if source == GHSA:
        return 1
    if source == NVD:
        return 3
    return 0


def primary_url(vuln_id: str) -> str:
    if vuln_id.startswith("CVE-"):
        return f"https://nvd.nist.gov/vuln/detail/{vuln_id}"
    if vuln_id.startswith("GHSA-"):
        return f"https://github.com/advisories/{vuln_id}"
    if vuln_id.startswith(("PYSEC-", "GO-", "RUSTSEC-", "OSV-")):
        return f"https://osv.dev/vulnerability/{vuln_id}"
    return ""


def choose_severity(rows: list[AdvisoryRow], detail: VulnDetail | None) -> tuple[Severity, str]:
    ranked = sorted({r.source for r in rows}, key=lambda s: (_source_rank(s), s))
    for r in sorted(rows, key=lambda r: (_source_rank(r.source), r.source)):
        if r.affected.severity in SEVERITIES:
            return r.affected.severity, r.source  # type: ignore[return-value]
    if detail is not None:
        vs = detail.vendor_severity
        for s in [*ranked, GHSA, NVD, *sorted(vs, key=lambda s: (_source_rank(s), s))]:
            sev = vs.get(s)
            if sev in SEVERITIES:
                return sev, s  # type: ignore[return-value]
    return "UNKNOWN", ""


class GenericMatcher:
    name = "generic"

    def __init__(self, store: Store) -> None:
        self.store = store
        self._feed_titles = {str(f["name"]): (str(f["title"]), str(f["url"])) for f in store.feeds()}
        self.unparsable_versions = 0

    def handles(self, pkg: Package) -> bool:
        return pkg.ecosystem in LANGUAGE_ECOSYSTEMS and bool(pkg.version)

    @cache  # noqa: B019 - one matcher per scan; the cache is the point
    def _data_source(self, source: str) -> DataSource:
        title, url = self._feed_titles.get(source, (source, ""))
        return DataSource(id=source, name=title, url=url)

    def match(self, pkg: Package) -> list[Vulnerability]:
        rows = self.store.advisories(pkg.ecosystem, normalize(pkg.ecosystem, pkg.name))
        if not rows:
            return []
        scheme = scheme_for(pkg.ecosystem)
        try:
            scheme.key(pkg.version)
        except InvalidVersion:
            self.unparsable_versions += 1
            log.debug("%s: version %r is not a valid %s version; not matched", pkg.name, pkg.version, scheme.name)
            return []
        hits: dict[str, list[tuple[AdvisoryRow, str]]] = defaultdict(list)
        for row in rows:
            ok, interval = is_vulnerable(scheme, pkg.version, row.affected)
            if ok:
                hits[row.vuln_id].append((row, interval.describe() if interval is not None else "*"))
        out = []
        for vuln_id, matched in hits.items():
            out.append(self._finding(pkg, vuln_id, matched))
        return out

    def _finding(self, pkg: Package, vuln_id: str, matched: list[tuple[AdvisoryRow, str]]) -> Vulnerability:
        scheme = scheme_for(pkg.ecosystem)
        detail = self.store.detail(vuln_id)
        rows = [r for r, _ in matched]
        fixes = [f for f in (smallest_fix_above(scheme, pkg.version, r.affected) for r in rows) if f]
        fixed = ""
        if fixes:
            fixed = min(fixes, key=scheme.key)
        severity, severity_source = choose_severity(rows, detail)
        sources = sorted({r.source for r in rows}, key=lambda s: (_source_rank(s), s))
        cvss = {}
        if detail is not None:
            for src, c in detail.cvss.items():
                cvss[src] = CVSS(
                    v2_vector=c.v2_vector, v2_score=c.v2_score, v3_vector=c.v3_vector, v3_score=c.v3_score,
                    v40_vector=c.v40_vector, v40_score=c.v40_score,
                )
        return Vulnerability(
            vulnerability_id=vuln_id,
            aliases=detail.aliases if detail else (),
            pkg_id=pkg.id,
            pkg_name=pkg.name,
            purl=pkg.purl,
            installed_version=pkg.version,
            fixed_version=fixed,
            status="fixed" if fixed else "affected",
            severity=severity,
            severity_source=severity_source,
            vendor_severity={k: v for k, v in (detail.vendor_severity.items() if detail else ()) if v in SEVERITIES},  # type: ignore[misc]
            cvss=cvss,
            title=detail.title if detail else "",
            description=detail.description if detail else "",
            cwe_ids=detail.cwe_ids if detail else (),
            references=detail.references if detail else (),
            primary_url=primary_url(vuln_id),
            published_date=detail.published if detail else "",
            last_modified_date=detail.modified if detail else "",
            data_sources=tuple(self._data_source(s) for s in sources),
            known_exploited=detail.known_exploited if detail else False,
            dev=pkg.dev,
            match_details=tuple(
                MatchDetail(source=r.source, advisory_id=r.advisory_id, vulnerable_range=rng, comparator=scheme.name)
                for r, rng in sorted(matched, key=lambda m: (_source_rank(m[0].source), m[0].source, m[0].advisory_id))
            ),
        )
