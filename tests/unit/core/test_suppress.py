import datetime as dt

import msgspec
import pytest

from vigil.findings.records import Report, Result, Vulnerability
from vigil.findings.suppress import Filters, IgnoreFileError, apply, expiry_warnings, parse_ignorefile

TODAY = dt.date(2026, 11, 26)


def _report() -> Report:
    vulns = (
        Vulnerability(vulnerability_id="CVE-1", aliases=("GHSA-aaaa",), pkg_name="a", installed_version="1",
                      fixed_version="2", status="fixed", severity="HIGH"),
        Vulnerability(vulnerability_id="CVE-2", pkg_name="b", installed_version="1", status="affected",
                      severity="LOW"),
        Vulnerability(vulnerability_id="PYSEC-3", pkg_name="c", installed_version="1", fixed_version="3",
                      status="fixed", severity="CRITICAL"),
    )
    return Report(artifact_name="x", artifact_type="filesystem",
                  results=(Result(target="req.txt", class_="lang-pkgs", type="pip", vulnerabilities=vulns),))


def _ids(r: Report) -> list[str]:
    return [v.vulnerability_id for v in r.results[0].vulnerabilities]


def test_parse_ignorefile() -> None:
    text = "# comment\nCVE-1\n\nGHSA-x exp:2026-12-01  # trailing\n  PYSEC-3   \n"
    entries = parse_ignorefile(text)
    assert [(e.id, e.line, e.expires) for e in entries] == [
        ("CVE-1", 2, None), ("GHSA-x", 4, dt.date(2026, 12, 1)), ("PYSEC-3", 5, None)
    ]


@pytest.mark.parametrize("bad", ["CVE-1 until:2020-01-01", "CVE-1 exp:2020-13-45"])
def test_parse_errors(bad: str) -> None:
    with pytest.raises(IgnoreFileError, match=":1:"):
        parse_ignorefile(bad)


def test_severity_and_unfixed() -> None:
    r = apply(_report(), Filters(severities=("HIGH", "CRITICAL"), today=TODAY))
    assert _ids(r) == ["CVE-1", "PYSEC-3"]
    r = apply(_report(), Filters(severities=("LOW", "HIGH", "CRITICAL"), ignore_unfixed=True, today=TODAY))
    assert _ids(r) == ["CVE-1", "PYSEC-3"]


def test_ignore_by_alias_is_kept_as_suppressed() -> None:
    entries = tuple(parse_ignorefile("GHSA-aaaa\n"))
    r = apply(_report(), Filters(severities=("LOW", "HIGH", "CRITICAL"), ignores=entries, today=TODAY))
    assert _ids(r) == ["CVE-2", "PYSEC-3"]
    (s,) = r.metadata.suppressed
    assert s.vulnerability_id == "CVE-1" and "line 1" in s.reason


@pytest.mark.parametrize(
    ("exp", "suppressed"),
    [("2026-11-25", False), ("2026-11-26", False), ("2026-11-27", True)],  # yesterday, today, tomorrow
)
def test_expiry_edges(exp: str, suppressed: bool) -> None:
    entries = tuple(parse_ignorefile(f"CVE-1 exp:{exp}\n"))
    r = apply(_report(), Filters(severities=("HIGH",), ignores=entries, today=TODAY))
    assert (_ids(r) == []) is suppressed
    warnings = expiry_warnings(entries, TODAY, ".vigilignore")
    assert bool(warnings) is (not suppressed)
    if warnings:
        assert "CVE-1" in warnings[0] and exp in warnings[0]


def test_report_stage_leaves_a_report_without_results_as_the_filters_would() -> None:
    # pipeline.report skips the filters and remediation (and does not import them) when there is no result: what
    # they would give
    from vigil.detectors import remediation
    from vigil.findings.records import Metadata, SuppressedFinding
    from vigil.findings.suppress import IgnoreEntry
    from vigil.pipeline.report import ReportFilters, apply_filters

    kept = SuppressedFinding(target="req.txt", vulnerability_id="CVE-9", reason="from the server")
    empty = Report(artifact_name="x", artifact_type="filesystem", metadata=Metadata(suppressed=(kept,)))
    ignores = (IgnoreEntry(id="CVE-1", line=1),)
    f = ReportFilters(severities=("HIGH",), ignore_unfixed=True, ignores=ignores, ignore_status=("affected",))
    filtered = apply(empty, Filters(severities=("HIGH",), ignore_unfixed=True, ignores=ignores,
                                    ignore_status=("affected",)))
    assert apply_filters(empty, f) == remediation.annotate(filtered)
    assert apply_filters(empty, f).metadata.suppressed == (kept,)
    # the ignore file's warnings still reach the report
    assert apply_filters(empty, msgspec.structs.replace(f, warnings=("soon",))).metadata.warnings == ("soon",)
