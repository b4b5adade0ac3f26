import pytest

from vigil.inventory.purl import make_purl


@pytest.mark.parametrize(
    ("eco", "name", "version", "purl"),
    [
        ("pypi", "PyYAML", "5.3.1", "pkg:pypi/pyyaml@5.3.1"),
        ("npm", "@babel/core", "7.0.0", "pkg:npm/%40babel/core@7.0.0"),
        ("npm", "lodash", "4.17.15", "pkg:npm/lodash@4.17.15"),
        ("go", "golang.org/x/net", "v0.7.0", "pkg:golang/golang.org/x/net@v0.7.0"),
        ("maven", "org.apache.commons:commons-text", "1.9", "pkg:maven/org.apache.commons/commons-text@1.9"),
        ("composer", "symfony/http-kernel", "v5.4.0", "pkg:composer/symfony/http-kernel@v5.4.0"),
        ("swift", "github.com/apple/swift-nio", "2.40.0", "pkg:swift/github.com/apple/swift-nio@2.40.0"),
        ("cocoapods", "GoogleUtilities/NSData+zlib", "7.5.2", "pkg:cocoapods/GoogleUtilities@7.5.2#NSData%2Bzlib"),
        ("conan", "openssl", "3.0.5", "pkg:conan/openssl@3.0.5"),
        ("nosuch", "x", "1", ""),
    ],
)
def test_make_purl(eco: str, name: str, version: str, purl: str) -> None:
    assert make_purl(eco, name, version) == purl
