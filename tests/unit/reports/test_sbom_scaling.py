"""The SBOM formats scale with the report: the work to write them grows linearly with the packages (counted, not
timed: tests/work_budget.py), nothing validates the BOM at run time (tests do, against the schemas:
test_formats.py and the CLI tests), and the CycloneDX JSON written directly is the document cyclonedx-python-lib
wrote, byte for byte."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tests.work_budget import WorkCount, any_call_budget

from vigil.findings.records import CVSS, DataSource, Metadata, Report, Result, Vulnerability
from vigil.inventory.records import LayerRef, Location, OSInfo, Package
from vigil.reporters import RenderOptions, get
from vigil.reporters.cyclonedx import build_bom, canonical_purl

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "reports" / "demo-report.json"


def chain_report(n: int) -> Report:
    """One npm lockfile of n packages in a dependency chain, one vulnerability per 10 packages."""
    pkgs = tuple(Package(ecosystem="npm", name=f"pkg-{i}", version="1.0.0", id=f"pkg-{i}@1.0.0",
                         purl=f"pkg:npm/pkg-{i}@1.0.0", relationship="direct" if i == 0 else "indirect",
                         depends_on=(f"pkg-{i + 1}@1.0.0",) if i + 1 < n else (),
                         locations=(Location(start_line=i + 1, end_line=i + 1),))
                 for i in range(n))
    vulns = tuple(Vulnerability(vulnerability_id=f"CVE-2024-{i:05d}", pkg_id=f"pkg-{i}@1.0.0", pkg_name=f"pkg-{i}",
                                installed_version="1.0.0", fixed_version="1.0.1", status="fixed", severity="HIGH",
                                cvss={"nvd": CVSS(v3_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                                                  v3_score=9.8)},
                                references=(f"https://example.com/advisory/{i}",))
                  for i in range(0, n, 10))
    res = Result(target="package-lock.json", class_="lang-pkgs", type="npm", packages=pkgs, vulnerabilities=vulns)
    return Report(artifact_name="chain", artifact_type="filesystem", created_at="2026-11-26T12:00:00Z",
                  vigil_version="0.1.0", results=(res,))


def render(report: Report, fmt: str) -> str:
    buf = io.StringIO()
    get(fmt, RenderOptions())(report, buf)
    return buf.getvalue()


def work(budget: Callable[[int], Any], report: Report, fmt: str, limit: int) -> int:
    with budget(limit) as count:
        render(report, fmt)
    assert isinstance(count, WorkCount)
    return count.used


def test_cyclonedx_json_work_is_linear() -> None:
    """10x the packages costs at most 12x the calls, counted over every Python call (the quadratic part was the
    library's validation, which a count of Vigil's own calls would not see)."""
    small = work(any_call_budget, chain_report(1_000), "cyclonedx", 10_000_000)
    big = work(any_call_budget, chain_report(10_000), "cyclonedx", 12 * small)
    assert big <= 12 * small


def test_spdx_json_work_is_linear() -> None:
    """Counted over every Python call (the document is written by spdx-tools): its per-package annotation scans
    made 10x the packages cost ~100x."""
    small = work(any_call_budget, chain_report(100), "spdx-json", 50_000_000)
    big = work(any_call_budget, chain_report(1_000), "spdx-json", 12 * small)
    assert big <= 12 * small


@pytest.mark.parametrize("fmt", ["cyclonedx", "cyclonedx-xml"])
def test_no_runtime_bom_validation(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bom.validate() registers every component's dependencies by scanning them all: quadratic. build_bom gives
    every component its dependency entry, so there is nothing for it to add."""
    from cyclonedx.model.bom import Bom

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("BOM validated at run time")

    monkeypatch.setattr(Bom, "validate", refuse)
    monkeypatch.setattr(Bom, "register_dependency", refuse)
    assert render(chain_report(50), fmt)


