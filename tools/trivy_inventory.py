"""Inventory parity with Trivy: collect Trivy's own test fixtures, record what Trivy lists for them, compare Vigil.

    python tools/trivy_inventory.py collect MIRROR   # copy fixtures from a Trivy checkout (git dir or work tree)
    python tools/trivy_inventory.py expect           # run the `trivy` binary, write tests/data/trivy/expected-*.json
    python tools/trivy_inventory.py compare [--include-dev-deps]   # Vigil vs the recorded lists, per file

Two inputs:
- `corpus`: ../shared/data/corpus/lockfiles/aquasecurity__trivy (Trivy's lockfile fixtures, already under their
  canonical names), scanned with `fs`;
- `fixtures`: tests/data/trivy/fixtures — Trivy's fixtures of the formats the corpus lacks (.deps.json, conda
  meta/environment, Python METADATA/PKG-INFO/.egg-info, Julia, Swift, small jars), laid out as installed files so
  `rootfs` finds them. Copied from github.com/aquasecurity/trivy (Apache-2.0, see tests/data/trivy/NOTICE).
Trivy runs offline (`--scanners license --list-all-pkgs`: package listing without a vulnerability DB; jars are
skipped by Trivy here because its jar analyzer wants the Java DB). The recorded lists are {target: [name@version]}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "trivy"
FIXTURES = DATA / "fixtures"
CORPUS = ROOT.parent / "shared" / "data" / "corpus" / "lockfiles" / "aquasecurity__trivy"
TRIVY_OFFLINE = ["--skip-db-update", "--skip-java-db-update", "--offline-scan", "--skip-check-update",
                 "--scanners", "license", "--list-all-pkgs", "--format", "json", "--quiet"]

# (path in the Trivy repository, path under tests/data/trivy/fixtures): formats the corpus lacks.
_DEPS = "pkg/dependency/parser/dotnet/core_deps/testdata"
_PY = "pkg/dependency/parser/python/packaging/testdata"
_PYA = "pkg/fanal/analyzer/language/python/packaging/testdata"
_JUL = "pkg/fanal/analyzer/language/julia/pkg/testdata"
_CONDA = "pkg/dependency/parser/conda"
_SWIFT = "pkg/dependency/parser/swift/swift/testdata"
_JAR = "pkg/dependency/parser/java/jar/testdata"
COPIES: tuple[tuple[str, str], ...] = (
    *((f"{_DEPS}/{n}.deps.json", f"lock/dotnet/{n}/{n}.deps.json") for n in (
        "happy", "ambiguous-root", "missing-target", "multi-project", "no-libraries", "self-contained",
        "without-runtime")),
    ("pkg/fanal/analyzer/language/dotnet/deps/testdata/datacollector.deps.json",
     "lock/dotnet/datacollector/datacollector.deps.json"),
    (f"{_CONDA}/meta/testdata/_libgcc_mutex-0.1-main.json", "installed/opt/conda/conda-meta/_libgcc_mutex-0.1-main.json"),
    (f"{_CONDA}/meta/testdata/libgomp-11.2.0-h1234567_1.json", "installed/opt/conda/conda-meta/libgomp-11.2.0-h1234567_1.json"),
    ("pkg/fanal/analyzer/language/conda/meta/testdata/pip-22.2.2-py38h06a4308_0.json",
     "installed/opt/conda/conda-meta/pip-22.2.2-py38h06a4308_0.json"),
    (f"{_CONDA}/environment/testdata/happy.yaml", "lock/conda/happy/environment.yaml"),
    (f"{_CONDA}/environment/testdata/operator-only-dep.yaml", "lock/conda/operator-only/environment.yaml"),
    ("pkg/fanal/analyzer/language/conda/environment/testdata/environment.yaml",
     "lock/conda/analyzer/environment.yaml"),
    ("pkg/fanal/analyzer/language/conda/environment/testdata/environment-with-licenses.yaml",
     "lock/conda/with-licenses/environment.yaml"),
    (f"{_PY}/distlib-0.3.1-py3.9.egg-info", "installed/usr/lib/python3.9/site-packages/distlib-0.3.1-py3.9.egg-info"),
    (f"{_PY}/setuptools-51.3.3-py3.8.egg-info.PKG-INFO",
     "installed/usr/lib/python3.8/site-packages/setuptools-51.3.3-py3.8.egg-info/PKG-INFO"),
    (f"{_PY}/unidecode-egg-info.PKG-INFO", "installed/usr/lib/python3.8/site-packages/Unidecode-0.4.1.egg-info/PKG-INFO"),
    *((f"{_PY}/{n}.METADATA", f"installed/usr/lib/python3.11/site-packages/{n}.dist-info/METADATA") for n in (
        "asyncssh-2.14.2", "distlib-0.3.1", "iniconfig-2.0.0", "networkx-3.0", "pyphen-0.14.0", "simple-0.1.0",
        "zipp-3.12.1")),
    (f"{_PYA}/classifier-license-dist/setuptools-51.3.3.dist-info/METADATA",
     "installed/usr/lib/python3.10/site-packages/setuptools-51.3.3.dist-info/METADATA"),
    *((f"{_JUL}/{c}/{f}", f"lock/julia/{c}/{f}") for c in ("dep_ext_v1.9", "happy", "no_deps_v1.6",
                                                            "shadowed_dep_v1.9") for f in ("Manifest.toml",
                                                                                           "Project.toml")),
    *((f"pkg/dependency/parser/julia/manifest/testdata/{c}/Manifest.toml", f"lock/julia-parser/{c}/Manifest.toml")
      for c in ("julia_v1.0_format", "missed-child-dep", "multiple-same-deps", "no_deps_v1.9")),
    ("pkg/dependency/parser/julia/manifest/testdata/julia_v1.0_format/Project.toml",
     "lock/julia-parser/julia_v1.0_format/Project.toml"),
    *((f"{_SWIFT}/{n}-Package.resolved", f"lock/swift/{n}/Package.resolved") for n in ("happy-v1", "happy-v2")),
    ("pkg/fanal/analyzer/language/swift/swift/testdata/happy/Package.resolved", "lock/swift/analyzer/Package.resolved"),
    *((f"{_JAR}/{n}", f"installed/opt/java/{n}") for n in (
        "test.jar", "nested.jar", "heuristic-1.0.0-SNAPSHOT.jar", "hadoop-shaded-guava-1.1.0-SNAPSHOT.jar",
        "multi-license-1.0.0.jar", "license-from-jenkins-plugin.jar")),
)


def _read_blob(mirror: Path, rel: str) -> bytes:
    if (mirror / rel).is_file():
        return (mirror / rel).read_bytes()
    return subprocess.run(["git", "--git-dir", str(mirror), "show", f"HEAD:{rel}"], check=True,
                          capture_output=True).stdout


def collect(mirror: Path) -> None:
    if FIXTURES.exists():
        shutil.rmtree(FIXTURES)
    for src, dst in COPIES:
        out = FIXTURES / dst
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(_read_blob(mirror, src))
    print(f"copied {len(COPIES)} files into {FIXTURES}")


def packages(report: dict[str, object], flatten: bool = False) -> dict[str, list[str]]:
    """{target: sorted unique "name@version"} of the report's language packages; with `flatten`, one target per
    package type ("python-pkg", "jar", ...) instead of one per file."""
    out: dict[str, set[str]] = {}
    for r in report.get("Results") or []:  # type: ignore[attr-defined]
        if r.get("Class") != "lang-pkgs":
            continue
        got = out.setdefault(f"({r.get('Type', '')})" if flatten else r["Target"], set())
        for p in r.get("Packages") or []:
            got.add(f"{p['Name']}@{p.get('Version', '')}")
    return {t: sorted(v) for t, v in sorted(out.items())}


def _trivy(kind: str, target: Path, dev: bool) -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as cache:
        cmd = [os.environ.get("TRIVY", "trivy"), kind, *TRIVY_OFFLINE, "--cache-dir", cache,
               *(["--include-dev-deps"] if dev else []), str(target)]
        p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return packages(json.loads(p.stdout), flatten=kind == "rootfs")


# name: (command, target, whether --include-dev-deps applies). Installed packages are compared per package type:
# Trivy's rootfs results aggregate them per language ("Python"), Vigil's name each file.
INPUTS = {"corpus": ("fs", CORPUS, True), "lockfiles": ("fs", FIXTURES / "lock", True),
          "installed": ("rootfs", FIXTURES / "installed", False)}


def expect() -> None:
    for name, (kind, target, has_dev) in INPUTS.items():
        for dev in (False, True) if has_dev else (False,):
            doc = {"_source": f"trivy {kind} {' '.join(TRIVY_OFFLINE)}{' --include-dev-deps' if dev else ''} "
                              f"<{name}>: output of Trivy 0.76.0 (Apache-2.0) on Trivy's own fixtures",
                   "targets": _trivy(kind, target, dev)}
            out = DATA / f"expected-{name}{'-dev' if dev else ''}.json"
            out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
            print(f"{out.relative_to(ROOT)}: {len(doc['targets'])} targets")


def vigil_lists(kind: str, target: Path, dev: bool) -> dict[str, list[str]]:
    """What `vigil fs|rootfs --list-all-pkgs --format json` lists, run in this interpreter's environment."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with tempfile.TemporaryDirectory() as cache:
        cmd = [sys.executable, "-m", "vigil.shells.cli.main", kind, "--scanners", "license", "--list-all-pkgs",
               "--format", "json", "--cache-dir", cache, "--offline-scan", "--skip-db-update",
               *(["--include-dev-deps"] if dev else []), str(target)]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return packages(json.loads(p.stdout), flatten=kind == "rootfs")


