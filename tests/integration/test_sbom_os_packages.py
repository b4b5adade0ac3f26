"""`vigil sbom` on an image's SBOM gives the OS packages and vulnerabilities `vigil image` gives on the image itself:
SBOMs written by Vigil and by the real Trivy 0.76, in CycloneDX JSON, SPDX JSON and SPDX tag-value."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.conftest import SHARED
from tests.trivy_cli_ref import trivy_bin

IMAGES = SHARED / "data" / "images"
FORMATS = ("cyclonedx", "spdx-json", "spdx")


def _os_part(report: dict[str, Any]) -> tuple[Any, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    (res,) = [r for r in report["Results"] if r["Class"] == "os-pkgs"]
    pkgs = sorted((p["Name"], p.get("Version"), p.get("Release"), p.get("Epoch"), p.get("Arch"), p.get("SrcName"),
                   p.get("SrcVersion"), p.get("SrcRelease"), p.get("SrcEpoch")) for p in res["Packages"])
    vulns = sorted((v["VulnerabilityID"], v["PkgName"], v["InstalledVersion"], v.get("FixedVersion", ""))
                   for v in res.get("Vulnerabilities", []))
    return report["Metadata"]["OS"], pkgs, vulns


@pytest.fixture(scope="module", params=["rhel9-like.docker.tar", "alpine-like.docker.tar"])
def image(request: pytest.FixtureRequest, full_db: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[Path, tuple[Any, ...], Path]:
    img = IMAGES / request.param
    if not img.is_file():
        pytest.skip("../shared/data/images not present")
    p = run("image", "--input", str(img), "--db-path", str(full_db), "--cache-dir",
            str(tmp_path_factory.mktemp("cache")), "--format", "json", "--list-all-pkgs")
    assert p.returncode == 0, p.stderr
    truth = _os_part(json.loads(p.stdout))
    assert truth[1] and truth[2]  # both images have OS packages with known vulnerabilities
    return img, truth, tmp_path_factory.mktemp("sboms")


def _scan_sbom(sbom: Path, db: Path) -> tuple[Any, ...]:
    p = run("sbom", str(sbom), "--db-path", str(db), "--format", "json", "--list-all-pkgs")
    assert p.returncode == 0, p.stderr
    return _os_part(json.loads(p.stdout))


@pytest.mark.parametrize("fmt", FORMATS)
def test_vigils_own_sbom_scans_like_the_image(image: tuple[Path, tuple[Any, ...], Path], full_db: Path,
                                              fmt: str) -> None:
    img, truth, out = image
    sbom = out / f"vigil.{fmt}"
    p = run("image", "--input", str(img), "--db-path", str(full_db), "--cache-dir", str(out / "cache"),
            "--format", fmt, "-o", str(sbom))
    assert p.returncode == 0, p.stderr
    assert _scan_sbom(sbom, full_db) == truth


@pytest.mark.parametrize("fmt", FORMATS)
def test_trivys_sbom_scans_like_the_image(image: tuple[Path, tuple[Any, ...], Path], full_db: Path,
                                          fmt: str) -> None:
    img, truth, out = image
    sbom = out / f"trivy.{fmt}"
    subprocess.run([trivy_bin(), "image", "--input", str(img), "--format", fmt, "--scanners", "",
                    "--skip-check-update", "--skip-db-update", "--offline-scan", "--cache-dir", str(out / "tc"),
                    "-q", "-o", str(sbom)], check=True, capture_output=True)
    assert _scan_sbom(sbom, full_db) == truth