def _edge_report() -> Report:
    """The corners of the CycloneDX mapping: an image (root properties), an OS result, a purl found in two targets
    (bom-refs qualified by file path), packages without purl, CVSS v2/v3.0/v3.1/v4.0 ratings with scheme prefixes,
    aliases, CWEs, URLs the library escapes, vulnerabilities in two targets, duplicate properties."""
    layer = LayerRef(digest="sha256:aa", diff_id="sha256:bb")
    os_pkgs = (Package(ecosystem="debian", name="libc6", version="2.36", release="9", id="libc6@2.36-9",
                       src_name="glibc", src_version="2.36", src_release="9", layer=layer, arch="amd64",
                       purl="pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12.1",
                       licenses=("LGPL-2.1-or-later", "GPL-2+ with Texinfo exception", "public-domain", "MIT",
                                 "CUSTOM License: Permission is hereby granted")),
               Package(ecosystem="debian", name="zlib1g", version="1.2.13", epoch=1, id="zlib1g@1:1.2.13",
                       purl="pkg:deb/debian/zlib1g@1.2.13?arch=amd64&distro=debian-12.1&epoch=1", layer=layer,
                       licenses=("Zlib",)))
    shared = Package(ecosystem="pypi", name="PyYAML", version="5.3.1", id="PyYAML@5.3.1",
                     purl="pkg:pypi/pyyaml@5.3.1", relationship="direct",
                     locations=(Location(start_line=3, end_line=3), Location(start_line=3, end_line=3)))
    bare = Package(ecosystem="", name="thing", version="", id="thing@", dev=True, file_path="a b/thing")
    cvss = {"nvd": CVSS(v2_vector="AV:N/AC:L/Au:N/C:P/I:P/A:P", v2_score=7.5,
                        v3_vector="CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", v3_score=9.8),
            "ghsa": CVSS(v3_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", v3_score=9.8,
                         v40_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                         v40_score=9.3),
            "redhat": CVSS(v3_score=5.0)}
    v1 = Vulnerability(vulnerability_id="CVE-2020-14343", aliases=("GHSA-8q59-q68h-6hv4", "PYSEC-2021-142"),
                       pkg_id="PyYAML@5.3.1", pkg_name="PyYAML", installed_version="5.3.1", fixed_version="5.4",
                       status="fixed", severity="CRITICAL", severity_source="nvd", cvss=cvss, title="t",
                       description="d\nmore", cwe_ids=("CWE-20", "NVD-CWE-Other"),
                       references=("https://x.example/a b", "https://x.example/[x]", "https://x.example/a b",
                                   "ftp://nope", "https://bad.example/%zz"),
                       primary_url="https://nvd.nist.gov/vuln/detail/CVE-2020-14343",
                       published_date="2021-02-09T21:15:00Z", last_modified_date="2021-07-21T11:39:23.000001Z",
                       data_sources=(DataSource(id="ghsa", name="GitHub"),))
    v2 = Vulnerability(vulnerability_id="CVE-2023-0001", pkg_id="libc6@2.36-9", pkg_name="libc6",
                       installed_version="2.36-9", status="affected", severity="LOW", published_date="bogus")
    results = (Result(target="img (debian 12.1)", class_="os-pkgs", type="debian", packages=os_pkgs,
                      vulnerabilities=(v2,)),
               Result(target="app/requirements.txt", class_="lang-pkgs", type="pip", packages=(shared, bare),
                      vulnerabilities=(v1,)),
               Result(target="other/requirements.txt", class_="lang-pkgs", type="pip", packages=(shared,),
                      vulnerabilities=(v1,)),
               Result(target="Dockerfile", class_="config", type="dockerfile"))
    md = Metadata(os=OSInfo(family="debian", name="12.1"), image_id="sha256:cc", diff_ids=("sha256:bb",),
                  repo_tags=("img:1",), repo_digests=("img@sha256:dd",), size=1234)
    return Report(artifact_name="img:1", artifact_type="container_image", created_at="2026-11-26T12:00:00Z",
                  vigil_version="0.1.0", metadata=md, results=results)


def _library_json(report: Report) -> str:
    """The CycloneDX JSON as cyclonedx-python-lib writes it (validation included): the reference."""
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_outputter(build_bom(report), OutputFormat.JSON, SchemaVersion.V1_6).output_as_string(indent=2) + "\n"


