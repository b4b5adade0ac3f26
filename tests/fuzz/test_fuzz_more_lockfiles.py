"""Fuzzing the issue-3 lockfile parsers: NuGet (packages.lock.json, packages.config, *.deps.json,
Directory.Packages.props), pom.xml (with related POMs), gradle.lockfile, build.sbt.lock, mix.lock, pubspec.lock, Package.resolved, Podfile.lock, conan.lock, pdm.lock,
pylock.toml, Julia Manifest.toml and conda environment.yml.

Contract (analyzers/errors.py): on any input a parser returns normally or raises ParseError; pom_xml.related() never
raises at all. Inputs: (a) arbitrary bytes and format-like text, (b) real corpus files and the hand-made fixtures,
truncated or with bytes replaced, inserted or deleted, (c) for JSON/YAML/TOML formats, real files whose values were
swapped for values of other types. The mutation strategies are the ones of test_fuzz_python_ruby_php.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fuzz.test_fuzz_python_ruby_php import byte_mutations, json_type_mutations, toml_type_mutations

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.conan_lock import parse_conan_lock
from vigil.analyzers.lang.conda_environment import parse_conda_environment
from vigil.analyzers.lang.dotnet_deps import parse_deps_json
from vigil.analyzers.lang.gradle_lockfile import parse_gradle_lockfile
from vigil.analyzers.lang.julia_manifest import parse_julia_manifest
from vigil.analyzers.lang.mix_lock import parse_mix_lock
from vigil.analyzers.lang.nuget_config import parse_packages_config
from vigil.analyzers.lang.nuget_lock import parse_nuget_lock
from vigil.analyzers.lang.packages_props import parse_packages_props
from vigil.analyzers.lang.pdm_lock import parse_pdm_lock
from vigil.analyzers.lang.podfile_lock import parse_podfile_lock
from vigil.analyzers.lang.pom_xml import parse_pom, related
from vigil.analyzers.lang.pubspec_lock import parse_pubspec_lock
from vigil.analyzers.lang.pylock_toml import parse_pylock
from vigil.analyzers.lang.sbt_lock import parse_sbt_lock
from vigil.analyzers.lang.swift_resolved import parse_package_resolved

pytestmark = pytest.mark.fuzz

LOCKFILES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "corpus" / "lockfiles"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lockfiles"

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _files(root: Path, *patterns: str) -> list[bytes]:
    if not root.is_dir():
        return []
    files = sorted({p for pat in patterns for p in root.rglob(pat) if p.is_file()})
    return [p.read_bytes() for p in files if p.stat().st_size < 200_000]


def _seeds(*patterns: str) -> list[bytes]:
    return _files(LOCKFILES, *patterns) + _files(FIXTURES, *patterns)


CORPUS: dict[str, list[bytes]] = {
    "nuget_lock": _seeds("packages.lock.json"),
    "nuget_config": _seeds("packages.config"),
    "deps_json": _seeds("*.deps.json"),
    "pom": _seeds("pom.xml"),
    "gradle": _seeds("*gradle.lockfile"),
    "mix": _seeds("mix.lock"),
    "pubspec": _seeds("pubspec.lock"),
    "swift": _seeds("Package.resolved"),
    "cocoapods": _seeds("Podfile.lock"),
    "conan": _seeds("conan.lock"),
    "pdm": _seeds("pdm.lock"),
    "pylock": _seeds("pylock.toml"),
    "julia": _seeds("Manifest*.toml"),
    "conda": _seeds("environment.yml"),
    "packages_props": _seeds("*Packages.props"),
    "sbt": _seeds("build.sbt.lock"),
}


def _pom(data: bytes) -> None:
    assert isinstance(related("a/pom.xml", data), list)  # never raises
    parse_pom(data, "a/pom.xml")
    # the same bytes as the parent and as a module, as the source would hand them over
    parse_pom(data, "a/pom.xml", {"pom.xml": data, "a/b/pom.xml": data})


PARSERS: dict[str, Callable[[bytes], object]] = {
    "nuget_lock": parse_nuget_lock,
    "nuget_config": parse_packages_config,
    "deps_json": parse_deps_json,
    "pom": _pom,
    "gradle": parse_gradle_lockfile,
    "mix": parse_mix_lock,
    "pubspec": parse_pubspec_lock,
    "swift": parse_package_resolved,
    "cocoapods": parse_podfile_lock,
    "conan": parse_conan_lock,
    "pdm": lambda d: parse_pdm_lock(d, "pdm.lock", d),
    "pylock": lambda d: parse_pylock(d, "pylock.toml", d),
    "julia": lambda d: parse_julia_manifest(d, "Manifest.toml", d),
    "conda": parse_conda_environment,
    "packages_props": parse_packages_props,
    "sbt": parse_sbt_lock,
}

JSON_FORMATS = ["nuget_lock", "deps_json", "swift", "conan", "sbt"]
YAML_FORMATS = ["pubspec", "cocoapods", "conda"]
TOML_FORMATS = ["pdm", "pylock", "julia"]


def _only_parse_errors(fn: Callable[[bytes], object], data: bytes) -> None:
    try:
        fn(data)
    except ParseError:
        pass


def _need(name: str) -> list[bytes]:
    seeds = CORPUS[name]
    if not seeds:
        pytest.skip("no seed files (../shared corpus not present?)")
    return seeds


def _yaml_as_json(name: str) -> list[bytes]:
    """YAML seeds re-encoded as JSON (a subset of YAML), so the JSON type mutations apply to them."""
    out = []
    for s in _need(name):
        try:
            doc = yaml.safe_load(s)
            out.append(json.dumps(doc, default=str).encode())
        except yaml.YAMLError:
            continue
    return out or pytest.skip("no usable YAML seeds")  # type: ignore[func-returns-value]


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes(name: str, data: bytes) -> None:
    _only_parse_errors(PARSERS[name], data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.text(alphabet=st.sampled_from(list('<>/![]{}%=",:.-#()\\ \t\n\r;@*~$abvz019')), max_size=600))
def test_format_like_text(name: str, data: str) -> None:
    _only_parse_errors(PARSERS[name], data.encode())


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_real_files(name: str, data: st.DataObject) -> None:
    _only_parse_errors(PARSERS[name], data.draw(byte_mutations(_need(name))))


@pytest.mark.parametrize("name", JSON_FORMATS)
@FUZZ
@given(data=st.data())
def test_json_values_of_wrong_type(name: str, data: st.DataObject) -> None:
    _only_parse_errors(PARSERS[name], data.draw(json_type_mutations(_need(name))))


@pytest.mark.parametrize("name", YAML_FORMATS)
@FUZZ
@given(data=st.data())
def test_yaml_values_of_wrong_type(name: str, data: st.DataObject) -> None:
    _only_parse_errors(PARSERS[name], data.draw(json_type_mutations(_yaml_as_json(name))))


@pytest.mark.parametrize("name", TOML_FORMATS)
@FUZZ
@given(data=st.data())
def test_toml_values_of_wrong_type(name: str, data: st.DataObject) -> None:
    _only_parse_errors(PARSERS[name], data.draw(toml_type_mutations(_need(name))))


@FUZZ
@given(data=st.data())
def test_pom_with_mutated_related_files(data: st.DataObject) -> None:
    """A valid module whose parent and BOM (related files) are mutated: never anything but ParseError."""
    tree = FIXTURES / "pom-bom"
    if not tree.is_dir():
        pytest.skip("fixture missing")
    seeds = [(tree / "pom.xml").read_bytes(), (tree / "bom" / "pom.xml").read_bytes()]
    parent = data.draw(byte_mutations(seeds))
    bom = data.draw(byte_mutations(seeds))
    parse_pom((tree / "app" / "pom.xml").read_bytes(), "app/pom.xml", {"pom.xml": parent, "bom/pom.xml": bom})
