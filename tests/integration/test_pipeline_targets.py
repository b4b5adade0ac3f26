"""One pipeline for every target: misconfigurations found by `fs`, `rootfs`, `repo` and `image` through the same
stage as `vigil config`, and `vigil repo` as a new target made of one Source class."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.oci_builder import layer_tar, write_layout

DOCKERFILE = b"FROM ubuntu:latest\nUSER root\nRUN apt-get update && apt-get install -y curl\n"
POD = (b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n"
       b"    image: nginx:1.25\n    securityContext:\n      privileged: true\n")
COMPOSE = b"services:\n  app:\n    image: nginx\n    privileged: true\n"
CHART = {
    "Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "values.yaml": b"image: nginx:1.25\n",
    "templates/deploy.yaml": (b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: demo\nspec:\n"
                              b"  selector:\n    matchLabels: {app: demo}\n  template:\n    metadata:\n"
                              b"      labels: {app: demo}\n    spec:\n      containers:\n      - name: demo\n"
                              b"        image: {{ .Values.image }}\n"),
}
TREE = {"app/Dockerfile": DOCKERFILE, "deploy/pod.yaml": POD, "docker-compose.yml": COMPOSE,
        **{f"charts/demo/{k}": v for k, v in CHART.items()}}


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _json(*args: str, cwd: Path) -> dict[str, Any]:
    p = run(*args, "--format", "json", "-q", cwd=cwd)
    assert p.returncode == 0, p.stderr
    doc: dict[str, Any] = json.loads(p.stdout)
    return doc


def _config(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in report["Results"] if r["Class"] == "config"]


def test_fs_scanners_misconfig_gives_what_config_gives(tmp_path: Path, fixture_db: Path) -> None:
    root = _write(tmp_path / "src", TREE)
    cfg = _json("config", str(root), cwd=tmp_path)
    assert {r["Target"] for r in _config(cfg)} == {"app/Dockerfile", "deploy/pod.yaml", "docker-compose.yml",
                                                   "charts/demo/templates/deploy.yaml"}
    assert all(r["Misconfigurations"] for r in _config(cfg))
    fs = _json("fs", str(root), "--scanners", "vuln,misconfig,secret,license", "--db-path", str(fixture_db),
               cwd=tmp_path)
    assert _config(fs) == _config(cfg)
    rootfs = _json("rootfs", str(root), "--scanners", "misconfig", "--db-path", str(fixture_db), cwd=tmp_path)
    assert _config(rootfs) == _config(cfg)
    # without the scanner nothing of it is reported
    plain = _json("fs", str(root), "--db-path", str(fixture_db), cwd=tmp_path)
    assert _config(plain) == []


def test_image_scanners_misconfig_checks_files_in_the_layers(tmp_path: Path, fixture_db: Path) -> None:
    files = {k: v for k, v in TREE.items()}
    layout = write_layout(tmp_path / "img", [
        layer_tar(files),
        layer_tar({"deploy/.wh.pod.yaml": b""}),  # deleted in a later layer: not reported
        layer_tar({"app/Dockerfile": DOCKERFILE.replace(b"USER root\n", b"USER app\n")}),  # rewritten
    ], created_by=["ADD . /", "RUN rm deploy/pod.yaml", "COPY Dockerfile app/"])
    img = _json("image", "--input", str(layout), "--scanners", "misconfig", "--db-path", str(fixture_db),
                "--cache-backend", "memory", cwd=tmp_path)
    targets = {r["Target"] for r in _config(img)}
    assert "deploy/pod.yaml" not in targets
    assert {"app/Dockerfile", "docker-compose.yml", "charts/demo/templates/deploy.yaml"} <= targets
    # the files the image finally holds give what `vigil config` gives on them
    final = {k: v for k, v in files.items() if k != "deploy/pod.yaml"}
    final["app/Dockerfile"] = DOCKERFILE.replace(b"USER root\n", b"USER app\n")
    cfg = _json("config", str(_write(tmp_path / "final", final)), cwd=tmp_path)
    by_target = {r["Target"]: r for r in _config(img)}
    for r in _config(cfg):
        assert by_target[r["Target"]] == r
    ids = {m["ID"] for m in by_target["app/Dockerfile"]["Misconfigurations"]}
    assert "DS-0002" not in ids  # the rewritten Dockerfile no longer runs as root


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A bare repository: main holds the demo project and a Dockerfile; branch `fixed` drops the vulnerable
    lockfile; tag v1 points at the first commit."""
    work = tmp_path / "work"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "demo-project", work)
    _write(work, {"Dockerfile": DOCKERFILE})
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "-qm", "one", cwd=work)
    _git("tag", "v1", cwd=work)
    _git("checkout", "-qb", "fixed", cwd=work)
    _git("rm", "-q", "web/package-lock.json", cwd=work)
    _git("commit", "-qm", "two", cwd=work)
    _git("checkout", "-q", "main", cwd=work)  # the bare clone's default branch
    bare = tmp_path / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True, capture_output=True)
    return bare


def test_repo_is_fs_of_the_checked_out_tree(repo: Path, tmp_path: Path, fixture_db: Path) -> None:
    args = ("--scanners", "vuln,misconfig", "--db-path", str(fixture_db))
    main = _json("repo", str(repo), *args, cwd=tmp_path)
    assert main["ArtifactType"] == "repository" and main["ArtifactName"] == str(repo)
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(repo), str(checkout)], check=True, capture_output=True)
    fs = _json("fs", str(checkout), *args, cwd=tmp_path)
    assert main["Results"] == fs["Results"]
    assert "web/package-lock.json" in {r["Target"] for r in main["Results"]}
    fixed = _json("repo", str(repo), "--branch", "fixed", *args, cwd=tmp_path)
    assert "web/package-lock.json" not in {r["Target"] for r in fixed["Results"]}
    tagged = _json("repo", str(repo), "--tag", "v1", *args, cwd=tmp_path)
    assert tagged["Results"] == main["Results"]


def test_repo_user_errors_exit_2(repo: Path, tmp_path: Path, fixture_db: Path) -> None:
    p = run("repo", str(repo), "--branch", "nope", "--db-path", str(fixture_db), cwd=tmp_path)
    assert p.returncode == 2 and "nope" in p.stderr and "Traceback" not in p.stderr
    p = run("repo", str(repo), "--branch", "main", "--tag", "v1", "--db-path", str(fixture_db), cwd=tmp_path)
    assert p.returncode == 2 and "at most one" in p.stderr
    p = run("repo", str(tmp_path / "missing"), "--db-path", str(fixture_db), cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_rootfs_reads_the_os_and_its_packages_as_image_does(tmp_path: Path, fixture_db: Path) -> None:
    """A root filesystem holds an OS package DB like an image does: the same analyzers run on it (Trivy's rootfs
    reports the OS packages too)."""
    root = Path(__file__).resolve().parents[1] / "fixtures" / "os" / "ubuntu"
    rep = _json("rootfs", str(root), "--list-all-pkgs", "--db-path", str(fixture_db), cwd=tmp_path)
    assert rep["Metadata"]["OS"]["Family"] == "ubuntu"
    (os_res,) = [r for r in rep["Results"] if r["Class"] == "os-pkgs"]
    assert os_res["Type"] == "ubuntu" and os_res["Packages"]
    # fs (lockfiles only) does not read it
    assert not [r for r in _json("fs", str(root), "--db-path", str(fixture_db), cwd=tmp_path)["Results"]
                if r["Class"] == "os-pkgs"]
