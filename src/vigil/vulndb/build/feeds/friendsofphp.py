"""FriendsOfPHP security-advisories (Packagist/Composer): one JSON line per advisory YAML file.

- reference "composer://vendor/name" -> composer package "vendor/name".
- branches{name: {time, versions: [">=4.4.0", "<4.4.7"]}}: each branch's constraints are AND-ed into one vulnerable
  interval, branches are OR-ed.
- fixed = the exclusive upper bounds ("<x") that are real fixes: a bound that is merely the start of another branch
  listed in the same advisory (Symfony lists end-of-life branches as ">=3.1.0, <3.2.0" next to ">=3.2.0, …") is
  a branch boundary, not a release that fixes anything, so it is not reported as a fixed version.
- id = the CVE when present, else "PHPSEC-" + the advisory's path without extension ("PHPSEC-3f/pygmentize/
  2017-05-15"): stable as long as the upstream file is not renamed. Several packages share a CVE (symfony/symfony
  and symfony/http-kernel, …): those merge into one advisory.
- No severity or CVSS in this source.
"""

from __future__ import annotations

from collections.abc import Iterator

from vigil.inventory import records as inv
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.constraints import composer_constraint
from vigil.vulndb.build.records import Feed
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage, Interval

NAME = "php-security-advisories"


def synthetic_id(source_path: str) -> str:
    path = source_path.strip("/")
    for ext in (".yaml", ".yml"):
        if path.endswith(ext):
            path = path[: -len(ext)]
    return "PHPSEC-" + path


def parse(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(NAME, filename)
    records: list[AdvisoryRecord] = []
    for where, doc in common.iter_jsonl(filename, data):
        reference = common.req_str(doc, "reference", where)
        source_path = common.opt_str(doc, "_source_path", where)
        cve = common.opt_text(doc, "cve", where)
        record_id = cve or (synthetic_id(source_path) if source_path else "")
        if not reference.startswith("composer://") or not record_id:
            skips.skip("not a composer reference or no id", reference)
            continue
        package = reference[len("composer://") :].strip("/")
        branches = common.opt_dict(doc, "branches", where)
        vulnerable: list[Interval] = []
        times: list[str] = []
        unparsable = False
        for bname, braw in branches.items():
            branch = common.as_dict(braw, f"{where}: branches.{bname}")
            constraints = common.str_list(branch, "versions", where)
            ivs = composer_constraint(",".join(constraints)) if constraints else None
            if ivs is None:
                unparsable = True
                break
            vulnerable.extend(iv for iv in ivs if iv not in vulnerable)
            times.append(common.opt_date(branch, "time", where))
        if unparsable or not vulnerable:
            skips.skip("unparsable or missing branch versions", record_id)
            continue
        branch_starts = {iv.lo for iv in vulnerable if iv.lo is not None}
        fixed = common.dedupe(
            iv.hi for iv in vulnerable if iv.hi is not None and not iv.hi_incl and iv.hi not in branch_starts
        )
        dated = sorted(t for t in times if t)
        records.append(
            AdvisoryRecord(
                id=record_id,
                source=NAME,
                affected=(
                    AffectedPackage(
                        ecosystem=inv.COMPOSER,
                        name=package,
                        vulnerable=tuple(vulnerable),
                        fixed=fixed,
                    ),
                ),
                title=common.opt_text(doc, "title", where),
                references=common.dedupe([common.opt_str(doc, "link", where)]),
                published=dated[0] if dated else "",
            )
        )
    yield from common.finish(records, skips)


FEED = Feed(
    name=NAME,
    title="PHP Security Advisories Database",
    url="https://github.com/FriendsOfPHP/security-advisories",
    paths=("friendsofphp/*.jsonl.gz",),
    kind="advisories",
    parse=parse,
)
FEEDS = (FEED,)
