"""dependabot/elixir-security-advisories (Hex): one JSON line per advisory YAML file.

package -> hex package; patched_versions + unaffected_versions (Elixir requirements, `and`/`or`, list items are
alternatives) -> safe; vulnerable_version_ranges, when given, -> vulnerable; fixed = lower bounds of patched.
id = "CVE-<cve>" if a CVE is given, else "ELIXIR-<uuid>" (the advisory's own `id`).
"""

from __future__ import annotations

from collections.abc import Iterator

from vigil.inventory import records as inv
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.constraints import elixir_requirement
from vigil.vulndb.build.records import Feed, FeedError
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage

NAME = "elixir-security-advisories"


def parse(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(NAME, filename)
    records: list[AdvisoryRecord] = []
    for where, doc in common.iter_jsonl(filename, data):
        package = common.opt_text(doc, "package", where)
        uuid = common.opt_scalar_str(doc, "id", where).strip()
        cve = common.opt_scalar_str(doc, "cve", where).strip()
        if not package or not (uuid or cve):
            raise FeedError(f"{where}: advisory without package or id")
        cve_id = (cve if cve.upper().startswith("CVE-") else f"CVE-{cve}") if cve else ""
        elixir_id = f"ELIXIR-{uuid}" if uuid else ""
        record_id = cve_id or elixir_id
        patched = elixir_requirement(common.str_list(doc, "patched_versions", where))
        unaffected = elixir_requirement(common.str_list(doc, "unaffected_versions", where))
        vulnerable = elixir_requirement(common.str_list(doc, "vulnerable_version_ranges", where))
        if patched is None or unaffected is None or vulnerable is None:
            skips.skip("unparsable version requirement", record_id)
            continue
        records.append(
            AdvisoryRecord(
                id=record_id,
                source=NAME,
                affected=(
                    AffectedPackage(
                        ecosystem=inv.HEX,
                        name=package,
                        vulnerable=vulnerable,
                        safe=tuple(dict.fromkeys(patched + unaffected)),
                        fixed=common.fixed_from_safe(patched),
                    ),
                ),
                aliases=(elixir_id,) if elixir_id and elixir_id != record_id else (),
                title=common.opt_text(doc, "title", where),
                description=common.opt_text(doc, "description", where),
                references=common.dedupe([common.opt_str(doc, "link", where)]),
                published=common.opt_date(doc, "disclosure_date", where),
            )
        )
    yield from common.finish(records, skips)


FEED = Feed(
    name=NAME,
    title="Elixir Security Advisories",
    url="https://github.com/dependabot/elixir-security-advisories",
    paths=("elixir-hex/*.jsonl.gz",),
    kind="advisories",
    parse=parse,
)
FEEDS = (FEED,)
