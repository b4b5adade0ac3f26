"""Run every scan command on the demo project, the shared corpus and the test images and write each JSON report
(with the creation time blanked) to a directory: run it before and after a change to the pipeline and diff the two
directories to see exactly which outputs changed.

    python tools/snapshot_outputs.py OUT_DIR [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cases(shared: Path) -> list[tuple[str, list[str]]]:
    corpus = shared / "data" / "corpus"
    images = shared / "data" / "images"
    demo = ROOT / "examples" / "demo-project"
    out: list[tuple[str, list[str]]] = [
        ("fs-demo", ["fs", str(demo), "--list-all-pkgs"]),
        ("fs-demo-all", ["fs", str(demo), "--scanners", "vuln,secret,license", "--dependency-tree"]),
        ("fs-lockfiles", ["fs", str(corpus / "lockfiles"), "--list-all-pkgs"]),
        ("fs-lockfiles-secret", ["fs", str(corpus / "lockfiles"), "--scanners", "vuln,secret,license"]),
        ("fs-fixtures-secret", ["fs", str(ROOT / "tests" / "fixtures"), "--scanners", "secret"]),
        ("rootfs-os", ["rootfs", str(corpus / "os-packages"), "--list-all-pkgs", "--scanners", "vuln,secret"]),
        ("rootfs-installed", ["rootfs", str(ROOT / "tests" / "fixtures" / "installed"), "--list-all-pkgs"]),
        ("config-dockerfiles", ["config", str(corpus / "dockerfiles")]),
        ("config-kubernetes", ["config", str(corpus / "kubernetes")]),
        ("config-helm", ["config", str(corpus / "helm")]),
        ("config-helm-pass", ["config", str(corpus / "helm"), "--include-non-failures"]),
        ("config-fixtures", ["config", str(ROOT / "tests" / "fixtures" / "misconf")]),
    ]
    for img in ("debian-vuln.oci.tar", "alpine-like.docker.tar", "rhel9-like.docker.tar"):
        if (images / img).exists():
            out.append((f"image-{img}", ["image", "--input", str(images / img), "--list-all-pkgs",
                                         "--scanners", "vuln,secret,misconfig,license"]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    vigil = str(Path(sys.executable).parent / "vigil")
    with tempfile.TemporaryDirectory() as cache:
        sbom = Path(cache) / "demo.cdx.json"
        subprocess.run([vigil, "fs", str(ROOT / "examples" / "demo-project"), "--format", "cyclonedx", "-o",
                        str(sbom), "-q"], check=True)
        todo = [*cases(args.shared), ("sbom-demo", ["sbom", str(sbom)])]
        for name, argv in todo:
            cmd = [vigil, *argv, "--format", "json", "-q"]
            if argv[0] != "config":
                cmd += ["--skip-db-update"]
            if argv[0] == "image":
                cmd += ["--cache-backend", "memory"]
            p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
            body = p.stdout
            try:
                doc = json.loads(body)
                doc.pop("CreatedAt", None)
                body = json.dumps(doc, indent=1, sort_keys=False)
            except ValueError:
                pass
            (args.out / f"{name}.json").write_text(f"exit {p.returncode}\n{p.stderr[-2000:]}\n{body}\n")
            print(f"{name}: exit {p.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
