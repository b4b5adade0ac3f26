"""Java archives: the real commons-text 1.10.0 jar from Debian (RECIPE.md) and archives derived from it in memory:
a 1.9 jar (pom.properties rewritten), nested WAR/fat jars, MANIFEST-only and name-only jars, zip bombs, zip slip."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang import jar

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "installed" / "jar" / "commons-text-1.10.0.jar"
POM = "META-INF/maven/org.apache.commons/commons-text/pom.properties"


def zip_bytes(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def commons_text(version: str) -> bytes:
    """The real jar with its pom.properties saying `version` (how the vulnerable 1.9 jar is made)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(REAL.read_bytes())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == POM:
                data = data.replace(b"version=1.10.0", f"version={version}".encode())
            dst.writestr(info, data)
    return out.getvalue()


def test_real_jar_golden(golden) -> None:  # type: ignore[no-untyped-def]
    app = jar.parse_jar(REAL.read_bytes(), "usr/share/java/commons-text-1.10.0.jar")
    golden.check("analyzers/jar/commons_text_debian", app)
    (p,) = app.packages
    assert (p.name, p.version) == ("org.apache.commons:commons-text", "1.10.0")
    assert p.purl == "pkg:maven/org.apache.commons/commons-text@1.10.0"


def test_nested_war_and_depth(golden) -> None:  # type: ignore[no-untyped-def]
    war = zip_bytes({"WEB-INF/lib/commons-text-1.9.jar": commons_text("1.9"),
                     "WEB-INF/lib/evil/../../../../tmp/x.txt": b"zip slip name: never written",
                     "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nImplementation-Title: shop\r\n"
                                             b"Implementation-Version: 2.0\r\nImplementation-Vendor-Id: com.ex\r\n"})
    ear = zip_bytes({"lib/shop.war": war})
    app = jar.parse_jar(ear, "opt/app.ear")
    golden.check("analyzers/jar/nested_ear", app)
    got = {(p.name, p.version, p.file_path) for p in app.packages}
    assert ("com.ex:shop", "2.0", "opt/app.ear/lib/shop.war") in got
    assert ("org.apache.commons:commons-text", "1.9",
            "opt/app.ear/lib/shop.war/WEB-INF/lib/commons-text-1.9.jar") in got
    assert not Path("/tmp/x.txt").exists() or Path("/tmp/x.txt").read_bytes() != b"zip slip name: never written"
    deep = zip_bytes({"a-1.0.jar": b""})
    for i in range(jar.MAX_DEPTH + 2):
        deep = zip_bytes({f"l{i}-1.{i}.jar": deep})
    names = {p.name for p in jar.parse_jar(deep, "top.jar").packages}
    # "top.jar" has no version; MAX_DEPTH nested levels are read, deeper ones are not
    assert names == {f"l{i}" for i in range(jar.MAX_DEPTH + 1, 1, -1)}


def test_manifest_then_filename() -> None:
    mf = b"Manifest-Version: 1.0\nBundle-SymbolicName: org.example.widget;singleton:=true\nBundle-Version: 3.1.\n 4\n"
    (p,) = jar.parse_jar(zip_bytes({"META-INF/MANIFEST.MF": mf}), "w.jar").packages
    assert (p.name, p.version) == ("org.example:widget", "3.1.4")
    (p,) = jar.parse_jar(zip_bytes({"x.class": b"\xca\xfe"}), "lib/guava-31.1-jre.jar").packages
    assert (p.name, p.version) == ("guava", "31.1-jre")
    assert jar.parse_jar(zip_bytes({"x.class": b""}), "lib/noversion.jar").packages == ()


def test_zip_bombs(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ParseError, match="limit"):
        jar.parse_jar(zip_bytes({POM: b"#" * (jar.MAX_META + 1)}), "bomb.jar")
    monkeypatch.setattr(jar, "MAX_TOTAL", 100_000)
    nested = {f"lib/n{i}-1.0.jar": zip_bytes({"pad": b"\x00" * 60_000}, zipfile.ZIP_STORED) for i in range(3)}
    with pytest.raises(ParseError, match="zip bomb"):
        jar.parse_jar(zip_bytes(nested), "outer.jar")


def test_not_a_zip() -> None:
    with pytest.raises(ParseError):
        jar.parse_jar(b"PK\x03\x04 truncated", "x.jar")
    with pytest.raises(ParseError):
        jar.parse_jar(REAL.read_bytes()[: len(REAL.read_bytes()) // 2], "x.jar")


TRIVY_JARS = Path(__file__).resolve().parents[2] / "data" / "trivy" / "fixtures" / "installed" / "opt" / "java"


@pytest.mark.parametrize(("jar_name", "want"), [
    # the expected lists of Trivy's jar parser test (pkg/dependency/parser/java/jar/parse_test.go, Apache-2.0)
    ("nested.jar", {("test:nested", "0.0.1"), ("test:nested2", "0.0.2"), ("test:nested3", "0.0.3")}),
    ("test.jar", {("org.springframework:Spring Framework", "2.5.6.SEC03")}),  # MANIFEST.MF only ("offline")
    ("hadoop-shaded-guava-1.1.0-SNAPSHOT.jar", {
        ("com.google.guava:failureaccess", "1.0.1"), ("com.google.guava:guava", "29.0-jre"),
        ("com.google.guava:listenablefuture", "9999.0-empty-to-avoid-conflict-with-guava"),
        ("com.google.j2objc:j2objc-annotations", "1.3"),
        ("org.apache.hadoop.thirdparty:hadoop-shaded-guava", "1.1.0-SNAPSHOT")}),
    ("multi-license-1.0.0.jar", {("com.example:multi-license", "1.0.0")}),
    ("license-from-jenkins-plugin.jar", {("com.example:jenkins-plugin", "1.0.0")}),
])
def test_trivy_jar_fixtures(jar_name: str, want: set[tuple[str, str]]) -> None:
    """pom.properties outside META-INF/maven/ (nested.jar keeps its own at META-INF/nested/) and a jar that has
    only a MANIFEST.MF are read as Trivy reads them."""
    app = jar.parse_jar((TRIVY_JARS / jar_name).read_bytes(), f"opt/java/{jar_name}")
    assert {(p.name, p.version) for p in app.packages} == want
