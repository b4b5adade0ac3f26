"""CVSS base-score calculator (vigil.vulndb.build.feeds.cvss) against known vectors."""

from __future__ import annotations

import pytest

from vigil.vulndb.build.feeds.cvss import (
    build_cvss,
    severity_from_cvss,
    severity_from_v2,
    severity_from_v3,
    v2_base_score,
    v3_base_score,
)
from vigil.vulndb.records import CvssScore


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", 5.4),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H", 7.4),  # CVE-2020-8203 (NVD)
        ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),  # CVE-2021-23337 (NVD)
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1),  # CVE-2023-32681 (NVD)
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H", 9.1),  # CVE-2019-10744 (NVD)
        # nsp states 2.5 for this vector (lodash CVE-2018-3721); the v3.0 formula gives 1.8
        ("CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L", 1.8),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        # temporal metrics are ignored for the base score
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C", 9.8),
    ],
)
def test_v3_base_score(vector: str, score: float) -> None:
    assert v3_base_score(vector) == score


@pytest.mark.parametrize(
    "vector",
    [
        "",
        "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",  # no CVSS:3.x prefix
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",  # A missing
        "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",  # bad value
        "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",  # repeated metric
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
    ],
)
def test_v3_invalid_vectors(vector: str) -> None:
    assert v3_base_score(vector) is None


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0),
        ("AV:N/AC:M/Au:N/C:C/I:C/A:C", 9.3),  # CVE-2021-44228 (NVD)
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
        ("AV:N/AC:M/Au:N/C:N/I:P/A:P", 5.8),  # CVE-2020-8203 (NVD)
        ("AV:N/AC:L/Au:S/C:P/I:P/A:P", 6.5),  # CVE-2021-23337 (NVD)
        ("AV:N/AC:L/Au:N/C:N/I:N/A:P", 5.0),  # CVE-2022-0778 (NVD)
        ("AV:N/AC:L/Au:N/C:N/I:P/A:P", 6.4),
        ("AV:L/AC:L/Au:N/C:N/I:N/A:N", 0.0),
        ("(AV:N/AC:L/Au:N/C:P/I:P/A:P)", 7.5),
    ],
)
def test_v2_base_score(vector: str, score: float) -> None:
    assert v2_base_score(vector) == score


def test_v2_invalid() -> None:
    assert v2_base_score("AV:N/AC:L/Au:N/C:P/I:P") is None
    assert v2_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") is None


@pytest.mark.parametrize(
    ("score", "v3", "v2"),
    [
        (0.0, "", ""),
        (0.1, "LOW", "LOW"),
        (3.9, "LOW", "LOW"),
        (4.0, "MEDIUM", "MEDIUM"),
        (6.9, "MEDIUM", "MEDIUM"),
        (7.0, "HIGH", "HIGH"),
        (8.9, "HIGH", "HIGH"),
        (9.0, "CRITICAL", "HIGH"),
        (10.0, "CRITICAL", "HIGH"),
    ],
)
def test_severity_ranges(score: float, v3: str, v2: str) -> None:
    assert severity_from_v3(score) == v3
    assert severity_from_v2(score) == v2


def test_build_cvss() -> None:
    assert build_cvss() is None
    assert build_cvss(v3_vector="garbage") is None
    computed = build_cvss(v3_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    assert computed == CvssScore(v3_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", v3_score=9.8)
    # A score the source states wins over the computed one.
    stated = build_cvss(v3_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", v3_score=9.7)
    assert stated is not None and stated.v3_score == 9.7
    assert build_cvss(v2_score=5.0) == CvssScore(v2_score=5.0)
    assert build_cvss(v3_score=11.0) is None  # out of range
    v4 = build_cvss(v40_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
    assert v4 is not None and v4.v40_vector.startswith("CVSS:4.0/") and v4.v40_score == 0.0
    assert severity_from_cvss(build_cvss(v2_score=7.5, v3_score=9.8)) == "CRITICAL"
    assert severity_from_cvss(build_cvss(v2_score=7.5)) == "HIGH"
    assert severity_from_cvss(None) == ""
