"""Issue 3 through the CLI: `vigil rootfs` on a directory laid out like a root filesystem (real fixtures from
tests/fixtures/installed, see RECIPE.md), licenses, --pkg-types, --pkg-relationships, --dependency-tree; and the
OS-owned-files hook through the engine."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.pipeline_helpers import analyze_dir

from vigil.pipeline.detect import Inventory, drop_os_owned
from vigil.settings import ScanOptions

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "installed"
POM = "META-INF/maven/org.apache.commons/commons-text/pom.properties"


def _commons_text_19() -> bytes:
    """The real Debian commons-text 1.10.0 jar with pom.properties saying 1.9 (no 1.9 jar is at hand offline)."""
    out = io.BytesIO()
    with zipfile.ZipFile(FIX / "jar" / "commons-text-1.10.0.jar") as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data.replace(b"version=1.10.0", b"version=1.9") if info.filename == POM else data)
    return out.getvalue()


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    r = tmp_path / "rootfs"
    (r / "usr/local/bin").mkdir(parents=True)
    shutil.copy2(FIX / "gobinary/hello", r / "usr/local/bin/hello")
    (r / "usr/local/bin/hello").chmod(0o755)
    (r / "usr/local/bin/script.sh").write_text("#!/bin/sh\necho not a go binary\n")
    (r / "usr/local/bin/script.sh").chmod(0o755)
    shutil.copytree(FIX / "python/site-packages", r / "usr/lib/python3/site-packages")
    shutil.copytree(FIX / "node/node_modules", r / "app/node_modules")
    (r / "app/package.json").write_text('{"name": "the-app", "version": "9.9.9", "license": "MIT"}')
    # a lockfile inside node_modules describes another project's build: never an app
    (r / "app/node_modules/util-deprecate/package-lock.json").write_text(
        '{"lockfileVersion": 3, "packages": {"node_modules/lodash": {"version": "4.17.15"}}}')
    shutil.copytree(FIX / "gem/specifications", r / "usr/local/lib/ruby/gems/3.1.0/specifications")
    shutil.copytree(FIX / "composer/vendor", r / "srv/php/vendor")
    shutil.copytree(FIX / "conda/conda-meta", r / "opt/conda/conda-meta")
    war = io.BytesIO()
    with zipfile.ZipFile(war, "w") as zf:
        zf.writestr("WEB-INF/lib/commons-text-1.9.jar", _commons_text_19())
    (r / "opt/tomcat/webapps").mkdir(parents=True)
    (r / "opt/tomcat/webapps/shop.war").write_bytes(war.getvalue())
    shutil.copy2(FIX / "jar/commons-text-1.10.0.jar", r / "opt/tomcat/webapps/commons-text-1.10.0.jar")
    return r


def scan(cmd: str, target: Path, db: Path, *extra: str) -> dict[str, Any]:
    p = run(cmd, str(target), "--db-path", str(db), "--format", "json", *extra, cwd=target)
    assert p.returncode == 0, p.stderr
    out: dict[str, Any] = json.loads(p.stdout)
    return out


def vulns(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(r["Target"], v["PkgName"], v["InstalledVersion"], v["VulnerabilityID"])
            for r in report["Results"] for v in r.get("Vulnerabilities", [])}


def test_rootfs_finds_installed_vulnerabilities(rootfs: Path, fixture_db: Path) -> None:
    report = scan("rootfs", rootfs, fixture_db, "--list-all-pkgs")
    v = vulns(report)
    # Go stdlib from the binary's build info (go1.19.8, Debian 12's golang-go): HTTP/2 rapid reset
    assert ("usr/local/bin/hello", "stdlib", "v1.19.8", "CVE-2023-39325") in v
    # commons-text 1.9 inside a WAR (Text4Shell); the real 1.10.0 jar is fixed
    assert ("opt/tomcat/webapps/shop.war", "org.apache.commons:commons-text", "1.9", "CVE-2022-42889") in v
    assert not any(t.endswith("commons-text-1.10.0.jar") for t, *_ in v)
    # urllib3 1.26.4 from its dist-info
    assert ("usr/lib/python3/site-packages/urllib3-1.26.4.dist-info/METADATA", "urllib3", "1.26.4",
            "CVE-2021-33503") in v
    types = {r["Type"] for r in report["Results"]}
    assert types >= {"gobinary", "jar", "python-pkg", "node-pkg", "gemspec", "composer-vendor", "conda-pkg"}
    targets = {r["Target"] for r in report["Results"]}
    assert "usr/local/bin/script.sh" not in targets  # executables that are not Go/Rust binaries are ignored
    assert not any("package-lock.json" in t for t in targets)  # lockfile inside node_modules: not an app
    assert "app/package.json" not in targets  # the project's own manifest is not an installed package
    pkgs = {p["PURL"] for r in report["Results"] for p in r.get("Packages", [])}
    assert {"pkg:golang/stdlib@v1.19.8", "pkg:maven/org.apache.commons/commons-text@1.9", "pkg:gem/rack@2.2.3",
            "pkg:npm/util-deprecate@1.0.2", "pkg:conda/openssl@1.1.1q",
            "pkg:composer/guzzlehttp/psr7@1.8.3", "pkg:pypi/urllib3@1.26.4"} <= pkgs
    assert all(p["PURL"] for r in report["Results"] for p in r.get("Packages", []) if p["Version"])
    # dev packages of composer's installed.json are excluded by default
    assert not any("phpunit" in p for p in pkgs)


def test_fs_stays_lockfile_only(rootfs: Path, fixture_db: Path) -> None:
    report = scan("fs", rootfs, fixture_db)
    assert report.get("Results", []) == []


def test_pkg_types_and_relationships(rootfs: Path, fixture_db: Path) -> None:
    report = scan("rootfs", rootfs, fixture_db, "--pkg-types", "os")
    assert not [r for r in report.get("Results", []) if r.get("Class") == "lang-pkgs" and not r.get("Error")]
    report = scan("rootfs", rootfs, fixture_db, "--pkg-relationships", "root", "--list-all-pkgs")
    rels = {p.get("Relationship", "unknown") for r in report["Results"] for p in r.get("Packages", [])}
    assert rels == {"root"} and not vulns(report)  # stdlib is not root: its finding is filtered with it


def test_license_scanner(rootfs: Path, fixture_db: Path, tmp_path: Path) -> None:
    meta = rootfs / "opt/conda/conda-meta/readline-8.1-h27cfd23_0.json"
    meta.write_text(json.dumps({"name": "readline", "version": "8.1", "license": "GPL-3.0-only"}))
    report = scan("rootfs", rootfs, fixture_db, "--scanners", "license")
    lic = {(f["PkgName"], f["Name"]): f for r in report["Results"] if r.get("Class") == "license"
           for f in r.get("Licenses", [])}
    assert lic[("readline", "GPL-3.0-only")]["Severity"] == "HIGH"
    assert lic[("readline", "GPL-3.0-only")]["Category"] == "restricted"
    assert lic[("urllib3", "MIT")]["Category"] == "notice" and lic[("urllib3", "MIT")]["Severity"] == "LOW"
    assert lic[("openssl", "OpenSSL")]["Severity"] == "LOW"
    assert not vulns(report)  # vuln scanner not asked for
    # --ignored-licenses, and categories configurable in vigil.yaml (replacing a built-in list)
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text("license:\n  forbidden: [MIT]\n  ignored: [OpenSSL]\n")
    report = scan("rootfs", rootfs, fixture_db, "--scanners", "license", "--config", str(cfg))
    lic = {(f["PkgName"], f["Name"]): f for r in report["Results"] if r.get("Class") == "license"
           for f in r.get("Licenses", [])}
    assert lic[("urllib3", "MIT")]["Severity"] == "CRITICAL" and ("openssl", "OpenSSL") not in lic
    p = run("rootfs", str(rootfs), "--db-path", str(fixture_db), "--scanners", "license", "--exit-code", "5",
            "--severity", "HIGH,CRITICAL", "--ignored-licenses", "MIT", cwd=rootfs)
    assert p.returncode == 5, p.stderr
    assert "readline" in p.stdout and "GPL-3.0-only" in p.stdout and "Classification" in p.stdout
    assert "│ urllib3 " not in p.stdout


def test_dependency_tree_table(tmp_path: Path, fixture_db: Path) -> None:
    proj = tmp_path / "web"
    proj.mkdir()
    (proj / "package-lock.json").write_text(json.dumps({
        "name": "web", "version": "1.0.0", "lockfileVersion": 3, "packages": {
            "": {"name": "web", "version": "1.0.0", "dependencies": {"app-lib": "1.0.0"}},
            "node_modules/app-lib": {"version": "1.0.0", "dependencies": {"lodash": "4.17.15"}},
            "node_modules/lodash": {"version": "4.17.15"}}}))
    (proj / "package.json").write_text('{"name": "web", "dependencies": {"app-lib": "1.0.0"}}')
    p = run("fs", str(proj), "--db-path", str(fixture_db), "--dependency-tree", cwd=proj)
    assert p.returncode == 0, p.stderr
    tree = p.stdout.split("Dependency Origin Tree (Reversed)", 1)[1]
    assert "└── lodash@4.17.15, (" in tree and "    └── app-lib@1.0.0" in tree
    p = run("fs", str(proj), "--db-path", str(fixture_db), cwd=proj)
    assert "Dependency Origin Tree" not in p.stdout


def test_os_owned_hook(rootfs: Path, tmp_path: Path) -> None:
    opts = ScanOptions(target=rootfs, db_path=tmp_path / "none.db", analyzer_kinds=("lockfile", "installed"))
    names = {p.name for a in analyze_dir(opts).applications for p in a.packages}
    assert {"urllib3", "org.apache.commons:commons-text", "stdlib"} <= names
    owned = frozenset({"/usr/lib/python3/site-packages/urllib3-1.26.4.dist-info/METADATA",
                       "opt/tomcat/webapps/shop.war"})
    blob = analyze_dir(opts)
    inv = drop_os_owned(Inventory(applications=list(blob.applications), unknowns=list(blob.unknowns)), owned)
    paths = {a.file_path for a in inv.applications}
    assert not any(p.startswith("usr/lib/python3") for p in paths)
    assert "opt/tomcat/webapps/shop.war" not in paths  # the WAR and the jars nested in it
    assert "opt/tomcat/webapps/commons-text-1.10.0.jar" in paths and "usr/local/bin/hello" in paths
