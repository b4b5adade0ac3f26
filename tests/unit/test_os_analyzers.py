"""OS analyzers (issue 4): release files, dpkg status / status.d / file lists, apk installed.

Real inputs come straight from the images in ../shared/data/images (the Debian status must match expected.json
exactly); the other fixtures are described in tests/fixtures/os/README.md. Goldens: tests/golden/os/<module>/.
"""

from __future__ import annotations

import json
import random
import tarfile
from functools import cache
from pathlib import Path

import pytest

from tests.work_budget import line_budget
from vigil.analyzers.errors import ParseError
from vigil.analyzers.os import apk, dpkg, dpkg_copyright, dpkg_files, os_release, rpm
from vigil.analyzers.registry import ANALYZER_MODULES, AnalysisInput, all_analyzers, run_guarded
from vigil.inventory.licenses import TEXT_PREFIX
from vigil.inventory.records import OSInfo, os_ecosystem

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "os"
IMAGES = ROOT.parent / "shared" / "data" / "images"
OS_MODULES = (os_release, dpkg, dpkg_files, dpkg_copyright, apk, rpm)


@cache
def image_files(archive: str, wanted: tuple[str, ...]) -> dict[str, bytes]:
    """The files `wanted` as the merged image shows them (a later layer's copy wins), read from a docker-archive
    or OCI archive with tarfile; gzip layers are detected by tarfile itself."""
    path = IMAGES / archive
    if not path.is_file():
        pytest.skip("../shared images not present")
    out: dict[str, bytes] = {}
    with tarfile.open(path) as t:
        names = t.getnames()
        if "manifest.json" in names:
            layers = json.load(t.extractfile("manifest.json"))[0]["Layers"]  # type: ignore[arg-type]
        else:
            index = json.load(t.extractfile("index.json"))  # type: ignore[arg-type]
            digest = index["manifests"][0]["digest"].replace(":", "/")
            manifest = json.load(t.extractfile(f"blobs/{digest}"))  # type: ignore[arg-type]
            layers = [f"blobs/{la['digest'].replace(':', '/')}" for la in manifest["layers"]]
        for layer in layers:
            with tarfile.open(fileobj=t.extractfile(layer), mode="r:*") as lt:
                for m in lt:
                    rel = m.name.removeprefix("./")
                    if rel in wanted and m.isfile():
                        out[rel] = lt.extractfile(m).read()  # type: ignore[union-attr]
    return out


def debian_files() -> dict[str, bytes]:
    return image_files("debian-vuln.oci.tar", ("var/lib/dpkg/status", "usr/lib/os-release", "etc/debian_version"))


def analyze(module: object, path: str, data: bytes):  # type: ignore[no-untyped-def]
    a = module.ANALYZER  # type: ignore[attr-defined]
    assert a.matches(path), f"{a.name} should match {path}"
    return run_guarded(a, AnalysisInput(path=path, data=data))


# --- registration ----------------------------------------------------------------------------------------------

