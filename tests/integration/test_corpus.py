"""`vigil fs` over the real lockfile corpus with a DB built from every real feed: known vulnerabilities are found,
every file is either scanned or reported as unparsable with a reason, and nothing crashes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.conftest import LOCKFILES


@pytest.fixture(scope="module")
def corpus_report(full_db: Path) -> dict[str, Any]:
    if not LOCKFILES.is_dir():
        pytest.skip("../shared corpus not present")
    p = run("fs", str(LOCKFILES), "--db-path", str(full_db), "-f", "json", "--include-dev-deps")
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    report: dict[str, Any] = json.loads(p.stdout)
    return report


def _found(report: dict[str, Any], target_part: str, pkg: str, vuln_prefix: str) -> list[dict[str, Any]]:
    return [
        v
        for r in report["Results"]
        if target_part in r["Target"]
        for v in r.get("Vulnerabilities", [])
        if v["PkgName"].lower() == pkg.lower() and (v["VulnerabilityID"].startswith(vuln_prefix) or
                                                    any(a.startswith(vuln_prefix) for a in v.get("Aliases", [])))
    ]


def test_known_vulnerabilities_in_corpus(corpus_report: dict[str, Any]) -> None:
    r = corpus_report
    # Django and PyYAML advisories from PyPA
    assert _found(r, "requirements", "django", "CVE-")
    assert _found(r, "", "pyyaml", "CVE-2020-14343")
    # Go stdlib and golang.org/x/net from go-vulndb
    assert _found(r, "go.mod", "golang.org/x/net", "GO-") or _found(r, "go.mod", "golang.org/x/net", "CVE-")
    # RustSec in Cargo.lock
    assert [v for res in r["Results"] if res["Target"].endswith("Cargo.lock")
            for v in res.get("Vulnerabilities", []) if any(d["ID"] == "rustsec" for d in v["DataSources"])]
    # RubySec in Gemfile.lock (railsgoat pins rails 8.0.4 / nokogiri)
    assert [v for res in r["Results"] if res["Target"].endswith("Gemfile.lock")
            for v in res.get("Vulnerabilities", []) if any(d["ID"] == "ruby-advisory-db" for d in v["DataSources"])]
    # FriendsOfPHP in composer.lock
    assert [v for res in r["Results"] if res["Target"].endswith("composer.lock")
            for v in res.get("Vulnerabilities", []) if any(d["ID"] == "php-security-advisories" for d in v["DataSources"])]


def test_every_finding_explains_itself(corpus_report: dict[str, Any]) -> None:
    for res in corpus_report["Results"]:
        for v in res.get("Vulnerabilities", []):
            assert v["MatchDetails"] and v["DataSources"], v["VulnerabilityID"]
            assert v["Status"] in ("fixed", "affected") and v["Severity"]
            if v["Status"] == "fixed":
                assert v["FixedVersion"]


def test_unparsable_files_are_reported_not_dropped(corpus_report: dict[str, Any]) -> None:
    errors = {r["Target"]: r["Error"] for r in corpus_report["Results"] if r.get("Error")}
    # the corpus contains Trivy's deliberately broken fixtures; they must show up with a reason
    assert any("malformed" in t or "invalid" in t for t in errors), errors
    assert all(reason for reason in errors.values())
    unknowns = {u["FilePath"] for u in corpus_report["Metadata"].get("Unknowns", [])}
    assert unknowns == set(errors)


def test_one_finding_per_vulnerability_per_package(corpus_report: dict[str, Any]) -> None:
    for res in corpus_report["Results"]:
        keys = [(v["PkgID"], v["VulnerabilityID"]) for v in res.get("Vulnerabilities", [])]
        assert len(keys) == len(set(keys)), res["Target"]
