"""Trivy's protocol messages <-> Vigil's records (vigil.shells.server.twirp.convert): the wire numbers and the
fields a Trivy client relies on."""

from __future__ import annotations

from vigil.findings.records import CVSS, DataSource, MatchDetail, Metadata, Report, Result, Vulnerability
from vigil.inventory.records import LayerRef, OSInfo, Package
from vigil.shells.server.twirp import convert
from vigil.shells.server.twirp.gen import cache_pb2, common_pb2, scanner_pb2


def _blob() -> cache_pb2.BlobInfo:
    b = cache_pb2.BlobInfo(diff_id="sha256:" + "1" * 64, digest="sha256:" + "2" * 64,
                           whiteout_files=["usr/lib/python3/dist-packages/yaml"], opaque_dirs=["opt/app/"])
    b.os.family, b.os.name = "debian", "12.5"
    db = b.package_infos.add(file_path="var/lib/dpkg/status")
    db.packages.add(name="libc6", version="2.36", release="9+deb12u4", epoch=0, src_name="glibc",
                    src_version="2.36", src_release="9+deb12u4", arch="amd64")
    db.packages.add(name="tzdata", version="2024a", release="0+deb12u1", epoch=1)
    app = b.applications.add(type="pip", file_path="app/requirements.txt")
    app.packages.add(name="Django", version="3.2.0", relationship=3)
    app.packages.add(name="sqlparse", version="0.4.1", indirect=True)
    rb = b.applications.add(type="rust-binary", file_path="usr/bin/tool")
    p = rb.packages.add(name="smallvec", version="1.6.0")
    p.identifier.purl = "pkg:cargo/smallvec@1.6.0"
    return b


def test_blob_info_in() -> None:
    u = convert.Unsupported()
    blob = convert.blob_info(_blob(), u)
    assert u.items == []
    assert blob.os_releases[0].os == OSInfo(family="debian", name="12.5")
    (db,) = blob.package_dbs
    assert db.type == "dpkg" and [p.full_version for p in db.packages] == ["2.36-9+deb12u4", "1:2024a-0+deb12u1"]
    assert db.packages[0].src_full_version == "2.36-9+deb12u4" and db.packages[0].ecosystem == "dpkg"
    # kept apart as Trivy sends them (and as Vigil's own dpkg analyzer stores them)
    assert (db.packages[1].epoch, db.packages[1].version, db.packages[1].release) == (1, "2024a", "0+deb12u1")
    pip, rust = blob.applications
    assert [(p.ecosystem, p.relationship) for p in pip.packages] == [("pypi", "direct"), ("pypi", "indirect")]
    assert rust.type == "rustbinary" and rust.packages[0].ecosystem == "cargo"
    assert blob.whiteouts == ("usr/lib/python3/dist-packages/yaml",) and blob.opaque_dirs == ("opt/app",)


def test_options_unknown_scanner_is_reported_not_fatal() -> None:
    opts = scanner_pb2.ScanOptions(scanners=["vuln", "config", "sbom", "rbac"], pkg_types=["library", "firmware"],
                                   pkg_relationships=["direct", "sideways"])
    opts.license_categories["forbidden"].names.extend(["GPL-3.0"])
    u = convert.Unsupported()
    d = convert.detection_options(opts, u)
    assert d.scanners == ("vuln", "misconfig") and d.pkg_types == ("library",)
    assert d.pkg_relationships == ("direct",) and d.list_all_pkgs
    assert d.license_categories == {"forbidden": ("GPL-3.0",)}
    assert u.items == [("scanner", "rbac"), ("pkg_type", "firmware"), ("pkg_relationship", "sideways")]
    sbom = scanner_pb2.ScanOptions(scanners=["sbom", "secret"])
    assert convert.packages_only(sbom) and convert.detection_options(sbom, u).scanners == ("vuln", "secret")
    empty = convert.detection_options(scanner_pb2.ScanOptions(), convert.Unsupported())
    assert empty.pkg_types == ("os", "library") and len(empty.pkg_relationships) == 5