def test_os_modules_are_registered_with_kind_os() -> None:
    registered = set(ANALYZER_MODULES)
    for mod in OS_MODULES:
        assert mod.__name__ in registered
        assert mod.ANALYZER.kind == "os"
        assert list((ROOT / "tests" / "golden" / "os" / mod.__name__.rsplit(".", 1)[1]).glob("*.json"))
    names = [a.name for a in all_analyzers()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("module", "yes", "no"), [
    (os_release, ["etc/os-release", "usr/lib/os-release", "etc/debian_version", "etc/alpine-release",
                  "etc/lsb-release", "etc/redhat-release", "etc/centos-release", "etc/rocky-release",
                  "etc/almalinux-release"],
     ["usr/share/doc/os-release", "etc/os-release.bak", "opt/chroot/etc/os-release", "etc/system-release-cpe"]),
    (dpkg, ["var/lib/dpkg/status", "var/lib/dpkg/status.d/libc6", "var/lib/dpkg/status.d/libc6.md5sums"],
     ["var/lib/dpkg/status-old", "var/lib/dpkg/available", "var/lib/dpkg/info/libc6.list"]),
    (dpkg_files, ["var/lib/dpkg/info/libc6:amd64.list", "var/lib/dpkg/info/base-files.list"],
     ["var/lib/dpkg/info/libc6.md5sums", "usr/share/foo.list"]),
    (dpkg_copyright, ["usr/share/doc/zlib1g/copyright"], ["usr/share/doc/zlib1g/changelog.gz",
                                                         "opt/usr/share/doc/zlib1g/copyright"]),
    (apk, ["lib/apk/db/installed", "usr/lib/apk/db/installed"], ["lib/apk/db/triggers", "etc/apk/world"]),
    (rpm, ["var/lib/rpm/rpmdb.sqlite", "var/lib/rpm/Packages", "var/lib/rpm/Packages.db",
           "usr/lib/sysimage/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/Packages.db", "usr/share/rpm/rpmdb.sqlite"],
     ["var/lib/rpm/Name", "var/lib/rpm/rpmdb.sqlite-wal", "var/lib/rpm/.rpm.lock"]),
])
def test_matches(module: object, yes: list[str], no: list[str]) -> None:
    a = module.ANALYZER  # type: ignore[attr-defined]
    assert [p for p in yes if not a.matches(p)] == []
    assert [p for p in no if a.matches(p)] == []


# --- OS detection ----------------------------------------------------------------------------------------------

def test_debian_release_files_real(golden) -> None:  # type: ignore[no-untyped-def]
    files = debian_files()
    from_os_release = analyze(os_release, "usr/lib/os-release", files["usr/lib/os-release"]).os
    precise = analyze(os_release, "etc/debian_version", files["etc/debian_version"]).os
    assert from_os_release == OSInfo(family="debian", name="12")
    assert precise == OSInfo(family="debian", name="12.15")
    assert os_ecosystem(precise.family, precise.name) == "debian:12"
    golden.check("os/os_release/debian12", {"os-release": from_os_release, "debian_version": precise})


def test_alpine_and_rhel_release_files_real(golden) -> None:  # type: ignore[no-untyped-def]
    alp = image_files("alpine-like.docker.tar", ("etc/os-release", "etc/alpine-release"))
    rhel = image_files("rhel9-like.docker.tar", ("etc/os-release", "etc/redhat-release"))
    got = {
        "alpine os-release": analyze(os_release, "etc/os-release", alp["etc/os-release"]).os,
        "alpine-release": analyze(os_release, "etc/alpine-release", alp["etc/alpine-release"]).os,
        "rhel os-release": analyze(os_release, "etc/os-release", rhel["etc/os-release"]).os,
        "redhat-release": analyze(os_release, "etc/redhat-release", rhel["etc/redhat-release"]).os,
    }
    assert got["alpine-release"] == OSInfo(family="alpine", name="3.16.0")
    assert got["redhat-release"] == got["rhel os-release"] == OSInfo(family="redhat", name="9.0")
    golden.check("os/os_release/alpine_rhel", got)


def test_ubuntu_and_alma_fixtures(golden) -> None:  # type: ignore[no-untyped-def]
    got = {}
    for rel in ("ubuntu/etc/os-release", "ubuntu/etc/lsb-release", "ubuntu/etc/debian_version",
                "alma/etc/os-release", "alma/etc/almalinux-release", "alma/etc/redhat-release"):
        path = rel.split("/", 1)[1]
        got[rel] = analyze(os_release, path, (FIX / rel).read_bytes()).os
    assert got["ubuntu/etc/os-release"] == got["ubuntu/etc/lsb-release"] == OSInfo(family="ubuntu", name="24.04")
    # Ubuntu's debian_version names a Debian codename: reported as such, os-release decides the family
    assert got["ubuntu/etc/debian_version"] == OSInfo(family="debian", name="trixie/sid")
    assert got["alma/etc/os-release"] == got["alma/etc/almalinux-release"] == OSInfo(family="alma", name="9.4")
    assert got["alma/etc/redhat-release"] == OSInfo(family="alma", name="9.4")  # text wins over the file name
    golden.check("os/os_release/ubuntu_alma", got)


