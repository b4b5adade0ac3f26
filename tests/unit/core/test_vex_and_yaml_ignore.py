"""VEX (OpenVEX, CycloneDX VEX, CSAF VEX) and the YAML ignore file (.vigilignore.yaml): what suppresses, what
does not, and expiry edges (today, yesterday, within 14 days)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from vigil.findings.records import Misconfiguration, Report, Result, SecretFinding, Vulnerability
from vigil.findings.suppress import (
    Filters,
    IgnoreFileError,
    apply,
    expiry_notices,
    expiry_warnings,
    glob_match,
    parse_ignore_yaml,
)
from vigil.findings.vex import VexError, parse_vex, purl_matches

TODAY = dt.date(2026, 11, 26)
ALL = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


def _report() -> Report:
    return Report(artifact_name="x", artifact_type="filesystem", results=(
        Result(target="backend/requirements.txt", class_="lang-pkgs", type="pip", vulnerabilities=(
            Vulnerability(vulnerability_id="CVE-2020-14343", aliases=("GHSA-8q59-q68h-6hv4",), pkg_name="PyYAML",
                          purl="pkg:pypi/pyyaml@5.3.1", installed_version="5.3.1", fixed_version="5.4",
                          status="fixed", severity="CRITICAL"),
            Vulnerability(vulnerability_id="CVE-2023-32681", pkg_name="requests", purl="pkg:pypi/requests@2.25.0",
                          installed_version="2.25.0", fixed_version="2.31.0", status="fixed", severity="MEDIUM"),
        )),
        Result(target="web/package-lock.json", class_="lang-pkgs", type="npm", vulnerabilities=(
            Vulnerability(vulnerability_id="CVE-2020-8203", pkg_name="lodash", purl="pkg:npm/lodash@4.17.15",
                          installed_version="4.17.15", fixed_version="4.17.19", status="fixed", severity="HIGH"),
        )),
        Result(target="deploy/Dockerfile", class_="config", type="dockerfile", misconfigurations=(
            Misconfiguration(type="dockerfile", id="DS-0002", avd_id="AVD-DS-0002", title="root user",
                             severity="HIGH", status="FAIL"),
        )),
        Result(target="config/settings.py", class_="secret", secrets=(
            SecretFinding(rule_id="aws-access-key-id", category="AWS", severity="CRITICAL", title="AWS key",
                          start_line=4, end_line=4),
        )),
    ))


def _ids(r: Report) -> set[str]:
    return {v.vulnerability_id for res in r.results for v in res.vulnerabilities} | {
        m.id for res in r.results for m in res.misconfigurations} | {s.rule_id for res in r.results for s in res.secrets}


def _apply_vex(doc: dict[str, Any]) -> Report:
    st = tuple(parse_vex(json.dumps(doc).encode(), "vex.json"))
    return apply(_report(), Filters(severities=ALL, vex=st, today=TODAY))


# --- OpenVEX ---------------------------------------------------------------------------------------------------

def _openvex(status: str, product: str = "pkg:pypi/pyyaml@5.3.1", vuln: str = "CVE-2020-14343") -> dict[str, Any]:
    return {
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex-1", "author": "me",
        "timestamp": "2026-11-01T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": vuln}, "status": status,
                        "justification": "vulnerable_code_not_in_execute_path",
                        "products": [{"@id": "pkg:github/acme/app", "subcomponents": [{"@id": product}]}]}],
    }


@pytest.mark.parametrize(("status", "suppressed"), [("not_affected", True), ("fixed", True), ("affected", False),
                                                    ("under_investigation", False)])
def test_openvex_status(status: str, suppressed: bool) -> None:
    r = _apply_vex(_openvex(status))
    assert ("CVE-2020-14343" not in _ids(r)) is suppressed
    if suppressed:
        (s,) = r.metadata.suppressed
        assert s.pkg_name == "PyYAML" and "VEX openvex vex.json" in s.reason and status in s.reason


def test_openvex_product_and_alias_matching() -> None:
    assert "CVE-2020-14343" in _ids(_apply_vex(_openvex("not_affected", product="pkg:pypi/pyyaml@6.0")))
    assert "CVE-2020-14343" not in _ids(_apply_vex(_openvex("not_affected", product="pkg:pypi/PyYAML")))  # any version
    assert "CVE-2020-14343" not in _ids(_apply_vex(_openvex("not_affected", vuln="GHSA-8q59-q68h-6hv4")))  # alias
    assert "CVE-2020-14343" in _ids(_apply_vex(_openvex("not_affected", product="pkg:npm/pyyaml@5.3.1")))


# --- CycloneDX VEX ----------------------------------------------------------------------------------------------

def _cdx(state: str, ref: str = "pkg:npm/lodash@4.17.15") -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "components": [{"type": "library", "name": "lodash", "version": "4.17.15", "bom-ref": "lodash-ref",
                        "purl": "pkg:npm/lodash@4.17.15"}],
        "vulnerabilities": [{"id": "CVE-2020-8203", "analysis": {"state": state, "justification": "code_not_reachable"},
                             "affects": [{"ref": ref}]}],
    }


@pytest.mark.parametrize(("state", "suppressed"), [("not_affected", True), ("resolved", True),
                                                   ("false_positive", True), ("exploitable", False),
                                                   ("in_triage", False)])
def test_cyclonedx_vex_state(state: str, suppressed: bool) -> None:
    assert ("CVE-2020-8203" not in _ids(_apply_vex(_cdx(state)))) is suppressed


@pytest.mark.parametrize("ref", ["lodash-ref", "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#pkg:npm/lodash@4.17.15"])
def test_cyclonedx_vex_refs(ref: str) -> None:
    assert "CVE-2020-8203" not in _ids(_apply_vex(_cdx("not_affected", ref)))


# --- CSAF VEX ---------------------------------------------------------------------------------------------------

def _csaf(key: str) -> dict[str, Any]:
    return {
        "document": {"category": "csaf_vex", "csaf_version": "2.0", "title": "requests",
                     "publisher": {"category": "vendor", "name": "acme", "namespace": "https://acme.example"},
                     "tracking": {"id": "ACME-1", "status": "final", "version": "1"}},
        "product_tree": {"branches": [{"category": "vendor", "name": "psf", "branches": [
            {"category": "product_version", "name": "2.25.0",
             "product": {"name": "requests 2.25.0", "product_id": "REQ-2.25.0",
                         "product_identification_helper": {"purl": "pkg:pypi/requests@2.25.0"}}}]}]},
        "vulnerabilities": [{"cve": "CVE-2023-32681", "product_status": {key: ["REQ-2.25.0"]},
                             "flags": [{"label": "vulnerable_code_not_present", "product_ids": ["REQ-2.25.0"]}]}],
    }


@pytest.mark.parametrize(("key", "suppressed"), [("known_not_affected", True), ("fixed", True),
                                                 ("known_affected", False), ("under_investigation", False)])
def test_csaf_vex(key: str, suppressed: bool) -> None:
    r = _apply_vex(_csaf(key))
    assert ("CVE-2023-32681" not in _ids(r)) is suppressed
    if suppressed:
        assert "vulnerable_code_not_present" in r.metadata.suppressed[0].reason


def test_vex_errors() -> None:
    with pytest.raises(VexError, match="not a JSON"):
        parse_vex(b"<xml/>", "v")
    with pytest.raises(VexError, match="unrecognised"):
        parse_vex(b'{"hello": 1}', "v")


def test_purl_matching() -> None:
    assert purl_matches("pkg:pypi/PyYAML", "pkg:pypi/pyyaml@5.3.1")
    assert purl_matches("pkg:npm/%40babel/core@7.0.0", "pkg:npm/@babel/core@7.0.0?x=1")
    assert not purl_matches("pkg:npm/lodash@4.17.16", "pkg:npm/lodash@4.17.15")
    assert not purl_matches("pkg:npm/lodash", "pkg:pypi/lodash@1")


# --- .vigilignore.yaml ------------------------------------------------------------------------------------------

YAML = """
vulnerabilities:
  - id: CVE-2020-14343
    paths: ["backend/**"]
    statement: not reachable, we never load untrusted YAML
  - id: CVE-2020-8203
    purls: ["pkg:npm/lodash@4.17.99"]
  - id: CVE-2023-32681
    paths: ["other/*.txt"]
