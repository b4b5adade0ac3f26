"""Node.js Security WG vulnerability data, npm part (the former Node Security Platform advisories).

- Only `vuln/npm/<n>.json` records; `vuln/core/` (Node.js runtime CVEs) are skipped: they describe the node binary,
  not an npm package.
- module_name -> npm package; vulnerable_versions -> vulnerable, patched_versions -> safe (node-semver ranges);
  fixed = lower bounds of the patched ranges.
- id = the first CVE (others and "NSWG-ECO-<id>" become aliases), else "NSWG-ECO-<id>" (the ID Trivy and
  the nodejs/security-wg repository use for these records).
- cvss_vector/cvss_score -> CVSS v3; severity = the rating of that score (the source has no rating of its own).
- published = publish_date (created_at when publish_date is a 1970 placeholder), modified = updated_at.
"""

from __future__ import annotations

from collections.abc import Iterator

from vigil.inventory import records as inv
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.constraints import npm_range
from vigil.vulndb.build.feeds.cvss import build_cvss, severity_from_cvss
from vigil.vulndb.build.records import Feed, FeedError
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage

NAME = "nodejs-security-wg"


def parse(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(NAME, filename)
    records: list[AdvisoryRecord] = []
    for where, doc in common.iter_jsonl(filename, data):
        source_path = common.opt_str(doc, "_source_path", where)
        if not source_path.startswith("vuln/npm/"):
            skips.skip("not an npm advisory (Node.js core)", source_path)
            continue
        nsp_id = common.opt_scalar_str(doc, "id", where)
        module = common.opt_text(doc, "module_name", where)
        if not nsp_id or not module:
            raise FeedError(f"{where}: npm advisory without id or module_name")
        nswg_id = f"NSWG-ECO-{nsp_id}"
        cves = [c.strip() for c in common.str_list(doc, "cves", where) if c.strip()]
        record_id = cves[0] if cves else nswg_id
        aliases = [*cves[1:], nswg_id] if cves else []

        vulnerable = npm_range(common.opt_str(doc, "vulnerable_versions", where))
        patched_text = common.opt_text(doc, "patched_versions", where)
        patched = npm_range(patched_text) if patched_text else ()
        if vulnerable is None or patched is None:
            skips.skip("unparsable range", record_id)
            continue
        vector = common.opt_str(doc, "cvss_vector", where)
        cvss = build_cvss(v3_vector=vector, v3_score=common.opt_float(doc, "cvss_score", where))
        description = "\n\n".join(
            t
            for t in (
                common.opt_text(doc, "overview", where),
                common.opt_text(doc, "recommendation", where),
            )
            if t
        )
        published = common.opt_date(doc, "publish_date", where) or common.opt_date(doc, "created_at", where)
        records.append(
            AdvisoryRecord(
                id=record_id,
                source=NAME,
                affected=(
                    AffectedPackage(
                        ecosystem=inv.NPM,
                        name=module,
                        vulnerable=vulnerable,
                        safe=patched,
                        fixed=common.fixed_from_safe(patched),
                    ),
                ),
                aliases=common.other_ids(aliases, record_id),
                title=common.opt_text(doc, "title", where),
                description=description,
                severity=severity_from_cvss(cvss),
                cvss=cvss,
                references=common.dedupe(common.str_list(doc, "references", where)),
                published=published,
                modified=common.opt_date(doc, "updated_at", where),
            )
        )
    yield from common.finish(records, skips)


FEED = Feed(
    name=NAME,
    title="Node.js Security Working Group",
    url="https://github.com/nodejs/security-wg",
    paths=("nodejs-security-wg/*.jsonl.gz",),
    kind="advisories",
    parse=parse,
)
FEEDS = (FEED,)