@pytest.mark.parametrize("which", ["demo", "edge", "chain"])
def test_cyclonedx_json_is_the_library_document(which: str) -> None:
    report = {"demo": lambda: msgspec.json.decode(FIXTURE.read_bytes(), type=Report),
              "edge": _edge_report, "chain": lambda: chain_report(300)}[which]()
    assert render(report, "cyclonedx") == _library_json(report)


def _library_xml(report: Report) -> str:
    """The CycloneDX XML as cyclonedx-python-lib writes it (its model and minidom): the reference."""
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    from vigil.reporters._common import map_strings, xml_safe

    bom = build_bom(map_strings(report, xml_safe))
    setattr(bom, "validate", lambda: True)  # noqa: B010 (quadratic; the XSD test validates instead)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_outputter(bom, OutputFormat.XML, SchemaVersion.V1_6).output_as_string(indent=2)


def _xml_edge_report() -> Report:
    """What only XML and SPDX must take care of: characters XML escapes (&, <, >, quotes) in attributes and text,
    control characters XML 1.0 cannot carry, non-ASCII (SPDX JSON escapes it), an empty version, licences."""
    base = _edge_report()
    odd = Package(ecosystem="npm", name='a&b<c>"d\x1b', version="", id='a&b<c>"d@', purl="pkg:npm/a%26b@1",
                  file_path="x\x01y&zé😀", relationship="direct", licenses=("MIT", "GPL-2.0+", "not (a licence"))
    weird = Vulnerability(vulnerability_id="CVE-2024-<1>", pkg_id='a&b<c>"d@', pkg_name='a&b<c>"d\x1b',
                          installed_version="1", status="affected", severity="MEDIUM", title='<script>"x"</script>\x1b',
                          description="a & b\r\n\tc")
    res = Result(target="odd/package-lock.json", class_="lang-pkgs", type="npm", packages=(odd,),
                 vulnerabilities=(weird,))
    return msgspec.structs.replace(base, results=(*base.results, res))


@pytest.mark.parametrize("which", ["demo", "edge", "xml-edge", "chain"])
def test_cyclonedx_xml_is_the_library_document(which: str) -> None:
    """The XML written directly is, byte for byte, what cyclonedx-python-lib's outputter wrote (but the trailing
    blank line it left)."""
    report = {"demo": lambda: msgspec.json.decode(FIXTURE.read_bytes(), type=Report),
              "edge": _edge_report, "xml-edge": _xml_edge_report, "chain": lambda: chain_report(300)}[which]()
    assert render(report, "cyclonedx-xml").rstrip("\n") == _library_xml(report).rstrip("\n")


@pytest.mark.parametrize("which", ["demo", "edge", "xml-edge", "chain"])
def test_spdx_json_is_the_spdx_tools_document(which: str) -> None:
    """The SPDX JSON written directly is, byte for byte, what spdx-tools' model and writer made."""
    from tests.unit.reports.spdx_reference import library_spdx_json

    report = {"demo": lambda: msgspec.json.decode(FIXTURE.read_bytes(), type=Report),
              "edge": _edge_report, "xml-edge": _xml_edge_report, "chain": lambda: chain_report(300)}[which]()
    assert render(report, "spdx-json") == library_spdx_json(report)


@pytest.mark.parametrize("which", ["demo", "edge", "xml-edge", "chain"])
def test_spdx_tag_value_is_the_spdx_tools_document(which: str) -> None:
    from tests.unit.reports.spdx_reference import library_spdx_tag_value

    report = {"demo": lambda: msgspec.json.decode(FIXTURE.read_bytes(), type=Report),
              "edge": _edge_report, "xml-edge": _xml_edge_report, "chain": lambda: chain_report(300)}[which]()
    assert render(report, "spdx") == library_spdx_tag_value(report)


def test_spdx_tag_value_work_is_linear() -> None:
    small = work(any_call_budget, chain_report(1_000), "spdx", 10_000_000)
    big = work(any_call_budget, chain_report(10_000), "spdx", 12 * small)
    assert big <= 12 * small


