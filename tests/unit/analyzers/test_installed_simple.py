"""Installed-package analyzers on real (and documented hand-written) fixtures: tests/fixtures/installed/RECIPE.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang import composer_vendor, conda_meta, gemspec, node_pkg, python_pkg
from vigil.analyzers.registry import AnalysisInput, run_guarded

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "installed"
METADATA = "python/site-packages/urllib3-1.26.4.dist-info/METADATA"


def test_python_dist_info_golden(golden) -> None:  # type: ignore[no-untyped-def]
    app = python_pkg.parse_metadata((FIX / METADATA).read_bytes(), METADATA)
    golden.check("analyzers/python_pkg/urllib3_dist_info", app)
    (p,) = app.packages
    assert (p.name, p.version, p.licenses, p.purl) == ("urllib3", "1.26.4", ("MIT",), "pkg:pypi/urllib3@1.26.4")


@pytest.mark.parametrize(("headers", "expected"), [
    ("License-Expression: MIT OR Apache-2.0\nLicense: BSD\n", ("MIT OR Apache-2.0",)),
    ("License: UNKNOWN\nClassifier: License :: OSI Approved :: BSD License\n", ("BSD License",)),
    ("License: " + "x" * 150 + "\nClassifier: License :: OSI Approved :: Apache Software License\n",
     ("Apache Software License",)),
    ("Classifier: License :: Public Domain\n", ("Public Domain",)),
    ("", ()),
])
def test_python_license_precedence(headers: str, expected: tuple[str, ...]) -> None:
    data = f"Metadata-Version: 2.4\nName: demo_pkg\nVersion: 1.0\n{headers}\nlong description\nLicense: no\n"
    (p,) = python_pkg.parse_metadata(data.encode(), "x.egg-info/PKG-INFO").packages
    assert p.licenses == expected and p.purl == "pkg:pypi/demo-pkg@1.0"


def test_python_matches_only_metadata_paths() -> None:
    a = python_pkg.ANALYZER
    assert a.kind == "installed"
    assert a.matches("usr/lib/python3/site-packages/x-1.dist-info/METADATA")
    assert a.matches("x-1.egg-info/PKG-INFO") and a.matches("lib/foo.egg/EGG-INFO/PKG-INFO")
    assert not a.matches("METADATA") and not a.matches("docs/PKG-INFO")
    with pytest.raises(ParseError):
        python_pkg.parse_metadata(b"Metadata-Version: 2.1\nSummary: no name\n")


def test_node_pkg_golden(golden) -> None:  # type: ignore[no-untyped-def]
    for rel, short in [("node/node_modules/util-deprecate/package.json", "util_deprecate"),
                       ("node/node_modules/@npmcli/fs/package.json", "npmcli_fs")]:
        app = node_pkg.parse_package_json((FIX / rel).read_bytes(), rel)
        golden.check(f"analyzers/node_pkg/{short}", app)
    a = node_pkg.ANALYZER
    assert a.matches("app/node_modules/x/package.json") and a.matches("node_modules/@s/x/package.json")
    assert not a.matches("package.json") and not a.matches("app/package.json")


def test_node_pkg_old_license_shapes_and_no_version() -> None:
    app = node_pkg.parse_package_json(b'{"name":"a","version":"1.0.0","licenses":[{"type":"MIT"},{"type":"GPL-2.0"}]}')
    assert app.packages[0].licenses == ("MIT", "GPL-2.0")
    app = node_pkg.parse_package_json(b'{"name":"a","version":"1.0.0","license":{"type":"ISC"}}')
    assert app.packages[0].licenses == ("ISC",)
    assert node_pkg.parse_package_json(b'{"name":"fixture-without-version"}').packages == ()
    assert node_pkg.parse_package_json(b"[1,2]").packages == ()


def test_gemspec_golden(golden) -> None:  # type: ignore[no-untyped-def]
    rel = "gem/specifications/rack-2.2.3.gemspec"
    app = gemspec.parse_gemspec((FIX / rel).read_bytes(), rel)
    golden.check("analyzers/gemspec/rack", app)
    (p,) = app.packages
    assert (p.name, p.version, p.licenses) == ("rack", "2.2.3", ("MIT",))
    spec = b'Gem::Specification.new do |spec|\n  spec.name = "x"\n  spec.version = Gem::Version.new("1.0")\n' \
           b'  spec.license = "Apache-2.0"\nend\n'
    (p,) = gemspec.parse_gemspec(spec).packages
    assert (p.version, p.licenses) == ("1.0", ("Apache-2.0",))
    with pytest.raises(ParseError):
        gemspec.parse_gemspec(b"# nothing here\n")


def test_composer_vendor_golden(golden) -> None:  # type: ignore[no-untyped-def]
    rel = "composer/vendor/composer/installed.json"
    app = composer_vendor.parse_installed_json((FIX / rel).read_bytes(), rel)
    golden.check("analyzers/composer_vendor/installed_v2", app)
    by = {p.name: p for p in app.packages}
    assert by["phpunit/phpunit"].dev and not by["guzzlehttp/psr7"].dev
    assert by["guzzlehttp/psr7"].depends_on == ("psr/http-message@1.0.1",)
    v1 = composer_vendor.parse_installed_json(b'[{"name":"a/b","version":"v1.0.0","license":"MIT"}]')
    assert v1.packages[0].licenses == ("MIT",) and v1.packages[0].purl == "pkg:composer/a/b@v1.0.0"
    with pytest.raises(ParseError):
        composer_vendor.parse_installed_json(b'"x"')


def test_conda_meta_golden(golden) -> None:  # type: ignore[no-untyped-def]
    rel = "conda/conda-meta/openssl-1.1.1q-h7f8727e_0.json"
    app = conda_meta.parse_conda_meta((FIX / rel).read_bytes(), rel)
    golden.check("analyzers/conda_meta/openssl", app)
    assert app.packages[0].purl == "pkg:conda/openssl@1.1.1q"
    res = run_guarded(conda_meta.ANALYZER, AnalysisInput(path="conda-meta/x.json", data=b"{}"))
    assert res.unknowns and "no name" in res.unknowns[0].reason
