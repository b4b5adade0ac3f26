"""vigil.analyzers.misconf.scan on in-memory file sets: which paths it wants, one Result per config file (PASS
kept, no severity filter), read errors, Helm charts given as files or archives, kustomize warnings, custom
checks, inline suppressions, order independence, and the same results as `vigil config` on the same tree."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from tests.pipeline_helpers import ConfigOptions, read_tree, scan_config

from vigil.analyzers.misconf.checks.base import Check, CheckMeta, Failure
from vigil.analyzers.misconf.scan import (
    MisconfOptions,
    finalize,
    scan_files,
    scan_image_history,
    wants,
)
from vigil.findings.records import Report, Result

ROOT_DF = b"FROM alpine:3.20\nRUN apk add --no-cache curl\nUSER root\nHEALTHCHECK CMD true\n"
CHART = {
    "Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "values.yaml": b"image: nginx:1.25\n",
    # a partial with a .txt name: Helm reads every file under templates/, whatever its extension
    "templates/_name.txt": b'{{- define "demo.name" -}}{{ .Chart.Name }}-web{{- end -}}\n',
    "templates/NOTES.txt": b"Installed {{ .Release.Name }}\n",
    "templates/deployment.yaml": b"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "demo.name" . }}
spec:
  template:
    spec:
      containers:
      - name: app
        image: {{ .Values.image }}
""",
}


def _by_target(results: tuple[Result, ...]) -> dict[str, Result]:
    return {r.target: r for r in results}


def _report(results: tuple[Result, ...]) -> Report:
    return Report(artifact_name="test", artifact_type="filesystem", results=results)