def test_cyclonedx_xml_work_is_linear() -> None:
    small = work(any_call_budget, chain_report(1_000), "cyclonedx-xml", 10_000_000)
    big = work(any_call_budget, chain_report(10_000), "cyclonedx-xml", 12 * small)
    assert big <= 12 * small


def test_cyclonedx_xml_writes_every_key_of_the_json_document() -> None:
    """The XML writer lists the keys it writes per element; a key the JSON document gains must be added there (or
    the XML would silently lose it)."""
    from vigil.reporters import cyclonedx_xml as x
    from vigil.reporters.cyclonedx import build_json

    doc = build_json(_xml_edge_report())
    assert set(doc) - {"$schema", "bomFormat", "specVersion", "serialNumber", "version"} <= set(x._BOM)
    assert set(doc["metadata"]) <= set(x._METADATA)
    for c in [*doc["components"], doc["metadata"]["component"]]:
        assert set(c) - {"type", "bom-ref"} <= set(x._COMPONENT)
    for v in doc["vulnerabilities"]:
        assert set(v) - {"bom-ref"} <= set(x._VULN)
        for r in v["ratings"]:
            assert set(r) <= set(x._RATING)
            assert set(r["source"]) <= set(x._SOURCE)
        assert set(v["source"]) <= set(x._SOURCE)


@pytest.mark.parametrize("purl", [
    "pkg:npm/pkg-1@1.0.0", "pkg:golang/github.com/gin-gonic/gin@v1.5.0", "pkg:maven/org.apache/commons@1.0.RELEASE",
    "pkg:npm/%40scope/name@1.0.0", "pkg:pypi/PyYAML@5.3.1", "pkg:pypi/py_yaml@5.3.1", "pkg:NPM/x@1",
    "pkg:deb/debian/zlib1g@1.2.13?epoch=1&arch=amd64", "pkg:golang/github.com/Azure/go-autorest@v14.2.0%2Bincompatible",
    "pkg:cocoapods/Pod@1.0#Sub", "pkg:npm/x@1.0.0-beta.1", "pkg:gem/rails@7.0.0", "pkg:npm/a//b@1",
    # "_" kept by most types, rewritten by some; names, namespaces and versions some types rewrite
    "pkg:cargo/ansi_term@0.11.0", "pkg:npm/a_b@1_0", "pkg:golang/github.com/a_b/c_d@v1.0.0", "pkg:gem/a_b@1.0",
    "pkg:pypi/a_b@1.0", "pkg:hackage/a_b@1", "pkg:pub/web-socket@1.0.0", "pkg:pub/web.socket@1.0.0",
    "pkg:pub/web_socket@1.0.0", "pkg:cpan/foo/bar@1", "pkg:oci/img@ABC", "pkg:huggingface/m@ABCD",
    "pkg:mlflow/model@1", "pkg:pypi/plain-name@1.0",
    # "%40" (a scope's "@") at the start of a segment, which packageurl keeps; case it does not
    "pkg:npm/%40Scope/name@1", "pkg:npm/%40scope/Name@1", "pkg:pub/%40x@1", "pkg:golang/%40x/%40y@1",
    "pkg:npm/%40scope/%40name@1.0.0", "pkg:pypi/%40a_b@1", "pkg:npm/a%40b@1",
])
def test_canonical_purl_is_packageurls(purl: str) -> None:
    from packageurl import PackageURL

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert canonical_purl(purl) == PackageURL.from_string(purl).to_string()


def test_canonical_purl_is_packageurls_on_every_purl_of_the_corpus() -> None:
    """Every purl of the shared lockfile corpus (all the ecosystems Vigil reads) comes out as packageurl writes it."""
    from packageurl import PackageURL
    from tests.conftest import CORPUS

    from vigil.pipeline.scan import analyze_only, fs_source
    from vigil.settings import ScanOptions

    opts = ScanOptions(target=CORPUS / "lockfiles", db_path=Path("unused.db"), scanners=("license",), parallel=1)
    _, _, blobs = analyze_only(fs_source(opts), opts)
    purls = sorted({p.purl for b in blobs for a in b.applications for p in a.packages if p.purl})
    assert len(purls) > 5000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [p for p in purls if canonical_purl(p) != PackageURL.from_string(p).to_string()] == []