@pytest.mark.parametrize(("path", "text", "expected"), [
    ("etc/rocky-release", "Rocky Linux release 9.3 (Blue Onyx)\n", ("rocky", "9.3")),
    ("etc/redhat-release", "Rocky Linux release 8.10 (Green Obsidian)\n", ("rocky", "8.10")),
    ("etc/centos-release", "CentOS Linux release 7.9.2009 (Core)\n", ("centos", "7.9.2009")),
    ("etc/centos-release", "CentOS Stream release 9\n", ("centos", "9")),
    ("etc/redhat-release", "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n", ("redhat", "7.9")),
    ("etc/os-release", 'ID="rocky"\nVERSION_ID="9.3"\n', ("rocky", "9.3")),
    ("etc/os-release", "ID=centos\nVERSION_ID='7'\n", ("centos", "7")),
    ("etc/os-release", "# comment\nID=alpine\nVERSION_ID=3.20.3\n", ("alpine", "3.20.3")),
    ("etc/debian_version", "bookworm/sid\n", ("debian", "bookworm/sid")),
    ("etc/alpine-release", "3.21.0_alpha20240807\n", ("alpine", "3.21.0_alpha20240807")),
    # unknown or unsupported distributions and empty files: no OS, no error
    ("etc/os-release", 'ID=fedora\nVERSION_ID=40\n', None),
    ("etc/os-release", 'ID="opensuse-leap"\nVERSION_ID="15.6"\n', None),
    ("etc/os-release", "ID=debian\n", None),
    ("etc/redhat-release", "Fedora release 40 (Forty)\n", None),
    ("etc/lsb-release", "DISTRIB_ID=LinuxMint\nDISTRIB_RELEASE=21\n", None),
    ("etc/debian_version", "", None),
    ("etc/alpine-release", "\n\n", None),
])
def test_release_texts(path: str, text: str, expected: tuple[str, str] | None) -> None:
    res = analyze(os_release, path, text.encode())
    assert res.unknowns == ()
    assert res.os == (OSInfo(family=expected[0], name=expected[1]) if expected else None)


def test_binary_release_file_is_an_unknown() -> None:
    res = analyze(os_release, "etc/os-release", b"ID=debian\x00\x01\x02")
    assert res.os is None and "not a text release file" in res.unknowns[0].reason


# --- dpkg ------------------------------------------------------------------------------------------------------

def test_dpkg_status_real_matches_expected_json(golden) -> None:  # type: ignore[no-untyped-def]
    data = debian_files()["var/lib/dpkg/status"]
    res = analyze(dpkg, "var/lib/dpkg/status", data)
    expected = json.loads((IMAGES / "expected.json").read_text())["dpkg"]
    got = [{"name": p.name, "version": p.full_version, "arch": p.arch, "source": p.src_name,
            "source_version": p.src_full_version} for p in res.os_packages]
    assert len(got) == len(expected) == 112

    def key(d: dict[str, str]) -> tuple[str, str]:
        return d["name"], d["arch"]

    assert sorted(got, key=key) == sorted(expected, key=key)
    assert {p.ecosystem for p in res.os_packages} == {"dpkg"}
    assert {p.file_path for p in res.os_packages} == {"var/lib/dpkg/status"}
    libc = next(p for p in res.os_packages if p.name == "libc6")
    assert libc.maintainer == "GNU Libc Maintainers <debian-glibc@lists.debian.org>" and libc.id == f"libc6@{libc.full_version}"
    golden.check("os/dpkg/debian12_status", res.os_packages)


def test_dpkg_status_work_per_package_is_bounded() -> None:
    data = debian_files()["var/lib/dpkg/status"]
    with line_budget(1_000 * 112):  # 112 packages: about 160 lines of Vigil code each today
        pkgs = dpkg.parse_dpkg_status(data, "var/lib/dpkg/status")
    assert len(pkgs) == 112


