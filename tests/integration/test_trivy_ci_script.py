"""A CI script written for Trivy runs unchanged with `vigil` in place of `trivy`: the same flags, the same TRIVY_*
variables, the same trivy.yaml and .trivyignore, the same exit codes and JSON keys. Every flag the script passes is
checked against the real Trivy's --help, so the script stays a genuine Trivy script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SHARED
from tests.trivy_cli_ref import help_flags_cached

DEMO = ROOT / "examples" / "demo-project"
IMAGE = SHARED / "data" / "images" / "alpine-like.docker.tar"

# As a Trivy user's CI job has it, with `trivy` replaced by `vigil` and nothing else changed.
SCRIPT = """\
set -u
export TRIVY_NO_PROGRESS=true
export TRIVY_CACHE_DIR="$CACHE_DIR"
vigil --version
# report everything, fail on nothing
vigil fs --exit-code 0 --severity UNKNOWN,LOW,MEDIUM --skip-db-update --skip-java-db-update --timeout 10m0s .
echo "fs-report=$?" >> status
# the gate: fail the job on HIGH/CRITICAL
vigil fs --exit-code 1 --severity HIGH,CRITICAL --skip-db-update --ignore-unfixed=false --format json --output fs.json .
echo "fs-gate=$?" >> status
vigil config --skip-check-update --exit-code 1 --severity HIGH,CRITICAL --misconfig-scanners dockerfile,kubernetes,helm --format json --output config.json .
echo "config=$?" >> status
vigil -q image --input "$IMAGE" --skip-db-update --offline-scan --scanners vuln,secret --list-all-pkgs --format json --output image.json
echo "image=$?" >> status
"""


def _script_commands(script: str) -> list[list[str]]:
    """Each vigil command line as [vigil, COMMAND, flags…] (global flags before the command moved after it)."""
    from vigil.shells.cli.main import global_flags_after_command

    return [["vigil", *global_flags_after_command(line.split()[1:])] for line in script.splitlines()
            if line.startswith("vigil ")]


def test_the_script_is_a_trivy_script() -> None:
    for argv in _script_commands(SCRIPT):
        if len(argv) < 3:
            continue
        found = help_flags_cached(argv[1])
        flags = {*found, *(f.short for f in found.values() if f.short)}
        used = [re.sub(r"=.*", "", a) for a in argv[2:] if a.startswith("-")]
        if argv[1] == "image":
            assert "-q" in used  # a global flag given before the command
        assert all(f in flags for f in used), f"not a trivy {argv[1]} flag: {[f for f in used if f not in flags]}"


def test_trivy_ci_script_runs_unchanged(tmp_path: Path, fixture_db: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(DEMO, project)
    # Trivy's own files in the project: the config in the working directory and the ignore file
    (project / "trivy.yaml").write_text("scan:\n  skip-dirs:\n    - docs\n")
    (project / ".trivyignore").write_text("# accepted risk\nCVE-2021-23337\n")
    (project / "Dockerfile").write_text("FROM alpine:3.19\nRUN apk add --no-cache curl\n")  # runs as root
    cache = tmp_path / "cache"
    (cache / "db").mkdir(parents=True)
    shutil.copy(fixture_db, cache / "db" / "vigil.db")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    vigil = bindir / "vigil"  # what `pip install` puts on PATH, pointing at this interpreter and tree
    vigil.write_text(f"#!/bin/sh\nexec {sys.executable} -m vigil.shells.cli.main \"$@\"\n")
    vigil.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "TRIVY_"))}
    env.update(PATH=f"{bindir}{os.pathsep}{env['PATH']}", CACHE_DIR=str(cache), IMAGE=str(IMAGE))
    p = subprocess.run(["sh", "-c", SCRIPT], cwd=project, env=env, capture_output=True, text=True, timeout=900)
    status = dict(line.split("=") for line in (project / "status").read_text().split())
    assert status == {"fs-report": "0", "fs-gate": "1", "config": "1", "image": "0"}, p.stderr[-3000:]
    assert "Traceback" not in p.stderr and "not applied" not in p.stderr
    assert p.stdout.startswith("vigil ")
    fs_report = json.loads((project / "fs.json").read_text())
    vulns = [v for r in fs_report["Results"] for v in r.get("Vulnerabilities", ())]
    assert all(r.get("Packages") for r in fs_report["Results"] if r["Class"] == "lang-pkgs")  # Trivy's default
    assert vulns and {v["Severity"] for v in vulns} <= {"HIGH", "CRITICAL"}
    assert "CVE-2021-23337" not in {v["VulnerabilityID"] for v in vulns}, ".trivyignore was not read"
    (project / ".trivyignore").unlink()  # and without it the finding is there: the ignore file did hide it
    p2 = subprocess.run(["vigil", "fs", "--severity", "HIGH,CRITICAL", "--skip-db-update", "--cache-dir", str(cache),
                         "--format", "json", "."],
                        cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert "CVE-2021-23337" in {v["VulnerabilityID"] for r in json.loads(p2.stdout)["Results"]
                                for v in r.get("Vulnerabilities", ())}, p2.stderr
    config = json.loads((project / "config.json").read_text())
    failed = [m["ID"] for r in config["Results"] for m in r.get("Misconfigurations", ()) if m["Status"] == "FAIL"]
    assert failed and config["SchemaVersion"] == 2
    image = json.loads((project / "image.json").read_text())
    assert any(r["Class"] == "os-pkgs" and r.get("Packages") for r in image["Results"])