def test_indented_json_is_json_dumps() -> None:
    """The fast indenting is byte-identical to json.dumps(indent=2), lone surrogates (undecodable file names)
    included, which take the slow path."""
    import json

    from vigil.reporters._common import indented_json

    for obj in ({"a": "x\x1b\u2028é😀\n\"", "e": [], "f": {}, "n": [1.0, 1e-07, 9.8, 10, -0.0], "g": [{}]},
                {"path": "bad\udcff name", "list": [{"k": "\ud800"}]}, [], "s", 1.5):
        assert indented_json(obj) == json.dumps(obj, indent=2)


@pytest.mark.parametrize("fmt", ["cyclonedx", "cyclonedx-xml"])
def test_two_copies_of_one_package_are_two_components(fmt: str) -> None:
    """An image holding the same jar twice (a fat jar's copy and a lib/ copy) lists both, each with its own
    reproducible bom-ref and dependency entry (one used to be dropped, or named with a random ref)."""
    import re

    jars = tuple(Package(ecosystem="jar", name="org.yaml:snakeyaml", version="1.33", id="org.yaml:snakeyaml@1.33",
                         purl="pkg:maven/org.yaml/snakeyaml@1.33", file_path=path)
                 for path in ("opt/app/app.jar/BOOT-INF/lib/snakeyaml-1.33.jar", "opt/app/lib/snakeyaml-1.33.jar"))
    report = Report(artifact_name="img", artifact_type="container_image", created_at="2026-11-26T12:00:00Z",
                    vigil_version="0.1.0", results=(Result(target="Java", class_="lang-pkgs", type="jar",
                                                           packages=jars),))
    out = render(report, fmt)
    assert out == render(report, fmt)
    refs = sorted(set(re.findall(r"pkg:maven/org\.yaml/snakeyaml@1\.33\?file_path=[^\"<]+", out)))
    assert refs == ["pkg:maven/org.yaml/snakeyaml@1.33?file_path=opt%2Fapp%2Fapp.jar%2FBOOT-INF%2Flib%2Fsnakeyaml-1.33.jar",
                    "pkg:maven/org.yaml/snakeyaml@1.33?file_path=opt%2Fapp%2Flib%2Fsnakeyaml-1.33.jar"]
    assert "BomRef." not in out


def test_ascii_indented_json_is_json_dumps() -> None:
    """The fast ensure_ascii writer (SPDX JSON) is byte-identical to json.dumps(indent=4): BMP and astral
    characters escaped (surrogate pairs), control characters, quotes, lone surrogates (the slow path)."""
    import json

    from vigil.reporters._common import ascii_indented_json

    for obj in ({"a": "x\x1b\u2028é😀\n\"\\/", "e": [], "f": {}, "n": [10, -3, True, False, None],
                 "g": [{}], "k\u00e9y": "\u0000\u007f\u0080\uffff\U0010ffff"},
                {"path": "bad\udcff name", "list": [{"k": "\ud800"}]}, [], "s", 15):
        assert ascii_indented_json(obj, 4) == json.dumps(obj, indent=4)


def test_cyclonedx_licenses_and_full_os_versions() -> None:
    """Licenses as Trivy writes them (license.id for an SPDX ID, license.name otherwise); an OS package's
    version is the one dpkg compares, epoch and revision included."""
    import json

    doc = json.loads(render(_edge_report(), "cyclonedx"))
    by_name = {c["name"]: c for c in doc["components"] if c["type"] == "library"}
    assert by_name["libc6"]["licenses"] == [
        {"license": {"id": "LGPL-2.1-or-later"}}, {"license": {"id": "MIT"}},
        {"license": {"name": "CUSTOM License: Permission is hereby granted"}},
        {"license": {"name": "GPL-2+ with Texinfo exception"}}, {"license": {"name": "public-domain"}}]
    assert (by_name["libc6"]["version"], by_name["zlib1g"]["version"]) == ("2.36-9", "1:1.2.13")
    assert "licenses" not in by_name["PyYAML"]


