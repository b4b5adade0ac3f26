"""--detection-priority measured against Trivy 0.76: the packages each mode lists (offline, --scanners license
--list-all-pkgs) on lockfiles whose versions are ranges, and on an image whose Python package a Debian package
installed. Every difference is one listed in docs/trivy-differences.md."""

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

OFFLINE = ["--skip-db-update", "--skip-java-db-update", "--offline-scan", "--scanners", "license", "--list-all-pkgs",
           "--quiet", "--format", "json"]

REQS = "flask==2.0.1\nrequests>=2.20.0\ndjango~=3.2.0\nurllib3==1.26.*\nsix<2\nnumpy>=1.20,<2\njinja2>=2.10,==3.0.0\n"
PUB = """\
packages:
  flutter: {dependency: "direct main", description: flutter, source: sdk, version: "0.0.0"}
  http: {dependency: "direct main", description: {name: http, url: "https://pub.dev"}, source: hosted,
         version: "0.13.4"}
sdks: {dart: ">=2.17.0 <3.0.0", flutter: ">=3.0.0"}
"""

Pkgs = set[tuple[str, str, str]]


def _pkgs(report: dict[str, Any]) -> Pkgs:
    return {(r["Type"], p["Name"], p.get("Version", "")) for r in report.get("Results") or []
            for p in r.get("Packages") or []}


def _trivy(cmd: str, target: Path, prio: str, cache: Path) -> Pkgs:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIVY_")}
    extra = ["--input", str(target)] if cmd == "image" else [str(target)]
    p = subprocess.run([trivy_bin(), cmd, *OFFLINE, "--detection-priority", prio, "--cache-dir", str(cache), *extra],
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    return _pkgs(json.loads(p.stdout))


def _vigil(cmd: str, target: Path, prio: str, cache: Path) -> Pkgs:
    extra = ["--input", str(target)] if cmd == "image" else [str(target)]
    p = run(cmd, *OFFLINE, "--detection-priority", prio, "--cache-dir", str(cache), *extra)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "not applied" not in p.stderr
    return _pkgs(json.loads(p.stdout))


@pytest.fixture(scope="module")
def lockfiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prio")
    for d, name, text in (("py", "requirements.txt", REQS), ("dart", "pubspec.lock", PUB),
                          ("go", "go.mod", "module example.com/m\n\ngo 1.22\n\nrequire github.com/pkg/errors v0.9.1\n"),
                          ("go-old", "go.mod", "module example.com/n\n\ngo 1.20.3\n")):
        (root / d).mkdir()
        (root / d / name).write_text(text)
    return root


# Trivy's own choices Vigil does not share in either mode (docs/trivy-differences.md): pub SDK packages at 0.0.0
# (precise), and a requirement pinned with == next to a >= clause read at the >= bound (comprehensive)
PRECISE_TRIVY_ONLY = {("pub", "flutter", "0.0.0")}
COMPREHENSIVE_TRIVY_ONLY = {("pip", "jinja2", "2.10")}
COMPREHENSIVE_VIGIL_ONLY = {("pip", "jinja2", "3.0.0")}


def test_fs_lockfiles(lockfiles: Path, tmp_path: Path) -> None:
    t_precise = _trivy("fs", lockfiles, "precise", tmp_path / "t")
    t_comp = _trivy("fs", lockfiles, "comprehensive", tmp_path / "t")
    v_precise = _vigil("fs", lockfiles, "precise", tmp_path / "v")
    v_comp = _vigil("fs", lockfiles, "comprehensive", tmp_path / "v")
    assert t_precise - v_precise == PRECISE_TRIVY_ONLY and not v_precise - t_precise
    assert t_comp - v_comp == COMPREHENSIVE_TRIVY_ONLY
    assert v_comp - t_comp == COMPREHENSIVE_VIGIL_ONLY
    # what comprehensive adds, in both tools
    added = {("pip", "requests", "2.20.0"), ("pip", "django", "3.2.0"), ("pip", "urllib3", "1.26.0"),
             ("pip", "numpy", "1.20"), ("pub", "flutter", "3.0.0"), ("gomod", "stdlib", "v1.22.0")}
    assert added <= v_comp - v_precise
    assert added <= t_comp - t_precise


def test_image_os_owned_python_package(tmp_path: Path) -> None:
    """A dist-info that python3-six installed is the OS package only (precise); comprehensive lists both, as Trivy
    (which turns its system-file filter off)."""
    meta = "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"
    files = {
        "etc/os-release": b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
        "etc/debian_version": b"12.5\n",
        "var/lib/dpkg/status": b"Package: python3-six\nStatus: install ok installed\nArchitecture: all\n"
                               b"Maintainer: Debian Python Team <team+python@tracker.debian.org>\nSource: six\n"
                               b"Version: 1.16.0-4\nDescription: Python 2 and 3 compatibility library\n",
        "var/lib/dpkg/info/python3-six.list": f"/.\n/usr\n/{meta}\n".encode(),
        "var/lib/dpkg/info/python3-six.md5sums": f"d41d8cd98f00b204e9800998ecf8427e  {meta}\n".encode(),
        meta: b"Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\nLicense: MIT\n",
    }
    img = write_layout(tmp_path / "img", [layer_tar(files)])
    six = ("python-pkg", "six", "1.16.0")
    for prio in ("precise", "comprehensive"):
        vigil = _vigil("image", img, prio, tmp_path / "v")  # one cache for both: the mode is part of no blob key
        assert vigil == _trivy("image", img, prio, tmp_path / "t"), prio
        assert (six in vigil) == (prio == "comprehensive")


def test_env_and_config(lockfiles: Path, tmp_path: Path) -> None:
    p = run("fs", *OFFLINE, "--cache-dir", str(tmp_path), str(lockfiles / "py"),
            env={"TRIVY_DETECTION_PRIORITY": "comprehensive"})
    assert ("pip", "requests", "2.20.0") in _pkgs(json.loads(p.stdout))
    (tmp_path / "trivy.yaml").write_text("scan:\n  detection-priority: comprehensive\n")
    p = run("fs", *OFFLINE, "--cache-dir", str(tmp_path), str(lockfiles / "py"), cwd=tmp_path)
    assert ("pip", "requests", "2.20.0") in _pkgs(json.loads(p.stdout))
    bad = run("fs", "--detection-priority", "wide", str(lockfiles / "py"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
