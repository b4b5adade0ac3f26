"""The JSON a Trivy script reads: the key paths (not the values) of `trivy … --format json` and `vigil … --format
json` on the shared corpus and images, for fs, config, image --input and sbom. Every key Trivy writes that Vigil
does not, and every key Vigil adds, is listed here and in docs/trivy-differences.md with its reason; anything else
fails (a key Trivy adds in a new release, or one Vigil drops)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.conftest import CORPUS, ROOT, SHARED
from tests.image_helpers import extract_layout
from tests.trivy_cli_ref import run_trivy_json, trivy_bin, trivy_env

IMAGES = SHARED / "data" / "images"
DOC = ROOT / "docs" / "trivy-differences.md"

# Keys Trivy writes that Vigil does not (each is in docs/trivy-differences.md with the reason).
TRIVY_ONLY = {
    "Trivy", "Trivy.Version",
    "Results[].Packages[].AnalyzedBy",
    # package data the inventory does not read yet (the inventory section of docs/trivy-differences.md)
    "Results[].Packages[].Repository", "Results[].Packages[].Repository.Class",
    "Results[].Packages[].BuildInfo", "Results[].Packages[].BuildInfo.ContentSets", "Results[].Packages[].Digest",
    "Results[].Packages[].DependsOn", "Results[].Packages[].Identifier.BOMRef",
    # licence findings are not made from an SBOM given to `vigil sbom` (its packages carry their licences); an
    # empty license Link is left out
    "Results[].Licenses",
    *(f"Results[].Licenses[].{k}" for k in ("Category", "Confidence", "FilePath", "Link", "Name", "PkgName",
                                            "Severity", "Text")),
}
# Keys Vigil adds (prefixes): Trivy's readers ignore them.
VIGIL_ONLY = (
    "VigilVersion", "Metadata", "Results[].Error", "Results[].Packages[].Ecosystem",
    "Results[].Packages[].FilePath", "Results[].Packages[].PURL", "Results[].Packages[].Locations",
    "Results[].Packages[].Layer.CreatedBy", "Results[].Packages[].Layer.Digest", "Results[].Packages[].Indirect",
    "Results[].Misconfigurations[].AVDID", "Results[].Misconfigurations[].Aliases",
    "Results[].Misconfigurations[].CauseMetadata.Resource",
    # an image's config is checked with --scanners misconfig (Trivy: only with --image-config-scanners)
    "Results[].Misconfigurations", "Results[].MisconfSummary",
)


def key_paths(doc: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            p = f"{prefix}.{k}" if prefix else k
            out.add(p)
            out |= key_paths(v, p)
    elif isinstance(doc, list):
        for v in doc:
            out |= key_paths(v, prefix + "[]")
    return out


def _vigil_json(args: list[str], tmp_path: Path) -> dict[str, Any]:
    p = run(*args, "--format", "json", "--quiet", "--cache-dir", str(tmp_path / "vigil-cache"), timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    doc: dict[str, Any] = json.loads(p.stdout)
    return doc


def _compare(trivy: dict[str, Any], vigil: dict[str, Any]) -> None:
    assert vigil["SchemaVersion"] == trivy["SchemaVersion"] == 2
    t, v = key_paths(trivy), key_paths(vigil)
    missing = sorted(t - v - TRIVY_ONLY)
    assert not missing, f"keys Trivy writes and Vigil does not: {missing}"
    extra = sorted(p for p in v - t if not p.startswith(VIGIL_ONLY))
    assert not extra, f"keys Vigil writes and Trivy does not: {extra}"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


LIST_ALL = ["--scanners", "secret,misconfig,license", "--list-all-pkgs"]  # no DB offline: no vuln for Trivy


def test_fs_json_shape(tmp_path: Path) -> None:
    target = str(_need(CORPUS / "lockfiles"))
    _compare(run_trivy_json(["fs", *LIST_ALL, target], tmp_path / "trivy"), _vigil_json(["fs", *LIST_ALL, target],
                                                                                        tmp_path))


def test_config_json_shape(tmp_path: Path) -> None:
    target = str(_need(CORPUS))
    vigil = _vigil_json(["config", target], tmp_path)
    _compare(run_trivy_json(["config", target], tmp_path / "trivy"), vigil)
    # an unparsable file's result still carries the summary Trivy's readers expect
    errors = [r for r in vigil["Results"] if r.get("Error")]
    assert errors and all(r["MisconfSummary"] == {"Successes": 0, "Failures": 0} for r in errors)
    ds = [m for r in vigil["Results"] for m in r.get("Misconfigurations", ()) if m["ID"] == "DS-0002"]
    assert ds and ds[0]["PrimaryURL"] == "https://avd.aquasec.com/misconfig/ds-0002"


@pytest.mark.parametrize("image", ["alpine-like.docker.tar", "rhel9-like.docker.tar", "debian-vuln.oci.tar"])
def test_image_input_json_shape(image: str, tmp_path: Path) -> None:
    archive = _need(IMAGES / image)
    target = archive
    if image.endswith(".oci.tar"):  # Trivy reads an OCI layout as a directory only
        target = extract_layout(archive, tmp_path / "layout")
    trivy = run_trivy_json(["image", *LIST_ALL, "--input", str(target)], tmp_path / "trivy")
    vigil = _vigil_json(["image", *LIST_ALL, "--input", str(target)], tmp_path)
    _compare(trivy, vigil)
    assert vigil["ArtifactID"] == vigil["Metadata"]["ImageID"]


def test_sbom_json_shape(tmp_path: Path) -> None:
    """An SBOM Trivy wrote for the corpus's lockfiles, scanned by both."""
    lockfiles = _need(CORPUS / "lockfiles")
    sbom = tmp_path / "corpus.cdx.json"
    p = subprocess.run([trivy_bin(), "fs", "--format", "cyclonedx", "--skip-db-update", "--offline-scan", "--quiet",
                        "--cache-dir", str(tmp_path / "trivy"), "--output", str(sbom), str(lockfiles)],
                       capture_output=True, text=True, timeout=600, env=trivy_env())
    assert p.returncode == 0, p.stderr[-2000:]
    args = ["sbom", "--scanners", "license", "--list-all-pkgs", str(sbom)]
    _compare(run_trivy_json(args, tmp_path / "trivy"), _vigil_json(args, tmp_path))


