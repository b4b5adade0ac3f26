"""One schema for disk, cache and wire: every record round-trips through JSON unchanged, and the published JSON
Schema (docs/report-schema.json) is generated from the record types."""

import importlib.util
import inspect
import json
from pathlib import Path

import msgspec

from vigil.findings.records import (
    CVSS,
    DataSource,
    MatchDetail,
    Metadata,
    Report,
    Result,
    SuppressedFinding,
    Vulnerability,
)
from vigil.inventory.records import Location, Package, Unknown

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "docs" / "report-schema.json"


def _sample() -> Report:
    pkg = Package(ecosystem="pypi", name="PyYAML", version="5.3.1", id="PyYAML@5.3.1", purl="pkg:pypi/pyyaml@5.3.1",
                  dev=True, relationship="direct", depends_on=("x@1",), locations=(Location(start_line=1, end_line=2),),
                  file_path="requirements.txt", licenses=("MIT",))
    v = Vulnerability(vulnerability_id="CVE-2020-14343", aliases=("GHSA-8q59-q68h-6hv4",), pkg_name="PyYAML",
                      installed_version="5.3.1", fixed_version="5.4", status="fixed", severity="CRITICAL",
                      vendor_severity={"nvd": "CRITICAL"}, cvss={"nvd": CVSS(v3_vector="CVSS:3.1/AV:N", v3_score=9.8)},
                      data_sources=(DataSource(id="pypa", name="PyPA"),),
                      match_details=(MatchDetail(source="pypa", advisory_id="PYSEC-2021-142", vulnerable_range="<5.4",
                                                 comparator="pep440"),), known_exploited=True)
    meta = Metadata(unknowns=(Unknown(file_path="a", analyzer="b", reason="c"),),
                    suppressed=(SuppressedFinding(target="t", vulnerability_id="X", pkg_name="p", reason="r"),))
    return Report(artifact_name=".", artifact_type="filesystem", metadata=meta,
                  results=(Result(target="requirements.txt", class_="lang-pkgs", type="pip", packages=(pkg,),
                                  vulnerabilities=(v,)),))


def test_roundtrip() -> None:
    r = _sample()
    assert msgspec.json.decode(msgspec.json.encode(r), type=Report) == r


def test_trivy_compatible_field_names() -> None:
    d = json.loads(msgspec.json.encode(_sample()))
    v = d["Results"][0]["Vulnerabilities"][0]
    assert {"VulnerabilityID", "PkgName", "InstalledVersion", "FixedVersion", "Severity", "CVSS"} <= set(v)
    assert d["Results"][0]["Class"] == "lang-pkgs" and d["SchemaVersion"] == 2
    assert d["Results"][0]["Packages"][0]["PURL"] == "pkg:pypi/pyyaml@5.3.1"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_report_schema", ROOT / "tools" / "gen_report_schema.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_published_schema_is_current() -> None:
    """Compared with what the generator writes, descriptions normalised: the same bytes on Python 3.11 and 3.13."""
    assert SCHEMA.read_text(encoding="utf-8") == _generator().render(), (
        "regenerate docs/report-schema.json with `make schema`")
    doc = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert doc["$ref"] == "#/$defs/Report"
    assert "ARCHITECTURE.md" not in SCHEMA.read_text(encoding="utf-8")


def test_misconf_summary_always_has_both_counts() -> None:
    from vigil.findings.records import MisconfSummary

    assert json.loads(msgspec.json.encode(MisconfSummary())) == {"Successes": 0, "Failures": 0}


def test_decoded_records_keep_evaluated_annotations() -> None:
    """msgspec builds a decoder from the classes' annotations; a string annotation is compiled by typing.ForwardRef
    one at a time (~200 for the analysis cache's BlobInfo: several ms on every image scan). The record modules keep
    theirs evaluated (no postponed annotations), so building a decoder compiles nothing."""
    import vigil.findings.analysis
    import vigil.findings.records
    import vigil.inventory.records
    import vigil.vulndb.records

    structs = [c for mod in (vigil.findings.analysis, vigil.findings.records, vigil.inventory.records,
                             vigil.vulndb.records)
               for c in vars(mod).values()
               if isinstance(c, type) and issubclass(c, msgspec.Struct) and c.__module__ == mod.__name__]
    assert len(structs) > 20  # the check would pass vacuously with no class found
    strings = {f"{c.__module__}.{c.__qualname__}.{k}" for c in structs
               for k, v in inspect.get_annotations(c).items() if isinstance(v, str)}
    assert not strings, sorted(strings)
