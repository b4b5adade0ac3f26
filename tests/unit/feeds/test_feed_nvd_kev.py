"""NVD (JSON 1.1 feeds and curated API 2.0 records) and CISA KEV."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from vigil.vulndb.build.feeds import kev, nvd
from vigil.vulndb.build.feeds.cvss import v2_base_score, v3_base_score
from vigil.vulndb.build.records import FeedError
from vigil.vulndb.records import CveEnrichment

Parsed = Callable[[str], tuple[object, ...]]


def enrichments(parsed: Parsed, name: str) -> list[CveEnrichment]:
    items = parsed(name)
    assert all(isinstance(i, CveEnrichment) for i in items)
    return [i for i in items if isinstance(i, CveEnrichment)]


def latest(parsed: Parsed, name: str) -> dict[str, CveEnrichment]:
    # what the builder keeps: the last statement per CVE (files are read in sorted order)
    return {e.cve_id: e for e in enrichments(parsed, name)}


def test_feeds_declared() -> None:
    assert nvd.FEEDS == (nvd.FEED_NVD, nvd.FEED_NVD_CURATED)
    assert nvd.FEED_NVD.kind == nvd.FEED_NVD_CURATED.kind == "nvd"
    assert nvd.FEED_NVD.paths == ("nvd-feeds/nvdcve-1.1-*.json.gz",)
    assert nvd.FEED_NVD_CURATED.paths == ("nvd-curated/*.jsonl",)
    assert kev.FEEDS == (kev.FEED,) and kev.FEED.kind == "kev" and kev.FEED.name == "cisa-kev"


def test_nvd_text4shell(parsed: Parsed) -> None:
    e = latest(parsed, "nvd")["CVE-2022-42889"]
    assert e.cvss is not None
    assert e.cvss.v3_score == 9.8 and e.cvss.v3_vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert e.severity == "CRITICAL"
    assert e.cwe_ids == ("CWE-94",)
    assert e.description.startswith("Apache Commons Text performs variable interpolation")
    assert "https://lists.apache.org/thread/n2bd4vdsgkqh2tm14l1wyc3jyol7s1om" in e.references
    assert e.published == "2022-10-13T13:15:00Z"
    assert e.modified.startswith("2022-10-")


def test_nvd_counts_and_cwe_filter(parsed: Parsed) -> None:
    items = enrichments(parsed, "nvd")
    assert len(items) == 15454 + 1664
    by_id = latest(parsed, "nvd")
    assert 15500 <= len(by_id) <= 17118  # the modified feed restates ~1,200 CVE-2022 records
    assert not any(c.startswith("NVD-CWE-") for e in items for c in e.cwe_ids)
    with_v3 = [e for e in items if e.cvss is not None and e.cvss.v3_score]
    assert len(with_v3) >= 15039
    assert {e.severity for e in items} <= {"", "LOW", "MEDIUM", "HIGH", "CRITICAL"}


def test_nvd_v2_only_severity_and_scores_agree_with_calculator(parsed: Parsed) -> None:
    v2_only = {
        "CVE_Items": [
            {
                "cve": {"CVE_data_meta": {"ID": "CVE-2099-0001"}},
                "impact": {
                    "baseMetricV2": {"cvssV2": {"vectorString": "AV:N/AC:L/Au:N/C:C/I:C/A:C"}, "severity": ""}
                },
            }
        ]
    }
    (e2,) = nvd.parse_nvd("f.json", json.dumps(v2_only).encode())
    assert e2.cvss is not None and e2.cvss.v2_score == 10.0 and e2.severity == "HIGH"  # v2 has no CRITICAL
    items = enrichments(parsed, "nvd")
    # Our CVSS calculator reproduces every score NVD states for its vectors.
    for e in items:
        if e.cvss is None:
            continue
        if e.cvss.v3_vector:
            assert v3_base_score(e.cvss.v3_vector) == e.cvss.v3_score, e.cve_id
        if e.cvss.v2_vector:
            assert v2_base_score(e.cvss.v2_vector) == e.cvss.v2_score, e.cve_id


def test_nvd_curated(parsed: Parsed) -> None:
    recs = latest(parsed, "nvd-curated")
    assert len(recs) == 12
    log4shell = recs["CVE-2021-44228"]
    assert log4shell.cvss is not None and log4shell.cvss.v3_score == 10.0 and log4shell.cvss.v2_score == 9.3
    assert log4shell.severity == "CRITICAL"
    assert log4shell.cwe_ids == ("CWE-917", "CWE-20", "CWE-400", "CWE-502")  # NVD's own first
    text4shell = recs["CVE-2022-42889"]
    assert (
        text4shell.cvss is not None and text4shell.cvss.v3_score == 9.8 and text4shell.severity == "CRITICAL"
    )
    assert text4shell.cwe_ids == ("CWE-94",)
    assert recs["CVE-2023-32681"].cwe_ids == ("CWE-200",)  # NVD-CWE-noinfo dropped
    unscored = recs["CVE-2024-21907"]
    assert unscored.cvss is None and unscored.severity == ""
    assert recs["CVE-2021-44228"].published == "2021-12-10T10:15:09Z"


def test_kev(parsed: Parsed) -> None:
    ids = parsed("cisa-kev")
    assert all(isinstance(i, str) for i in ids)
    assert len(ids) == len(set(ids)) == 1404
    assert {"CVE-2021-44228", "CVE-2021-45046", "CVE-2022-22965", "CVE-2023-44487"} <= set(ids)


def test_nvd_malformed() -> None:
    with pytest.raises(FeedError, match=r"NVD JSON 1\.1"):
        list(nvd.parse_nvd("f.json", b'{"CVE_Items": [{"cve": {}}]}'))
    with pytest.raises(FeedError):
        list(nvd.parse_nvd("f.json", b'{"CVE_Items": [{"cve": {"CVE_data_meta": {"ID": 5}}}]}'))
    with pytest.raises(FeedError):
        list(nvd.parse_nvd("f.json", b"[]"))
    ok = json.dumps(
        {
            "CVE_Items": [
                {"cve": {"CVE_data_meta": {"ID": "CVE-2099-0001"}}, "impact": {}, "configurations": {}}
            ]
        }
    )
    assert list(nvd.parse_nvd("f.json", ok.encode())) == [CveEnrichment(cve_id="CVE-2099-0001")]


def test_kev_malformed() -> None:
    with pytest.raises(FeedError):
        list(kev.parse("k.json", b'{"vulnerabilities": {}}'))
    with pytest.raises(FeedError):
        list(kev.parse("k.json", b'{"vulnerabilities": [{"cveID": 1}]}'))
    assert list(kev.parse("k.json", b'{"vulnerabilities": [{"cveID": "cve-2099-1"}]}')) == ["CVE-2099-1"]