def _tgz(files: dict[str, bytes], prefix: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("rel,wanted", [
    ("Dockerfile", True), ("sub/api.Dockerfile", True), ("docker-compose.yml", True), ("k8s/deploy.yaml", True),
    ("a.json", True), ("Kustomization", True), ("chart.tgz", True), ("chart.tar.gz", True), ("c.tar", True),
    ("charts/app/Chart.yaml", True), ("charts/app/Chart.lock", True), ("app/requirements.lock", True),
    ("app/.helmignore", True), ("app/templates/_helpers.tpl", True), ("app/templates/NOTES.txt", True),
    ("app/templates/sub/anything.conf", True),
    ("README.md", False), ("Dockerfile.md", False), ("main.go", False), ("app/files/init.sql", False),
    ("templates", False),  # a file named like the directory is not inside one
])
def test_wants(rel: str, wanted: bool) -> None:
    assert wants(rel) is wanted


def test_one_result_per_file_pass_kept_and_not_severity_filtered() -> None:
    out = scan_files({"b/Dockerfile": ROOT_DF, "README.md": b"# no", "compose.yaml": b"services:\n  a:\n"
                      b"    image: x:1\n    read_only: true\n"}, MisconfOptions())
    assert [(r.target, r.type) for r in out.results] == [("b/Dockerfile", "dockerfile"), ("compose.yaml", "compose")]
    df = out.results[0]
    statuses = [m.status for m in df.misconfigurations]
    assert statuses.count("FAIL") == 1 and statuses.count("PASS") == 26
    assert {m.severity for m in df.misconfigurations} >= {"LOW", "HIGH"}
    assert (out.suppressed, out.warnings) == ((), ())
    # the report stage filters: severities, then PASS only with include_non_failures
    rep = finalize(_report(out.results), ("HIGH",), False)
    [m] = rep.results[0].misconfigurations
    assert m.id == "DS-0002" and rep.results[0].misconf_summary is not None
    assert rep.results[0].misconf_summary.failures == 1


def test_inline_suppression_is_reported() -> None:
    df = ROOT_DF.replace(b"USER root", b"# trivy:ignore:DS002\nUSER root")
    out = scan_files({"Dockerfile": df}, MisconfOptions())
    assert all(m.status == "PASS" for m in out.results[0].misconfigurations)
    [s] = out.suppressed
    assert (s.target, s.kind, s.vulnerability_id) == ("Dockerfile", "misconfiguration", "DS-0002")
    assert s.reason == "inline comment ignore:DS002 at line 4"


def test_read_errors() -> None:
    errors = {"Dockerfile": "larger than the 10-byte limit (--max-file-size)", "k8s/big.yaml": "Permission denied",
              "app/templates/deployment.yaml": "Permission denied", "pkg.tgz": "Input/output error"}
    files = {f"app/{k}": v for k, v in CHART.items() if k != "templates/deployment.yaml"}
    res = _by_target(scan_files(files, MisconfOptions(), errors).results)
    assert res["Dockerfile"].error.startswith("larger than") and res["Dockerfile"].type == "dockerfile"
    assert (res["pkg.tgz"].type, res["pkg.tgz"].error) == ("helm-archive", "Input/output error")
    assert (res["app"].type, res["app"].error) == ("helm", "Permission denied")  # the chart cannot be rendered
    assert "k8s/big.yaml" not in res  # unknown type until read: skipped like a file that is not config


def test_chart_directory_from_files() -> None:
    files = {f"deploy/demo/{k}": v for k, v in CHART.items()}
    # a packaged subchart: rendered as part of its parent, not scanned as a chart of its own
    sub = {"Chart.yaml": b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
           "templates/pod.yaml": b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: sub\nspec:\n  containers:\n"
                                 b"  - name: c\n    image: busybox\n"}
    files["deploy/demo/charts/sub-0.1.0.tgz"] = _tgz(sub, "sub/")
    out = scan_files(files, MisconfOptions())
    assert [(r.target, r.type) for r in out.results] == [
        ("deploy/demo/charts/sub/templates/pod.yaml", "helm"), ("deploy/demo/templates/deployment.yaml", "helm")]
    res = out.results[1]
    ids = {m.id for m in res.misconfigurations}
    assert "KSV-0014" in ids
    assert any("Deployment/demo-web" in m.cause_metadata.resource for m in res.misconfigurations)


def test_chart_archive_and_templates_outside_a_chart() -> None:
    files = {
        "dist/demo-0.1.0.tgz": _tgz(CHART, "demo/"),
        "dist/notes.tgz": b"not a chart",
        # under a templates/ directory but in no chart: not a config file on its own, even if it looks like one
        "site/templates/pod.txt": b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n",
    }
    res = _by_target(scan_files(files, MisconfOptions()).results)
    assert set(res) == {"dist/demo-0.1.0.tgz/templates/deployment.yaml"}


def test_helm_values_and_set() -> None:
    files = {f"c/{k}": v for k, v in CHART.items()}

    def fails(opts: MisconfOptions) -> set[str]:
        [res] = scan_files(files, opts).results
        return {m.id for m in res.misconfigurations if m.status == "FAIL"}

    assert "KSV-0013" not in fails(MisconfOptions())  # nginx:1.25
    assert "KSV-0013" in fails(MisconfOptions(helm_values=(b"image: nginx:latest\n",)))
    assert "KSV-0013" not in fails(MisconfOptions(helm_values=(b"image: nginx:latest\n",),
                                                  helm_set=("image=busybox:1.36",)))
    bad = scan_files(files, MisconfOptions(helm_values=(b"- not a mapping\n",)))
    assert bad.results[0].error and bad.warnings == (f"c: chart not scanned: {bad.results[0].error}",)


def test_kustomize_warnings() -> None:
    files = {"kz/kustomization.yaml": b"resources:\n  - deploy.yaml\n  - https://example.com/base\n",
             "kz/deploy.yaml": b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n"}
    out = scan_files(files, MisconfOptions())
    assert out.warnings == ("kz/kustomization.yaml: https://example.com/base: remote resource (not fetched)",)
    assert "kz/deploy.yaml" in _by_target(out.results)


def test_custom_checks_select_plain_yaml() -> None:
    def run(doc: object) -> list[Failure]:
        return [Failure("debug on", 1, 1)] if isinstance(doc, dict) and doc.get("debug") else []

    check = Check(CheckMeta(id="USR-Y-1", title="no debug", severity="LOW", input_type="yaml"), run)
    files = {"app.yaml": b"debug: true\n", "data.json": b"{}", "README.md": b""}
    assert scan_files(files, MisconfOptions()).results == ()
    res = _by_target(scan_files(files, MisconfOptions(custom_checks=(check,))).results)
    assert set(res) == {"app.yaml"}
    [m] = res["app.yaml"].misconfigurations
    assert (m.id, m.status, m.type) == ("USR-Y-1", "FAIL", "YAML Security Check")


def test_output_does_not_depend_on_mapping_order() -> None:
    files = {"z/Dockerfile": b"RUN no from\n", "a/compose.yaml": b"services: [\n", "Dockerfile": b"FROM x\n",
             "a/b/Dockerfile": b"RUN nope\n", "a/kustomization.yaml": b"resources:\n  - missing.yaml\n"}
    forward = scan_files(files, MisconfOptions())
    backward = scan_files(dict(reversed(files.items())), MisconfOptions())
    assert forward == backward
    # a directory's files before its subdirectories, as a directory walk lists them
    assert [w.split(":")[0] for w in forward.warnings] == [
        "a/compose.yaml", "a/b/Dockerfile", "z/Dockerfile", "a/kustomization.yaml"]


def test_same_results_as_vigil_config_on_the_same_tree(tmp_path: Path) -> None:
    tree = {"Dockerfile": ROOT_DF, "deploy/pod.yaml": b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
            b"spec:\n  containers:\n  - name: c\n    image: busybox\n", "docs/notes.md": b"x",
            **{f"charts/demo/{k}": v for k, v in CHART.items()}}
    for rel, data in tree.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    files, errors = read_tree(tmp_path, (), (), 1 << 20)
    assert "docs/notes.md" not in files and errors == {}
    out = scan_files({k: tree[k] for k in tree if wants(k)}, MisconfOptions())
    report = scan_config(ConfigOptions(target=tmp_path, include_non_failures=True))
    assert report.results == finalize(_report(out.results), ("UNKNOWN", "LOW", "MEDIUM", "HIGH",
                                                                     "CRITICAL"), True).results


def test_image_history() -> None:
    assert scan_image_history([]) is None
    res = scan_image_history(["/bin/sh -c #(nop) ADD file:abc in / ", "/bin/sh -c apt-get update",
                              "/bin/sh -c #(nop)  USER root"])
    assert res is not None and (res.target, res.type, res.class_) == ("Dockerfile", "dockerfile", "config")
    # unfiltered like scan_files: the report stage counts PASS entries and drops them
    assert {m.status for m in res.misconfigurations} == {"PASS", "FAIL"}
    (done,) = finalize(_report((res,)), ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"), False).results
    assert done.misconfigurations and all(m.status == "FAIL" for m in done.misconfigurations)
    assert done.misconf_summary is not None and done.misconf_summary.successes > 0
