"""Issue 7 end to end through the CLI (real subprocesses), on examples/demo-project and the fixture DB (real
advisories): every --format, SBOM round trip, `vigil convert`, VEX, .vigilignore.yaml, --show-suppressed,
templates."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.conftest import SHARED

from vigil.reporters import FORMATS

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-project"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    dst = tmp_path / "demo"
    shutil.copytree(DEMO, dst)
    return dst


def findings(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(r["Target"], v["PkgName"], v["InstalledVersion"], v["VulnerabilityID"])
            for r in report["Results"] for v in r.get("Vulnerabilities", [])}


def scan(target: Path, db: Path, *extra: str, cmd: str = "fs") -> tuple[dict[str, Any], str]:
    p = run(cmd, str(target), "--db-path", str(db), "--format", "json", *extra, cwd=target.parent)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout), p.stderr


@pytest.mark.parametrize("fmt", ["cyclonedx", "cyclonedx-xml", "spdx-json", "spdx"])
def test_sbom_round_trip(demo: Path, fixture_db: Path, tmp_path: Path, fmt: str) -> None:
    """An SBOM made by Vigil scans to the same packages and the same findings as the project itself."""
    bom = tmp_path / f"bom.{fmt}"
    p = run("fs", str(demo), "--db-path", str(fixture_db), "--format", fmt, "-o", str(bom))
    assert p.returncode == 0, p.stderr
    direct, _ = scan(demo, fixture_db, "--list-all-pkgs")
    via_sbom, _ = scan(bom, fixture_db, "--list-all-pkgs", cmd="sbom")
    assert via_sbom["ArtifactType"] == "sbom"
    assert findings(via_sbom) == findings(direct) and findings(direct)
    assert via_sbom["Results"] == direct["Results"]  # packages, findings and remediations alike


@pytest.mark.parametrize("fmt", ["cyclonedx", "cyclonedx-xml", "spdx-json", "spdx"])
def test_sbom_round_trip_with_hostile_paths(tmp_path: Path, fixture_db: Path, fmt: str) -> None:
    """A path made to break out of its SPDX tag-value (a `</text>` closing the block, newlines starting fake
    packages) or holding characters XML cannot carry still round-trips to the same packages and findings."""
    src = tmp_path / "src"
    (src / "x<").mkdir(parents=True)  # so that "x</" + "text>..." is a path
    inject = "text>\nPackageName: injected-pkg\nPackageVersion: 6.6.6\nPackageComment: <text>"
    (src / "x<" / inject).mkdir()
    (src / "x<" / inject / "requirements.txt").write_text("django==2.2.0\n")
    (src / "ctl\x1b\x01").mkdir()
    (src / "ctl\x1b\x01" / "requirements.txt").write_text("pyyaml==5.3.1\n")
    bom = tmp_path / f"bom.{fmt}"
    p = run("fs", str(src), "--db-path", str(fixture_db), "--format", fmt, "-o", str(bom))
    assert p.returncode == 0, p.stderr  # cyclonedx-xml was an ExpatError, exit 3
    direct, _ = scan(src, fixture_db, "--list-all-pkgs")
    via_sbom, _ = scan(bom, fixture_db, "--list-all-pkgs", cmd="sbom")

    def packages(report: dict[str, Any]) -> set[tuple[str, str]]:
        return {(p["Name"], p["Version"]) for r in report["Results"] for p in r.get("Packages", [])}

    def vulns(report: dict[str, Any]) -> set[tuple[str, str]]:
        return {(v["PkgName"], v["VulnerabilityID"]) for r in report["Results"] for v in r.get("Vulnerabilities", [])}

    assert packages(via_sbom) == packages(direct) == {("django", "2.2.0"), ("pyyaml", "5.3.1")}
    assert vulns(via_sbom) == vulns(direct) and vulns(direct)
    if fmt in ("cyclonedx", "spdx-json"):  # the JSON formats keep paths exactly
        assert via_sbom["Results"] == direct["Results"]
    else:  # XML cannot carry \x01, tag-value no newline: written escaped
        assert "ctl\\x1b\\x01/requirements.txt" in {r["Target"] for r in via_sbom["Results"]}


def test_sbom_from_another_tool(tmp_path: Path, fixture_db: Path) -> None:
    bom = tmp_path / "other.cdx.json"
    bom.write_text(json.dumps({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "components": [{"type": "library", "name": "lodash", "version": "4.17.15", "purl": "pkg:npm/lodash@4.17.15"}],
    }))
    report, _ = scan(bom, fixture_db, cmd="sbom")
    assert ("other.cdx.json", "lodash", "4.17.15", "CVE-2020-8203") in findings(report)


def test_sbom_bad_input_exit_2(tmp_path: Path, fixture_db: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    p = run("sbom", str(bad), "--db-path", str(fixture_db))
    assert p.returncode == 2 and "unrecognised SBOM" in p.stderr
    p = run("sbom", str(tmp_path / "missing.json"), "--db-path", str(fixture_db))
    assert p.returncode == 2


def test_convert_round_trip_and_every_format(demo: Path, fixture_db: Path, tmp_path: Path) -> None:
    saved = tmp_path / "report.json"
    p = run("fs", str(demo), "--db-path", str(fixture_db), "--format", "json", "--list-all-pkgs", "-o", str(saved))
    assert p.returncode == 0, p.stderr
    p = run("convert", str(saved), "--format", "json")
    assert p.returncode == 0, p.stderr
    assert p.stdout == saved.read_text()  # JSON -> convert json -> identical
    tpl = tmp_path / "t.j2"
    tpl.write_text("{% for r in results %}{{ r.target }}={{ r.vulnerabilities|length }}\n{% endfor %}")
    for fmt in FORMATS:
        extra = ["--template", f"@{tpl}"] if fmt == "template" else []
        p = run("convert", str(saved), "--format", fmt, *extra)
        assert p.returncode == 0, (fmt, p.stderr)
        assert p.stdout.strip(), fmt
    p = run("convert", str(saved), "--format", "template", "--template", f"@{tpl}")
    assert "backend/requirements.txt=4" in p.stdout
    # converting to the same format twice is byte-identical (timestamps/UUIDs come from the report)
    a = run("convert", str(saved), "--format", "cyclonedx").stdout
    assert a == run("convert", str(saved), "--format", "cyclonedx").stdout


def test_convert_errors(tmp_path: Path) -> None:
    bad = tmp_path / "r.json"
    bad.write_text('{"Results": 3}')
    p = run("convert", str(bad), "--format", "sarif")
    assert p.returncode == 2 and "not a Vigil JSON report" in p.stderr
    p = run("convert", str(tmp_path / "missing.json"))
    assert p.returncode == 2
    good = ROOT / "tests" / "fixtures" / "reports" / "demo-report.json"
    p = run("convert", str(good), "--format", "template")
    assert p.returncode == 2 and "--template" in p.stderr
    p = run("convert", str(good), "--format", "template", "--template", "{{ nope.x }}")
    assert p.returncode == 2 and "template error" in p.stderr


@pytest.mark.parametrize(("template", "message"), [
    ("{{ range(10**9) }}", "Range too big"),
    ('{% include "other.j2" %}', "no loader"),
    ("{{ 1/0 }}", "ZeroDivisionError"),
    ("{{ (9**99999999) > 1 }}", "power with more than"),  # hung (a 300-million-bit integer)
    ("{{ 'a'*10**10 }}", "repetition longer than"),  # MemoryError
    ("{{ 'x'.center(10**10) }}", "center() width"),
    ("{{ 'x'|center(10**10) }}", "|center argument"),
    ("{{ '%999999999999d' % 1 }}", "format width"),
    ("{{ '{:>99999999999}'.format(1) }}", "format width"),
])
def test_template_errors_and_bounds_exit_2(tmp_path: Path, template: str, message: str) -> None:
    """Errors in a user's template are user errors (one line, exit 2); arithmetic that would take unbounded time
    or memory is refused. The address-space limit keeps a regression from taking the machine's memory."""
    import os
    import resource
    import subprocess
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    good = ROOT / "tests" / "fixtures" / "reports" / "demo-report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    p = subprocess.run([sys.executable, "-m", "vigil.shells.cli.main", "convert", str(good), "--format", "template",
                        "--template", template], capture_output=True, text=True, env=env, cwd=tmp_path,
                       timeout=120, preexec_fn=limit)
    assert p.returncode == 2, p.stderr
    (line,) = p.stderr.strip().splitlines()
    assert line.startswith("Error: template error (line 1): ") and message in line, line


