"""Generic language-package matcher: `handles(pkg)`, `match(pkg, store)`.

A package is affected by a vulnerability when its installed version lies in an affected range of any advisory
for it (see vulndb.records.AffectedPackage). Advisories from several sources for the same vulnerability are
merged into one finding, listing every source and the range each matched (findings explain themselves, §10).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cache

import msgspec

from vigil.detectors.versions import InvalidVersion, Scheme, scheme_for
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
from vigil.log import get_logger
from vigil.vulndb.names import normalize
from vigil.vulndb.records import VulnDetail
from vigil.vulndb.store import AdvisoryRow, Store

log = get_logger(__name__)

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


def choose_severity(
    rows: list[AdvisoryRow],
    detail: VulnDetail | None,
    *,
    rank: Callable[[str], int] = _source_rank,
    fallback: tuple[str, ...] = (GHSA, NVD),
) -> tuple[Severity, str]:
    """Trivy's autoDetectSeverity: (1) a package-specific rating in a matched advisory, best-ranked source first;
    (2) the matched sources' own ratings of the vulnerability; (3) the `fallback` sources (GitHub then NVD for
    language packages; NVD for OS packages); (4) any other vendor's rating; else UNKNOWN."""
    ranked = sorted({r.source for r in rows}, key=lambda s: (rank(s), s))
    for r in sorted(rows, key=lambda r: (rank(r.source), r.source)):
        if r.affected.severity in SEVERITIES:
            return r.affected.severity, r.source  # type: ignore[return-value]
    if detail is not None:
        vs = detail.vendor_severity
        for s in [*ranked, *fallback, *sorted(vs, key=lambda s: (rank(s), s))]:
            sev = vs.get(s)
            if sev in SEVERITIES:
                return sev, s  # type: ignore[return-value]
    return "UNKNOWN", ""


def make_finding(
    store: Store,
    pkg: Package,
    vuln_id: str,
    matched: list[tuple[AdvisoryRow, str]],
    *,
    scheme: Scheme,
    installed_version: str,
    data_source: Callable[[str], DataSource],
    purl: str,
    rank: Callable[[str], int] = _source_rank,
    fallback: tuple[str, ...] = (GHSA, NVD),
) -> Vulnerability:
    """One finding for `pkg` from the advisory rows of one vulnerability that matched `installed_version` (each
    with the range it matched). Shared by the language and OS matchers: FixedVersion is the smallest fix above
    the installed version over every matched row; severity per choose_severity; details from the DB."""
    detail = store.detail(vuln_id)
    rows = [r for r, _ in matched]
    fixes = [f for f in (smallest_fix_above(scheme, installed_version, r.affected) for r in rows) if f]
    fixed = min(fixes, key=scheme.key) if fixes else ""
    severity, severity_source = choose_severity(rows, detail, rank=rank, fallback=fallback)
    sources = sorted({r.source for r in rows}, key=lambda s: (rank(s), s))
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
        purl=purl,
        installed_version=pkg.full_version,
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
        data_sources=tuple(data_source(s) for s in sources),
        known_exploited=detail.known_exploited if detail else False,
        dev=pkg.dev,
        match_details=tuple(
            MatchDetail(source=r.source, advisory_id=r.advisory_id, vulnerable_range=rng, comparator=scheme.name)
            for r, rng in sorted(matched, key=lambda m: (rank(m[0].source), m[0].source, m[0].advisory_id))
        ),
        layer=pkg.layer,
    )


# a package version's matching advisory rows, by vulnerability ID, each with the range it matched
_Hits = dict[str, list[tuple[AdvisoryRow, str]]]


class GenericMatcher:
    name = "generic"

    def __init__(self, store: Store) -> None:
        self.store = store
        self._feed_titles = {str(f["name"]): (str(f["title"]), str(f["url"])) for f in store.feeds()}
        self.unparsable_versions = 0
        self._seen: dict[tuple[str, str, str], _Hits | None] = {}
        self._findings: dict[tuple[str, str, str, str], Vulnerability] = {}

    def handles(self, pkg: Package) -> bool:
        return pkg.ecosystem in LANGUAGE_ECOSYSTEMS and bool(pkg.version)

    def prepare(self, pkgs: Iterable[Package]) -> None:
        """Read what matching these packages needs, in bulk: the advisories of every package this matcher will be
        asked about (a query per ecosystem and chunk of names, see Store.prefetch_advisories), then the details
        of every vulnerability they match (Store.prefetch_details) instead of a query per finding."""
        names: dict[str, set[str]] = defaultdict(set)
        handled = [p for p in pkgs if self.handles(p)]
        for pkg in handled:
            names[pkg.ecosystem].add(normalize(pkg.ecosystem, pkg.name))
        for ecosystem in sorted(names):
            self.store.prefetch_advisories(ecosystem, names[ecosystem])
        matched: set[str] = set()
        for pkg in handled:
            matched.update(self._hits(pkg.ecosystem, normalize(pkg.ecosystem, pkg.name), pkg.version) or ())
        self.store.prefetch_details(matched)

    def _hits(self, ecosystem: str, name: str, version: str) -> _Hits | None:
        """The advisory rows matching one version of a package, by vulnerability (each with the range it
        matched); None when the version is not valid in the ecosystem's scheme. A package found in many lockfiles
        is compared with its advisories once (kept on the matcher, which lives for one scan)."""
        key = (ecosystem, name, version)
        if key in self._seen:
            return self._seen[key]
        hits: _Hits | None = {}
        rows = self.store.advisories(ecosystem, name)
        if rows:
            scheme = scheme_for(ecosystem)
            try:
                scheme.key(version)
            except InvalidVersion:
                hits = None
            else:
                found: _Hits = defaultdict(list)
                for row in rows:
                    ok, interval = is_vulnerable(scheme, version, row.affected)
                    if ok:
                        found[row.vuln_id].append((row, interval.describe() if interval is not None else "*"))
                hits = found
        self._seen[key] = hits
        return hits

    @cache  # noqa: B019 - one matcher per scan; the cache is the point
    def _data_source(self, source: str) -> DataSource:
        title, url = self._feed_titles.get(source, (source, ""))
        return DataSource(id=source, name=title, url=url)

    def match(self, pkg: Package) -> list[Vulnerability]:
        version_key = (pkg.ecosystem, normalize(pkg.ecosystem, pkg.name), pkg.version)
        hits = self._hits(*version_key)
        if hits is None:
            self.unparsable_versions += 1
            log.debug("%s: version %r is not a valid %s version; not matched", pkg.name, pkg.version,
                      scheme_for(pkg.ecosystem).name)
            return []
        return [self._finding(pkg, version_key, vuln_id, matched) for vuln_id, matched in hits.items()]

    def _finding(self, pkg: Package, version_key: tuple[str, str, str], vuln_id: str,
                 matched: list[tuple[AdvisoryRow, str]]) -> Vulnerability:
        # The same package version in many lockfiles shares its hits (see _hits): what the finding says of the
        # vulnerability (fix, severity, details, sources, ranges) is made once and only the package's own fields
        # are set for the others.
        made = self._findings.get((vuln_id, *version_key))
        if made is not None:
            return msgspec.structs.replace(made, pkg_id=pkg.id, pkg_name=pkg.name, purl=pkg.purl,
                                           installed_version=pkg.full_version, dev=pkg.dev, layer=pkg.layer)
        made = self._findings[(vuln_id, *version_key)] = make_finding(
            self.store, pkg, vuln_id, matched, scheme=scheme_for(pkg.ecosystem), installed_version=pkg.version,
            data_source=self._data_source, purl=pkg.purl,
        )
        return made