def test_dpkg_ubuntu_statuses(golden) -> None:  # type: ignore[no-untyped-def]
    res = analyze(dpkg, "var/lib/dpkg/status", (FIX / "ubuntu/var/lib/dpkg/status").read_bytes())
    by = {p.name: p for p in res.os_packages}
    # hold ok installed counts; deinstall (even if still installed), config-files and half-installed do not
    assert sorted(by) == ["base-files", "libc6", "libssl3t64", "perl-base"]
    assert (by["libssl3t64"].src_name, by["libssl3t64"].src_full_version) == ("openssl", "3.0.13-0ubuntu3")
    assert (by["libc6"].src_name, by["libc6"].src_full_version) == ("glibc", "2.39-0ubuntu8.3")
    assert (by["base-files"].src_name, by["base-files"].src_full_version) == ("base-files", "13ubuntu10.1")
    # no hyphen: no Debian revision
    assert (by["base-files"].src_version, by["base-files"].src_release) == ("13ubuntu10.1", "")
    golden.check("os/dpkg/ubuntu_status", res.os_packages)


def test_dpkg_distroless_status_d(golden) -> None:  # type: ignore[no-untyped-def]
    real = {p.name: p for p in dpkg.parse_dpkg_status(debian_files()["var/lib/dpkg/status"], "")}
    got = []
    for f in sorted((FIX / "dpkg/status.d").iterdir()):
        path = f"var/lib/dpkg/status.d/{f.name}"
        res = analyze(dpkg, path, f.read_bytes())
        assert res.unknowns == ()
        if f.name.endswith(".md5sums"):
            assert res.os_packages == ()
            continue
        (p,) = res.os_packages
        assert p.file_path == path
        # the split stanza yields exactly what the whole status file yields for that package
        assert (p.name, p.version, p.arch, p.src_name, p.src_version, p.maintainer) == (
            real[p.name].name, real[p.name].version, real[p.name].arch, real[p.name].src_name,
            real[p.name].src_version, real[p.name].maintainer)
        got.append(p)
    by = {p.name: p for p in got}
    assert sorted(by) == ["base-files", "bash", "libc6", "libssl3", "zlib1g"]  # base-files has no Status line
    assert by["zlib1g"].full_version == "1:1.2.13.dfsg-1" and by["zlib1g"].src_full_version == "1:1.2.13.dfsg-1"
    assert (by["zlib1g"].epoch, by["zlib1g"].version, by["zlib1g"].release) == (1, "1.2.13.dfsg", "1")  # as Trivy
    assert (by["bash"].full_version, by["bash"].src_full_version) == ("5.2.15-2+b13", "5.2.15-2")
    assert (by["bash"].version, by["bash"].release, by["bash"].src_release) == ("5.2.15", "2+b13", "2")
    golden.check("os/dpkg/distroless_status_d", got)


@pytest.mark.parametrize(("status", "installed"), [
    (None, True), ("install ok installed", True), ("hold ok installed", True),
    ("deinstall ok installed", False), ("purge ok installed", False), ("deinstall ok config-files", False),
    ("install ok half-installed", False), ("install ok unpacked", False), ("install ok triggers-pending", False),
    ("", False), ("installed", False),
])
def test_dpkg_status_field(status: str | None, installed: bool) -> None:
    assert dpkg.is_installed(status) is installed


def test_dpkg_field_case_and_continuations() -> None:
    data = (b"package: a\nstatus: install ok installed\nversion: 1.0\nDescription: x\n Version: 9\n"
            b" .\n\n\n\nPackage: no-version\nStatus: install ok installed\n\nPackage: b\nVersion: 2\n"
            b"Source: bsrc\nSource-ish line without colon\n")
    pkgs = dpkg.parse_dpkg_status(data)
    assert [(p.name, p.version, p.src_name, p.src_version) for p in pkgs] == [("a", "1.0", "a", "1.0"),
                                                                               ("b", "2", "bsrc", "2")]


