"""Alpine secdb (secdb.alpinelinux.org): one JSON document per (branch, repository) per line.

- `distroversion` "v3.16" -> ecosystem "alpine:3.16" ("edge" -> "alpine:edge"); names are ORIGIN (source)
  packages, which is what the matcher looks up (the `o:` field of the apk database).
- `secfixes` maps a fixed apk version to the IDs it fixes: each becomes "vulnerable below that version" (Trivy:
  installed < FixedVersion). The special version "0" lists IDs that never affected the package (or will not be
  fixed) — not findings, skipped.
- An entry may name several IDs in one string ("CVE-2016-9932 XSA-200"); the CVEs win (os_advisories).
- secdb has no severity (Trivy takes Alpine severities from NVD).
The old snapshot (2020, v3.3 … v3.11) and the 2024 one overlap; records are merged per CVE, so overlapping
(branch, package, fix) entries collapse into one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from vigil.inventory.records import ALPINE, os_ecosystem
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.os_advisories import fixed_below, per_vulnerability, vulnerability_ids
from vigil.vulndb.build.records import Feed, FeedError
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage

NAME = "alpine-secdb"
_BRANCH = re.compile(r"v(\d+\.\d+)")


def _ecosystem(distroversion: str) -> str | None:
    if distroversion == "edge":
        return f"{ALPINE}:edge"
    m = _BRANCH.fullmatch(distroversion)
    return os_ecosystem(ALPINE, m.group(1)) if m else None


def parse(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(NAME, filename)
    by_id: dict[str, list[AffectedPackage]] = defaultdict(list)
    for where, doc in common.iter_jsonl(filename, data):
        branch = common.opt_str(doc, "distroversion", where)
        ecosystem = _ecosystem(branch)
        if ecosystem is None:
            skips.skip(f"branch {branch or '(none)'}")
            continue
        for raw in common.opt_list(doc, "packages", where):
            entry = common.opt_dict(common.as_dict(raw, f"{where}: packages[]"), "pkg", where)
            name = common.req_str(entry, "name", where)
            for fixed, ids_raw in common.opt_dict(entry, "secfixes", where).items():
                if not isinstance(ids_raw, list | None):
                    raise _bad_ids(where, name, fixed)
                if fixed == "0":
                    skips.skip("not affected (secfixes '0')", name)
                    continue
                if not fixed.strip():
                    skips.skip("empty fixed version", name)
                    continue
                pkg = fixed_below(ecosystem, name, fixed.strip())
                for text in ids_raw or ():
                    if not isinstance(text, str):
                        raise _bad_ids(where, name, fixed)
                    # one string may name several IDs ("CVE-2016-9932 XSA-200"): the CVEs win
                    for vid in vulnerability_ids(text.split()) if " " in text.strip() else (text.strip(),):
                        by_id[vid].append(pkg)
    records: list[AdvisoryRecord] = []
    for vid, pkgs in by_id.items():
        records.extend(per_vulnerability((vid,), dict.fromkeys(pkgs), source=NAME))
    yield from common.finish(records, skips)


def _bad_ids(where: str, name: str, fixed: str) -> FeedError:
    return FeedError(f"{where}: package {name!r}: secfixes[{fixed!r}] must be a list of IDs")


FEED = Feed(
    name=NAME,
    title="Alpine Linux secdb",
    url="https://secdb.alpinelinux.org/",
    paths=("alpine-secdb/*.jsonl.gz",),
    kind="advisories",
    parse=parse,
)
FEEDS = (FEED,)
