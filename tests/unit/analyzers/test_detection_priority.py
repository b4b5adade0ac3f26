"""--detection-priority comprehensive: the readings Trivy's comprehensive mode makes (pkg/dependency/parser/python/pip,
golang/mod and dart/pub with useMinVersion), and the precise default that makes none of them."""

from __future__ import annotations

from vigil.analyzers.lang.go_mod import parse_go_mod
from vigil.analyzers.lang.pip_requirements import parse_requirements
from vigil.analyzers.lang.pubspec_lock import parse_pubspec_lock
from vigil.analyzers.registry import analyzers_of
from vigil.pipeline.analyze import with_detection_priority

REQS = b"""\
flask==2.0.1
requests>=2.20.0
django~=3.2.0
urllib3==1.26.*
six<2
numpy>=1.20,<2
jinja2 >= 2.10, ==3.0.0
toolz~=0.11,>=0.10
"""


def _pkgs(min_version: bool) -> set[tuple[str, str]]:
    app, _ = parse_requirements(REQS, "requirements.txt", min_version=min_version)
    return {(p.name, p.version) for p in app.packages}


def test_pip_lowest_allowed_version() -> None:
    assert _pkgs(False) == {("flask", "2.0.1"), ("jinja2", "3.0.0")}
    assert _pkgs(True) == {("flask", "2.0.1"), ("jinja2", "3.0.0"), ("requests", "2.20.0"), ("django", "3.2.0"),
                           ("urllib3", "1.26.0"), ("numpy", "1.20"), ("toolz", "0.11")}


GO_MOD = b"module example.com/m\n\ngo %s\n\nrequire github.com/pkg/errors v0.9.1\n"


def _stdlib(go: str, min_version: bool) -> str | None:
    app = parse_go_mod(GO_MOD % go.encode(), "go.mod", min_version=min_version)
    return next((p.version for p in app.packages if p.name == "stdlib"), None)


def test_go_line_gives_stdlib_only_when_comprehensive() -> None:
    assert _stdlib("1.22", False) is None
    assert _stdlib("1.22", True) == "v1.22.0"
    assert _stdlib("1.22.3", True) == "v1.22.3"
    assert _stdlib("1.20.3", True) is None  # before 1.21 the go line names no toolchain
    tc = parse_go_mod(b"module m\n\ngo 1.21.4\n\ntoolchain go1.22.5\n", "go.mod", min_version=True)
    assert [p.version for p in tc.packages if p.name == "stdlib"] == ["v1.22.5"]  # the toolchain line wins


PUB = b"""\
packages:
  flutter:
    dependency: "direct main"
    description: flutter
    source: sdk
    version: "0.0.0"
  http:
    dependency: "direct main"
    description: {name: http, url: "https://pub.dev"}
    source: hosted
    version: "0.13.4"
  meta_sdk:
    dependency: transitive
    description: dart
    source: sdk
    version: "0.0.0"
sdks:
  dart: "<3.0.0"
  flutter: "^3.10.0"
"""


def test_pub_sdk_packages_at_the_sdk_minimum() -> None:
    plain = {(p.name, p.version) for p in parse_pubspec_lock(PUB, "pubspec.lock").packages}
    comp = {(p.name, p.version) for p in parse_pubspec_lock(PUB, "pubspec.lock", min_version=True).packages}
    assert plain == {("http", "0.13.4")}
    assert comp == {("http", "0.13.4"), ("flutter", "3.10.0")}  # dart's constraint has no lower bound


def test_only_comprehensive_swaps_analyzers_and_cache_names_differ() -> None:
    base = analyzers_of(("lockfile",))
    assert with_detection_priority(base, "precise") == base
    comp = with_detection_priority(base, "comprehensive")
    changed = {a.name for a, b in zip(base, comp, strict=True) if a is not b}
    assert changed == {"pip", "gomod", "pubspec-lock"}
    assert all(a.variant == "comprehensive" for a in comp if a.name in changed)
    from vigil.analysis.dispatch import AnalyzerSet

    plain, wide = AnalyzerSet(analyzers=base).cache_names(), AnalyzerSet(analyzers=comp).cache_names()
    assert set(plain) ^ set(wide) == {"pip/1", "pip/1+comprehensive", "gomod/2", "gomod/2+comprehensive",
                                      "pubspec-lock/1", "pubspec-lock/1+comprehensive"}
