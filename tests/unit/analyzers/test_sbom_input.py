"""SBOM input (vigil sbom): CycloneDX JSON/XML and SPDX JSON from other tools, and Vigil's own SBOMs read back to
exactly the packages they were made from."""

from __future__ import annotations

import io
import json
from pathlib import Path

import msgspec
import pytest

from vigil.analyzers.sbom import SBOMError, parse_sbom, sbom_format
from vigil.findings.records import Report
from vigil.reporters import get

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "reports" / "demo-report.json"

FOREIGN_CDX = {
    "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
    "components": [
        {"type": "library", "group": "@babel", "name": "core", "version": "7.0.0", "bom-ref": "a",
         "purl": "pkg:npm/%40babel/core@7.0.0"},
        {"type": "library", "group": "org.apache.logging.log4j", "name": "log4j-core", "version": "2.14.1",
         "bom-ref": "b", "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
         "components": [{"type": "library", "name": "lodash", "version": "4.17.15", "bom-ref": "c",
                        "purl": "pkg:npm/lodash@4.17.15"}]},
        {"type": "library", "name": "zlib", "version": "1.2", "bom-ref": "d", "purl": "pkg:deb/debian/zlib@1.2"},
        {"type": "file", "name": "README"},
    ],
    "dependencies": [{"ref": "a", "dependsOn": ["c"]}],
}


def test_foreign_cyclonedx_json() -> None:
    apps = parse_sbom(json.dumps(FOREIGN_CDX).encode(), "bom.json")
    by_type = {a.type: a for a in apps}
    assert set(by_type) == {"npm", "maven"}  # deb (OS packages) skipped; grouped by ecosystem
    assert all(a.file_path == "bom.json" for a in apps)
    npm = {p.name: p for p in by_type["npm"].packages}
    assert npm["@babel/core"].version == "7.0.0" and npm["@babel/core"].depends_on == ("lodash@4.17.15",)
    assert npm["lodash"].purl == "pkg:npm/lodash@4.17.15"  # nested components are read
    (log4j,) = by_type["maven"].packages
    assert log4j.name == "org.apache.logging.log4j:log4j-core" and log4j.ecosystem == "maven"


