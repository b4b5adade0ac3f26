"""CVSS base scores from vectors (v2 and v3.x) and score -> severity ranges.

Written from the public specifications: FIRST CVSS v3.1 Specification Document §7 (formulas, Appendix A
"Roundup") and §7.4 metric values; CVSS v3.0 uses the same formulas with a plain round-up to one decimal; CVSS v2
Complete Guide §3.2.1 (base equation). v4.0 vectors are stored without a score (its scoring is a lookup table of
macro-vectors, not needed here).
"""

from __future__ import annotations

import math

from vigil.vulndb.records import CvssScore

# v3.x metric weights (spec §7.4).
_V3_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_V3_AC = {"L": 0.77, "H": 0.44}
_V3_PR_UNCHANGED = {"N": 0.85, "L": 0.62, "H": 0.27}
_V3_PR_CHANGED = {"N": 0.85, "L": 0.68, "H": 0.5}
_V3_UI = {"N": 0.85, "R": 0.62}
_V3_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}
_V3_REQUIRED = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")

# v2 metric weights (Complete Guide §3.2.1).
_V2_AV = {"L": 0.395, "A": 0.646, "N": 1.0}
_V2_AC = {"H": 0.35, "M": 0.61, "L": 0.71}
_V2_AU = {"M": 0.45, "S": 0.56, "N": 0.704}
_V2_CIA = {"N": 0.0, "P": 0.275, "C": 0.660}
_V2_REQUIRED = ("AV", "AC", "Au", "C", "I", "A")


def _metrics(parts: list[str]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition(":")
        if not sep or not key or not value or key in out:
            return None
        out[key] = value
    return out


def _roundup_v31(value: float) -> float:
    """CVSS v3.1 Appendix A: round up to one decimal, robust against floating-point noise."""
    as_int = round(value * 100_000)
    if as_int % 10_000 == 0:
        return as_int / 100_000.0
    return (math.floor(as_int / 10_000) + 1) / 10.0


def _roundup_v30(value: float) -> float:
    return math.ceil(value * 10) / 10


def v3_base_score(vector: str) -> float | None:
    """Base score of a "CVSS:3.0/…" or "CVSS:3.1/…" vector; None if the vector is not a valid v3 base vector.
    Temporal/environmental metrics, if present, are ignored (base score only)."""
    parts = vector.strip().split("/")
    if len(parts) < 2 or parts[0] not in ("CVSS:3.0", "CVSS:3.1"):
        return None
    m = _metrics(parts[1:])
    if m is None or any(k not in m for k in _V3_REQUIRED):
        return None
    try:
        scope_changed = {"U": False, "C": True}[m["S"]]
        av, ac, ui = _V3_AV[m["AV"]], _V3_AC[m["AC"]], _V3_UI[m["UI"]]
        pr = (_V3_PR_CHANGED if scope_changed else _V3_PR_UNCHANGED)[m["PR"]]
        c, i, a = _V3_CIA[m["C"]], _V3_CIA[m["I"]], _V3_CIA[m["A"]]
    except KeyError:
        return None
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if scope_changed else 6.42 * iss
    exploitability = 8.22 * av * ac * pr * ui
    if impact <= 0:
        return 0.0
    raw = 1.08 * (impact + exploitability) if scope_changed else impact + exploitability
    roundup = _roundup_v31 if parts[0] == "CVSS:3.1" else _roundup_v30
    return roundup(min(raw, 10.0))


def v2_base_score(vector: str) -> float | None:
    """Base score of a v2 vector ("AV:N/AC:L/Au:N/C:P/I:P/A:P", optionally in parentheses or with temporal
    metrics appended); None if invalid."""
    text = vector.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if text.startswith("CVSS:2.0/"):
        text = text[len("CVSS:2.0/") :]
    m = _metrics(text.split("/"))
    if m is None or any(k not in m for k in _V2_REQUIRED):
        return None
    try:
        av, ac, au = _V2_AV[m["AV"]], _V2_AC[m["AC"]], _V2_AU[m["Au"]]
        c, i, a = _V2_CIA[m["C"]], _V2_CIA[m["I"]], _V2_CIA[m["A"]]
    except KeyError:
        return None
    impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a))
    exploitability = 20 * av * ac * au
    f_impact = 0.0 if impact == 0 else 1.176
    raw = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * f_impact
    # "round_to_1_decimal": half away from zero (scores are non-negative); the epsilon absorbs float noise.
    return max(0.0, math.floor(raw * 10 + 0.5 + 1e-9) / 10)


def is_v4_vector(vector: str) -> bool:
    return vector.strip().startswith("CVSS:4.0/")


def severity_from_v3(score: float) -> str:
    """CVSS v3/v4 qualitative rating (spec §5): 0.1-3.9 LOW, 4.0-6.9 MEDIUM, 7.0-8.9 HIGH, 9.0-10.0 CRITICAL."""
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0.0:
        return "LOW"
    return ""


def severity_from_v2(score: float) -> str:
    """NVD's v2 ranges: 0-3.9 LOW, 4.0-6.9 MEDIUM, 7.0-10.0 HIGH (v2 has no CRITICAL)."""
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0.0:
        return "LOW"
    return ""


def severity_from_cvss(cvss: CvssScore | None) -> str:
    """The rating a source implies when it gives only CVSS: v3 first, then v4, then v2 (Trivy's documented rule)."""
    if cvss is None:
        return ""
    if cvss.v3_score > 0:
        return severity_from_v3(cvss.v3_score)
    if cvss.v40_score > 0:
        return severity_from_v3(cvss.v40_score)
    if cvss.v2_score > 0:
        return severity_from_v2(cvss.v2_score)
    return ""


def build_cvss(
    *,
    v2_vector: str = "",
    v2_score: float | None = None,
    v3_vector: str = "",
    v3_score: float | None = None,
    v40_vector: str = "",
    v40_score: float | None = None,
) -> CvssScore | None:
    """Assemble a CvssScore: invalid vectors are dropped, missing scores are computed from valid vectors (v2, v3),
    a score the source states wins over our computation. None when nothing is known."""
    v3_vector = v3_vector.strip()
    if v3_vector:
        computed = v3_base_score(v3_vector)
        if computed is None:
            v3_vector = ""
        elif v3_score is None:
            v3_score = computed
    v2_vector = v2_vector.strip()
    if v2_vector:
        computed = v2_base_score(v2_vector)
        if computed is None:
            v2_vector = ""
        elif v2_score is None:
            v2_score = computed
    v40_vector = v40_vector.strip()
    if v40_vector and not is_v4_vector(v40_vector):
        v40_vector = ""
    result = CvssScore(
        v2_vector=v2_vector,
        v2_score=_clamp(v2_score),
        v3_vector=v3_vector,
        v3_score=_clamp(v3_score),
        v40_vector=v40_vector,
        v40_score=_clamp(v40_score),
    )
    if result == CvssScore():
        return None
    return result


def _clamp(score: float | None) -> float:
    if score is None or not 0.0 <= score <= 10.0:  # also rejects NaN
        return 0.0
    return round(score, 1)