def test_template_arithmetic_within_bounds_works() -> None:
    good = ROOT / "tests" / "fixtures" / "reports" / "demo-report.json"
    ok = run("convert", str(good), "--format", "template", "--template",
             "{{ 2**10 }} {{ 'ab'*3 }} {{ '%5d'|format(3) }} {{ 'x'|center(5) }} {{ results|length }}")
    assert ok.returncode == 0 and ok.stdout == f"1024 ababab     3   x   {len(json.loads(good.read_text())['Results'])}"


def test_sarif_from_scan_is_valid(demo: Path, fixture_db: Path) -> None:
    import jsonschema

    schema_path = SHARED / "data" / "schemas" / "sarif-schema-2.1.0.json"
    if not schema_path.is_file():
        pytest.skip("../shared SARIF schema not present")
    p = run("fs", str(demo), "--db-path", str(fixture_db), "--format", "sarif")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    schema = json.loads(schema_path.read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    regions = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in doc["runs"][0]["results"]]
    assert any(line > 1 for line in regions)  # lockfile line numbers, not just line 1


def _vex_docs(tmp: Path) -> list[Path]:
    openvex = tmp / "a.openvex.json"
    openvex.write_text(json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2026-01-01T00:00:00Z",
        "version": 1, "statements": [{"vulnerability": {"name": "CVE-2020-14343"}, "status": "not_affected",
                                      "justification": "vulnerable_code_not_in_execute_path",
                                      "products": [{"@id": "pkg:pypi/pyyaml@5.3.1"}]}]}))
    cdx = tmp / "b.cdx.json"
    cdx.write_text(json.dumps({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "vulnerabilities": [{"id": "CVE-2020-8203", "analysis": {"state": "resolved"},
                             "affects": [{"ref": "pkg:npm/lodash@4.17.15"}]},
                            {"id": "CVE-2021-23337", "analysis": {"state": "exploitable"},
                             "affects": [{"ref": "pkg:npm/lodash@4.17.15"}]}]}))
    csaf = tmp / "c.csaf.json"
    csaf.write_text(json.dumps({
        "document": {"category": "csaf_vex", "csaf_version": "2.0"},
        "product_tree": {"full_product_names": [{"name": "requests", "product_id": "R",
                                                 "product_identification_helper": {"purl": "pkg:pypi/requests"}}]},
        "vulnerabilities": [{"cve": "CVE-2023-32681", "product_status": {"known_not_affected": ["R"]}}]}))
    return [openvex, cdx, csaf]