def test_foreign_spdx_json() -> None:
    doc = {
        "spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x",
        "packages": [
            {"SPDXID": "SPDXRef-1", "name": "requests", "versionInfo": "2.25.0",
             "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                               "referenceLocator": "pkg:pypi/requests@2.25.0"}]},
            {"SPDXID": "SPDXRef-2", "name": "urllib3", "versionInfo": "1.26.4",
             "externalRefs": [{"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl",
                               "referenceLocator": "pkg:pypi/urllib3@1.26.4"}]},
            {"SPDXID": "SPDXRef-3", "name": "no-purl"},
        ],
        "relationships": [{"spdxElementId": "SPDXRef-1", "relationshipType": "DEPENDS_ON",
                           "relatedSpdxElement": "SPDXRef-2"}],
    }
    (app,) = parse_sbom(json.dumps(doc).encode(), "bom.spdx.json")
    assert app.type == "pypi"
    pkgs = {p.name: p for p in app.packages}
    assert pkgs["requests"].depends_on == ("urllib3@1.26.4",) and set(pkgs) == {"requests", "urllib3"}


def test_cyclonedx_xml_minimal() -> None:
    xml = b"""<?xml version="1.0"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1">
  <components>
    <component type="library" bom-ref="x"><name>gin</name><group>github.com/gin-gonic</group>
      <version>v1.5.0</version><purl>pkg:golang/github.com/gin-gonic/gin@v1.5.0</purl></component>
  </components>
</bom>"""
    assert sbom_format(xml) == "cyclonedx-xml"
    (app,) = parse_sbom(xml, "bom.xml")
    (p,) = app.packages
    assert (p.ecosystem, p.name, p.version) == ("go", "github.com/gin-gonic/gin", "v1.5.0")


@pytest.mark.parametrize(("data", "msg"), [
    (b"{}", "unrecognised"),
    (b"not json", "unrecognised"),
    (b'<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY x "y">]><bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>',
     "DTD"),
])
def test_errors(data: bytes, msg: str) -> None:
    with pytest.raises(SBOMError, match=msg):
        parse_sbom(data)


@pytest.mark.parametrize("fmt", ["cyclonedx", "cyclonedx-xml", "spdx-json", "spdx"])
def test_vigil_sbom_reads_back_the_same_packages(fmt: str) -> None:
    report = msgspec.json.decode(FIXTURE.read_bytes(), type=Report)
    buf = io.StringIO()
    get(fmt)(report, buf)
    apps = parse_sbom(buf.getvalue().encode(), "bom")
    expected = {(r.target, r.type): r.packages for r in report.results if r.packages}
    got = {(a.file_path, a.type): a.packages for a in apps}
    assert got == expected


def test_os_packages_of_a_foreign_cyclonedx_bom() -> None:
    """A BOM from another tool: the OS from its operating-system component, versions from the purls (epoch in a
    qualifier, rpm release after the last hyphen, dpkg revision likewise), no source-package properties (the
    binary package stands in for its source), licences kept."""
    from vigil.analyzers.sbom import parse_sbom_inventory

    doc = {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"type": "operating-system", "name": "redhat", "version": "9.3"},
        {"type": "library", "name": "openssl-libs", "purl":
         "pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=redhat-9.3&epoch=1",
         "licenses": [{"license": {"id": "Apache-2.0"}}]},
        {"type": "library", "name": "tzdata", "purl": "pkg:rpm/redhat/tzdata@2023c-1.el9?arch=noarch"},
        {"type": "library", "name": "requests", "purl": "pkg:pypi/requests@2.31.0"},
    ]}
    inv = parse_sbom_inventory(json.dumps(doc).encode(), "bom.json")
    assert inv.os is not None and (inv.os.family, inv.os.name) == ("redhat", "9.3")
    (db,) = inv.package_dbs
    assert db.type == "rpm"
    ssl, tz = db.packages
    assert (ssl.name, ssl.epoch, ssl.version, ssl.release, ssl.arch) == ("openssl-libs", 1, "3.0.7", "24.el9",
                                                                           "x86_64")
    assert ssl.full_version == "1:3.0.7-24.el9" and ssl.src_name == "openssl-libs" and ssl.src_epoch == 1
    assert ssl.licenses == ("Apache-2.0",)
    assert (tz.version, tz.release, tz.epoch) == ("2023c", "1.el9", 0)
    assert [p.name for a in inv.applications for p in a.packages] == ["requests"]


def test_os_from_the_distro_qualifier_and_deb_source_packages() -> None:
    """No operating-system component: the purls' distro names the release. Trivy's SrcName/SrcVersion/SrcRelease
    properties give the Debian source package, which is what Debian's advisories name."""
    from vigil.analyzers.sbom import parse_sbom_inventory

    doc = {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"type": "library", "name": "bsdutils",
         "purl": "pkg:deb/debian/bsdutils@2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12.15&epoch=1",
         "properties": [{"name": "aquasecurity:trivy:SrcName", "value": "util-linux"},
                        {"name": "aquasecurity:trivy:SrcVersion", "value": "2.38.1"},
                        {"name": "aquasecurity:trivy:SrcRelease", "value": "5+deb12u3"},
                        {"name": "aquasecurity:trivy:SrcEpoch", "value": "1"}]},
    ]}
    inv = parse_sbom_inventory(json.dumps(doc).encode(), "bom.json")
    assert inv.os is not None and (inv.os.family, inv.os.name) == ("debian", "12.15")
    (pkg,) = inv.package_dbs[0].packages
    assert (pkg.version, pkg.release, pkg.epoch) == ("2.38.1", "5+deb12u3", 1)
    assert (pkg.src_name, pkg.src_full_version) == ("util-linux", "1:2.38.1-5+deb12u3")
    # an OS family Vigil cannot match is listed without an OS: nothing is matched against the wrong advisories
    doc["components"][0]["purl"] = "pkg:deb/someos/bsdutils@1.0?distro=someos-1"  # type: ignore[index]
    assert parse_sbom_inventory(json.dumps(doc).encode(), "bom.json").os is None


