"""--misconfig-scanners and --file-patterns for config types, measured against Trivy 0.76 (`config`): the listed
types are the only ones read (a broken file of another type costs nothing and says nothing), and a pattern makes a
file of any name a Dockerfile, a Kubernetes manifest or a compose file."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.trivy_cli_ref import trivy_bin

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: nginx\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("select")
    (root / "Dockerfile").write_text("FROM alpine:3.19\nUSER app\nHEALTHCHECK CMD true\n")
    (root / "build.docker").write_text("FROM alpine:3.19\nRUN apk add curl\n")
    (root / "k").mkdir()
    (root / "k" / "pod.yaml").write_text(POD)
    (root / "k" / "pod.k8s").write_text(POD)
    return root


Seen = set[tuple[str, str, int]]


def _seen(report: dict[str, Any]) -> Seen:
    return {(r["Target"], r.get("Type", ""), sum(m["Status"] == "FAIL" for m in r.get("Misconfigurations") or []))
            for r in report.get("Results") or []}


def _trivy(args: list[str], cwd: Path) -> Seen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIVY_")}
    p = subprocess.run([trivy_bin(), "config", "--skip-check-update", "--quiet", "--format", "json",
                        "--cache-dir", str(cwd / ".tcache"), *args, "."], capture_output=True, text=True, timeout=300,
                       env=env, cwd=cwd)
    assert p.returncode == 0, p.stderr[-2000:]
    return _seen(json.loads(p.stdout))


def _vigil(args: list[str], cwd: Path) -> Seen:
    p = run("config", "--quiet", "--format", "json", *args, ".", cwd=cwd)
    assert p.returncode == 0, p.stderr[-2000:]
    return _seen(json.loads(p.stdout))


CASES = {
    "default": [],
    "dockerfile-pattern": ["--file-patterns", r"dockerfile:.*\.docker"],
    "kubernetes-pattern": ["--file-patterns", r"kubernetes:.*\.k8s$"],
    "only-dockerfile": ["--misconfig-scanners", "dockerfile"],
    "only-kubernetes-with-pattern": ["--misconfig-scanners", "kubernetes", "--file-patterns", r"dockerfile:.*\.docker"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_like_trivy(project: Path, case: str) -> None:
    assert _vigil(CASES[case], project) == _trivy(CASES[case], project)


def test_patterns_find_files_by_any_name(project: Path) -> None:
    targets = {t for t, _, _ in _vigil(["--file-patterns", r"dockerfile:.*\.docker,kubernetes:\.k8s$"], project)}
    assert {"build.docker", "k/pod.k8s"} <= targets
    assert not {"build.docker", "k/pod.k8s"} & {t for t, _, _ in _vigil([], project)}


def test_compose_pattern(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text("services:\n  web:\n    image: nginx\n    privileged: true\n")
    assert not _vigil([], tmp_path)
    assert ("stack.yml", "compose") in {(t, k) for t, k, _ in _vigil(["--file-patterns", "compose:stack"], tmp_path)}


def test_types_left_out_are_not_read(tmp_path: Path) -> None:
    """A chart that cannot render and a broken manifest: with --misconfig-scanners dockerfile neither is parsed,
    so neither is reported nor warned about (before, they were parsed and their results filtered out)."""
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.19\n")
    (tmp_path / "k.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n")
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "templates" / "x.yaml").write_text("{{ fail \"render error\" }}\n")
    every = run("config", "--format", "json", ".", cwd=tmp_path)
    assert "chart not scanned" in every.stderr and "k.yaml" in every.stderr
    only = run("config", "--format", "json", "--misconfig-scanners", "dockerfile", ".", cwd=tmp_path)
    assert only.returncode == 0, only.stderr
    assert "chart" not in only.stderr and "k.yaml" not in only.stderr, only.stderr
    assert {r["Target"] for r in json.loads(only.stdout)["Results"]} == {"Dockerfile"}