def test_scan_response_out() -> None:
    v = Vulnerability(vulnerability_id="CVE-2024-1", pkg_name="libc6", pkg_id="libc6@2.36", purl="pkg:deb/libc6",
                      installed_version="2.36-9", fixed_version="2.36-10", status="will_not_fix", severity="HIGH",
                      vendor_severity={"nvd": "CRITICAL"}, cvss={"nvd": CVSS(v3_vector="CVSS:3.1/AV:N", v3_score=9.8)},
                      data_sources=(DataSource(id="debian", name="Debian Security Tracker", url="https://x"),),
                      published_date="2024-01-02T03:04:05Z", layer=LayerRef(diff_id="sha256:" + "1" * 64),
                      match_details=(MatchDetail(source="debian", advisory_id="DSA-5000-1", vulnerable_range="<2.36-10",
                                                 comparator="dpkg"),
                                     MatchDetail(source="nvd", advisory_id="CVE-2024-1", vulnerable_range="*",
                                                 comparator="semver")))
    report = Report(artifact_name="img", artifact_type="container_image",
                    metadata=Metadata(os=OSInfo(family="debian", name="12.5", eosl=True)),
                    results=(Result(target="img (debian 12.5)", class_="os-pkgs", type="debian",
                                     packages=(Package(ecosystem="debian", name="libc6", version="2.36-9",
                                                       relationship="direct"),), vulnerabilities=(v,)),
                             Result(target="usr/bin/tool", class_="lang-pkgs", type="rustbinary"),
                             Result(target="broken.lock", class_="lang-pkgs", type="npm", error="bad")))
    wire = scanner_pb2.ScanResponse.FromString(convert.scan_response(report).SerializeToString())
    assert (wire.os.family, wire.os.name, wire.os.eosl) == ("debian", "12.5", True)
    assert [(r.target, getattr(r, "class"), r.type) for r in wire.results] == [
        ("img (debian 12.5)", "os-pkgs", "debian"), ("usr/bin/tool", "lang-pkgs", "rust-binary")]
    w = wire.results[0].vulnerabilities[0]
    assert w.status == 5 and w.severity == common_pb2.HIGH and w.vendor_severity["nvd"] == common_pb2.CRITICAL
    assert w.cvss["nvd"].v3_score == 9.8 and w.data_source.id == "debian" and w.layer.diff_id.endswith("1")
    assert list(w.vendor_ids) == ["DSA-5000-1"]
    assert w.published_date.seconds == 1704164645 and w.pkg_identifier.purl == "pkg:deb/libc6"
    pkg = wire.results[0].packages[0]
    assert pkg.relationship == 3 and (pkg.epoch, pkg.version, pkg.release) == (0, "2.36", "9")


def test_severity_sources() -> None:
    v = Vulnerability(vulnerability_id="CVE-1", pkg_name="p", installed_version="1", status="affected",
                      severity="HIGH", severity_source="debian", vendor_severity={"nvd": "CRITICAL", "ghsa": "LOW"})
    assert convert.pick_severity(v, []) == ("HIGH", "debian")
    assert convert.pick_severity(v, ["ghsa", "nvd"]) == ("LOW", "ghsa")
    assert convert.pick_severity(v, ["redhat", "auto"]) == ("HIGH", "debian")
    assert convert.pick_severity(v, ["redhat"]) == ("UNKNOWN", "")


def test_split_version() -> None:
    assert convert.split_version("1:2.38.1-5+deb12u3") == (1, "2.38.1", "5+deb12u3")
    assert convert.split_version("5.1.8-6.el9") == (0, "5.1.8", "6.el9")
    assert convert.split_version("1.0") == (0, "1.0", "")
    assert convert.split_version("a:b-c-d") == (0, "a:b-c", "d")
