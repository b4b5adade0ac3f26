"""Trivy's Helm rendering flags (--helm-set-string, --helm-set-file, --helm-api-versions, --helm-kube-version) change
what Vigil renders exactly as they change what Trivy 0.76 renders: the FAIL findings of both tools are compared on a
probe chart whose every template branch hangs on one flag, and on a chart of the shared corpus with all of them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.conftest import CORPUS
from tests.trivy_cli_ref import trivy_bin

_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: probe
  annotations:
    script: {{ .Values.script | quote }}
spec:
  containers:
    - name: app
      image: example.azurecr.io/app:1.0
      securityContext:
        readOnlyRootFilesystem: true
        {{- if .Capabilities.APIVersions.Has "example.com/v1/Privileged" }}
        privileged: true
        {{- end }}
        {{- if eq (kindOf .Values.runAsUser) "string" }}
        runAsUser: 0
        {{- end }}
  {{- if semverCompare "<1.20-0" .Capabilities.KubeVersion.GitVersion }}
  hostPID: true
  {{- end }}
  {{- if contains "HOSTNET" .Values.script }}
  hostNetwork: true
  {{- end }}
"""

Fails = set[tuple[str, str]]


def _fails(report: dict[str, Any]) -> Fails:
    return {(r["Target"], m["ID"]) for r in report.get("Results") or [] if r.get("Class") == "config"
            for m in r.get("Misconfigurations") or [] if m.get("Status") == "FAIL"}


def _trivy(args: list[str], target: Path, cwd: Path) -> Fails:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIVY_")}
    p = subprocess.run([trivy_bin(), "config", "--skip-check-update", "--quiet", "--format", "json",
                        "--cache-dir", str(cwd / "tcache"), *args, str(target)],
                       capture_output=True, text=True, timeout=300, env=env, cwd=cwd)
    assert p.returncode == 0, p.stderr[-2000:]
    return _fails(json.loads(p.stdout))


def _vigil(args: list[str], target: Path, cwd: Path) -> Fails:
    # Trivy leaves Helm hooks and tests out of the release; KSV-0107 (removed APIs) runs only in Vigil's config
    # scans (both listed in docs/trivy-differences.md)
    p = run("config", "--quiet", "--format", "json", "--helm-skip-hooks", *args, str(target), cwd=cwd)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "accepted for Trivy compatibility but not applied" not in p.stderr
    return {f for f in _fails(json.loads(p.stdout)) if f[1] != "KSV-0107"}


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("helmflags")
    chart = root / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("runAsUser: 1000\nscript: \"\"\n")
    (chart / "templates" / "pod.yaml").write_text(_POD)
    (root / "script.txt").write_text("HOSTNET please\n")
    return root