def test_vex_flags(demo: Path, fixture_db: Path, tmp_path: Path) -> None:
    a, b, c = _vex_docs(tmp_path)
    before, _ = scan(demo, fixture_db)
    after, _ = scan(demo, fixture_db, "--vex", str(a), "--vex", f"{b},{c}")  # repeatable and comma list
    gone = {f[3] for f in findings(before) - findings(after)}
    assert gone == {"CVE-2020-14343", "CVE-2020-8203", "CVE-2023-32681"}
    reasons = {s["VulnerabilityID"]: s["Reason"] for s in after["Metadata"]["Suppressed"]}
    assert reasons["CVE-2020-14343"].startswith("VEX openvex")
    assert "CVE-2021-23337" not in reasons  # affected: stays
    p = run("fs", str(demo), "--db-path", str(fixture_db), "--vex", str(tmp_path / "nope.json"))
    assert p.returncode == 2 and "VEX" in p.stderr


def test_yaml_ignorefile_default_and_warnings(demo: Path, fixture_db: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    soon = today + dt.timedelta(days=3)
    (demo / ".vigilignore.yaml").write_text(f"""
vulnerabilities:
  - id: CVE-2020-14343
    paths: ["backend/*.txt"]
    expired_at: {soon.isoformat()}
    statement: only trusted YAML
  - id: CVE-2020-8203
    purls: [pkg:npm/lodash]
  - id: CVE-2023-32681
    expired_at: {(today - dt.timedelta(days=1)).isoformat()}
""")
    p = run("fs", str(demo), "--db-path", str(fixture_db), "--format", "json", cwd=demo)
    assert p.returncode == 0, p.stderr
    ids = {f[3] for f in findings(json.loads(p.stdout))}
    assert "CVE-2020-14343" not in ids and "CVE-2020-8203" not in ids and "CVE-2023-32681" in ids
    assert f"expires on {soon.isoformat()} (in 3 days)" in p.stderr
    assert "CVE-2023-32681 expired on" in p.stderr
    # --show-suppressed: a table section with the reasons
    p = run("fs", str(demo), "--db-path", str(fixture_db), "--show-suppressed", cwd=demo)
    assert "Suppressed findings (2)" in p.stdout and "only trusted" in p.stdout
    assert "Remediation: upgrading" in p.stdout
    # an explicit --ignorefile with a .yml extension switches to YAML too
    (demo / "ig.yml").write_text("vulnerabilities:\n  - id: CVE-2023-32681\n")
    report, _ = scan(demo, fixture_db, "--ignorefile", str(demo / "ig.yml"))
    assert "CVE-2023-32681" not in {f[3] for f in findings(report)}
    (demo / "bad.yaml").write_text("vulnerabilities:\n  - nope: 1\n")
    p = run("fs", str(demo), "--db-path", str(fixture_db), "--ignorefile", str(demo / "bad.yaml"))
    assert p.returncode == 2 and "needs an 'id'" in p.stderr


def test_remediation_in_json(demo: Path, fixture_db: Path) -> None:
    report, _ = scan(demo, fixture_db)
    npm = next(r for r in report["Results"] if r["Target"] == "web/package-lock.json")
    (lodash,) = [r for r in npm["Remediations"] if r["PkgName"] == "lodash"]
    # retire.js lists "CVE-2021-23337, CVE-2026-4800" and "CVE-2025-13465, CVE-2026-2950" on two GHSAs each: two
    # CVEs are two findings (they used to be merged into CVE-2021-23337 and CVE-2025-13465: 4 fixes)
    assert lodash["UpgradeTo"] == "4.17.23" and len(lodash["Fixes"]) == 6


CORPUS_PROJECTS = ("OWASP__NodeGoat", "OWASP__railsgoat", "adeyosemanputra__pygoat", "aquasecurity__trivy-operator")


@pytest.mark.parametrize("fmt", ["cyclonedx", "cyclonedx-xml", "spdx-json"])
@pytest.mark.parametrize("where", ["demo", "corpus"])
def test_sbom_valid_against_schema(demo: Path, fixture_db: Path, tmp_path: Path, fmt: str, where: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The SBOM writers do not validate at run time (it made them quadratic): the scan's output, every package
    listed, is checked here against the CycloneDX 1.6 schema (JSON and XSD) and by spdx-tools' SPDX 2.3
    validator — for the demo project and for four corpus projects (~1,000 packages)."""
    from tests.unit.reports.test_formats import _cdx_validate

    target = demo
    if where == "corpus":
        corpus = SHARED / "data" / "corpus" / "lockfiles"
        if not corpus.is_dir():
            pytest.skip("../shared corpus not present")
        target = tmp_path / "corpus"
        for name in CORPUS_PROJECTS:
            shutil.copytree(corpus / name, target / name)
    out = tmp_path / f"bom.{fmt}"
    p = run("fs", str(target), "--db-path", str(fixture_db), "--format", fmt, "--list-all-pkgs", "-o", str(out))
    assert p.returncode == 0, p.stderr
    text = out.read_text(encoding="utf-8")
    if fmt == "spdx-json":
        from spdx_tools.spdx.parser.parse_anything import parse_file
        from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

        doc = parse_file(str(out.rename(tmp_path / "bom.spdx.json")))
        assert validate_full_spdx_document(doc) == []
        assert len(doc.packages) > (900 if where == "corpus" else 10)
    else:
        _cdx_validate(text, xml=fmt == "cyclonedx-xml", monkeypatch=monkeypatch)
        assert text.count("vigil:PkgID") > (900 if where == "corpus" else 10)
