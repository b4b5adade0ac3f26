"""`vigil image` end to end on the real images of ../shared/data/images, checked against their ground truth
(expected.json: read from the merged root filesystem and cross-checked with syft)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.image_helpers import scan_image

from vigil.pipeline.analyze import ScanStats
from vigil.settings import ScanOptions
from vigil.sources.image.source import ImageSourceOptions

IMAGES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "images"
DEBIAN = IMAGES / "debian-vuln.oci.tar"
ALPINE = IMAGES / "alpine-like.docker.tar"
RHEL = IMAGES / "rhel9-like.docker.tar"


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    if not (IMAGES / "expected.json").is_file():
        pytest.skip("../shared/data/images not present")
    data: dict[str, Any] = json.loads((IMAGES / "expected.json").read_text())
    return data


def _scan(db: Path, image: Path, cache: Path, *extra: str) -> tuple[dict[str, Any], str]:
    p = run("image", "--input", str(image), "--db-path", str(db), "--cache-dir", str(cache), "--format", "json",
            "--list-all-pkgs", *extra)
    assert p.returncode == 0, p.stderr
    out: dict[str, Any] = json.loads(p.stdout)
    return out, p.stderr


@pytest.fixture(scope="module")
def debian_report(full_db: Path, expected: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
                  ) -> dict[str, Any]:
    report, _ = _scan(full_db, DEBIAN, tmp_path_factory.mktemp("cache"), "--scanners", "vuln")
    return report


def _pkgs(report: dict[str, Any], cls: str, typ: str | None = None) -> list[dict[str, Any]]:
    return [p for r in report["Results"] if r["Class"] == cls and (typ is None or r["Type"] == typ)
            for p in r.get("Packages", [])]


def test_debian_os_and_every_dpkg_package(debian_report: dict[str, Any], expected: dict[str, Any]) -> None:
    os_info = debian_report["Metadata"]["OS"]
    assert (os_info["Family"], os_info["Name"]) == ("debian", expected["os"]["debian_version"])
    # the JSON splits dpkg versions as Trivy's does: Epoch, Version, Release (and Src*)
    got = {(p["Name"], _evr(p), p["Arch"], p.get("SrcName", ""), _evr(p, "Src"))
           for p in _pkgs(debian_report, "os-pkgs")}
    want = {(p["name"], p["version"], p["arch"], p["source"], p["source_version"]) for p in expected["dpkg"]}
    assert got == want
    assert len(got) == 112
    bash = next(p for p in _pkgs(debian_report, "os-pkgs") if p["Name"] == "bash")
    assert (bash["Version"], bash["Release"], bash["SrcVersion"], bash["SrcRelease"]) == (
        "5.2.15", "2+b13", "5.2.15", "2")
    assert "Epoch" not in bash and bash["ID"] == "bash@5.2.15-2+b13"
    # licenses from usr/share/doc/*/copyright: 104 of the 112 packages, as Trivy 0.76 finds them
    with_licenses = {p["Name"]: p["Licenses"] for p in _pkgs(debian_report, "os-pkgs") if p.get("Licenses")}
    assert len(with_licenses) == 104
    assert with_licenses["zlib1g"] == ["Zlib"] and "Apache-2.0" in with_licenses["libssl3"]


def test_rpm_versions_split_and_whole_where_compared(full_db: Path, tmp_path: Path) -> None:
    """rpm packages show Version/Release/Epoch apart (as Trivy); a vulnerability's InstalledVersion is the whole
    version that was compared, as Trivy's is."""
    report, _ = _scan(full_db, RHEL, tmp_path, "--scanners", "vuln")
    pkgs = {p["ID"]: p for p in _pkgs(report, "os-pkgs")}
    ossl = next(p for p in pkgs.values() if p["Name"] == "openssl-libs")
    assert (ossl["Version"], ossl["Release"], ossl["Epoch"]) == ("3.0.1", "41.el9_0", 1)
    os_vulns = [v for r in report["Results"] if r["Class"] == "os-pkgs" for v in r.get("Vulnerabilities", [])]
    assert os_vulns and all(v["InstalledVersion"] == _evr(pkgs[v["PkgID"]]) for v in os_vulns)
    assert any("-" in v["InstalledVersion"] for v in os_vulns)


