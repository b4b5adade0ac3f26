"""OS package matcher: installed dpkg/apk/rpm packages against the distributions' own advisories.

Lookup keys follow Trivy's OS drivers (../shared/reference/trivy-cli.md §2, §4: `GetAdvisories("<family>
<release>", …)`, then installed < fixed with the distro's comparator):

- Debian: the SOURCE package and its version (Trivy: `SrcName`, `FormatSrcVersion`). The security tracker
  states fixes per source package, and one source builds many binaries (util-linux -> bsdutils, libblkid1, …):
  matching binary names would miss them. The binary's own version can differ (binNMU "+b1", a binary-only
  epoch), so the comparison uses the source version.
- Ubuntu: the source package too, plus the BINARY name and version, because the only Ubuntu data Vigil has
  (USN OVAL, see vulndb/build/feeds/ubuntu_oval.py) names binaries. Rows found both ways are counted once.
- Alpine: the origin package (`o:` in the apk database, Trivy's SrcName). Subpackages share their origin's
  version, so the source version (when the analyzer has one) and the binary version agree.
- Red Hat family (redhat, centos, rocky, alma): the BINARY rpm name and "[E:]V-R" (Trivy's RHEL/Alma/Rocky
  drivers look up `pkg.Name`): OVAL/errata list each binary rpm. Red Hat itself has no feed in Vigil's data; for
  redhat/centos releases the DB has no advisories for, AlmaLinux then Rocky advisories of the same major release
  stand in (binary-compatible rebuilds: same package names and NEVRAs; the finding's DataSource says which).
  Modular builds (".module+el8…"/".module_el8…" releases) are only compared with modular fixes and vice versa,
  as Trivy's Red Hat driver filters on modularity: a stream's release numbers are unrelated to the base
  package's, so a cross comparison would be noise.

FixedVersion is the smallest fix above the installed version; no fix -> status "affected". Severity: the
distribution's own rating (per-package, then per-advisory) wins over NVD (Trivy's rule for OS packages).
A version that does not parse is skipped with a debug log: never a guess, never a false positive.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from functools import cache

import msgspec

from vigil.detectors.versions import InvalidVersion, Scheme, scheme_for
from vigil.detectors.versions.interval import is_vulnerable
from vigil.detectors.vuln.generic import NVD, make_finding
from vigil.findings.records import DataSource, Vulnerability
from vigil.inventory.purl import os_purl
from vigil.inventory.records import (
    ALMA,
    ALPINE,
    CENTOS,
    OS_PKG_FORMAT,
    REDHAT,
    ROCKY,
    UBUNTU,
    OSInfo,
    Package,
    os_ecosystem,
    os_release_key,
)
from vigil.log import get_logger
from vigil.vulndb.names import normalize
from vigil.vulndb.store import AdvisoryRow, Store

log = get_logger(__name__)

# Version scheme per package format (vigil.detectors.versions names).
_SCHEME_NAME = {"dpkg": "debian", "apk": "alpine", "rpm": "rpm"}
# Families whose advisories may come from a rebuild's feed when the DB has none of their own.
_STAND_INS = {REDHAT: (ALMA, ROCKY), CENTOS: (ALMA, ROCKY)}
# Rolling releases never reach an end of life (Trivy: Alpine edge, Wolfi, Tumbleweed are always "supported").
_ROLLING_RELEASES = {(ALPINE, "edge")}


def _release(family: str, name: str) -> str:
    """The release an OS's advisories are filed under: Alpine edge images name the next release's alpha
    ("3.21_alpha20240807" in alpine-release and os-release), while secdb files edge advisories under "edge"."""
    if family == ALPINE and "_alpha" in name:
        return "edge"
    return name


def _is_modular(version: str) -> bool:
    return ".module+" in version or ".module_" in version


# a package's matching advisory rows by vulnerability, the version each was compared with, versions unparsable
_Hits = tuple[dict[str, list[tuple[AdvisoryRow, str]]], dict[str, str], int]


class OSMatcher:
    name = "ospkg"

    def __init__(self, store: Store) -> None:
        self.store = store
        self._feed_titles = {str(f["name"]): (str(f["title"]), str(f["url"])) for f in store.feeds()}
        self.unparsable_versions = 0
        self._seen: dict[tuple[str, ...], _Hits] = {}

    @cache  # noqa: B019 - one matcher per scan; the cache is the point
    def _data_source(self, source: str) -> DataSource:
        title, url = self._feed_titles.get(source, (source, ""))
        return DataSource(id=source, name=title, url=url)

    @cache  # noqa: B019 - a handful of (family, release) pairs per scan
    def ecosystem(self, family: str, release: str) -> str | None:
        """The DB ecosystem whose advisories apply to this OS release ("debian:12"), a stand-in's for
        redhat/centos, or None when the DB has none (the OS is then unsupported, not clean)."""
        if family not in OS_PKG_FORMAT or not release:
            return None
        own = os_ecosystem(family, _release(family, release))
        if self.store.has_ecosystem(own):
            return own
        for stand_in in _STAND_INS.get(family, ()):
            eco = os_ecosystem(stand_in, release)
            if self.store.has_ecosystem(eco):
                return eco
        return None

    def supported(self, os: OSInfo) -> bool:
        """Whether the DB has advisories for this OS release (directly or through a stand-in)."""
        return self.ecosystem(os.family, os.name) is not None

    def is_eol(self, os: OSInfo, today: dt.date) -> bool:
        """True from the release's end-of-life date on (Trivy: supported while now < EOL). A release the DB has
        no date for is treated as supported (Trivy warns "not on the EOL list" and carries on)."""
        release = os_release_key(os.family, _release(os.family, os.name))
        if (os.family, release) in _ROLLING_RELEASES:
            return False
        eol = self.store.eol_date(os.family, release)
        if eol is None:
            log.debug("%s %s is not in the DB's end-of-life list; assuming it is supported", os.family, os.name)
            return False
        try:
            return today >= dt.date.fromisoformat(eol)
        except ValueError:
            log.debug("unreadable end-of-life date %r for %s %s", eol, os.family, os.name)
            return False

    def _lookups(self, family: str, pkg: Package) -> list[tuple[str, str]]:
        """(advisory package name, version to compare) pairs, in order (see the module docstring)."""
        fmt = OS_PKG_FORMAT[family]
        if fmt == "rpm":
            return [(pkg.name, pkg.full_version)]
        source = (pkg.src_name or pkg.name, pkg.src_full_version or pkg.full_version)
        if family == UBUNTU and (pkg.name, pkg.full_version) != source:
            return [source, (pkg.name, pkg.full_version)]
        return [source]

    def prepare(self, os: OSInfo, pkgs: Sequence[Package]) -> None:
        """Read what matching these packages needs, in bulk: their advisories (a query per chunk of names, see
        Store.prefetch_advisories), then the details of every vulnerability they match (Store.prefetch_details)
        instead of a query per finding."""
        ecosystem = self.ecosystem(os.family, os.name) if os.family in OS_PKG_FORMAT else None
        if ecosystem is None:
            return
        self.store.prefetch_advisories(ecosystem, {normalize(ecosystem, name) for p in pkgs if p.version
                                                   for name, _ in self._lookups(os.family, p)})
        matched: set[str] = set()
        for p in pkgs:
            if p.version:
                matched.update(self._hits(os, ecosystem, p)[0])
        self.store.prefetch_details(matched)

    def match(self, os: OSInfo, pkg: Package) -> list[Vulnerability]:
        family = os.family
        if family not in OS_PKG_FORMAT or not pkg.version:
            return []
        ecosystem = self.ecosystem(family, os.name)
        if ecosystem is None:
            return []
        hits, compared, unparsable = self._hits(os, ecosystem, pkg)
        self.unparsable_versions += unparsable
        if not hits:
            return []
        scheme = scheme_for(_SCHEME_NAME[OS_PKG_FORMAT[family]])
        if not pkg.id:
            pkg = msgspec.structs.replace(pkg, id=f"{pkg.name}@{pkg.full_version}")
        purl = pkg.purl or os_purl(os, pkg)
        return [
            make_finding(
                self.store, pkg, vuln_id, matched, scheme=scheme, installed_version=compared[vuln_id],
                data_source=self._data_source, purl=purl, fallback=(NVD,),
            )
            for vuln_id, matched in hits.items()
        ]

    def _hits(self, os: OSInfo, ecosystem: str, pkg: Package) -> _Hits:
        """The advisory rows matching a package, by vulnerability (each with the range it matched), the version
        each vulnerability's rows were compared with, and how many of its versions did not parse. It depends
        only on the release and the package's names and versions: kept for the scan (prepare() computes it to
        know which details to read, match() then reuses it)."""
        key = (os.family, ecosystem, pkg.name, pkg.full_version, pkg.src_name, pkg.src_full_version)
        found = self._seen.get(key)
        if found is not None:
            return found
        family = os.family
        scheme = scheme_for(_SCHEME_NAME[OS_PKG_FORMAT[family]])
        rpm = OS_PKG_FORMAT[family] == "rpm"
        hits: dict[str, list[tuple[AdvisoryRow, str]]] = defaultdict(list)
        compared: dict[str, str] = {}  # vuln id -> the version its matching rows were compared with
        decided: set[str] = set()  # vulnerabilities an earlier lookup had rows for: that lookup decides them
        unparsable = 0
        for name, version in self._lookups(family, pkg):
            rows = self.store.advisories(ecosystem, normalize(ecosystem, name))
            if not rows:
                continue
            if not self._parses(scheme, pkg, version):
                unparsable += 1
                continue
            this_lookup: set[str] = set()
            for row in rows:
                if row.vuln_id in decided:
                    continue
                this_lookup.add(row.vuln_id)
                if rpm and self._modularity_differs(version, row):
                    continue
                ok, interval = is_vulnerable(scheme, version, row.affected)
                if ok:
                    hits[row.vuln_id].append((row, interval.describe() if interval is not None else "*"))
                    compared[row.vuln_id] = version
            decided |= this_lookup
        found = self._seen[key] = (hits, compared, unparsable)
        return found

    @staticmethod
    def _parses(scheme: Scheme, pkg: Package, version: str) -> bool:
        try:
            scheme.key(version)
        except InvalidVersion:
            log.debug("%s: version %r is not a valid %s version; not matched", pkg.name, version, scheme.name)
            return False
        return True

    @staticmethod
    def _modularity_differs(version: str, row: AdvisoryRow) -> bool:
        bounds = [iv.hi for iv in row.affected.vulnerable if iv.hi] + list(row.affected.fixed)
        if not bounds:
            return False
        return _is_modular(version) != any(_is_modular(b) for b in bounds)
