"""RustSec advisory database (crates.io): one JSON line per advisory = the TOML front matter + `_markdown`.

- versions.patched / versions.unaffected (Cargo requirements, "," = AND, list = OR) -> safe intervals; vulnerable
  stays empty (everything not safe is vulnerable — RustSec's own rule); fixed = lower bounds of `patched`.
- informational advisories: `unsound` is kept (GHSA/OSV, hence Trivy, report those); `unmaintained`, `notice` and
  any other informational kind are skipped — they are not vulnerabilities of a version.
- Advisories under `rust/` in the repository describe the Rust toolchain (cargo, rustdoc, std), not crates.io
  packages (the crate named "cargo" has unrelated 0.x versions), so they are skipped.
- title = the markdown's first heading, description = the rest of the markdown.
"""

from __future__ import annotations

from collections.abc import Iterator

from vigil.inventory import records as inv
from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.constraints import cargo_requirement
from vigil.vulndb.build.feeds.cvss import build_cvss, is_v4_vector, severity_from_cvss
from vigil.vulndb.build.records import Feed
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage, Interval

NAME = "rustsec"


def split_markdown(markdown: str) -> tuple[str, str]:
    """(title, body): the first "# " heading and the text after it."""
    lines = markdown.strip().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("# "):
            return line[2:].strip(), "\n".join(lines[i + 1 :]).strip()
        if line.strip():
            break
    return "", markdown.strip()


def parse(filename: str, data: bytes) -> Iterator[AdvisoryRecord]:
    skips = common.Skips(NAME, filename)
    records: list[AdvisoryRecord] = []
    for where, doc in common.iter_jsonl(filename, data):
        adv = common.opt_dict(doc, "advisory", where)
        record_id = common.req_str(adv, "id", where)
        source_path = common.opt_str(doc, "_source_path", where)
        if source_path.startswith("rust/"):
            skips.skip("Rust toolchain advisory", record_id)
            continue
        if adv.get("withdrawn"):
            skips.skip("withdrawn", record_id)
            continue
        informational = common.opt_str(adv, "informational", where)
        if informational and informational != "unsound":
            skips.skip(f"informational={informational}", record_id)
            continue
        package = common.req_str(adv, "package", where)
        versions = common.opt_dict(doc, "versions", where)
        patched = common.str_list(versions, "patched", where)
        unaffected = common.str_list(versions, "unaffected", where)
        patched_ivs: list[Interval] = []
        safe: list[Interval] = []
        unparsable = False
        for req in patched + unaffected:
            ivs = cargo_requirement(req)
            if ivs is None:
                unparsable = True
                break
            safe.extend(iv for iv in ivs if iv not in safe)
            if req in patched:
                patched_ivs.extend(ivs)
        if unparsable:
            skips.skip("unparsable version requirement", record_id)
            continue

        vector = common.opt_str(adv, "cvss", where)
        cvss = build_cvss(v40_vector=vector) if is_v4_vector(vector) else build_cvss(v3_vector=vector)
        title, body = split_markdown(common.opt_str(doc, "_markdown", where))
        references = [common.opt_str(adv, "url", where), *common.str_list(adv, "references", where)]
        records.append(
            AdvisoryRecord(
                id=record_id,
                source=NAME,
                affected=(
                    AffectedPackage(
                        ecosystem=inv.CARGO,
                        name=package,
                        safe=tuple(safe),
                        fixed=common.fixed_from_safe(patched_ivs),
                    ),
                ),
                aliases=common.other_ids(common.str_list(adv, "aliases", where), record_id),
                title=title,
                description=body,
                severity=severity_from_cvss(cvss),
                cvss=cvss,
                references=common.dedupe(references),
                published=common.opt_date(adv, "date", where),
            )
        )
    yield from common.finish(records, skips)


FEED = Feed(
    name=NAME,
    title="RustSec Advisory Database",
    url="https://github.com/rustsec/advisory-db",
    paths=("rustsec/*.jsonl.gz",),
    kind="advisories",
    parse=parse,
)
FEEDS = (FEED,)
