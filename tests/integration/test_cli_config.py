"""`vigil config` end to end through the CLI (a real subprocess): the issue's example output shape, exit codes,
JSON, custom checks, suppression, and the corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = """\
FROM golang:1.22 AS build
USER root
RUN go build -o /out ./...

FROM alpine:3.20
RUN apk add --no-cache ca-certificates
COPY --from=build /out /app
USER root
HEALTHCHECK CMD wget -qO- http://localhost:8080/health || exit 1
ENTRYPOINT ["/app"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    return tmp_path


def test_issue_example_table_shape(project: Path) -> None:
    p = run("config", "--exit-code", "1", "--severity", "HIGH,CRITICAL", str(project / "Dockerfile"), cwd=project)
    assert p.returncode == 1, p.stderr
    out = p.stdout
    assert "Dockerfile (dockerfile)" in out
    m = re.search(r"Tests: (\d+) \(SUCCESSES: (\d+), FAILURES: 1\)", out)
    assert m and int(m.group(1)) == int(m.group(2)) + 1
    assert "Failures: 1 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 1, CRITICAL: 0)" in out
    assert "DS-0002 (HIGH): Last USER command in Dockerfile should not be 'root'" in out  # Trivy's header
    assert "Image user should not be 'root'" in out
    assert "Last USER command in Dockerfile should not be 'root'" in out
    assert re.search(r"^\s+8 \[\s+USER root$", out, re.MULTILINE)  # the cause line, numbered and marked
    assert re.search(r"^\s+7\s{2,}COPY --from=build /out /app$", out, re.MULTILINE)  # context line


def test_exit_code_zero_when_only_other_severities(project: Path) -> None:
    p = run("config", "--exit-code", "1", "--severity", "CRITICAL", str(project), cwd=project)
    assert p.returncode == 0, p.stderr


def test_json_and_include_non_failures(project: Path) -> None:
    p = run("config", "--format", "json", "--include-non-failures", str(project), cwd=project)
    assert p.returncode == 0, p.stderr
    rep: dict[str, Any] = json.loads(p.stdout)
    [res] = rep["Results"]
    assert (res["Class"], res["Type"], res["Target"]) == ("config", "dockerfile", "Dockerfile")
    statuses = [m["Status"] for m in res["Misconfigurations"]]
    assert statuses.count("FAIL") == res["MisconfSummary"]["Failures"]
    assert statuses.count("PASS") == res["MisconfSummary"]["Successes"] > 0
    fail = next(m for m in res["Misconfigurations"] if m["ID"] == "DS-0002")
    assert fail["AVDID"] == "AVD-DS-0002" and fail["CauseMetadata"]["StartLine"] == 8
    assert any(ln.get("IsCause") for ln in fail["CauseMetadata"]["Code"]["Lines"])


def test_inline_and_ignorefile_suppression(project: Path) -> None:
    (project / "Dockerfile").write_text(DOCKERFILE.replace("USER root\nHEALTH", "# vigil:ignore:DS-0002\nUSER root\nHEALTH"))
    p = run("config", "--exit-code", "1", "--severity", "HIGH", str(project), cwd=project)
    assert p.returncode == 0, p.stdout
    (project / "Dockerfile").write_text(DOCKERFILE)
    (project / ".vigilignore").write_text("DS002\n")
    p = run("config", "--exit-code", "1", "--severity", "HIGH", str(project), cwd=project)
    assert p.returncode == 0, p.stdout


def test_custom_checks_and_namespaces(project: Path) -> None:
    checks = ROOT / "examples" / "checks"
    p = run("config", "-f", "json", "--config-check", str(checks), str(project), cwd=project)
    assert p.returncode == 0, p.stderr
    ids = {m["ID"] for r in json.loads(p.stdout)["Results"] for m in r["Misconfigurations"]}
    assert "USR-DF-0001" in ids
    p = run("config", "-f", "json", "--config-check", str(checks), "--check-namespaces", "other", str(project),
            cwd=project)
    ids = {m["ID"] for r in json.loads(p.stdout)["Results"] for m in r["Misconfigurations"]}
    assert "USR-DF-0001" not in ids


def test_bad_custom_check_is_a_usage_error(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.rego").write_text("package user.x\nimport rego.v1\ndeny contains msg if {\n")
    p = run("config", "-f", "json", "--config-check", str(bad), str(project), cwd=project)
    assert p.returncode == 2 and p.stdout == "" and "invalid Rego" in p.stderr


def test_compose_file(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  app:\n    image: app:latest\n    privileged: true\n    network_mode: host\n")
    p = run("config", "-f", "json", str(tmp_path), cwd=tmp_path)
    [res] = json.loads(p.stdout)["Results"]
    assert res["Type"] == "compose"
    ids = {m["ID"]: m["CauseMetadata"]["StartLine"] for m in res["Misconfigurations"]}
    assert ids == {"VCOMP-0001": 4, "VCOMP-0002": 5, "VCOMP-0008": 3, "VCOMP-0010": 2}


def test_missing_target_exit_2(tmp_path: Path) -> None:
    p = run("config", str(tmp_path / "nope"), cwd=tmp_path)
    assert p.returncode == 2 and "no such file" in p.stderr


@pytest.mark.slow
def test_corpus_dockerfiles_scan(tmp_path: Path) -> None:
    d = CORPUS / "dockerfiles"
    if not d.is_dir():
        pytest.skip("../shared corpus not present")
    p = run("config", "-f", "json", "-q", str(d), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    results = json.loads(p.stdout)["Results"]
    assert len(results) >= 100 and not [r for r in results if r.get("Error")]
    assert all(r["Type"] == "dockerfile" for r in results)


def test_sarif_has_file_and_line_regions(project: Path) -> None:
    p = run("config", "-f", "sarif", str(project), cwd=project)
    assert p.returncode == 0, p.stderr
    results = json.loads(p.stdout)["runs"][0]["results"]
    r = next(r for r in results if r["ruleId"] == "DS-0002")
    loc = r["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "Dockerfile" and loc["region"]["startLine"] == 8


def test_kubernetes_and_helm_are_dispatched(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: web\n          image: nginx:1.27\n")
    (tmp_path / "values.yaml").write_text("replicas: 1\n")  # not a Kubernetes object: ignored
    p = run("config", "-f", "json", str(tmp_path), cwd=tmp_path)
    res = {r["Target"]: r for r in json.loads(p.stdout)["Results"]}
    assert set(res) == {"deploy.yaml"} and res["deploy.yaml"]["Type"] == "kubernetes"
    assert "KSV-0014" in {m["ID"] for m in res["deploy.yaml"]["Misconfigurations"]}


@pytest.mark.slow
def test_corpus_helm_charts(tmp_path: Path) -> None:
    d = CORPUS / "helm"
    if not d.is_dir():
        pytest.skip("../shared corpus not present")
    p = run("config", "-f", "json", "-q", str(d), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    results = json.loads(p.stdout)["Results"]
    # rendered templates are "helm"; manifests kept beside a chart's templates (crds/) are plain "kubernetes"
    assert results and all(r["Type"] == "helm" or "/templates/" not in r["Target"] for r in results)
    assert {r["Type"] for r in results} == {"helm", "kubernetes"}
    assert any(r["MisconfSummary"].get("Failures", 0) for r in results if not r.get("Error"))


def test_template_format_uses_the_template(project: Path) -> None:
    p = run("config", "--format", "template", "--template", "{{ results|length }}", str(project), cwd=project)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "1"
    p = run("config", "--format", "template", str(project), cwd=project)  # no --template: a usage error
    assert p.returncode == 2 and "--template" in p.stderr and "Internal error" not in p.stderr


def test_show_suppressed_lists_inline_and_ignorefile_suppressions(project: Path) -> None:
    (project / "Dockerfile").write_text(DOCKERFILE.replace("USER root\nHEALTH", "# vigil:ignore:DS-0002\nUSER root\nHEALTH"))
    (project / ".vigilignore").write_text("DS-0026\n")
    (project / "other").mkdir()
    (project / "other" / "Dockerfile").write_text("FROM alpine:3.20\nUSER app\n")  # no HEALTHCHECK: DS-0026
    p = run("config", "--show-suppressed", str(project), cwd=project)
    assert p.returncode == 0, p.stderr
    assert "Suppressed findings (2)" in p.stdout
    assert re.search(r"Dockerfile\s.*misconfiguration\s.*DS-0002\s.*inline comment", p.stdout)
    assert re.search(r"other/Dockerfile\s.*misconfiguration\s.*DS-0026", p.stdout)
    p = run("config", str(project), cwd=project)  # without the option: only the count
    assert "Suppressed: 2 finding(s)" in p.stdout and "Suppressed findings" not in p.stdout
