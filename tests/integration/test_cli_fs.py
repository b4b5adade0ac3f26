"""End-to-end through the CLI (a real subprocess), on the demo project and a fixture DB built by the real builder
from real advisories (tests/fixtures/advisories)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-project"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    dst = tmp_path / "demo"
    shutil.copytree(DEMO, dst)
    return dst


def scan_json(target: Path, db: Path, *extra: str, cwd: Path | None = None) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    p = run("fs", str(target), "--db-path", str(db), "--format", "json", *extra, cwd=cwd or target)
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout), p


def findings(report: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (r["Target"], v["PkgName"], v["VulnerabilityID"]): v
        for r in report["Results"]
        for v in r.get("Vulnerabilities", [])
    }


def test_demo_project_findings(demo: Path, fixture_db: Path) -> None:
    report, _ = scan_json(demo, fixture_db)
    f = findings(report)
    # PyPA (OSV) advisories, reported under their CVE with the PYSEC/GHSA IDs as aliases
    pyyaml = f[("backend/requirements.txt", "PyYAML", "CVE-2020-14343")]
    assert pyyaml["FixedVersion"] == "5.4" and pyyaml["Status"] == "fixed"
    assert "PYSEC-2021-142" in pyyaml["Aliases"]
    assert pyyaml["MatchDetails"][0]["Source"] == "pypa" and pyyaml["MatchDetails"][0]["Comparator"] == "pep440"
    assert f[("backend/requirements.txt", "requests", "CVE-2023-32681")]["FixedVersion"] == "2.31.0"
    assert f[("backend/requirements.txt", "urllib3", "CVE-2021-33503")]["FixedVersion"] == "1.26.5"
    django = f[("backend/requirements.txt", "Django", "CVE-2019-19844")]
    assert django["FixedVersion"] == "2.2.9"  # smallest fix above 2.2.0 across the 1.11 and 2.2 branches
    # Go: module and stdlib from the toolchain directive
    assert ("service/go.mod", "github.com/gin-gonic/gin", "CVE-2020-36567") in f
    assert ("service/go.mod", "golang.org/x/net", "CVE-2023-39325") in f
    assert ("service/go.mod", "golang.org/x/net", "CVE-2022-41723") not in f  # fixed in 0.7.0, installed 0.7.0
    assert f[("service/go.mod", "stdlib", "CVE-2023-39325")]["FixedVersion"] == "v1.20.10"
    kev = f[("service/go.mod", "golang.org/x/net", "CVE-2023-44487")]
    assert kev["KnownExploited"] is True
    # npm via retire.js; mocha is dev-only and excluded by default
    assert ("web/package-lock.json", "lodash", "CVE-2021-23337") in f
    assert not any(k[1] == "mocha" for k in f)
    targets = {r["Target"]: r for r in report["Results"]}
    assert set(targets) == {"backend/requirements.txt", "service/go.mod", "web/package-lock.json"}


def test_one_finding_per_vulnerability_with_every_source(tmp_path: Path, fixture_db: Path) -> None:
    # protobuf 3.14.0 (fixed in 3.15.0): PYSEC-2022-48 (pypa) and GHSA-77rm-9x9h-xj3g (ghsa) are the same CVE-2021-22570
    (tmp_path / "requirements.txt").write_text("protobuf==3.14.0\n")
    report, _ = scan_json(tmp_path, fixture_db)
    vulns = report["Results"][0]["Vulnerabilities"]
    ids = [v["VulnerabilityID"] for v in vulns]
    assert ids.count("CVE-2021-22570") == 1
    v = next(v for v in vulns if v["VulnerabilityID"] == "CVE-2021-22570")
    assert {d["ID"] for d in v["DataSources"]} == {"pypa", "ghsa"}
    assert {"PYSEC-2022-48", "GHSA-77rm-9x9h-xj3g"} <= set(v["Aliases"])


def test_table_output_and_exit_code(demo: Path, fixture_db: Path) -> None:
    p = run("fs", str(demo), "--db-path", str(fixture_db), "--exit-code", "1", cwd=demo)
    assert p.returncode == 1, p.stderr
    assert "Report Summary" in p.stdout
    assert "backend/requirements.txt (pip)" in p.stdout
    assert "Total: " in p.stdout and "CRITICAL: " in p.stdout
    assert "CVE-2020-14343" in p.stdout
    # severity filter leaves nothing -> exit 0
    p = run("fs", str(demo / "web"), "--db-path", str(fixture_db), "--exit-code", "1", "--severity", "LOW", cwd=demo)
    assert p.returncode == 0, p.stdout


def test_ignore_unfixed_dev_deps_and_output_file(demo: Path, fixture_db: Path) -> None:
    out = demo / "r.json"
    p = run("fs", str(demo / "web"), "--db-path", str(fixture_db), "-f", "json", "-o", str(out), "--include-dev-deps",
            "--list-all-pkgs", cwd=demo)
    assert p.returncode == 0 and p.stdout == ""
    rep = json.loads(out.read_text())
    pkgs = {p["Name"]: p for p in rep["Results"][0]["Packages"]}
    assert pkgs["mocha"]["Dev"] is True and "lodash" in pkgs
    report, _ = scan_json(demo, fixture_db, "--ignore-unfixed")
    assert all(v["Status"] == "fixed" for r in report["Results"] for v in r.get("Vulnerabilities", []))


def test_ignorefile_with_expiry(demo: Path, fixture_db: Path) -> None:
    (demo / ".vigilignore").write_text("# accepted risk\nGHSA-8q59-q68h-6hv4\nCVE-2023-32681 exp:2020-01-01\n")
    report, p = scan_json(demo, fixture_db)
    f = findings(report)
    assert ("backend/requirements.txt", "PyYAML", "CVE-2020-14343") not in f  # suppressed via its GHSA alias
    assert ("backend/requirements.txt", "requests", "CVE-2023-32681") in f  # expired entry no longer applies
    assert "expired on 2020-01-01" in p.stderr
    (s,) = report["Metadata"]["Suppressed"]
    assert s["VulnerabilityID"] == "CVE-2020-14343" and "line 2" in s["Reason"]


def test_env_and_config_file(demo: Path, fixture_db: Path) -> None:
    # db.path comes from the environment: a vigil.yaml found in the working directory may not choose the DB
    (demo / "vigil.yaml").write_text("severity: CRITICAL\nformat: json\n")
    db_env = {"VIGIL_DB_PATH": str(fixture_db)}
    p = run("fs", ".", cwd=demo, env=db_env)
    sevs = {v["Severity"] for r in json.loads(p.stdout)["Results"] for v in r.get("Vulnerabilities", [])}
    assert sevs == {"CRITICAL"}
    p = run("fs", ".", cwd=demo, env={"VIGIL_SEVERITY": "LOW", **db_env})
    sevs = {v["Severity"] for r in json.loads(p.stdout)["Results"] for v in r.get("Vulnerabilities", [])}
    assert sevs <= {"LOW"}


def test_broken_lockfile_is_reported_and_scan_goes_on(demo: Path, fixture_db: Path) -> None:
    (demo / "broken").mkdir()
    (demo / "broken" / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": {')
    (demo / "broken" / "Cargo.lock").write_bytes(b"\x00\x01\x02garbage\xff" * 100)
    report, p = scan_json(demo, fixture_db)
    errs = {r["Target"]: r["Error"] for r in report["Results"] if r.get("Error")}
    assert set(errs) == {"broken/package-lock.json", "broken/Cargo.lock"}
    assert "JSON" in errs["broken/package-lock.json"]
    assert "Traceback" not in p.stderr and "broken/package-lock.json" in p.stderr
    assert ("backend/requirements.txt", "PyYAML", "CVE-2020-14343") in findings(report)
    assert {u["FilePath"] for u in report["Metadata"]["Unknowns"]} == set(errs)


def test_file_names_cannot_drive_the_terminal_or_markup(tmp_path: Path, fixture_db: Path) -> None:
    """A file name with terminal escapes, a newline or Rich markup is shown escaped and literal, in the table and
    in the warnings on stderr."""
    esc = tmp_path / "x\x1b[2J\x1b[1;1HFAKE\nforged"
    esc.mkdir()
    (esc / "package-lock.json").write_text("{bad")
    markup = tmp_path / "x[/]" / "[bold]hidden[/bold]dir"
    markup.mkdir(parents=True)
    (markup / "requirements.txt").write_text("django==2.2.0\n")
    p = run("fs", str(tmp_path), "--db-path", str(fixture_db), cwd=tmp_path)
    assert p.returncode == 0, p.stderr  # x[/] was a MarkupError, exit 3
    assert "\x1b" not in p.stdout + p.stderr
    assert "x[/]/[bold]hidden[/bold]dir/requirements.txt (pip)" in p.stdout
    assert "x\\x1b[2J\\x1b[1;1HFAKE\\nforged/package-lock.json" in p.stdout
    (warning,) = [line for line in p.stderr.splitlines() if "package-lock.json" in line]
    assert warning.startswith("WARNING\tx\\x1b[2J") and "forged/package-lock.json: could not parse" in warning
    assert not any(line.startswith("forged") for line in (p.stdout + p.stderr).splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fs", "/nonexistent/dir"), "no such file"),
        (("fs", ".", "--severity", "SEVERE"), "SEVERE"),
        (("fs", ".", "--severity", ""), "--severity: empty"),
        (("fs", ".", "--exit-code", "256"), "256 is not an exit code (0-255)"),
        (("fs", ".", "--exit-code", "512"), "512 is not an exit code"),
        (("fs", ".", "--exit-code", "-1"), "-1 is not an exit code"),
        (("fs", ".", "--format", "xml"), "choose from"),
        (("fs", ".", "--no-such-flag"), "No such option"),
        (("fs",), "Missing argument"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, fixture_db: Path, args: tuple[str, ...], message: str) -> None:
    p = run(*args, "--db-path", str(fixture_db), cwd=tmp_path)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert message in p.stderr and "Traceback" not in p.stderr


def test_empty_severity_list_in_config_is_refused(tmp_path: Path, fixture_db: Path) -> None:
    (tmp_path / "requirements.txt").write_text("django==2.2.0\n")
    (tmp_path / "vigil.yaml").write_text("severity: []\n")
    p = run("fs", ".", "--db-path", str(fixture_db), "--exit-code", "1", cwd=tmp_path)
    assert p.returncode == 2 and "key 'severity': empty" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_unreadable_directory_is_reported_once_and_in_the_report(tmp_path: Path, fixture_db: Path) -> None:
    """A directory the scan cannot list is a gap in coverage: one warning, and an error result plus an Unknown
    in the JSON report. Root reads any directory, so as root the scan runs without CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH (setpriv), which makes the mode-000 directory really unreadable."""
    import os
    import sys

    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        drop = [setpriv or "setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
        if setpriv is None or subprocess.run([*drop, "true"], capture_output=True).returncode != 0:
            pytest.skip("running as root and cannot drop the DAC capabilities")
        prefix = drop
    proj = tmp_path / "proj"
    (proj / "locked").mkdir(parents=True)
    (proj / "locked" / "requirements.txt").write_text("django==2.2.0\n")
    (proj / "requirements.txt").write_text("pyyaml==5.3.1\n")
    (proj / "locked").chmod(0)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        p = subprocess.run([*prefix, sys.executable, "-m", "vigil.shells.cli.main", "fs", str(proj), "--db-path",
                            str(fixture_db), "--format", "json", "--scanners", "vuln,secret,misconfig,license"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    finally:
        (proj / "locked").chmod(0o755)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert [line for line in p.stderr.splitlines() if "cannot read directory" in line] == [
        f"WARNING\t{proj / 'locked'}: cannot read directory: Permission denied"]
    reason = "cannot read directory: Permission denied"
    assert {"FilePath": "locked", "Analyzer": "fs", "Reason": reason} in report["Metadata"]["Unknowns"]
    errors = {(r["Target"], r.get("Type"), r.get("Error")) for r in report["Results"] if r.get("Error")}
    assert errors == {("locked", "fs", reason)}
    assert any(r["Target"] == "requirements.txt" and r.get("Vulnerabilities") for r in report["Results"])


def test_missing_db_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("django==2.2\n")
    p = run("fs", str(tmp_path), "--cache-dir", str(tmp_path / "cache"), cwd=tmp_path)
    assert p.returncode == 2
    assert "no vulnerability DB" in p.stderr and "vigil db build" in p.stderr and "Traceback" not in p.stderr


def test_bad_ignorefile_exit_2(demo: Path, fixture_db: Path) -> None:
    (demo / ".vigilignore").write_text("CVE-1 expires:2020-01-01\n")
    p = run("fs", ".", "--db-path", str(fixture_db), cwd=demo)
    assert p.returncode == 2 and ".vigilignore:1" in p.stderr


def test_python_api_matches_cli(demo: Path, fixture_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vigil

    monkeypatch.chdir(demo)
    report = vigil.scan(demo, db_path=str(fixture_db))
    cli_report, _ = scan_json(demo, fixture_db)
    api = {(r.target, v.pkg_name, v.vulnerability_id) for r in report.results for v in r.vulnerabilities}
    assert api == set(findings(cli_report))


def test_db_build_and_info(tmp_path: Path, feeds_dir: Path) -> None:
    p = run("db", "build", "--feeds", str(feeds_dir), "-o", str(tmp_path / "db"))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "db" / "vigil.db").is_file() and (tmp_path / "db" / "metadata.json").is_file()
    meta = json.loads((tmp_path / "db" / "metadata.json").read_text())
    assert meta["schema_version"] == 2 and meta["next_update"] > meta["built_at"]
    p = run("db", "info", "--db-path", str(tmp_path / "db" / "vigil.db"))
    assert p.returncode == 0 and "Schema version: 2" in p.stdout and "pypa" in p.stdout
    p = run("db", "build", "--feeds", str(tmp_path / "nope"), "-o", str(tmp_path / "db2"))
    assert p.returncode == 2 and "does not exist" in p.stderr


def test_huge_and_capped_files(tmp_path: Path, fixture_db: Path) -> None:
    # a 100 MB package-lock.json still parses (bounded work: one json.loads), and a file over --max-file-size is
    # reported as unparsable with the reason instead of being read
    big = tmp_path / "big"
    big.mkdir()
    filler = "x" * (100 * 1024 * 1024)
    (big / "package-lock.json").write_text(
        '{"lockfileVersion": 3, "description": "' + filler + '", "packages": {"": {"name": "a"}, '
        '"node_modules/lodash": {"version": "4.17.15"}}}'
    )
    report, p = scan_json(big, fixture_db)
    assert any(v["PkgName"] == "lodash" for r in report["Results"] for v in r.get("Vulnerabilities", []))
    report, p = scan_json(big, fixture_db, "--max-file-size", "1048576")
    (res,) = report["Results"]
    assert "larger than" in res["Error"] and "Traceback" not in p.stderr


def test_deeply_nested_inputs(tmp_path: Path, fixture_db: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "pnpm-lock.yaml").write_text("lockfileVersion: '9.0'\npackages: " + "[" * 50000 + "\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "composer.lock").write_text('{"packages": ' + "[" * 200000)
    report, p = scan_json(tmp_path, fixture_db)
    errs = {r["Target"]: r["Error"] for r in report["Results"] if r.get("Error")}
    assert set(errs) == {"a/pnpm-lock.yaml", "b/composer.lock"}, report
    assert "Traceback" not in p.stderr


def test_depends_on_never_names_a_package_the_report_leaves_out(tmp_path: Path, fixture_db: Path) -> None:
    """A yarn classic monorepo member (found through `"workspaces": ["packages/*"]`) depends on a production and a
    dev package: without --include-dev-deps the dev one is not listed, so the member's DependsOn must not name it."""
    (tmp_path / "packages" / "cli").mkdir(parents=True)
    (tmp_path / "yarn.lock").write_text('# yarn lockfile v1\n\n\njs-tokens@^8.0.1:\n  version "8.0.1"\n\n'
                                        'prop-types@^15.8.1:\n  version "15.8.1"\n')
    (tmp_path / "package.json").write_text(json.dumps({"private": True, "workspaces": ["packages/*"]}))
    (tmp_path / "packages" / "cli" / "package.json").write_text(json.dumps(
        {"name": "cli", "version": "1.0.0", "dependencies": {"js-tokens": "^8.0.1"},
         "devDependencies": {"prop-types": "^15.8.1"}}))

    def packages(*extra: str) -> dict[str, dict[str, Any]]:
        report, p = scan_json(tmp_path, fixture_db, "--list-all-pkgs", *extra)
        assert p.returncode == 0, p.stderr
        return {pkg["ID"]: pkg for r in report["Results"] for pkg in r.get("Packages", [])}

    prod = packages()
    assert set(prod) == {"cli@1.0.0", "js-tokens@8.0.1"}
    assert prod["cli@1.0.0"]["Relationship"] == "workspace"
    assert prod["cli@1.0.0"]["DependsOn"] == ["js-tokens@8.0.1"]
    everything = packages("--include-dev-deps")
    assert everything["cli@1.0.0"]["DependsOn"] == ["js-tokens@8.0.1", "prop-types@15.8.1"]
    assert everything["prop-types@15.8.1"]["Dev"] is True