def test_dpkg_files_lists(golden) -> None:  # type: ignore[no-untyped-def]
    libc_path = "var/lib/dpkg/info/libc6:amd64.list"
    raw = (FIX / "dpkg/info/libc6:amd64.list").read_bytes()
    (libc,) = analyze(dpkg_files, libc_path, raw).os_packages
    assert (libc.name, libc.arch, libc.version, libc.file_path) == ("libc6", "amd64", "", libc_path)
    assert "lib/x86_64-linux-gnu/libc.so.6" in libc.installed_files
    assert len(libc.installed_files) == len(raw.splitlines()) - 1  # only "/." is dropped
    assert not [f for f in libc.installed_files if f.startswith("/") or f in ("", ".")]
    (base,) = analyze(dpkg_files, "var/lib/dpkg/info/base-files.list",
                      (FIX / "dpkg/info/base-files.list").read_bytes()).os_packages
    assert (base.name, base.arch) == ("base-files", "") and "etc/debian_version" in base.installed_files
    golden.check("os/dpkg_files/base_files", base)


# --- dpkg copyright ----------------------------------------------------------------------------------------------

TRIVY_DEBIAN_LICENSES = ROOT / "tests" / "data" / "trivy" / "debian-vuln-os-licenses.json"


def _trivy_display(name: str) -> str:
    """A license text as Trivy's license results show it: its first three words and "..."."""
    if not name.startswith(TEXT_PREFIX):
        return name
    return TEXT_PREFIX + " ".join(name[len(TEXT_PREFIX):].split(" ")[:3]) + "..."


def test_dpkg_copyright_real_matches_trivy(golden) -> None:  # type: ignore[no-untyped-def]
    """Every copyright file of the Debian image gives the licenses Trivy 0.76 reports for its package, except
    where Trivy maps "GPL-3+ with Bison exception" to GPL-2.0's Bison exception (docs/trivy-differences.md)."""
    names = [p.name for p in dpkg.parse_dpkg_status(debian_files()["var/lib/dpkg/status"])]
    wanted = tuple(f"usr/share/doc/{n}/copyright" for n in names)
    files = image_files("debian-vuln.oci.tar", wanted)
    expected = json.loads(TRIVY_DEBIAN_LICENSES.read_text())["packages"]
    got: dict[str, list[str]] = {}
    for path, data in sorted(files.items()):
        for p in analyze(dpkg_copyright, path, data).os_packages:
            assert (p.version, p.file_path) == ("", path)
            got[p.name] = list(dict.fromkeys(_trivy_display(lic) for lic in p.licenses))
    assert len(got) == len(expected) == 104  # 8 of the 112 packages have no copyright file a license is read from
    differ = {n for n in expected if sorted(got.get(n, [])) != sorted(expected[n])}
    assert differ == {"perl-base"}
    assert set(got["perl-base"]) ^ set(expected["perl-base"]) == {"GPL-3+-WITH-BISON-EXCEPTION",
                                                                  "GPL-2.0-with-bison-exception+"}
    golden.check("os/dpkg_copyright/libssl3", got["libssl3"])


@pytest.mark.parametrize(("path", "name"), [
    ("usr/share/doc/zlib1g/copyright", "zlib1g"),
    ("usr/share/doc/ca-certificates/examples/ca-certificates-local/debian/copyright", ""),
    ("usr/share/doc/zlib1g/changelog.gz", ""),
])
def test_dpkg_copyright_only_directly_in_a_doc_dir(path: str, name: str) -> None:
    assert dpkg_copyright.package_of(path) == name
    res = run_guarded(dpkg_copyright.ANALYZER, AnalysisInput(path=path, data=b"License: MIT\n"))
    assert [p.name for p in res.os_packages] == ([name] if name else [])


