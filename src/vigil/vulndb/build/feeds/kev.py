"""CISA Known Exploited Vulnerabilities catalog: yields the CVE IDs it lists."""

from __future__ import annotations

from collections.abc import Iterator

from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.records import Feed, FeedError

NAME = "cisa-kev"


def parse(filename: str, data: bytes) -> Iterator[str]:
    doc = common.decode_json_object(filename, data)
    vulns = doc.get("vulnerabilities")
    if not isinstance(vulns, list):
        raise FeedError(f"{filename}: no 'vulnerabilities' list")
    seen: set[str] = set()
    out: list[str] = []
    for i, raw in enumerate(vulns):
        entry = common.as_dict(raw, f"{filename}: vulnerabilities[{i}]")
        cve = common.req_str(entry, "cveID", f"{filename}: vulnerabilities[{i}]").strip().upper()
        if cve not in seen:
            seen.add(cve)
            out.append(cve)
    yield from out


FEED = Feed(
    name=NAME,
    title="CISA Known Exploited Vulnerabilities",
    url="https://www.cisa.gov/known-exploited-vulnerabilities-catalog",
    paths=("cisa-kev/*.json.gz",),
    kind="kev",
    parse=parse,
)
FEEDS = (FEED,)
