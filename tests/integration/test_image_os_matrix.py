"""`vigil image` over the OS matrix the shipped images do not cover, built as small OCI layouts from real files:
distroless dpkg (status.d), Berkeley DB rpm (RHEL 8 style), NDB rpm, Ubuntu 24.04, AlmaLinux 9; plus hostile
images through the CLI (the reader's own tests cover the mechanics)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.oci_builder import layer_tar, write_layout

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "os"
RHEL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "images" / "rhel9-like.docker.tar"
DEBIAN_12 = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def _files(root: Path, under: str) -> dict[str, bytes]:
    return {f"{under}/{p.relative_to(root)}": p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _scan(db: Path, layout: Path, tmp: Path, *extra: str) -> dict[str, Any]:
    p = run("image", "--input", str(layout), "--db-path", str(db), "--cache-dir", str(tmp / "cache"),
            "--format", "json", "--list-all-pkgs", "--scanners", "vuln", *extra)
    assert p.returncode == 0, p.stderr
    out: dict[str, Any] = json.loads(p.stdout)
    return out


def _os_pkgs(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for r in report["Results"] if r["Class"] == "os-pkgs" for p in r.get("Packages", [])]


def _rhel_rpmdb() -> bytes:
    if not RHEL.is_file():
        pytest.skip("../shared/data/images not present")
    with tarfile.open(RHEL) as outer:
        for m in outer.getmembers():
            if m.name.endswith(".tar") or m.name.endswith("layer.tar"):
                f = outer.extractfile(m)
                assert f is not None
                with tarfile.open(fileobj=io.BytesIO(f.read())) as layer:
                    for lm in layer.getmembers():
                        if lm.name.lstrip("./").endswith("var/lib/rpm/rpmdb.sqlite"):
                            g = layer.extractfile(lm)
                            assert g is not None
                            return g.read()
    raise AssertionError("rpmdb.sqlite not found in the RHEL fixture image")


def test_distroless_status_d(fixture_db: Path, tmp_path: Path) -> None:
    files = {"etc/os-release": DEBIAN_12, "etc/debian_version": b"12.15\n",
             **_files(FIX / "dpkg" / "status.d", "var/lib/dpkg/status.d")}
    layout = write_layout(tmp_path / "img", [layer_tar(files)])
    report = _scan(fixture_db, layout, tmp_path)
    assert report["Metadata"]["OS"] == {"Family": "debian", "Name": "12.15"}  # EOSL omitted while false
    names = sorted(p["Name"] for p in _os_pkgs(report))
    assert names == ["base-files", "bash", "libc6", "libssl3", "zlib1g"]
    assert all(p["Layer"]["DiffID"] == report["Metadata"]["DiffIDs"][0] for p in _os_pkgs(report))


@pytest.mark.parametrize("db_name,where", [("Packages", "var/lib/rpm/Packages"),
                                            ("Packages.db", "usr/lib/sysimage/rpm/Packages.db")])
def test_rpm_berkeley_db_and_ndb(fixture_db: Path, tmp_path: Path, db_name: str, where: str) -> None:
    files = {"etc/redhat-release": b"Red Hat Enterprise Linux release 9.0 (Plow)\n",
             where: (FIX / "rpm" / db_name).read_bytes()}
    report = _scan(fixture_db, write_layout(tmp_path / "img", [layer_tar(files)]), tmp_path)
    assert report["Metadata"]["OS"]["Family"] == "redhat"
    got = sorted((p["Name"], (f"{p['Epoch']}:" if p.get("Epoch") else "") + f"{p['Version']}-{p['Release']}",
                  p["Arch"], p["SrcName"]) for p in _os_pkgs(report))
    want = []
    for line in (FIX / "rpm" / "expected.txt").read_text().splitlines():  # name|epoch|version|release|arch|srpm
        name, epoch, ver, rel, arch, srpm = line.strip().split("|")
        evr = f"{epoch}:{ver}-{rel}" if epoch not in ("0", "", "(none)") else f"{ver}-{rel}"
        want.append((name, evr, arch, srpm.rsplit("-", 2)[0]))
    assert got == sorted(want)
    assert len(got) == 7


def test_ubuntu(fixture_db: Path, tmp_path: Path) -> None:
    layout = write_layout(tmp_path / "img", [layer_tar(_files(FIX / "ubuntu", "."))])
    report = _scan(fixture_db, layout, tmp_path)
    assert (report["Metadata"]["OS"]["Family"], report["Metadata"]["OS"]["Name"]) == ("ubuntu", "24.04")
    assert _os_pkgs(report)
    assert all(p["PURL"].startswith("pkg:deb/ubuntu/") for p in _os_pkgs(report))


def test_alma_matches_alma_advisories(fixture_db: Path, tmp_path: Path) -> None:
    files = {**_files(FIX / "alma" / "etc", "etc"), "var/lib/rpm/rpmdb.sqlite": _rhel_rpmdb()}
    report = _scan(fixture_db, write_layout(tmp_path / "img", [layer_tar(files)]), tmp_path)
    assert report["Metadata"]["OS"]["Family"] == "alma"
    vulns = [v for r in report["Results"] if r["Class"] == "os-pkgs" for v in r.get("Vulnerabilities", [])]
    assert vulns, "the fixture DB carries AlmaLinux errata for these rpm names"
    assert all(any(d["ID"] == "almalinux-osv" for d in v["DataSources"]) for v in vulns)


def test_os_package_files_hide_language_duplicates(fixture_db: Path, tmp_path: Path) -> None:
    """A dist-info owned by a dpkg package (its .list names it) is reported once, as the OS package."""
    meta = b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n"
    stanza = (b"Package: python3-yaml\nStatus: install ok installed\nArchitecture: amd64\nVersion: 6.0-3\n"
              b"Source: pyyaml\n\n")
    dist = "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA"
    files = {"etc/os-release": DEBIAN_12, "var/lib/dpkg/status": stanza,
             "var/lib/dpkg/info/python3-yaml.list": f"/.\n/{dist}\n".encode(), dist: meta,
             "usr/local/lib/python3.11/dist-packages/PyYAML-5.3.dist-info/METADATA": meta.replace(b"6.0", b"5.3")}
    report = _scan(fixture_db, write_layout(tmp_path / "img", [layer_tar(files)]), tmp_path)
    lang = [(p["Name"], p["Version"]) for r in report["Results"] if r["Class"] == "lang-pkgs"
            for p in r.get("Packages", [])]
    assert lang == [("PyYAML", "5.3")]
    assert [p["Name"] for p in _os_pkgs(report)] == ["python3-yaml"]


def test_whiteouts_across_layers_through_the_cli(fixture_db: Path, tmp_path: Path) -> None:
    req = b"django==3.2.0\n"
    l1 = layer_tar({"etc/os-release": DEBIAN_12, "app/requirements.txt": req, "old/requirements.txt": req})
    l2 = layer_tar({"app/.wh.requirements.txt": b"", "old/.wh..wh..opq": b""})
    report = _scan(fixture_db, write_layout(tmp_path / "img", [l1, l2]), tmp_path)
    assert not [r for r in report["Results"] if r["Class"] == "lang-pkgs"]


def test_gzip_bomb_layer_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    # ~2.3 GiB of zeros from ~2.3 MB of gzip members (a multi-member stream, as tar -z would not make it)
    head = tarfile.TarInfo("zeros")
    head.size = 2300 << 20
    member = gzip.compress(b"\0" * (4 << 20), compresslevel=9, mtime=0)
    bomb = gzip.compress(head.tobuf(format=tarfile.GNU_FORMAT), mtime=0) + member * 575
    layout = write_layout(tmp_path / "img", [bomb], compress=False)
    p = run("image", "--input", str(layout), "--cache-dir", str(tmp_path / "c"), "--scanners", "secret")
    assert p.returncode == 2, p.stderr
    assert "bomb" in p.stderr and "Traceback" not in p.stderr


def test_path_traversal_entries_are_refused_and_the_scan_goes_on(fixture_db: Path, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in (("../../etc/evil/requirements.txt", b"django==3.2.0\n"),
                           ("app/requirements.txt", b"requests==2.19.1\n")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    layout = write_layout(tmp_path / "img", [buf.getvalue()])
    p = run("image", "--input", str(layout), "--db-path", str(fixture_db), "--cache-dir", str(tmp_path / "c"),
            "--format", "json", "--list-all-pkgs", "--scanners", "vuln")
    assert p.returncode == 0, p.stderr
    assert "path traversal" in p.stderr
    report = json.loads(p.stdout)
    pkgs = [(pk["Name"], r["Target"]) for r in report["Results"] for pk in r.get("Packages", [])]
    assert pkgs == [("requests", "app/requirements.txt")]
    assert not (tmp_path.parent.parent / "etc" / "evil").exists()


def test_secret_in_a_lower_layer_is_reported_with_its_layer(tmp_path: Path) -> None:
    token = b"GITHUB_TOKEN=ghp_" + b"R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3sX9" + b"\n"
    l1 = layer_tar({"app/.env": token, "app/README": b"nothing here\n"})
    l2 = layer_tar({"app/.wh..env": b""})  # deleted on top, still readable in layer 1 by anyone with the image
    layout = write_layout(tmp_path / "img", [l1, l2], created_by=["COPY . /app", "RUN rm /app/.env"])
    p = run("image", "--input", str(layout), "--cache-dir", str(tmp_path / "c"), "--scanners", "secret",
            "--format", "json")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    found = [(r["Target"], s["RuleID"], s["Layer"]["CreatedBy"]) for r in report["Results"] for s in r["Secrets"]]
    assert found == [("app/.env", "github-pat", "COPY . /app")]
    assert "R4nd0m" not in p.stdout  # masked in the report