def test_os_package_licenses_are_a_license_result(full_db: Path, tmp_path: Path) -> None:
    """`--scanners license` on an image covers the OS packages too, in one result named as Trivy names it; apk's
    free-text license field is split into SPDX names."""
    report, _ = _scan(full_db, ALPINE, tmp_path, "--scanners", "license")
    (os_lic,) = [r for r in report["Results"] if r["Target"] == "OS Packages"]
    assert os_lic["Class"] == "license"
    found = {(f["PkgName"], f["Name"]) for f in os_lic["Licenses"]}
    assert {("musl-utils", "MIT"), ("musl-utils", "BSD-3-Clause"), ("musl-utils", "GPL-2.0-or-later"),
            ("busybox", "GPL-2.0-only")} <= found
    assert {f["Category"] for f in os_lic["Licenses"] if f["Name"] == "GPL-2.0-or-later"} == {"restricted"}


def _evr(p: dict[str, Any], prefix: str = "") -> str:
    vr = p.get(prefix + "Version", "")
    if p.get(prefix + "Release"):
        vr += "-" + p[prefix + "Release"]
    return f"{p[prefix + 'Epoch']}:{vr}" if p.get(prefix + "Epoch") else vr


def test_debian_language_packages_match_ground_truth(debian_report: dict[str, Any], expected: dict[str, Any]
                                                     ) -> None:
    py = {(p["Name"].lower(), p["Version"]) for p in _pkgs(debian_report, "lang-pkgs", "python-pkg")}
    assert py == {(p["name"].lower(), p["version"]) for p in expected["python"]}
    assert ("pyyaml", "5.3") not in py  # deleted by a whiteout in layer 4
    npm_installed = {(p["Name"], p["Version"]) for p in _pkgs(debian_report, "lang-pkgs", "node-pkg")}
    assert npm_installed == {(p["name"], p["version"]) for p in expected["npm_installed"]}
    npm_lock = {(p["Name"], p["Version"]) for r in debian_report["Results"]
                if r["Target"] == "app/node/package-lock.json" for p in r.get("Packages", [])}
    assert npm_lock == {(p["name"], p["version"]) for p in expected["npm_lock"]}
    jars = {(p["Name"], p["Version"]) for p in _pkgs(debian_report, "lang-pkgs", "jar")}
    assert jars == {(f"{p['groupId']}:{p['artifactId']}", p["version"]) for p in expected["java"]}
    assert not any("log4j-1.2-api" in name for name, _ in jars)  # hidden by an opaque dir in layer 5
    go = {(p["Name"], p["Version"]) for p in _pkgs(debian_report, "lang-pkgs", "gobinary")}
    want_go = {(d["path"], d["version"]) for g in expected["go"] for d in g["deps"]}
    assert want_go <= go
    assert ("stdlib", "v1.19.8") in go or ("stdlib", "1.19.8") in go


def test_debian_known_vulnerabilities_and_layer_attribution(debian_report: dict[str, Any]) -> None:
    vulns = {(v["PkgName"].lower(), v["VulnerabilityID"]): v
             for r in debian_report["Results"] for v in r.get("Vulnerabilities", [])}
    for key in [("requests", "CVE-2023-32681"), ("django", "CVE-2023-24580"), ("golang.org/x/net", "CVE-2023-44487")]:
        assert key in vulns, key
    dj = vulns[("django", "CVE-2023-24580")]
    layers = debian_report["Metadata"]["Layers"]
    assert dj["Layer"]["DiffID"] == layers[2]["DiffID"]  # installed by the PyPI/npm/Java/Go layer
    assert dj["Layer"]["Digest"] == layers[2]["Digest"]
    assert not any(name == "pyyaml" for name, _ in vulns)


def test_debian_image_metadata(debian_report: dict[str, Any]) -> None:
    md = debian_report["Metadata"]
    assert debian_report["ArtifactType"] == "container_image"
    assert md["ImageID"].startswith("sha256:") and len(md["DiffIDs"]) == 5 == len(md["Layers"])
    assert [la["DiffID"] for la in md["Layers"]] == md["DiffIDs"]
    assert md["ImageConfig"]["rootfs"]["diff_ids"] == md["DiffIDs"]
    assert md["Size"] == sum(la["Size"] for la in md["Layers"]) > 0


@contextmanager
def _bytes_read() -> Iterator[list[int]]:
    """Bytes this process read through read(2) and friends inside the block (Linux /proc/self/io `rchar`)."""
    def rchar() -> int:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
        raise AssertionError("no rchar in /proc/self/io")

    got = [0]
    before = rchar()
    yield got
    got[0] = rchar() - before