# flag -> the check its branch adds
CASES = {
    "api-versions": (["--helm-api-versions", "example.com/v1/Privileged"], "KSV-0017"),  # privileged
    "set-string": (["--helm-set-string", "runAsUser=5"], "KSV-0105"),  # runAsUser 0
    "kube-version": (["--helm-kube-version", "1.19.0"], "KSV-0010"),  # hostPID
    "set-file": (["--helm-set-file", "script=script.txt"], "KSV-0009"),  # hostNetwork
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_flag_renders_like_trivy(probe: Path, case: str) -> None:
    args, check = CASES[case]
    plain = _vigil([], probe / "chart", probe)
    trivy, vigil = _trivy(args, probe / "chart", probe), _vigil(args, probe / "chart", probe)
    assert vigil == trivy
    assert ("templates/pod.yaml", check) in vigil - plain  # the flag took effect


def test_set_is_not_a_string(probe: Path) -> None:
    """--helm-set 5 is a number (the string branch stays off); only --helm-set-string makes it a string."""
    args = ["--helm-set", "runAsUser=5"]
    assert ("templates/pod.yaml", "KSV-0105") not in _vigil(args, probe / "chart", probe)
    assert _vigil(args, probe / "chart", probe) == _trivy(args, probe / "chart", probe)


def test_corpus_chart_with_every_flag(tmp_path: Path) -> None:
    chart = CORPUS / "helm" / "helm__charts" / "stable" / "grafana"
    if not chart.is_dir():
        pytest.skip("../shared corpus not present")
    (tmp_path / "note.txt").write_text("listen 0.0.0.0\n")
    args = ["--helm-set-string", "ingress.enabled=true", "--helm-set", "rbac.pspEnabled=false",
            "--helm-set-file", "podAnnotations.note=note.txt", "--helm-api-versions",
            "networking.k8s.io/v1beta1/Ingress", "--helm-kube-version", "1.18.0"]
    assert _vigil(args, chart, tmp_path) == _trivy(args, chart, tmp_path)
    # the flags took effect: the Ingress is rendered, the PodSecurityPolicy is not
    assert _targets(args, chart, tmp_path) - _targets([], chart, tmp_path) == {"templates/ingress.yaml"}
    assert "templates/podsecuritypolicy.yaml" in _targets([], chart, tmp_path) - _targets(args, chart, tmp_path)


def _targets(args: list[str], target: Path, cwd: Path) -> set[str]:
    p = run("config", "--quiet", "--format", "json", "--helm-skip-hooks", *args, str(target), cwd=cwd)
    return {r["Target"] for r in json.loads(p.stdout).get("Results") or []}


def test_set_file_errors_are_one_line(probe: Path) -> None:
    for arg, word in (("script=missing.txt", "missing.txt"), ("noeq", "--helm-set-file")):
        p = run("config", "--quiet", "--helm-set-file", arg, str(probe / "chart"), cwd=probe)
        assert p.returncode == 2, p.stderr
        assert "Traceback" not in p.stderr and word in p.stderr


def test_trivy_env_and_config_keys(probe: Path) -> None:
    """TRIVY_HELM_SET_STRING and trivy.yaml's misconfiguration.helm.* keys reach the renderer."""
    p = run("config", "--quiet", "--format", "json", str(probe / "chart"), cwd=probe,
            env={"TRIVY_HELM_SET_STRING": "runAsUser=5"})
    assert ("templates/pod.yaml", "KSV-0105") in _fails(json.loads(p.stdout))
    (probe / "trivy.yaml").write_text("misconfiguration:\n  helm:\n    api-versions: [example.com/v1/Privileged]\n"
                                      "    set-file: [script=script.txt]\n")
    try:
        p = run("config", "--quiet", "--format", "json", "--config", "trivy.yaml", str(probe / "chart"), cwd=probe)
        found = _fails(json.loads(p.stdout))
    finally:
        (probe / "trivy.yaml").unlink()
    assert {("templates/pod.yaml", "KSV-0017"), ("templates/pod.yaml", "KSV-0009")} <= found


def test_corpus_flags_change_what_trivy_changes(tmp_path: Path) -> None:
    """Over every chart of the shared corpus that both tools render, the findings the flags add or remove are the
    same in both (measured: 26 of 26; the charts Trivy cannot read are left out, as in the agreement test)."""
    corpus = CORPUS / "helm"
    if not corpus.is_dir():
        pytest.skip("../shared corpus not present")
    (tmp_path / "note.txt").write_text("listen 0.0.0.0\n")
    args = ["--helm-kube-version", "1.13.0", "--helm-set", "ingress.enabled=true,metrics.enabled=true",
            "--helm-set-string", "securityContext.enabled=false,image.pullPolicy=Always",
            "--helm-set-file", "podAnnotations.note=note.txt",
            "--helm-api-versions", "networking.k8s.io/v1beta1/Ingress"]

    def both(extra: list[str]) -> tuple[Fails, Fails, set[str]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIVY_")}
        t = subprocess.run([trivy_bin(), "config", "--skip-check-update", "--quiet", "--format", "json",
                            "--cache-dir", str(tmp_path / "tc"), *extra, str(corpus)], capture_output=True,
                           text=True, timeout=600, env=env, cwd=tmp_path)
        assert t.returncode == 0, t.stderr[-2000:]
        v = run("config", "--quiet", "--format", "json", "--helm-skip-hooks", *extra, str(corpus), cwd=tmp_path,
                timeout=600)
        assert v.returncode == 0, v.stderr[-2000:]
        tr, vr = json.loads(t.stdout), json.loads(v.stdout)
        read = ({r["Target"] for r in tr.get("Results") or [] if not r.get("Error")}
                & {r["Target"] for r in vr.get("Results") or [] if not r.get("Error")})
        return _fails(tr), {f for f in _fails(vr) if f[1] != "KSV-0107"}, read

    t0, v0, read0 = both([])
    t1, v1, read1 = both(args)
    read = read0 & read1
    t_delta = {f for f in t0 ^ t1 if f[0] in read}
    v_delta = {f for f in v0 ^ v1 if f[0] in read}
    assert len(t_delta) >= 10  # the flags do change the corpus's findings
    assert v_delta == t_delta
    assert {f for f in v1 - v0 if f[0] in read} == {f for f in t1 - t0 if f[0] in read}
