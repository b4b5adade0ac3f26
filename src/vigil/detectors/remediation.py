"""Remediation summary (beyond Trivy): per package, the smallest upgrade that fixes every listed vulnerability
that has a fix, and per target how many findings those upgrades remove.

For each vulnerability the candidate is the smallest of its fixed versions (FixedVersion may list several,
comma-separated, one per release branch) above the installed version; the package's upgrade is the maximum of
those candidates under the ecosystem's version scheme (vigil.detectors.versions.scheme_for), so one upgrade
clears them all. Versions the scheme cannot parse are skipped rather than guessed.
"""

from __future__ import annotations

from collections import defaultdict

import msgspec

from vigil.detectors.versions import InvalidVersion, Scheme, scheme_for
from vigil.findings.records import Remediation, Report, Result, Vulnerability
from vigil.inventory.records import PURL_TYPES

_ECOSYSTEM_BY_PURL_TYPE = {v: k for k, v in PURL_TYPES.items()}


def ecosystem_of(purl: str) -> str:
    """The ecosystem of a purl ('pkg:pypi/x@1' -> 'pypi'); '' when unknown."""
    if not purl.startswith("pkg:"):
        return ""
    ptype = purl[4:].split("/", 1)[0].lower()
    return _ECOSYSTEM_BY_PURL_TYPE.get(ptype, "")


def _scheme(purl: str) -> Scheme | None:
    eco = ecosystem_of(purl)
    try:
        return scheme_for(eco) if eco else None
    except KeyError:
        return None


def _gt(scheme: Scheme | None, a: str, b: str) -> bool:
    if scheme is None:
        return a != b and a > b
    return scheme.compare(a, b) > 0


def smallest_fix(scheme: Scheme | None, installed: str, fixed: str) -> str:
    """The smallest of the comma-separated fixed versions above `installed` ('' if none)."""
    best = ""
    for cand in (c.strip() for c in fixed.split(",")):
        if not cand:
            continue
        try:
            if installed and not _gt(scheme, cand, installed):
                continue
            if not best or _gt(scheme, best, cand):
                best = cand
        except InvalidVersion:
            continue
    return best


def for_result(res: Result) -> tuple[Remediation, ...]:
    groups: dict[tuple[str, str, str], list[Vulnerability]] = defaultdict(list)
    for v in res.vulnerabilities:
        groups[(v.pkg_id or v.pkg_name, v.pkg_name, v.installed_version)].append(v)
    out: list[Remediation] = []
    for (pkg_id, name, installed), vulns in sorted(groups.items()):
        purl = next((v.purl for v in vulns if v.purl), "")
        scheme = _scheme(purl)
        upgrade = ""
        fixes: list[str] = []
        unfixed: list[str] = []
        for v in vulns:
            cand = smallest_fix(scheme, installed, v.fixed_version)
            if not cand:
                unfixed.append(v.vulnerability_id)
                continue
            fixes.append(v.vulnerability_id)
            try:
                if not upgrade or _gt(scheme, cand, upgrade):
                    upgrade = cand
            except InvalidVersion:
                continue
        out.append(
            Remediation(
                pkg_id=pkg_id if pkg_id != name else "",
                pkg_name=name,
                purl=purl,
                installed_version=installed,
                upgrade_to=upgrade,
                fixes=tuple(sorted(set(fixes))),
                unfixed=tuple(sorted(set(unfixed))),
            )
        )
    return tuple(out)


def annotate(report: Report) -> Report:
    """Fill Result.remediations from the (already filtered) vulnerabilities of each result."""
    results = tuple(msgspec.structs.replace(r, remediations=for_result(r)) for r in report.results)
    return msgspec.structs.replace(report, results=results)