def test_dpkg_copyright_forms() -> None:
    text = (b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
            b"Files: *\nLicense: GPL-2+ or Artistic\n\nFiles: lib/*\nLicense: The MIT License (MIT)\n"
            b"License: Expat\n"
            b"On Debian systems the full text is in /usr/share/common-licenses/LGPL-2.1.\n")
    assert dpkg_copyright.parse_copyright(text) == ("GPL-2.0-or-later", "Artistic-2.0", "MIT", "LGPL-2.1-only")
    with pytest.raises(ParseError):
        dpkg_copyright.parse_copyright(b"\x00\x01binary")


# --- apk -------------------------------------------------------------------------------------------------------

def test_apk_installed_real(golden) -> None:  # type: ignore[no-untyped-def]
    data = image_files("alpine-like.docker.tar", ("lib/apk/db/installed",))["lib/apk/db/installed"]
    res = analyze(apk, "lib/apk/db/installed", data)
    by = {p.name: p for p in res.os_packages}
    assert len(by) == data.count(b"\nP:") + data.startswith(b"P:") and len(by) >= 5
    musl = by["musl"]
    assert (musl.version, musl.arch, musl.src_name, musl.src_version, musl.licenses) == (
        "1.2.3-r0", "x86_64", "musl", "1.2.3-r0", ("MIT",))
    # apk's L: field is a space-separated list: split into SPDX names as Trivy reports them
    assert by["alpine-baselayout"].licenses == ("GPL-2.0-only",)
    assert by["musl-utils"].licenses == ("MIT", "BSD-3-Clause", "GPL-2.0-or-later")  # "MIT BSD GPL2+"
    assert musl.installed_files == ("lib/ld-musl-x86_64.so.1",)
    assert musl.maintainer == "Fixture Maintainer <fixture@example.invalid>"
    assert by["alpine-baselayout-data"].src_name == "alpine-baselayout"
    assert "etc/fstab" in by["alpine-baselayout-data"].installed_files
    golden.check("os/apk/alpine316_installed", res.os_packages)


def test_apk_edge_cases() -> None:
    data = (b"P:rootfile\nV:1-r0\nR:topfile\nF:usr/bin\nR:tool\nF:/etc/\nR:conf\n\n"
            b"P:noversion\n\n\nP:noorigin\nV:2-r1\nA:aarch64\n")
    pkgs = apk.parse_apk_installed(data, "lib/apk/db/installed")
    assert [(p.name, p.version, p.src_name, p.installed_files) for p in pkgs] == [
        ("rootfile", "1-r0", "rootfile", ("topfile", "usr/bin/tool", "etc/conf")),
        ("noorigin", "2-r1", "noorigin", ()),
    ]
    with pytest.raises(ParseError, match="line 2"):
        apk.parse_apk_installed(b"P:x\nthis is not apk\n")


# --- robustness ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", [os_release, dpkg, dpkg_files, dpkg_copyright, apk])
def test_text_analyzers_survive_random_input(module: object) -> None:
    """Contract: any bytes give a result or a ParseError (an Unknown through the guard), never a crash."""
    rng = random.Random(4)
    a = module.ANALYZER  # type: ignore[attr-defined]
    path = {"os-release": "etc/os-release", "dpkg": "var/lib/dpkg/status",
            "dpkg-files": "var/lib/dpkg/info/x.list", "apk": "lib/apk/db/installed",
            "dpkg-license": "usr/share/doc/x/copyright"}[a.name]
    seeds = [b"", b"\n", b"P:\nV:\n", b"Package: x\nVersion: 1\n", b"ID=debian\nVERSION_ID=12\n"]
    for i in range(300):
        base = seeds[i % len(seeds)]
        noise = bytes(rng.choice(b"PV:AoF\nR= \t#'\"x1.\xff") for _ in range(rng.randrange(0, 300)))
        data = base + noise if i % 3 else noise + base
        if i % 7 == 0:
            data += bytes(rng.randrange(256) for _ in range(50))
        with line_budget(5_000):  # per input of at most 350 bytes (about 200 lines today)
            res = run_guarded(a, AnalysisInput(path=path, data=data))
        assert all("internal error" not in u.reason for u in res.unknowns), res.unknowns