def test_second_scan_reanalyses_nothing(full_db: Path, tmp_path: Path) -> None:
    if not DEBIAN.is_file():
        pytest.skip("../shared/data/images not present")
    opts = ScanOptions(target=DEBIAN, db_path=full_db, scanners=("vuln", "secret"), list_all_pkgs=True,
                       analyzer_kinds=("lockfile", "installed", "os"))
    io = ImageSourceOptions(input=DEBIAN)
    cold = ScanStats()
    with _bytes_read() as cold_read:
        first = scan_image(opts, io, cold, cache_dir=tmp_path)
    warm = ScanStats()
    with _bytes_read() as warm_read:
        second = scan_image(opts, io, warm, cache_dir=tmp_path)
    assert (cold.layers, cold.analysed) == (5, 5)
    assert (warm.layers, warm.analysed) == (5, 0)
    assert first.results == second.results  # type: ignore[attr-defined]
    # the warm scan reads the manifest, the config, the cache and the DB (under 2 MB), not the 82 MB of layers
    size = DEBIAN.stat().st_size
    assert cold_read[0] > size and warm_read[0] < size // 10, (cold_read, warm_read, size)


def test_alpine_image_packages_and_eol_exit_code(fixture_db: Path, tmp_path: Path) -> None:
    if not ALPINE.is_file():
        pytest.skip("../shared/data/images not present")
    report, _ = _scan(fixture_db, ALPINE, tmp_path)
    assert report["Metadata"]["OS"]["Family"] == "alpine"
    pkgs = _pkgs(report, "os-pkgs")
    assert pkgs and all(p.get("SrcName") for p in pkgs)
    # Alpine 3.16 reached its end of life on 2024-05-23: --exit-on-eol turns that into an exit code
    p = run("image", "--input", str(ALPINE), "--db-path", str(fixture_db), "--cache-dir", str(tmp_path),
            "--exit-on-eol", "7", "-q")
    assert p.returncode == 7, p.stderr
    assert report["Metadata"]["OS"]["EOSL"] is True


def test_rhel_image_rpm_packages(fixture_db: Path, tmp_path: Path) -> None:
    if not RHEL.is_file():
        pytest.skip("../shared/data/images not present")
    report, _ = _scan(fixture_db, RHEL, tmp_path)
    assert report["Metadata"]["OS"]["Family"] == "redhat"
    pkgs = _pkgs(report, "os-pkgs")
    assert len(pkgs) == 7
    assert all(p["Version"] and p["Arch"] for p in pkgs)


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    p = run("image")
    assert p.returncode == 2 and "--input" in p.stderr
    p = run("image", "--input", str(tmp_path / "missing.tar"), "--cache-dir", str(tmp_path))
    assert p.returncode == 2 and "no such file" in p.stderr and "Traceback" not in p.stderr
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar at all" * 100)
    p = run("image", "--input", str(bad), "--cache-dir", str(tmp_path))
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr


def test_image_cyclonedx_names_the_container_and_the_os(fixture_db: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.reports.test_formats import _cdx_validate

    if not ALPINE.is_file():
        pytest.skip("../shared/data/images not present")
    p = run("image", "--input", str(ALPINE), "--db-path", str(fixture_db), "--cache-dir", str(tmp_path),
            "--format", "cyclonedx", "-q")
    assert p.returncode == 0, p.stderr
    _cdx_validate(p.stdout, False, monkeypatch)
    doc = json.loads(p.stdout)
    root = doc["metadata"]["component"]
    assert root["type"] == "container"
    assert any(pr["name"] == "vigil:ImageID" and pr["value"].startswith("sha256:") for pr in root["properties"])
    os_comp = [c for c in doc["components"] if c["type"] == "operating-system"]
    assert [(c["name"], c["version"]) for c in os_comp] == [("alpine", "3.16.0")]
    apk = [c for c in doc["components"] if c.get("purl", "").startswith("pkg:apk/alpine/")]
    assert apk and all(any(pr["name"] == "vigil:LayerDiffID" for pr in c["properties"]) for c in apk)


def test_installed_packages_are_grouped_per_language_like_trivy(debian_report: dict[str, Any],
                                                                expected: dict[str, Any]) -> None:
    by_target = {(r["Target"], r["Type"]): r for r in debian_report["Results"] if r["Class"] == "lang-pkgs"}
    py = by_target[("Python", "python-pkg")]
    assert {p["FilePath"] for p in py["Packages"]} == {p["path"].lstrip("/") + "/METADATA" for p in expected["python"]}
    assert all(v["PkgPath"].endswith("/METADATA") for v in py["Vulnerabilities"])
    assert len(by_target[("Node.js", "node-pkg")]["Packages"]) == 4
    assert len(by_target[("Java", "jar")]["Packages"]) == 6
    # lockfiles and binaries stay one result per file
    assert ("app/node/package-lock.json", "npm") in by_target
    assert ("usr/local/bin/fixture-go", "gobinary") in by_target
    assert not any(t.endswith("/METADATA") for t, _ in by_target)