misconfigurations:
  - id: AVD-DS-0002
    paths: ["deploy/Dockerfile"]
secrets:
  - id: aws-access-key-id
    expired_at: 2026-11-25
"""


def test_yaml_paths_purls_kinds() -> None:
    entries = tuple(parse_ignore_yaml(YAML, ".vigilignore.yaml"))
    r = apply(_report(), Filters(severities=ALL, ignores=entries, today=TODAY))
    ids = _ids(r)
    assert "CVE-2020-14343" not in ids  # path glob matches
    assert "CVE-2020-8203" in ids  # purl names another version
    assert "CVE-2023-32681" in ids  # path glob does not match
    assert "DS-0002" not in ids  # misconfiguration matched through its AVD alias
    assert "aws-access-key-id" in ids  # expired yesterday
    reasons = {s.vulnerability_id: s.reason for s in r.metadata.suppressed}
    assert reasons["CVE-2020-14343"] == (".vigilignore.yaml vulnerabilities[1]: CVE-2020-14343: "
                                         "not reachable, we never load untrusted YAML")
    assert {s.kind for s in r.metadata.suppressed} == {"vulnerability", "misconfiguration"}


def test_yaml_section_applies_to_its_kind_only() -> None:
    entries = tuple(parse_ignore_yaml("secrets:\n  - id: CVE-2020-14343\n"))
    assert "CVE-2020-14343" in _ids(apply(_report(), Filters(severities=ALL, ignores=entries, today=TODAY)))


def test_yaml_purl_without_version_matches_all() -> None:
    entries = tuple(parse_ignore_yaml("vulnerabilities:\n  - id: CVE-2020-8203\n    purls: [pkg:npm/lodash]\n"))
    assert "CVE-2020-8203" not in _ids(apply(_report(), Filters(severities=ALL, ignores=entries, today=TODAY)))


@pytest.mark.parametrize(
    ("exp", "applies", "warning", "notice"),
    [
        ("2026-11-25", False, True, False),  # yesterday: expired
        ("2026-11-26", False, True, False),  # today: expires at 00:00 UTC today, like exp:
        ("2026-11-27", True, False, True),  # tomorrow
        ("2026-12-10", True, False, True),  # 14 days ahead: still announced
        ("2026-12-11", True, False, False),  # 15 days ahead: quiet
    ],
)
def test_yaml_expiry_edges(exp: str, applies: bool, warning: bool, notice: bool) -> None:
    entries = tuple(parse_ignore_yaml(f"vulnerabilities:\n  - id: CVE-2020-8203\n    expired_at: {exp}\n", "ig.yaml"))
    r = apply(_report(), Filters(severities=ALL, ignores=entries, today=TODAY))
    assert ("CVE-2020-8203" not in _ids(r)) is applies
    w = expiry_warnings(entries, TODAY, "ig.yaml")
    n = expiry_notices(entries, TODAY, "ig.yaml")
    assert bool(w) is warning and bool(n) is notice
    if w:
        assert w[0].startswith("ig.yaml vulnerabilities[1]: ignore entry for CVE-2020-8203 expired on")
    if n:
        assert f"expires on {exp}" in n[0]


def test_plain_file_notice_within_14_days() -> None:
    from vigil.findings.suppress import parse_ignorefile

    entries = tuple(parse_ignorefile("CVE-1 exp:2026-11-30\nCVE-2 exp:2027-06-01\n"))
    assert expiry_notices(entries, TODAY, ".vigilignore") == [
        ".vigilignore:1: ignore entry for CVE-1 expires on 2026-11-30 (in 4 days)"]


@pytest.mark.parametrize(("text", "msg"), [
    ("- a\n", "expected a mapping"),
    ("vulns: []\n", "unknown key"),
    ("vulnerabilities:\n  - paths: [x]\n", "needs an 'id'"),
    ("vulnerabilities:\n  - id: X\n    expired_at: someday\n", "invalid expired_at"),
    ("vulnerabilities:\n  - id: X\n    paths: 3\n", "paths must be a list"),
    ("vulnerabilities:\n  - id: X\n    reason: y\n", "unknown key"),
    ("vulnerabilities: [\n", "invalid YAML"),
])
def test_yaml_errors(text: str, msg: str) -> None:
    with pytest.raises(IgnoreFileError, match=msg):
        parse_ignore_yaml(text, "x.yaml")


def test_glob() -> None:
    assert glob_match("backend/**", "backend/a/b/requirements.txt")
    assert glob_match("**/requirements.txt", "requirements.txt")
    assert glob_match("**/requirements.txt", "a/b/requirements.txt")
    assert not glob_match("*.txt", "a/b.txt")
    assert glob_match("./a/*.txt", "a/b.txt")
    assert glob_match("./.github/**", ".github/workflows/x.yml")


def test_vex_option_sources(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from vigil.settings import resolve, scan_options
    from vigil.shells.cli.common import given

    monkeypatch.chdir(tmp_path)
    assert resolve("fs", given({"vex": ("a.json", "b.json,c.json")}), env={})["vex"] == ("a.json", "b.json", "c.json")
    assert resolve("sbom", {}, env={"VIGIL_VEX": "x.json,y.json"})["vex"] == ("x.json", "y.json")
    (tmp_path / "vigil.yaml").write_text("vulnerability:\n  vex: [z.json]\n")
    values = resolve("fs", {}, env={})
    assert values["vex"] == ("z.json",)
    assert [p.name for p in scan_options(tmp_path, values).vex] == ["z.json"]
    assert resolve("fs", given({"vex": ()}), env={})["vex"] == ("z.json",)  # no flag given: config applies
