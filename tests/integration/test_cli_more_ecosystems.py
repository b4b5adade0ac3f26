"""Vulnerabilities found through the CLI (a real subprocess) in the lockfile formats of issue 3, against a fixture DB
built by the real builder from real advisories (tests/fixtures/advisories): commons-text CVE-2022-42889
(GHSA-599f-7c49-w659) in pom.xml — declared directly and through an in-tree BOM —, Google.Protobuf
GHSA-77rm-9x9h-xj3g (NuGet, ghsa-subset) in packages.lock.json and packages.config, and the Elixir advisory for
coherence (CVE-2018-20301, elixir-hex) in mix.lock."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lockfiles"


def scan(target: Path, db: Path, *extra: str) -> dict[str, Any]:
    p = run("fs", str(target), "--db-path", str(db), "-f", "json", *extra, cwd=target if target.is_dir() else target.parent)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)  # type: ignore[no-any-return]


def findings(report: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(target, package, id) for the vulnerability ID and each alias."""
    out = {}
    for r in report["Results"]:
        for v in r.get("Vulnerabilities", []):
            for vid in [v["VulnerabilityID"], *v.get("Aliases", [])]:
                out[(r["Target"], v["PkgName"], vid)] = v
    return out


def test_commons_text_in_pom_xml(tmp_path: Path, lockfiles_dir: Path, fixture_db: Path) -> None:
    # ../shared/data/corpus/lockfiles/karthikuj__cve-2022-42889-text4shell-docker/pom.xml: commons-text 1.8 declared
    # directly; spring-boot-starter-web's version comes from a remote parent and stays unknown
    shutil.copy(lockfiles_dir / "karthikuj__cve-2022-42889-text4shell-docker" / "pom.xml", tmp_path / "pom.xml")
    report = scan(tmp_path, fixture_db, "--list-all-pkgs")
    f = findings(report)
    v = f[("pom.xml", "org.apache.commons:commons-text", "CVE-2022-42889")]
    assert "GHSA-599f-7c49-w659" in [v["VulnerabilityID"], *v.get("Aliases", [])]
    assert v["InstalledVersion"] == "1.8" and v["FixedVersion"] == "1.10.0" and v["Severity"] == "CRITICAL"
    (result,) = [r for r in report["Results"] if r["Target"] == "pom.xml"]
    assert result["Type"] == "pom"
    web = next(p for p in result["Packages"] if p["Name"] == "org.springframework.boot:spring-boot-starter-web")
    assert web.get("Version", "") == ""  # unknown offline: reported, never matched or guessed
    assert {k[1] for k in f} == {"org.apache.commons:commons-text"}


def test_commons_text_through_in_tree_bom(tmp_path: Path, fixture_db: Path) -> None:
    # tests/fixtures/lockfiles/pom-bom: app/pom.xml declares commons-text without a version; the parent imports the
    # in-tree BOM that manages it at ${commons-text.version} = 1.9
    shutil.copytree(FIXTURES / "pom-bom", tmp_path / "repo")
    f = findings(scan(tmp_path / "repo", fixture_db))
    v = f[("app/pom.xml", "org.apache.commons:commons-text", "CVE-2022-42889")]
    assert v["InstalledVersion"] == "1.9"
    # junit 4.13.1 (from the parent's management, not the BOM's 4.12) is past GHSA-269g-pwp5-87pp's fix, and dev
    assert not any(k[1] == "junit:junit" for k in f)
    # scanning the module alone: its parent is outside the scan root, so the version is unknown and nothing matches
    assert not findings(scan(tmp_path / "repo" / "app", fixture_db))


PACKAGES_LOCK = """{
    "version": 1,
    "dependencies": {
        "net6.0": {
            "Grpc.Net.Client": {
                "type": "Direct",
                "requested": "[2.34.0, )",
                "resolved": "2.34.0",
                "contentHash": "placeholder",
                "dependencies": {
                    "Google.Protobuf": "3.14.0"
                }
            },
            "Google.Protobuf": {
                "type": "Transitive",
                "resolved": "3.14.0",
                "contentHash": "placeholder"
            }
        }
    }
}
"""


def test_nuget_packages_lock_json(tmp_path: Path, fixture_db: Path) -> None:
    # the layout of ../shared/data/corpus/lockfiles/aquasecurity__trivy/integration/testdata/fixtures/repo/nuget/
    # packages.lock.json with Google.Protobuf 3.14.0 (affected by GHSA-77rm-9x9h-xj3g, fixed in 3.15.0)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "packages.lock.json").write_text(PACKAGES_LOCK)
    f = findings(scan(tmp_path, fixture_db))
    v = f[("src/packages.lock.json", "Google.Protobuf", "GHSA-77rm-9x9h-xj3g")]
    assert v["InstalledVersion"] == "3.14.0" and v["FixedVersion"] == "3.15.0"
    assert v["MatchDetails"][0]["Comparator"] == "nuget"


def test_nuget_packages_config(tmp_path: Path, fixture_db: Path) -> None:
    shutil.copy(FIXTURES / "nuget-config" / "packages.config", tmp_path / "packages.config")
    f = findings(scan(tmp_path, fixture_db))
    assert ("packages.config", "Google.Protobuf", "GHSA-77rm-9x9h-xj3g") in f


MIX_LOCK = """%{
  "coherence": {:hex, :coherence, "0.5.0", "aaa", [:mix], [{:plug, ">= 1.0.0", [hex: :plug, repo: "hexpm", optional: false]}], "hexpm", "bbb"},
  "plug": {:hex, :plug, "1.14.0", "ccc", [:mix], [], "hexpm", "ddd"},
}
"""


@pytest.mark.parametrize("version, affected", [("0.5.0", True), ("0.5.2", False)])
def test_elixir_coherence_in_mix_lock(tmp_path: Path, fixture_db: Path, version: str, affected: bool) -> None:
    # elixir-hex packages/coherence/2017-08-02.yml: patched_versions >= 0.5.2
    (tmp_path / "mix.lock").write_text(MIX_LOCK.replace('"0.5.0"', f'"{version}"'))
    f = findings(scan(tmp_path, fixture_db))
    assert (("mix.lock", "coherence", "CVE-2018-20301") in f) is affected
    if affected:
        v = f[("mix.lock", "coherence", "CVE-2018-20301")]
        assert v["FixedVersion"] == "0.5.2" and v["MatchDetails"][0]["Source"] == "elixir-security-advisories"
