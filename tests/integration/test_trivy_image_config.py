"""--image-config-scanners measured against Trivy 0.76 (`image --input`, offline): secrets in the image's config
(env, labels, a RUN line of the history) and its history checked as a Dockerfile are reported as Trivy reports them:
under the image's name, with the same rules and lines."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.oci_builder import layer_tar, write_layout
from tests.trivy_cli_ref import trivy_bin

OFFLINE = ["--skip-db-update", "--skip-java-db-update", "--offline-scan", "--quiet", "--format", "json"]
GITHUB = "ghp_eifae6eigh3aeSah1shahd6oi1tague6vaey"  # Trivy's dummy token (its analyzer test)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("imgconf")
    return write_layout(
        root / "img", [layer_tar({"etc/hello": b"hi\n"})],
        created_by=["/bin/sh -c #(nop) ADD file:abc in / ",
                    f"/bin/sh -c echo {GITHUB[:-1]}Q > /root/.token && chmod 600 /root/.token",
                    "/bin/sh -c #(nop)  ENV GITLAB=glpat-abcdefghij0123456789"],
        config={"Env": ["PATH=/usr/bin", f"GITHUB_TOKEN={GITHUB}", "GITLAB=glpat-abcdefghij0123456789"],
                "Labels": {"org.example.maintainer": "ops <ops@example.com>",
                           "slack": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"},
                "Cmd": ["sh"], "User": "root"})


Found = set[tuple[str, str, str, int, int]]


def _found(report: dict[str, Any]) -> Found:
    out: Found = set()
    for r in report.get("Results") or []:
        for s in r.get("Secrets") or []:
            out.add((r["Target"], r["Class"], s["RuleID"], s["StartLine"], s["EndLine"]))
        for m in r.get("Misconfigurations") or []:
            if m["Status"] == "FAIL":
                out.add((r["Target"], r["Class"] + "/" + r.get("Type", ""), m["ID"], 0, 0))
    return out


def _trivy(image: Path, args: list[str], tmp: Path) -> Found:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIVY_")}
    p = subprocess.run([trivy_bin(), "image", *OFFLINE, "--cache-dir", str(tmp / "t"), *args, "--input", str(image)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    return _found(json.loads(p.stdout))


def _vigil(image: Path, args: list[str], tmp: Path) -> Found:
    p = run("image", *OFFLINE, "--cache-dir", str(tmp / "v"), *args, "--input", str(image))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "not applied" not in p.stderr
    return _found(json.loads(p.stdout))


CASES = {
    "both": ["--scanners", "secret", "--image-config-scanners", "secret,misconfig"],
    "secret": ["--scanners", "secret", "--image-config-scanners", "secret"],
    "misconfig-only": ["--scanners", "license", "--image-config-scanners", "misconfig"],
    "secret-scanner-off": ["--scanners", "license", "--image-config-scanners", "secret"],  # nothing, as in Trivy
    # Trivy 0.76 scans the config for secrets whenever the secret scanner is on, the flag or not
    "no-config-scanners": ["--scanners", "secret"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_like_trivy(image: Path, tmp_path: Path, case: str) -> None:
    args = CASES[case]
    vigil = _vigil(image, args, tmp_path)
    assert vigil == _trivy(image, args, tmp_path)
    secrets = {f[2] for f in vigil if f[1] == "secret"}
    if case != "secret-scanner-off" and "secret" in " ".join(args):
        assert {"github-pat", "gitlab-pat", "slack-access-token"} <= secrets
        assert all(f[0] == str(image) for f in vigil)  # under the image's name, as Trivy reports it
    else:
        assert not secrets


def test_findings_are_masked(image: Path, tmp_path: Path) -> None:
    p = run("image", *OFFLINE, "--cache-dir", str(tmp_path), "--scanners", "secret", "--input",
            str(image))
    findings = json.dumps([r.get("Secrets") for r in json.loads(p.stdout)["Results"]])
    # the findings (match and code lines) are masked; Metadata.ImageConfig is the config as is, as in Trivy
    assert GITHUB[8:] not in findings and "abcdefghij0123456789" not in findings and "AbCdEfGhIjKl" not in findings
