"""Work bounds of the lockfile, purl and SBOM hot paths (counted, never timed): what a scan of a large lockfile
corpus does per package must stay constant — the lockfile YAML is built without PyYAML's per-node constructor
dispatch yet to the same objects, purls and bom-refs quote each distinct string at most once, and an SBOM is
decoded once and each of its purls parsed once."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import yaml

import vigil.inventory.purl as purl_mod
from vigil.analyzers import sbom as sbom_mod
from vigil.analyzers.lang._common import _yaml_loaders, load_lock_yaml
from vigil.findings.records import Report, Result
from vigil.inventory.purl import make_purl, quote_all
from vigil.inventory.records import Package
from vigil.reporters import RenderOptions, get

PNPM = """\
lockfileVersion: '6.0'
importers:
  .:
    dependencies:
      lodash: {specifier: ^4.17.21, version: 4.17.21}
packages:
  /lodash@4.17.21:
    resolution: {integrity: sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==}
    dev: false
    engines: {node: '>=0.10'}
    version: 1.10
    when: 2024-01-01
    flags: [on, off, ~, null, "1", 0o17]
    empty:
  /a@1.0.0: &shared
    dependencies: {b: 1.0.0}
  /b@1.0.0: *shared
"""

UNUSUAL = [
    "a: !!int '5'\nb: 1\n",  # an explicit tag the lockfile resolver would not give: PyYAML builds it
    "base: &b {x: 1}\nderived:\n  !!merge <<: *b\n  y: 2\n",  # a merge key
    "? [a, b]\n: 1\n",  # a sequence as a key: PyYAML refuses it
    "s: !!set {a, b}\n",
    "t: !custom x\n",
]


def _pyyaml_lock_loader() -> Any:
    """The lockfile loader with PyYAML's own constructor (what the fast path must equal)."""
    loader = _yaml_loaders()[1]

    class Reference(loader):  # type: ignore[misc, valid-type]
        construct_document = yaml.constructor.BaseConstructor.construct_document

    return Reference


def _load(text: str, loader: Any) -> tuple[str, Any]:
    try:
        return "ok", yaml.load(text, Loader=loader)
    except Exception as e:  # the same exception type is the point
        return "error", type(e).__name__


def test_lockfile_yaml_is_what_pyyaml_builds_without_its_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _load(PNPM, _pyyaml_lock_loader())
    calls = 0
    real = yaml.constructor.BaseConstructor.construct_object

    def counting(self: Any, node: Any, deep: bool = False) -> Any:
        nonlocal calls
        calls += 1
        return real(self, node, deep)

    monkeypatch.setattr(yaml.constructor.BaseConstructor, "construct_object", counting)
    got = load_lock_yaml(PNPM)
    assert ("ok", got) == reference and repr(got) == repr(reference[1])
    assert got["packages"]["/a@1.0.0"] is got["packages"]["/b@1.0.0"]  # an alias shares its object, as in PyYAML
    assert got["packages"]["/lodash@4.17.21"]["version"] == "1.10"  # plain scalars stay strings
    assert calls == 0


@pytest.mark.parametrize("text", UNUSUAL)
def test_lockfile_yaml_leaves_other_tags_to_pyyaml(text: str) -> None:
    assert _load(text, _yaml_loaders()[1]) == _load(text, _pyyaml_lock_loader())


@pytest.fixture
def quoted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every string purls percent-encode during the test (the memo cleared first)."""
    calls: list[str] = []
    real = purl_mod.quote

    def counting(s: str, safe: str = "/") -> str:
        calls.append(s)
        return real(s, safe=safe)

    monkeypatch.setattr(purl_mod, "quote", counting)
    purl_mod._quote_all.cache_clear()
    return calls


def test_purls_quote_each_distinct_string_once(quoted: list[str]) -> None:
    for i in range(500):
        make_purl("npm", "@scope/name", f"1.0.{i}")  # the namespace needs escaping, the versions do not
    assert quoted == ["@scope"]
    assert quote_all("a b/c") == "a%20b%2Fc" and quote_all("x.y_z-1~") == "x.y_z-1~" and quote_all("") == ""


def _two_targets(n: int) -> Report:
    """n packages, each in two lockfiles: every bom-ref is a purl qualified with its file path."""
    results = []
    for target in ("a/package-lock.json", "b/package-lock.json"):
        pkgs = tuple(Package(ecosystem="npm", name=f"p{i}", version="1.0.0", id=f"p{i}@1.0.0",
                             purl=f"pkg:npm/p{i}@1.0.0", depends_on=(f"p{i + 1}@1.0.0",) if i + 1 < n else ())
                     for i in range(n))
        results.append(Result(target=target, class_="lang-pkgs", type="npm", packages=pkgs))
    return Report(artifact_name="x", artifact_type="filesystem", created_at="2026-12-01T00:00:00Z",
                  vigil_version="0.1.0", results=tuple(results))


def test_cyclonedx_quotes_each_target_path_once(quoted: list[str]) -> None:
    buf = io.StringIO()
    get("cyclonedx", RenderOptions())(_two_targets(300), buf)
    refs = [c["bom-ref"] for c in json.loads(buf.getvalue())["components"] if c["type"] == "library"]
    assert len(refs) == 600 and "pkg:npm/p0@1.0.0?file_path=a%2Fpackage-lock.json" in refs
    assert sorted(quoted) == ["a/package-lock.json", "b/package-lock.json"]


def test_sbom_is_decoded_once_and_each_purl_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    get("cyclonedx", RenderOptions())(_two_targets(200), buf)
    data = buf.getvalue().encode()
    decodes = 0
    real_loads = json.loads

    def counting_loads(s: Any, *a: Any, **k: Any) -> Any:
        nonlocal decodes
        decodes += 1
        return real_loads(s, *a, **k)

    monkeypatch.setattr(sbom_mod.json, "loads", counting_loads)
    sbom_mod._purl_parts.cache_clear()
    inv = sbom_mod.parse_sbom_inventory(data, "bom.json")
    assert sum(len(a.packages) for a in inv.applications) == 400
    assert decodes == 1
    info = sbom_mod._purl_parts.cache_info()
    assert info.misses == 200  # distinct purls; the walk, the OS pass and the grouping read each one
    assert info.hits >= 400