def compare(expected: dict[str, list[str]], got: dict[str, list[str]]) -> dict[str, tuple[list[str], list[str]]]:
    """{target: (only Trivy lists, only Vigil lists)} for every target whose lists differ."""
    out = {}
    for t in sorted(set(expected) | set(got)):
        a, b = set(expected.get(t, [])), set(got.get(t, []))
        if a != b:
            out[t] = (sorted(a - b), sorted(b - a))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("mirror", type=Path)
    sub.add_parser("expect")
    cmp = sub.add_parser("compare")
    cmp.add_argument("--include-dev-deps", action="store_true")
    cmp.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.cmd == "collect":
        collect(args.mirror)
    elif args.cmd == "expect":
        expect()
    else:
        dev = args.include_dev_deps
        for name, (kind, target, has_dev) in INPUTS.items():
            suffix = "-dev" if dev and has_dev else ""
            exp = json.loads((DATA / f"expected-{name}{suffix}.json").read_text())["targets"]
            got = vigil_lists(kind, target, dev and has_dev)
            diff = compare(exp, got)
            union = set(exp) | set(got)
            print(f"{name}: {len(union) - len(diff)} of {len(union)} files list the same packages "
                  f"(Trivy lists {len(exp)} files, Vigil {len(got)})")
            if args.verbose:
                for t, (only_t, only_v) in diff.items():
                    print(f"  {t}\n    only Trivy: {only_t[:8]}\n    only Vigil: {only_v[:8]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
