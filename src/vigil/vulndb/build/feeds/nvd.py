"""NVD -> CveEnrichment (CVSS, severity, CWE, description, references, dates).

FEED_NVD: NVD JSON 1.1 data feeds (nvdcve-1.1-<year>.json / -modified.json). The 70 MB 2022 feed is decoded with
msgspec into typed structs that name only the fields we keep (the large `configurations` CPE trees are skipped by
the decoder without building Python objects), which also validates the shape: a type mismatch is a FeedError.
Several files may state the same CVE (a year feed and the "modified" feed): each yields its own CveEnrichment; the
builder reads files in sorted order ("…-2022" before "…-modified") and keeps the last, i.e. the newest statement.

FEED_NVD_CURATED: the reduced NVD API 2.0 records of ../nvd-curated (one JSON object per line): cvssMetricV31/V30/
V2/V40 lists (the nvd@nist.gov Primary metric is preferred), weaknesses {source: [CWE…]}.

severity = the v3 baseSeverity, else v2's (NVD v2 has no CRITICAL). CWE ids exclude NVD-CWE-Other/NVD-CWE-noinfo.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from vigil.vulndb.build.feeds import common
from vigil.vulndb.build.feeds.common import JsonObj
from vigil.vulndb.build.feeds.cvss import build_cvss, severity_from_v2, severity_from_v3
from vigil.vulndb.build.records import Feed, FeedError
from vigil.vulndb.records import CveEnrichment, CvssScore

_NOT_CWES = frozenset({"NVD-CWE-Other", "NVD-CWE-noinfo"})


def _cwes(values: list[str]) -> tuple[str, ...]:
    return common.dedupe(v.strip() for v in values if v.strip() not in _NOT_CWES)


# --------------------------------------------------------------------------------------------------- NVD JSON 1.1


class _LangValue(msgspec.Struct):
    lang: str = ""
    value: str = ""


class _Meta(msgspec.Struct):
    ID: str


class _ProblemType(msgspec.Struct):
    description: list[_LangValue] = msgspec.field(default_factory=list)


class _ProblemTypes(msgspec.Struct):
    problemtype_data: list[_ProblemType] = msgspec.field(default_factory=list)


class _Reference(msgspec.Struct):
    url: str = ""


class _References(msgspec.Struct):
    reference_data: list[_Reference] = msgspec.field(default_factory=list)


class _Description(msgspec.Struct):
    description_data: list[_LangValue] = msgspec.field(default_factory=list)


class _Cve(msgspec.Struct):
    CVE_data_meta: _Meta
    problemtype: _ProblemTypes = msgspec.field(default_factory=_ProblemTypes)
    references: _References = msgspec.field(default_factory=_References)
    description: _Description = msgspec.field(default_factory=_Description)


class _CvssV3(msgspec.Struct):
    vectorString: str = ""
    baseScore: float | None = None
    baseSeverity: str = ""


class _BaseMetricV3(msgspec.Struct):
    cvssV3: _CvssV3 = msgspec.field(default_factory=_CvssV3)


class _CvssV2(msgspec.Struct):
    vectorString: str = ""
    baseScore: float | None = None


class _BaseMetricV2(msgspec.Struct):
    cvssV2: _CvssV2 = msgspec.field(default_factory=_CvssV2)
    severity: str = ""


class _Impact(msgspec.Struct):
    baseMetricV3: _BaseMetricV3 | None = None
    baseMetricV2: _BaseMetricV2 | None = None


class _Item(msgspec.Struct):
    cve: _Cve
    impact: _Impact = msgspec.field(default_factory=_Impact)
    publishedDate: str = ""
    lastModifiedDate: str = ""


class _Feed11(msgspec.Struct):
    CVE_Items: list[_Item]


_FEED11_DECODER = msgspec.json.Decoder(_Feed11)


def _enrichment_11(item: _Item) -> CveEnrichment | None:
    cve_id = item.cve.CVE_data_meta.ID.strip()
    if not cve_id:
        return None
    v3 = item.impact.baseMetricV3.cvssV3 if item.impact.baseMetricV3 else _CvssV3()
    v2m = item.impact.baseMetricV2
    v2 = v2m.cvssV2 if v2m else _CvssV2()
    cvss = build_cvss(
        v3_vector=v3.vectorString, v3_score=v3.baseScore, v2_vector=v2.vectorString, v2_score=v2.baseScore
    )
    severity = common.norm_severity(v3.baseSeverity) or common.norm_severity(v2m.severity if v2m else "")
    severity = severity or _severity_from_scores(cvss)
    description = next((d.value for d in item.cve.description.description_data if d.lang == "en"), "")
    cwes = [d.value for pt in item.cve.problemtype.problemtype_data for d in pt.description]
    return CveEnrichment(
        cve_id=cve_id,
        cvss=cvss,
        severity=severity,
        cwe_ids=_cwes(cwes),
        description=description.strip(),
        references=common.dedupe(r.url for r in item.cve.references.reference_data),
        published=common.norm_date(item.publishedDate),
        modified=common.norm_date(item.lastModifiedDate),
    )


def _severity_from_scores(cvss: CvssScore | None) -> str:
    if cvss is None:
        return ""
    if cvss.v3_score:
        return severity_from_v3(cvss.v3_score)
    return severity_from_v2(cvss.v2_score)


def parse_nvd(filename: str, data: bytes) -> Iterator[CveEnrichment]:
    try:
        feed = _FEED11_DECODER.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, ValueError) as exc:
        # msgspec.ValidationError is a DecodeError; its message names the JSON path ("at `$.CVE_Items[3]…`").
        raise FeedError(f"{filename}: not an NVD JSON 1.1 feed: {exc}") from exc
    out = [e for e in (_enrichment_11(item) for item in feed.CVE_Items) if e is not None]
    yield from out


# --------------------------------------------------------------------------------------------------- curated 2.0


def _pick_metric(doc: JsonObj, keys: tuple[str, ...], where: str) -> JsonObj:
    """The NVD Primary metric (nvd@nist.gov) from the first non-empty list among `keys`, else its first entry."""
    for key in keys:
        metrics = [common.as_dict(m, f"{where}: {key}[]") for m in common.opt_list(doc, key, where)]
        if not metrics:
            continue
        for m in metrics:
            if common.opt_str(m, "source", where) == "nvd@nist.gov":
                return m
        for m in metrics:
            if common.opt_str(m, "type", where) == "Primary":
                return m
        return metrics[0]
    return {}


def parse_curated(filename: str, data: bytes) -> Iterator[CveEnrichment]:
    out: list[CveEnrichment] = []
    for where, doc in common.iter_jsonl(filename, data):
        cve_id = common.req_str(doc, "id", where).strip()
        v3 = _pick_metric(doc, ("cvssMetricV31", "cvssMetricV30"), where)
        v2 = _pick_metric(doc, ("cvssMetricV2",), where)
        v4 = _pick_metric(doc, ("cvssMetricV40",), where)
        cvss = build_cvss(
            v3_vector=common.opt_str(v3, "vectorString", where),
            v3_score=common.opt_float(v3, "baseScore", where),
            v2_vector=common.opt_str(v2, "vectorString", where),
            v2_score=common.opt_float(v2, "baseScore", where),
            v40_vector=common.opt_str(v4, "vectorString", where),
            v40_score=common.opt_float(v4, "baseScore", where),
        )
        severity = (
            common.norm_severity(common.opt_str(v3, "baseSeverity", where))
            or common.norm_severity(common.opt_str(v2, "baseSeverity", where))
            or _severity_from_scores(cvss)
        )
        weaknesses = common.opt_dict(doc, "weaknesses", where)
        # NVD's own assessment first, then the CNA's.
        sources = sorted(weaknesses, key=lambda s: s != "nvd@nist.gov")
        cwes = [c for s in sources for c in common.str_list(weaknesses, s, where)]
        out.append(
            CveEnrichment(
                cve_id=cve_id,
                cvss=cvss,
                severity=severity,
                cwe_ids=_cwes(cwes),
                description=common.opt_text(doc, "description", where),
                references=common.dedupe(common.str_list(doc, "references", where)),
                published=common.opt_date(doc, "published", where),
                modified=common.opt_date(doc, "lastModified", where),
            )
        )
    yield from out


FEED_NVD = Feed(
    name="nvd",
    title="National Vulnerability Database",
    url="https://nvd.nist.gov/",
    paths=("nvd-feeds/nvdcve-1.1-*.json.gz",),
    kind="nvd",
    parse=parse_nvd,
)
FEED_NVD_CURATED = Feed(
    name="nvd-curated",
    title="National Vulnerability Database (curated API 2.0 records)",
    url="https://nvd.nist.gov/",
    paths=("nvd-curated/*.jsonl",),
    kind="nvd",
    parse=parse_curated,
)
FEEDS = (FEED_NVD, FEED_NVD_CURATED)