EDGE_CDX = {
    "bomFormat": "CycloneDX", "specVersion": "1.6",
    "components": [
        {"type": "operating-system", "name": "debian", "version": "12.5"},
        {"type": "operating-system", "name": "alpine", "version": "3.19"},  # the first one names the OS
        {"type": "library", "name": 7, "version": 1.5, "group": None, "purl": "pkg:npm/seven@1.5",
         "properties": [{"name": "vigil:Target", "value": 3}, {"name": "vigil:Dev"}, {"name": 4, "value": "x"},
                        {"name": "vigil:Location", "value": "3-9"}, {"name": "vigil:Location", "value": None}],
         "licenses": [{"license": {"id": "MIT"}}, {"expression": "MIT OR Apache-2.0"}, "junk", {"license": 5}]},
        {"type": "library", "name": "nopurl", "components": [
            {"name": "deep", "version": "2", "purl": "pkg:npm/deep@2", "bom-ref": "deep",
             "components": [{"name": "deeper", "purl": "pkg:pypi/deeper@1.0", "properties": None}]}]},
        {"type": "library", "name": "libc6", "version": "2.36-9", "purl": "pkg:deb/debian/libc6@2.36-9?distro=debian-12",
         "properties": [{"name": "aquasecurity:trivy:SrcName", "value": "glibc"}], "components": None},
        {"type": "library", "name": "dup", "purl": "pkg:npm/dup@1", "bom-ref": "dup"},
        {"type": "library", "name": "dup", "purl": "pkg:npm/dup@1", "bom-ref": "dup"},
        {"purl": 42, "name": "not a purl"},
        {"purl": "not-a-purl", "name": "x"},
    ],
    "dependencies": [{"ref": "deep", "dependsOn": ["dup", 5, "missing"]}, {"ref": 3, "dependsOn": ["x"]},
                     {"ref": "dup", "dependsOn": None}, {"ref": "dup"}],
    "vulnerabilities": [{"id": "CVE-1", "ratings": [{"score": 1e300}]}],
}


@pytest.mark.parametrize("name", ["edge", "foreign", "vigil"])
def test_cyclonedx_records_read_as_the_dict_path_reads(name: str) -> None:
    """CycloneDX JSON is read into records of the fields Vigil uses (the rest is skipped by the decoder): the
    inventory is the one the whole-document path makes of the same text, on odd values and nesting too."""
    from vigil.analyzers import sbom as sbom_mod

    if name == "vigil":
        report = msgspec.json.decode(FIXTURE.read_bytes(), type=Report)
        buf = io.StringIO()
        get("cyclonedx")(report, buf)
        data = buf.getvalue().encode()
    else:
        data = json.dumps(EDGE_CDX if name == "edge" else FOREIGN_CDX).encode()
    records = sbom_mod._cdx_decoder().decode(data)
    via_records = sbom_mod._cdx_records(records, "bom.json")
    assert via_records == sbom_mod._cdx_json(json.loads(data), "bom.json")
    assert via_records == sbom_mod.parse_sbom_inventory(data, "bom.json")
    assert via_records.applications or via_records.package_dbs


@pytest.mark.parametrize("doc", [
    {"bomFormat": "CycloneDX", "components": ["a string"]},
    {"bomFormat": "CycloneDX", "components": [{"purl": "pkg:npm/a@1", "properties": ["not an object"]}]},
    {"bomFormat": "CycloneDX", "components": {"not": "a list"}},
    {"bomFormat": "CycloneDX", "components": [{"purl": "pkg:npm/a@1", "properties": {"name": "x"}}],
     "dependencies": "none"},
])
def test_cyclonedx_shapes_the_records_do_not_hold_are_read_whole(doc: dict[str, object]) -> None:
    """A document these records cannot hold (an element of the wrong kind) is read as a whole document, which
    skips what it cannot use: the same inventory as before there were records."""
    from vigil.analyzers import sbom as sbom_mod

    data = json.dumps(doc).encode()
    with pytest.raises(msgspec.ValidationError):
        sbom_mod._cdx_decoder().decode(data)
    assert sbom_mod.parse_sbom_inventory(data, "b.json") == sbom_mod._cdx_json(doc, "b.json")


def test_deeply_nested_sbom_is_a_user_error() -> None:
    from vigil.analyzers.sbom import parse_sbom_inventory

    doc = b'{"bomFormat":"CycloneDX","components":' + b'[{"components":' * 5000 + b"[]" + b"}]" * 5000 + b"}"
    with pytest.raises(SBOMError, match="nested too deeply"):
        parse_sbom_inventory(doc)