def test_cyclonedx_spdx_ids_are_the_librarys() -> None:
    """The SPDX IDs read from cyclonedx-python-lib's schema file are the ones its is_supported_id knows (its
    module, imported here, builds license-expression's index: the reporter no longer imports it)."""
    from cyclonedx import spdx

    from vigil.reporters.cyclonedx import spdx_ids

    ids = spdx_ids()
    assert len(ids) > 500 and "MIT" in ids and "Apache-2.0" in ids
    assert ids == vars(spdx)["__IDS"]
    assert all(spdx.is_supported_id(i) for i in ids)
    assert not any(i in ids for i in ("mit", "GPL-2+", "Apache 2.0", "MIT OR Apache-2.0", ""))


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 8192])
def test_ascii_escaping_by_stretches_equals_json_dumps(step: int) -> None:
    """Non-ASCII text is escaped stretch by stretch: characters of 2, 3 and 4 UTF-8 bytes (a surrogate pair),
    runs of them and lone ones, at the start, the end and across every stretch boundary, as json.dumps escapes
    them."""
    import json

    from vigil.reporters._common import ascii_escaped

    words = ["", "a", "é", "日本", "𝄞", "aé", "é𝄞a", "\u2028", "ascii only " * 3, "ü" * 9]
    for i in range(len(words)):
        doc = [words[i:] + words[:i], {"k" + w: w for w in words[i:]}]
        data = json.dumps(doc, ensure_ascii=False).encode()
        assert ascii_escaped(data, step) == json.dumps(doc).encode()


def test_package_properties_are_the_sorted_distinct_pairs() -> None:
    """A package's properties are built in their sorted order; they equal the distinct (name, value) pairs sorted,
    on every package of the corpus and on packages with every optional property and repeated locations."""
    from tests.conftest import CORPUS

    from vigil.inventory.records import LayerRef, Location
    from vigil.pipeline.scan import analyze_only, fs_source
    from vigil.reporters.cyclonedx import _package_properties
    from vigil.settings import ScanOptions

    def pairs(res: Any, p: Any) -> list[dict[str, str]]:
        props = [("vigil:PkgID", p.id or f"{p.name}@{p.full_version}"), ("vigil:Target", res.target),
                 ("vigil:Type", res.type), ("vigil:Relationship", p.relationship)]
        props += [("vigil:FilePath", p.file_path)] if p.file_path else []
        props += [("vigil:Dev", "true")] if p.dev else []
        props += [("vigil:SrcName", p.src_name), ("vigil:SrcVersion", p.src_full_version)] if p.src_name else []
        if p.layer is not None:
            props += [("vigil:LayerDigest", p.layer.digest), ("vigil:LayerDiffID", p.layer.diff_id)]
        props += [("vigil:Location", f"{loc.start_line}-{loc.end_line}") for loc in p.locations]
        return [{"name": n, "value": v} for n, v in sorted(set(props))]

    opts = ScanOptions(target=CORPUS / "lockfiles", db_path=Path("unused.db"), scanners=("license",), parallel=1)
    _, _, blobs = analyze_only(fs_source(opts), opts)
    apps = [a for b in blobs for a in b.applications]
    assert sum(len(a.packages) for a in apps) > 5000
    res = Result(target="t", class_="lang-pkgs", type="npm")
    for a in apps:
        for p in a.packages:
            assert _package_properties(res, p) == pairs(res, p)
    p = apps[0].packages[0]
    full = msgspec.structs.replace(
        p, dev=True, file_path="a/b", src_name="src", src_version="1", layer=LayerRef(digest="sha256:1", diff_id="d"),
        locations=tuple(Location(start_line=s, end_line=e) for s, e in [(9, 9), (10, 12), (9, 9), (2, 3)]))
    assert _package_properties(res, full) == pairs(res, full)
    assert [x["value"] for x in _package_properties(res, full) if x["name"] == "vigil:Location"] == \
        ["10-12", "2-3", "9-9"]
