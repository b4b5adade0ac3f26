"""pom.xml: goldens on real POMs from ../shared/data/corpus/lockfiles (with their in-tree parents supplied the way
the source supplies them: through related()), a hand-made reactor with an in-tree BOM, and the hardening."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.pom_xml import ANALYZER, parse_pom, related
from vigil.analyzers.registry import MAX_RELATED_FILES, AnalysisInput, run_guarded
from vigil.sources.fs import read_related

POM_BOM = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles" / "pom-bom"

CASES = {
    # remote parent (spring-boot-starter-parent): the managed version of spring-boot-starter-web is unknown offline
    "text4shell": ("karthikuj__cve-2022-42889-text4shell-docker", "pom.xml"),
    # ${project.version} and ${project.parent.version} beside same-named <properties>; parent at relativePath ./parent
    "parent_child_properties": ("aquasecurity__trivy/pkg/dependency/parser/java/pom/testdata/parent-child-properties", "pom.xml"),
    # parent at the default ../pom.xml; the parent's BOM import is interpolated with the child's bom.version (remote)
    "inherit_props": ("aquasecurity__trivy/pkg/dependency/parser/java/pom/testdata/inherit-props", "base/pom.xml"),
    # dependencies inherited from the parent (no line numbers: declared in another file)
    "parent_dependencies": ("aquasecurity__trivy/pkg/dependency/parser/java/pom/testdata/parent-dependencies", "child/pom.xml"),
    # version from the parent's dependencyManagement
    "parent_dependency_management": ("aquasecurity__trivy/pkg/dependency/parser/java/pom/testdata/parent-dependency-management", "child/pom.xml"),
    # three-level parent chain with the version inherited from the parent
    "project_version_from_parent": ("aquasecurity__trivy/pkg/dependency/parser/java/pom/testdata/project-version-from-parent", "child/pom.xml"),
    # many ${…} properties, remote parent
    "struts2_parent": ("dependabot__dependabot-core/maven/spec/fixtures/poms/struts2-parent-2.5.10", "pom.xml"),
    # log4j-core 2.14.1 declared with a property
    "log4j_shell_poc": ("kozmer__log4j-shell-poc/vulnerable-application", "pom.xml"),
}


def scan(root: Path, rel: str):  # type: ignore[no-untyped-def]
    """Analyse root/rel exactly as  would: related POMs read by the source inside the root."""
    data = (root / rel).read_bytes()
    files = read_related(root, rel, data, related, 10_000_000, MAX_RELATED_FILES)
    return parse_pom(data, rel, files)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    root, rel = CASES[case]
    golden.check(f"analyzers/pom_xml/{case}", scan(lockfiles_dir / root, rel))


def test_golden_in_tree_bom(golden) -> None:  # type: ignore[no-untyped-def]
    golden.check("analyzers/pom_xml/in_tree_bom", scan(POM_BOM, "app/pom.xml"))


def _versions(app) -> dict[str, tuple[str, bool, str]]:  # type: ignore[no-untyped-def]
    return {p.name: (p.version, p.dev, p.relationship) for p in app.packages}


def test_hand_checked_in_tree_bom() -> None:
    assert _versions(scan(POM_BOM, "app/pom.xml")) == {
        "com.example:app": ("1.0.0", False, "root"),  # groupId and version inherited from the parent
        "org.apache.commons:commons-text": ("1.9", False, "direct"),  # BOM imported by the parent, BOM's property
        "com.fasterxml.jackson.core:jackson-databind": ("2.12.1", False, "direct"),  # parent's property
        "org.slf4j:slf4j-api": ("", False, "direct"),  # undefined property: unknown, never guessed
        "com.google.guava:guava": ("", False, "direct"),  # a version range is not a version
        "junit:junit": ("4.13.1", True, "direct"),  # explicit management beats the BOM's 4.12; scope test → dev
        "com.example:lib": ("1.0.0", False, "direct"),  # an in-tree module …
        "org.yaml:snakeyaml": ("1.30", False, "indirect"),  # … whose compile dependency is transitive
        # (lib's optional commons-io and its test-scoped junit are not passed on)
    }
    app = scan(POM_BOM, "app/pom.xml")
    lib = next(p for p in app.packages if p.name == "com.example:lib")
    assert lib.depends_on == ("org.yaml:snakeyaml@1.30",)
    assert "com.example:lib@1.0.0" in app.packages[0].depends_on and app.packages[0].relationship == "root"
    # without the tree (a lone file) nothing is inherited and those versions are unknown
    lone = parse_pom((POM_BOM / "app" / "pom.xml").read_bytes(), "app/pom.xml")
    assert _versions(lone)["org.apache.commons:commons-text"] == ("", False, "direct")
    assert "com.example:app" in _versions(lone) and _versions(lone)["com.example:app"][0] == "1.0.0"


def test_hand_checked_text4shell(lockfiles_dir: Path) -> None:
    root, rel = CASES["text4shell"]
    app = scan(lockfiles_dir / root, rel)
    assert _versions(app) == {
        "com.levo.dockerexample:docker-java-app-example": ("1.0-SNAPSHOT", False, "root"),
        "org.apache.commons:commons-text": ("1.8", False, "direct"),
        "org.springframework.boot:spring-boot-starter-web": ("", False, "direct"),  # managed by the remote parent
    }
    ct = next(p for p in app.packages if p.name.endswith("commons-text"))
    assert (ct.locations[0].start_line, ct.locations[0].end_line) == (29, 33)
    assert ct.purl == "pkg:maven/org.apache.commons/commons-text@1.8"


def test_hand_checked_parent_child_properties(lockfiles_dir: Path) -> None:
    root, rel = CASES["parent_child_properties"]
    # the model's own values win over same-named <properties> (Maven): project.version is 1.2.3, not 2.3.4
    assert _versions(scan(lockfiles_dir / root, rel)) == {
        "com.example:child": ("1.2.3", False, "root"),
        "org.example:example-dependency": ("1.2.3", False, "direct"),
        "org.example:example-api3": ("4.0.3", False, "direct"),
    }


def test_hand_checked_parent_chain(lockfiles_dir: Path) -> None:
    root, rel = CASES["parent_dependency_management"]
    assert _versions(scan(lockfiles_dir / root, rel))["org.example:example-api"] == ("1.7.30", False, "direct")
    root, rel = CASES["parent_dependencies"]
    app = scan(lockfiles_dir / root, rel)
    api = next(p for p in app.packages if p.name == "org.example:example-api")
    assert api.version == "1.7.30" and api.locations == ()  # inherited: declared in the parent's file


def test_related_requests() -> None:
    data = (POM_BOM / "pom.xml").read_bytes()
    assert related("pom.xml", data) == ["bom/pom.xml", "lib/pom.xml", "app/pom.xml"]
    assert related("app/pom.xml", (POM_BOM / "app" / "pom.xml").read_bytes()) == ["pom.xml"]
    # a parent outside the scan root is not requested; an empty relativePath means "repository only"
    outside = b"<project><parent><groupId>g</groupId><artifactId>p</artifactId><version>1</version></parent></project>"
    assert related("pom.xml", outside) == []
    empty = outside.replace(b"</parent>", b"<relativePath/></parent>")
    assert related("a/pom.xml", empty) == []
    assert related("a/pom.xml", outside.replace(b"</parent>", b"<relativePath>../p</relativePath></parent>")) == ["p/pom.xml"]
    assert related("x", b"not xml") == []


def test_parent_cycle_and_bom_cycle() -> None:
    a = b"""<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version>
      <parent><groupId>g</groupId><artifactId>b</artifactId><version>1</version><relativePath>b/pom.xml</relativePath></parent>
      <dependencyManagement><dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId><version>1</version>
      <type>pom</type><scope>import</scope></dependency></dependencies></dependencyManagement>
      <dependencies><dependency><groupId>x</groupId><artifactId>y</artifactId></dependency></dependencies></project>"""
    b = b"""<project><groupId>g</groupId><artifactId>b</artifactId><version>1</version>
      <parent><groupId>g</groupId><artifactId>a</artifactId><version>1</version><relativePath>../pom.xml</relativePath></parent>
      </project>"""
    app = parse_pom(a, "pom.xml", {"b/pom.xml": b})
    assert _versions(app) == {"g:a": ("1", False, "root"), "x:y": ("", False, "direct")}


def test_property_loops_and_ranges() -> None:
    data = b"""<project><groupId>g</groupId><artifactId>a</artifactId><version>${v}</version>
      <properties><v>${w}</v><w>${v}</w><ok>2.0</ok></properties>
      <dependencies>
        <dependency><groupId>x</groupId><artifactId>loop</artifactId><version>${v}</version></dependency>
        <dependency><groupId>x</groupId><artifactId>ok</artifactId><version>${ok}</version></dependency>
        <dependency><groupId>x</groupId><artifactId>range</artifactId><version>(,1.0]</version></dependency>
        <dependency><groupId>x</groupId><artifactId>imp</artifactId><version>1</version><scope>import</scope></dependency>
      </dependencies></project>"""
    assert _versions(parse_pom(data)) == {
        "g:a": ("", False, "root"),
        "x:loop": ("", False, "direct"),
        "x:ok": ("2.0", False, "direct"),
        "x:range": ("", False, "direct"),
    }


def test_hostile_and_invalid() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><project>&b;</project>'
    deep = b"<project>" + b"<a>" * 1000 + b"</a>" * 1000 + b"</project>"
    for bad in (bomb, deep, b"<project>", b"<notproject/>", b"", b"\x00pom"):
        with pytest.raises(ParseError):
            parse_pom(bad)


@pytest.mark.parametrize("doctype", [
    b"<!DOCTYPE project>",
    b'<!DOCTYPE project PUBLIC "-//APACHE//DTD Maven Project 4.0//EN" "http://maven.apache.org/maven-v4_0_0.dtd">',
    b"<!DOCTYPE project [<!ELEMENT project ANY>]>",
])
def test_doctype_without_entities_is_read(doctype: bytes) -> None:
    """A DOCTYPE declares no entity: read (as Trivy reads it); entity declarations stay refused (above), and no
    external DTD is fetched."""
    pom = (b'<?xml version="1.0"?>' + doctype + b"<project><groupId>g</groupId><artifactId>a</artifactId>"
           b"<version>1</version><dependencies><dependency><groupId>x</groupId><artifactId>y</artifactId>"
           b"<version>2.0</version></dependency></dependencies></project>")
    assert [(p.name, p.version) for p in parse_pom(pom).packages] == [("g:a", "1"), ("x:y", "2.0")]
    # an external DTD is not read: a reference to an entity it might define is skipped, never resolved
    xxe = (b'<?xml version="1.0"?><!DOCTYPE p SYSTEM "file:///etc/passwd"><project><groupId>g</groupId>'
           b"<artifactId>a&ext;</artifactId><version>1</version></project>")
    assert [(p.name, p.version) for p in parse_pom(xxe).packages] == [("g:a", "1")]


def test_skips_integration_test_poms() -> None:
    data = (POM_BOM / "app" / "pom.xml").read_bytes()
    for path in ("src/it/case/pom.xml", "plugin/target/it/x/pom.xml"):
        assert run_guarded(ANALYZER, AnalysisInput(path=path, data=data)) .applications == ()
    (app,) = run_guarded(ANALYZER, AnalysisInput(path="app/pom.xml", data=data)).applications
    assert app.type == "pom"
