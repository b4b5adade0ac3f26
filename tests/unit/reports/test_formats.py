"""Every --format: golden files (reports are reproducible: timestamps from CreatedAt, UUIDs from the report's
hash), schema validation for SARIF (official 2.1.0 schema), CycloneDX 1.6 (JSON and XML) and SPDX 2.3 (JSON and
tag-value), and the JSON round trip that `vigil convert` relies on.

The input is tests/fixtures/reports/demo-report.json: a real scan of examples/demo-project against the fixture
DB (real advisories), plus a misconfiguration, a secret, a license finding and a suppressed finding."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tests.conftest import SHARED

from vigil.findings.records import Report
from vigil.reporters import FORMATS, RenderOptions, get

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "reports" / "demo-report.json"
SARIF_SCHEMA = SHARED / "data" / "schemas" / "sarif-schema-2.1.0.json"
TEXT_FORMATS = {"table", "cyclonedx-xml", "spdx", "junit", "html", "template"}
TEMPLATE = (
    "{% for r in results %}{{ r.target }}: {{ r.vulnerabilities|length }} vulnerabilities"
    "{% if r.remediation_summary() %} ({{ r.remediation_summary() }}){% endif %}\n"
    "{% for v in r.vulnerabilities %}  {{ v.vulnerability_id|escape_xml }} {{ v|severity_score }}\n{% endfor %}"
    "{% endfor %}{% for r in data.Results %}{{ r.Target }} {{ r.Class }}\n{% endfor %}"
)


@pytest.fixture(scope="module")
def report() -> Report:
    return msgspec.json.decode(FIXTURE.read_bytes(), type=Report)


def render(report: Report, fmt: str, template: str = TEMPLATE) -> str:
    buf = io.StringIO()
    get(fmt, RenderOptions(template=template, show_suppressed=True))(report, buf)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_golden(report: Report, fmt: str, golden: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GITHUB_SHA", "GITHUB_REF", "GITHUB_WORKFLOW", "GITHUB_JOB", "GITHUB_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    out = render(report, fmt)
    assert out == render(report, fmt), "rendering must be reproducible"
    obj: Any = {"lines": out.splitlines()} if fmt in TEXT_FORMATS else json.loads(out)
    golden.check(f"reports/{fmt}/demo", obj)


def test_ids_follow_the_report(report: Report) -> None:
    other = msgspec.structs.replace(report, created_at="2026-11-27T00:00:00Z")
    a, b = json.loads(render(report, "cyclonedx")), json.loads(render(other, "cyclonedx"))
    assert a["serialNumber"] != b["serialNumber"]
    assert a["metadata"]["timestamp"].startswith("2026-11-26T12:00:00")
    assert b["metadata"]["timestamp"].startswith("2026-11-27T00:00:00")


def test_sarif_valid_and_complete(report: Report) -> None:
    import jsonschema

    if not SARIF_SCHEMA.is_file():
        pytest.skip("../shared SARIF schema not present")
    doc = json.loads(render(report, "sarif"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(doc)
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "Vigil" and driver["informationUri"].startswith("https://")
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids)), "one rule per ID"
    rules = {r["id"]: r for r in driver["rules"]}
    assert {"DS-0002", "aws-access-key-id", "CVE-2020-14343"} <= set(rules)
    for r in driver["rules"]:
        props = r["properties"]
        assert props["precision"] == "very-high" and "security" in props["tags"]
        float(props["security-severity"])
    # CVSS score when known; the mapping otherwise
    assert rules["DS-0002"]["properties"]["security-severity"] == "8.0"
    assert rules["aws-access-key-id"]["properties"]["security-severity"] == "9.5"
    results = {(x["ruleId"], x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): x
               for x in run["results"]}
    pyyaml = results[("CVE-2020-14343", "backend/requirements.txt")]
    assert pyyaml["locations"][0]["physicalLocation"]["region"]["startLine"] == 3  # line in the lockfile
    lodash = next(x for (rid, uri), x in results.items() if uri == "web/package-lock.json" and "lodash" in
                  x["message"]["text"])
    assert lodash["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 25, "endLine": 28, "startColumn": 1, "endColumn": 1}
    ds = results[("DS-0002", "Dockerfile")]["locations"][0]["physicalLocation"]["region"]
    assert (ds["startLine"], ds["endLine"]) == (1, 3)
    secret = results[("aws-access-key-id", "config/settings.py")]["locations"][0]["physicalLocation"]["region"]
    assert secret["startLine"] == 4
    assert len(run["results"]) == sum(len(r.vulnerabilities) for r in report.results) + 3


def _fast_iri_formats() -> Any:
    """Draft 7's format checker with `iri`/`iri-reference` checked by rfc3986-validator instead of
    rfc3987-syntax, whose Earley parser takes ~0.3 s per URL (30 s for this BOM). Same rules for ASCII URLs."""
    import jsonschema
    from rfc3986_validator import validate_rfc3986

    checker = jsonschema.FormatChecker()
    checker.checkers = dict(jsonschema.Draft7Validator.FORMAT_CHECKER.checkers)
    checker.checkers["iri-reference"] = (lambda v: not isinstance(v, str)
                                         or bool(validate_rfc3986(v, rule="URI_reference")), ())
    checker.checkers["iri"] = (lambda v: not isinstance(v, str) or bool(validate_rfc3986(v, rule="URI")), ())
    return checker


def _cdx_validate(text: str, xml: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from cyclonedx.validation.xml import XmlValidator

    monkeypatch.setattr(jsonschema.Draft7Validator, "FORMAT_CHECKER", _fast_iri_formats())
    v = XmlValidator(SchemaVersion.V1_6) if xml else JsonStrictValidator(SchemaVersion.V1_6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        err = v.validate_str(text)
    assert err is None, str(err)


def test_cyclonedx_json_valid_and_complete(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    text = render(report, "cyclonedx")
    _cdx_validate(text, xml=False, monkeypatch=monkeypatch)
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6"
    libs = [c for c in bom["components"] if c["type"] == "library"]
    assert len(libs) == sum(len(r.packages) for r in report.results)
    refs = {c["bom-ref"] for c in bom["components"]} | {bom["metadata"]["component"]["bom-ref"]}
    deps = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert deps["pkg:npm/express@4.16.0"] == ["pkg:npm/qs@6.5.1"]  # Package.depends_on edge
    assert all(r in refs for r in deps) and all(x in refs for v in deps.values() for x in v)
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert len(vulns) == len({v.vulnerability_id for r in report.results for v in r.vulnerabilities})
    pyyaml = vulns["CVE-2020-14343"]
    assert pyyaml["affects"][0]["ref"] == "pkg:pypi/pyyaml@5.3.1"
    assert any(r.get("method", "").startswith("CVSSv3") and r["score"] == 9.8 for r in pyyaml["ratings"])
    assert any(r.get("severity") == "critical" for r in pyyaml["ratings"])


def test_cyclonedx_validation_catches_errors(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    bom = json.loads(render(report, "cyclonedx"))
    bom["vulnerabilities"][0]["advisories"] = [{"url": "not a url with spaces"}]
    with pytest.raises(AssertionError):
        _cdx_validate(json.dumps(bom), xml=False, monkeypatch=monkeypatch)
    bom = json.loads(render(report, "cyclonedx"))
    bom["components"][0]["type"] = "bogus"
    with pytest.raises(AssertionError):
        _cdx_validate(json.dumps(bom), xml=False, monkeypatch=monkeypatch)


def test_cyclonedx_xml_valid(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    text = render(report, "cyclonedx-xml")
    _cdx_validate(text, xml=True, monkeypatch=monkeypatch)
    assert 'xmlns="http://cyclonedx.org/schema/bom/1.6"' in text


@pytest.mark.parametrize(("fmt", "suffix"), [("spdx-json", ".spdx.json"), ("spdx", ".spdx")])
def test_spdx_valid(report: Report, fmt: str, suffix: str, tmp_path: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    path = tmp_path / f"bom{suffix}"
    path.write_text(render(report, fmt), encoding="utf-8")
    doc = parse_file(str(path))
    assert validate_full_spdx_document(doc) == []
    assert doc.creation_info.spdx_version == "SPDX-2.3"
    purls = {r.locator for p in doc.packages for r in p.external_references if r.reference_type == "purl"}
    assert "pkg:pypi/pyyaml@5.3.1" in purls and "pkg:npm/qs@6.5.1" in purls


def test_json_round_trip(report: Report) -> None:
    """`vigil convert report.json --format json` reproduces the file byte for byte."""
    out = render(report, "json")
    assert out == FIXTURE.read_text(encoding="utf-8")
    assert msgspec.json.decode(out.encode(), type=Report) == report


def test_table_shows_remediation_and_suppressed(report: Report) -> None:
    out = render(report, "table")
    assert "Remediation: upgrading 1 package removes 4 of 4 findings" in out  # lodash -> 4.17.23
    assert "Suppressed findings (1)" in out and "vulnerable_code_not_in_execute_path" in out
    quiet = io.StringIO()
    get("table")(report, quiet)
    assert "Suppressed: 1 finding(s)" in quiet.getvalue()


def test_html_is_self_contained(report: Report) -> None:
    out = render(report, "html")
    assert "<script>" in out and "sortable" in out and 'id="filter"' in out
    for needle in ('src="http', "src='http", '<link ', "@import", "fetch(", "XMLHttpRequest"):
        assert needle not in out
    assert "upgrading 1 package removes 4 of 4 findings" in out
    assert "<script>alert" not in render(
        msgspec.structs.replace(report, artifact_name="<script>alert(1)</script>"), "html")


def test_template_errors_are_user_errors(report: Report) -> None:
    with pytest.raises(ValueError, match="template error"):
        render(report, "template", "{% for x in %}")
    with pytest.raises(ValueError, match="template error"):
        render(report, "template", "{{ nope.missing }}")
    with pytest.raises(ValueError, match="--template"):
        get("template")(report, io.StringIO())


def test_gitlab_and_github_shapes(report: Report) -> None:
    gl = json.loads(render(report, "gitlab"))
    assert gl["scan"]["type"] == "dependency_scanning" and gl["vulnerabilities"]
    v = gl["vulnerabilities"][0]
    assert {"id", "name", "severity", "identifiers", "location"} <= set(v)
    cq = json.loads(render(report, "gitlab-codequality"))
    assert all({"description", "fingerprint", "severity", "location"} <= set(i) for i in cq)
    assert len({i["fingerprint"] for i in cq}) == len(cq)
    from vigil.reporters.github import build

    gh = build(report, {"GITHUB_SHA": "abc", "GITHUB_REF": "refs/heads/main", "GITHUB_JOB": "scan"})
    assert gh["sha"] == "abc" and gh["ref"] == "refs/heads/main"
    npm = gh["manifests"]["web/package-lock.json"]["resolved"]
    assert npm["express@4.16.0"]["dependencies"] == ["pkg:npm/qs@6.5.1"]
    assert npm["qs@6.5.1"]["relationship"] == "indirect"


def test_junit_counts(report: Report) -> None:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(render(report, "junit"))
    total = sum(len(r.vulnerabilities) + len(r.secrets) + len(r.licenses)
                + sum(1 for m in r.misconfigurations if m.status == "FAIL") for r in report.results)
    assert int(root.get("failures", "0")) == total == len(root.findall(".//failure"))


def test_table_of_an_empty_report_is_what_rich_draws(report: Report) -> None:
    """A report without results is written without importing rich: the same bytes rich draws, in every width; a
    stream that is not UTF-8 (rich then draws the box in ASCII) and a report with suppressed findings go to rich."""
    from vigil.reporters import table

    empty = msgspec.structs.replace(report, results=(),
                                    metadata=msgspec.structs.replace(report.metadata, suppressed=()))
    for width in (40, 80, 160, 200):  # the CLI's are 160 (a file, a pipe) and the terminal's, at least 80
        fast, drawn = io.StringIO(), io.StringIO()
        table.render(empty, fast, width)
        table._render(empty, drawn, width, None)
        assert fast.getvalue() == drawn.getvalue(), width
        assert (fast.getvalue() == table._EMPTY_REPORT) == (width >= 80), width

    class Latin1(io.StringIO):
        encoding = "latin-1"

    ascii_box = Latin1()
    table.render(empty, ascii_box)
    assert ascii_box.getvalue() != table._EMPTY_REPORT and "Report Summary" in ascii_box.getvalue()
    assert ascii_box.getvalue().isascii()
    hidden = msgspec.structs.replace(report, results=())
    assert hidden.metadata.suppressed
    out = io.StringIO()
    table.render(hidden, out)
    assert "Suppressed:" in out.getvalue()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_file_gets_what_a_text_buffer_gets(report: Report, fmt: str, tmp_path: Path) -> None:
    """A report written to a UTF-8 file (the JSON report goes straight to its byte buffer) is the text a StringIO
    receives, non-ASCII included, after whatever the stream already held."""
    first = report.results[0]
    pkg = msgspec.structs.replace(first.packages[0], name="naïve-ünïcode-✓")
    odd = msgspec.structs.replace(report, results=[msgspec.structs.replace(first, packages=[pkg, *first.packages[1:]]),
                                                   *report.results[1:]])
    text = render(odd, fmt)
    if fmt == "json":
        assert "naïve-ünïcode-✓" in text
    path = tmp_path / "out"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("before\n")
        get(fmt, RenderOptions(template=TEMPLATE, show_suppressed=True))(odd, fh)
        fh.write("after\n")
    assert path.read_text(encoding="utf-8") == "before\n" + text + "after\n"
    # a stream of another encoding is written text, which it encodes itself
    raw = io.BytesIO()
    latin = io.TextIOWrapper(raw, encoding="utf-16")
    get(fmt, RenderOptions(template=TEMPLATE, show_suppressed=True))(odd, latin)
    latin.flush()
    assert raw.getvalue().decode("utf-16") == text


def test_json_packages_carry_trivys_keys_after_their_own(report: Report) -> None:
    """Packages and vulnerabilities are written from their records, not from dicts: the document is still the
    record's keys in order, each package followed by Trivy's Identifier (PURL when known, a UID that tells entries
    apart, blank target for OS packages) and Indirect for an indirect dependency; results without packages or
    vulnerabilities have neither key."""
    import hashlib

    from vigil.inventory.records import LayerRef

    first = report.results[0]
    assert first.packages and first.vulnerabilities
    p0 = msgspec.structs.replace(first.packages[0], relationship="indirect", purl="",
                                 layer=LayerRef(diff_id="sha256:" + "ab" * 32))
    odd = msgspec.structs.replace(report, results=(
        msgspec.structs.replace(first, packages=(p0, *first.packages[1:])),
        msgspec.structs.replace(first, target="os", class_="os-pkgs"),
        msgspec.structs.replace(first, target="empty", packages=(), vulnerabilities=()),
        *report.results[1:]))
    doc = json.loads(render(odd, "json"))
    plain = json.loads(msgspec.json.encode(odd))  # the records alone, as JSON reads them
    assert len(doc["Results"]) == len(plain["Results"])
    for got, res in zip(doc["Results"], plain["Results"], strict=True):
        assert list(got) == list(res) + (["Packages"] if "Packages" in got and "Packages" not in res else [])
        assert got.get("Vulnerabilities") == res.get("Vulnerabilities")
        target = "" if res.get("Class") == "os-pkgs" else res.get("Target", "")
        for g, p in zip(got.get("Packages") or (), res.get("Packages") or (), strict=True):
            extra = ["Identifier", "Indirect"] if p.get("Relationship") == "indirect" else ["Identifier"]
            assert list(g) == list(p) + extra
            key = "\x00".join((target, p.get("FilePath", ""), p.get("ID", ""), p["Name"], p["Version"],
                               p.get("PURL", ""), (p.get("Layer") or {}).get("DiffID", "")))
            uid = hashlib.sha256(key.encode()).hexdigest()[:16]
            assert g["Identifier"] == ({"PURL": p["PURL"], "UID": uid} if p.get("PURL") else {"UID": uid})
    assert doc["Results"][0]["Packages"][0]["Indirect"] is True
    assert list(doc["Results"][0]["Packages"][0]["Identifier"]) == ["UID"]
    assert doc["Results"][0]["Packages"][1]["Identifier"]["UID"] != doc["Results"][1]["Packages"][1]["Identifier"]["UID"]
    assert "Packages" not in doc["Results"][2] and "Vulnerabilities" not in doc["Results"][2]