def _documented(keys: Iterable[str]) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    listed = set(re.findall(r"`([^`]+)`", text))
    return sorted(k for k in keys if k not in listed)


def test_every_listed_difference_is_documented() -> None:
    assert not _documented(TRIVY_ONLY), "add these keys to docs/trivy-differences.md"
    assert not _documented(VIGIL_ONLY), "add these keys to docs/trivy-differences.md"


def test_cosign_vuln_predicate_shape(tmp_path: Path) -> None:
    image = str(_need(IMAGES / "alpine-like.docker.tar"))
    p = subprocess.run([trivy_bin(), "image", "--format", "cosign-vuln", "--skip-db-update", "--offline-scan",
                        "--quiet", "--scanners", "license", "--cache-dir", str(tmp_path / "trivy"), "--input", image],
                       capture_output=True, text=True, timeout=600, env=trivy_env())
    assert p.returncode == 0, p.stderr[-2000:]
    trivy = json.loads(p.stdout)
    v = run("image", "--format", "cosign-vuln", "--quiet", "--scanners", "license", "--cache-dir",
            str(tmp_path / "vigil"), "--input", image)
    assert v.returncode == 0, v.stderr
    vigil = json.loads(v.stdout)
    outer = {k for k in key_paths(trivy) if not k.startswith("scanner.result.")}
    assert outer == {k for k in key_paths(vigil) if not k.startswith("scanner.result.")}
    _compare(trivy["scanner"]["result"], vigil["scanner"]["result"])
