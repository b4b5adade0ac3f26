"""ruby-advisory-db (RubyGems): one JSON line per advisory YAML file.

- gem -> rubygems package; patched_versions + unaffected_versions (RubyGems requirements: each list item is an
  alternative, a comma inside an item is AND) -> safe; fixed = lower bounds of patched_versions. Neither list ->
  every version is affected (no patch released).
- id: "CVE-<cve>" if a CVE is given, else "GHSA-<ghsa>", else "OSVDB-<osvdb>"; the CVE/GHSA not used as the id
  become aliases. Several gems share a CVE (e.g. bcrypt and bcrypt-ruby): those merge into one advisory.
- CVSS: only numeric base scores are given (cvss_v2/v3/v4); severity = rating of the v3 score, else v4, else v2.
- Records of Ruby interpreters (`rubies/<engine>/…`: ruby, jruby, mruby, truffleruby) are skipped — they are not
  gems (an OS/runtime matcher would need them, keyed by engine).
"""

from __future__ import annotations

from collections.abc import Iterator

from vigil.inventory import records as inv
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.constraints import ruby_requirement
from vigil.vulndb.build.feeds.cvss import build_cvss, severity_from_cvss
from vigil.vulndb.build.records import Feed
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage

NAME = "ruby-advisory-db"


def _prefixed(prefix: str, value: str) -> str:
    if not value:
        return ""
    return value if value.upper().startswith(prefix) else prefix + value


def parse(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(NAME, filename)
    records: list[AdvisoryRecord] = []
    for where, doc in common.iter_jsonl(filename, data):
        source_path = common.opt_str(doc, "_source_path", where)
        gem = common.opt_str(doc, "gem", where)
        if source_path.startswith("rubies/") or not gem:
            skips.skip("Ruby engine advisory", source_path)
            continue
        cve = _prefixed("CVE-", common.opt_scalar_str(doc, "cve", where))
        ghsa = _prefixed("GHSA-", common.opt_scalar_str(doc, "ghsa", where))
        osvdb = _prefixed("OSVDB-", common.opt_scalar_str(doc, "osvdb", where))
        record_id = cve or ghsa or osvdb
        if not record_id:
            skips.skip("no identifier", source_path)
            continue
        patched_items = common.str_list(doc, "patched_versions", where)
        unaffected_items = common.str_list(doc, "unaffected_versions", where)
        patched = ruby_requirement(patched_items)
        unaffected = ruby_requirement(unaffected_items)
        if patched is None or unaffected is None:
            skips.skip("unparsable version requirement", f"{record_id} {gem}")
            continue
        safe = tuple(dict.fromkeys(patched + unaffected))
        cvss = build_cvss(
            v2_score=common.opt_float(doc, "cvss_v2", where),
            v3_score=common.opt_float(doc, "cvss_v3", where),
            v40_score=common.opt_float(doc, "cvss_v4", where),
        )
        related = common.opt_dict(doc, "related", where)
        references = [common.opt_str(doc, "url", where), *common.str_list(related, "url", where)]
        records.append(
            AdvisoryRecord(
                id=record_id,
                source=NAME,
                affected=(
                    AffectedPackage(
                        ecosystem=inv.RUBYGEMS,
                        name=gem,
                        safe=safe,
                        fixed=common.fixed_from_safe(patched),
                    ),
                ),
                aliases=tuple(a for a in (cve, ghsa) if a and a != record_id),
                title=common.opt_text(doc, "title", where),
                description=common.opt_text(doc, "description", where),
                severity=severity_from_cvss(cvss),
                cvss=cvss,
                references=common.dedupe(references),
                published=common.opt_date(doc, "date", where),
            )
        )
    yield from common.finish(records, skips)


FEED = Feed(
    name=NAME,
    title="Ruby Advisory Database",
    url="https://github.com/rubysec/ruby-advisory-db",
    paths=("rubysec/*.jsonl.gz",),
    kind="advisories",
    parse=parse,
)
FEEDS = (FEED,)
