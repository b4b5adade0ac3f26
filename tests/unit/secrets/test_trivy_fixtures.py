"""Trivy's own secret-scanner cases (tests/data/trivy-secret: its fixtures and the findings the real Trivy 0.76
reports for each of the 62 cases of its unit test): every case gives Vigil's findings exactly, or is listed in
DELIBERATE with the reason (docs/trivy-differences.md, "Secrets").

Compared per finding: rule ID, category, title, severity, start and end line, the `Match` line and the code lines
(number, text, cause). Vigil hides more in displayed text than Trivy (values assigned to secret-sounding names and
random-looking tokens that no rule matched), so Trivy's text is compared after the same concealment.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from vigil.analyzers.secrets import rules
from vigil.analyzers.secrets.engine import SecretScanner, _conceal, hyperscan_available
from vigil.findings.records import SecretFinding

DATA = Path(__file__).resolve().parents[2] / "data" / "trivy-secret"
CASES: list[dict[str, Any]] = json.loads((DATA / "cases.json").read_text(encoding="utf-8"))["cases"]

DELIBERATE = {
    "find secrets in CRLF line endings file":
        "a GitHub token must end where its 36 characters end: `ghp_` + 38 characters is not a PAT (Trivy takes "
        "the first 36)",
    "find Asymmetric Private Key secrets json":
        "in a JSON string the `\\n` escapes around a PEM body stay visible; Trivy masks them with the body",
    "find grafana secret":
        "the mask covers the token, not the quotes around it",
    "should find GitHub App installation token (stateless format)":
        "the fixture's token says `dummynotreal`: Vigil's placeholder allow rule drops values naming themselves "
        "dummy/example/placeholder",
}

Row = tuple[Any, ...]


def _trivy_row(f: dict[str, Any]) -> Row:
    code = tuple((n, _conceal(text), cause) for n, text, cause in f["Code"])
    return (f["RuleID"], f["Category"], f["Title"], f["Severity"], f["StartLine"], f["EndLine"],
            _conceal(f.get("Match", "")), code)


def _vigil_row(f: SecretFinding) -> Row:
    code = tuple((ln.number, ln.content, ln.is_cause) for ln in f.code.lines)
    return (f.rule_id, f.category, f.title, f.severity, f.start_line, f.end_line, f.match, code)


@cache
def _scanner(config: str, backend: str) -> SecretScanner:
    """One scanner per (config, backend): compiling the matcher is most of a case's cost."""
    cfg = rules.parse_config((DATA / "testdata" / config).read_bytes(), config)
    return SecretScanner(rules.effective(cfg), backend=backend)


def _run(case: dict[str, Any], backend: str) -> tuple[Counter[Row], Counter[Row]]:
    scanner = _scanner(case["config"], backend)
    got = scanner.scan("testdata/" + case["input"], (DATA / "testdata" / case["input"]).read_bytes())
    return Counter(_trivy_row(f) for f in case["findings"]), Counter(_vigil_row(f) for f in got)


BACKENDS = ["re", pytest.param("hyperscan", marks=pytest.mark.skipif(not hyperscan_available(),
                                                                     reason="no hyperscan"))]


def test_the_case_table_is_trivys() -> None:
    assert len(CASES) == 62
    assert sum(len(c["findings"]) for c in CASES) == 65
    assert not [c["name"] for c in CASES if "count_mismatch" in c]
    assert set(DELIBERATE) <= {c["name"] for c in CASES}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_trivy_case(case: dict[str, Any], backend: str) -> None:
    want, got = _run(case, backend)
    if case["name"] in DELIBERATE:
        assert got != want, f"no longer differs from Trivy: remove it from DELIBERATE and the docs ({case['name']})"
        return
    assert got == want
