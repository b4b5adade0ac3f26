"""victims-cve-db (Maven and PyPI, historical): one JSON line per CVE YAML file.

affected[] entries are Maven ({groupId, artifactId} -> "groupId:artifactId") or PyPI ({name}); `version` lists the
vulnerable ranges, `fixedin` the fixes, in victims' rule syntax "<op><version>[,<series>]":
  "<=2.0.11.2,2.0"  vulnerable if version <= 2.0.11.2 and the version is in series 2.0 (starts with "2.0")
  ">=0.5,0"         vulnerable if version >= 0.5 within series 0
  "==4.0"           exactly 4.0;  "<=1.0.1.13" (no series) a plain bound.
An Interval cannot say "starts with 2.0", so a series rule is approximated by the interval the series spans:
  "<=X,S" -> [S, X]   (versions of the series lie at or above S, e.g. 2.0 <= 2.0.x; below-series versions such as
                       1.9 are excluded as they should be; versions above X are excluded anyway)
  "<X,S"  -> [S, X)
  ">=X,S" -> [X, next(S))  where next(S) increments S's last number ("2.1" -> "2.2", "0" -> "1"), the first
                       version outside the series (versions like "2.10" of series "2.1" would wrongly fall
                       outside, but victims' series are whole release lines and such numbering does not occur)
  ">X,S"  -> (X, next(S))
The approximation differs from victims' prefix test only for oddly spelled versions outside the series that still
sort inside the span. fixedin rules contribute their version (">=2.0.12,2.0" -> fixed "2.0.12"); `unaffected`
and fixedin rules become safe intervals the same way (a fix is where the vulnerable range ends).
id = "CVE-<cve>"; a CVE appearing in both the Java and the Python part merges. Only CVSS v2/v3 scores are given:
severity = their rating.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from vigil.inventory import records as inv
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.cvss import build_cvss, severity_from_cvss
from vigil.vulndb.build.records import Feed, FeedError
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage, Interval

NAME = "victims"

_RULE = re.compile(r"^(<=|>=|==|<|>|=)\s*([^,\s]+)\s*(?:,\s*([^,\s]+))?$")


def _next_series(series: str) -> str | None:
    # A series may end with a separator ("1.2.1-": the 1.2.1-N rebuilds); the next series is then "1.2.2".
    m = re.match(r"^(.*?)(\d+)$", series.rstrip("-._"))
    if not m:
        return None
    return f"{m.group(1)}{int(m.group(2)) + 1}"


def rule_interval(rule: str) -> Interval | None:
    """One victims rule -> Interval (see the module docstring); None if not parsable."""
    m = _RULE.match(rule.strip())
    if not m:
        return None
    op, version, series = m.group(1), m.group(2), m.group(3)
    if op in ("==", "="):
        return Interval(lo=version, hi=version, hi_incl=True)
    if op in ("<=", "<"):
        return Interval(lo=series, hi=version, hi_incl=op == "<=")
    # >= / >
    upper = None
    if series is not None:
        upper = _next_series(series)
        if upper is None:
            return None
    return Interval(lo=version, lo_incl=op == ">=", hi=upper)


def _fixed_version(rule: str) -> str:
    m = _RULE.match(rule.strip())
    if not m or m.group(1) not in (">=", "==", "="):
        return ""
    return m.group(2)


def parse(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(NAME, filename)
    records: list[AdvisoryRecord] = []
    for where, doc in common.iter_jsonl(filename, data):
        cve = common.opt_scalar_str(doc, "cve", where).strip()
        if not cve:
            raise FeedError(f"{where}: record without 'cve'")
        record_id = cve if cve.upper().startswith("CVE-") else f"CVE-{cve}"
        affected: list[AffectedPackage] = []
        for i, raw in enumerate(common.opt_list(doc, "affected", where)):
            aff = common.as_dict(raw, f"{where}: affected[{i}]")
            group = common.opt_text(aff, "groupId", where)
            artifact = common.opt_text(aff, "artifactId", where)
            pyname = common.opt_text(aff, "name", where)
            if group and artifact:
                ecosystem, name = inv.MAVEN, f"{group}:{artifact}"
            elif pyname:
                ecosystem, name = inv.PYPI, pyname
            else:
                skips.skip("affected entry without package", record_id)
                continue
            vulnerable = [rule_interval(r) for r in common.str_list(aff, "version", where)]
            fixed_rules = common.str_list(aff, "fixedin", where)
            # `fixedin` rules are safe ranges too: victims' `version` rules are loose (e.g. Jinja2 CVE-2014-1402
            # lists ">=2.1,2", i.e. all of 2.x from 2.1) and only the fix rule (">=2.7.2") bounds them.
            safe = [rule_interval(r) for r in (*common.str_list(aff, "unaffected", where), *fixed_rules)]
            if any(iv is None for iv in vulnerable + safe) or not vulnerable:
                skips.skip("unparsable or missing version rules", f"{record_id} {name}")
                continue
            affected.append(
                AffectedPackage(
                    ecosystem=ecosystem,
                    name=name,
                    vulnerable=tuple(iv for iv in dict.fromkeys(vulnerable) if iv is not None),
                    safe=tuple(iv for iv in dict.fromkeys(safe) if iv is not None),
                    fixed=common.dedupe(_fixed_version(r) for r in fixed_rules),
                )
            )
        if not affected:
            skips.skip("no usable affected package", record_id)
            continue
        cvss = build_cvss(
            v2_score=common.opt_float(doc, "cvss_v2", where),
            v3_score=common.opt_float(doc, "cvss_v3", where),
        )
        records.append(
            AdvisoryRecord(
                id=record_id,
                source=NAME,
                affected=tuple(affected),
                title=common.opt_text(doc, "title", where),
                description=common.opt_text(doc, "description", where),
                severity=severity_from_cvss(cvss),
                cvss=cvss,
                references=common.dedupe(common.str_list(doc, "references", where)),
            )
        )
    yield from common.finish(records, skips)


FEED = Feed(
    name=NAME,
    title="Victims CVE Database",
    url="https://github.com/victims/victims-cve-db",
    paths=("victims-java-python/*.jsonl.gz",),
    kind="advisories",
    parse=parse,
)
FEEDS = (FEED,)
