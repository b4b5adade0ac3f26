"""Work bounds of the lockfile, purl and SBOM hot paths (counted, never timed): what a scan of a large lockfile
corpus does per package must stay constant — the lockfile YAML is built without PyYAML's per-node constructor
dispatch yet to the same objects, purls and bom-refs quote each distinct string at most once, and an SBOM is
decoded once and each of its purls parsed once."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
import yaml
from tests.work_budget import count_calls

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
    calls = count_calls(monkeypatch, yaml.constructor.BaseConstructor, "construct_object")
    got = load_lock_yaml(PNPM)
    assert ("ok", got) == reference and repr(got) == repr(reference[1])
    assert got["packages"]["/a@1.0.0"] is got["packages"]["/b@1.0.0"]  # an alias shares its object, as in PyYAML
    assert got["packages"]["/lodash@4.17.21"]["version"] == "1.10"  # plain scalars stay strings
    assert calls.used == 0


@pytest.mark.parametrize("text", UNUSUAL)
def test_lockfile_yaml_leaves_other_tags_to_pyyaml(text: str) -> None:
    assert _load(text, _yaml_loaders()[1]) == _load(text, _pyyaml_lock_loader())


def _pyyaml_resolving_loader() -> Any:
    """The lockfile loader with PyYAML's own resolver methods (what the short-cut resolution must equal)."""
    loader = _yaml_loaders()[1]

    class Reference(loader):  # type: ignore[misc, valid-type]
        resolve = yaml.resolver.BaseResolver.resolve
        descend_resolver = yaml.resolver.BaseResolver.descend_resolver
        ascend_resolver = yaml.resolver.BaseResolver.ascend_resolver

    return Reference


# every implicit type of YAML 1.1 and the strings that look like one, plain, quoted and with explicit tags
SCALARS = ["~", "null", "Null", "NULL", "", "nul", "nulls", "yes", "Yes", "YES", "y", "n", "no", "No", "NO", "on",
           "On", "ON", "off", "Off", "OFF", "true", "True", "TRUE", "false", "FALSE", "tru", "1", "1.10", "0x1F",
           "0o17", "1_000", "1e3", ".inf", "-.Inf", ".nan", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "12:30",
           "=", "<<", "^4.17.21", "npm:1.0.0", "/@scope/pkg@1.0.0", "file:../x", "~1.2", "x >=0.10"]


def test_lockfile_yaml_resolves_scalars_as_pyyaml_does(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = []
    for i, v in enumerate(SCALARS):
        lines += [f"p{i}: {v}", f"q{i}: '{v}'", f'r{i}: "{v}"', f"s{i}: [{v or '~'}, {{k: {v or '~'}}}]",
                  f"t{i}: ! {v or '~'}", f"u{i}: !!str {v or '~'}"]
    text = "\n".join(lines) + "\nv: |\n  null\nw: >\n  yes\nx: null\n\n  yes\n" + PNPM.replace("lockfileVersion", "lfv")
    got, reference = _load(text, _yaml_loaders()[1]), _load(text, _pyyaml_resolving_loader())
    assert got[0] == "ok" and got == reference and repr(got) == repr(reference)  # repr: True is not 1


def test_lockfile_yaml_asks_pyyaml_to_resolve_only_what_may_be_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1,000 packages of 4 collections and 9 scalars: one scalar ("node") starts with a letter a null or bool
    # resolver is registered for; the others, versions, names and hashes, are strings whatever follows
    text = "packages:\n" + "".join(
        f"  /pkg-{i}@1.{i}.0:\n    resolution: {{integrity: sha512-{i:064x}}}\n    cpu: [x64]\n"
        f"    engines: {{node: '>=16'}}\n    version: 1.{i}.0\n" for i in range(1000))
    reference = _load(text, _pyyaml_resolving_loader())
    calls = count_calls(monkeypatch, yaml.resolver.BaseResolver, "resolve")
    got = _load(text, _yaml_loaders()[1])
    assert got == reference and repr(got) == repr(reference)  # repr: True is not 1, "1" is not 1
    assert got[1]["packages"]["/pkg-7@1.7.0"]["engines"] == {"node": ">=16"}
    # PyYAML's resolver sees only the plain scalars whose first character a null or bool resolver is registered
    # for (~, n, N, y, Y, t, T, f, F, o, O, or none), not the 13,000 nodes
    assert calls.used == 1000


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
    make_purl.cache_clear()  # purls built by earlier tests would quote nothing
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

    class CountingDecoder:  # the CycloneDX records' decoder, counted too
        def __init__(self, real: Any) -> None:
            self.real = real

        def decode(self, b: bytes) -> Any:
            nonlocal decodes
            decodes += 1
            return self.real.decode(b)

    monkeypatch.setattr(json, "loads", counting_loads)
    monkeypatch.setattr(sbom_mod, "_cdx_decoder", lambda real=sbom_mod._cdx_decoder(): CountingDecoder(real))
    sbom_mod._purl_parts.cache_clear()
    inv = sbom_mod.parse_sbom_inventory(data, "bom.json")
    assert sum(len(a.packages) for a in inv.applications) == 400
    assert decodes == 1
    info = sbom_mod._purl_parts.cache_info()
    assert info.misses == 200  # distinct purls; the walk, the OS pass and the grouping read each one
    assert info.hits >= 400


def _naive_line(text: str, offset: int) -> int:
    return 0 if offset < 0 else 1 + text[:max(offset, 0)].count("\n")


def test_line_numbers_in_document_order_cost_no_object_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    from vigil.analyzers.lang import _common

    text = "".join(f"line {i}\n" * (i % 3) + "x" * (i % 5) for i in range(10_000))
    listed = count_calls(monkeypatch, _common.re, "finditer")
    rng = random.Random(7)
    ordered = sorted(rng.randrange(len(text) + 5) for _ in range(2000))
    index = _common.LineIndex(text)
    assert [index.line_of(o) for o in ordered] == [_naive_line(text, o) for o in ordered]
    assert listed.used == 0  # counted between successive offsets, no list of the text's line starts
    shuffled = [*ordered, -1, 0, len(text) + 10]
    rng.shuffle(shuffled)
    assert [index.line_of(o) for o in shuffled] == [_naive_line(text, o) for o in shuffled]
    assert listed.used == 1  # out of order: the line starts are listed once


def test_toml_lockfiles_are_read_by_the_compiled_tomli() -> None:
    """TOML lockfiles go through tomli's mypyc build (~3.5x faster than the standard library's pure-Python
    tomllib, the same parser): the lock must install the compiled wheel, and the analyzers must not load tomllib."""
    import subprocess
    import sys

    code = ("import sys; from vigil.analyzers.lang._common import load_toml; import tomli._parser as p; "
            "assert load_toml(b'a = [1, {b = \"c\"}]') == {'a': [1, {'b': 'c'}]}; "
            "print('tomllib' in sys.modules, p.__file__.endswith('.so'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


def test_toml_errors_read_as_the_standard_librarys() -> None:
    from vigil.analyzers.errors import ParseError
    from vigil.analyzers.lang._common import load_toml

    for text, message in [(b"a = 1\nb = x\n", "invalid TOML: Invalid value (at line 2, column 5)"),
                          (b"a = 1\na = 2", "invalid TOML: Cannot overwrite a value (at end of document)"),
                          (b"x = {a = 1,\n b = 2}", "invalid TOML: Invalid initial character for a key part "
                                                    "(at line 1, column 12)"),  # TOML 1.1 only: refused
                          (b"a = " + b"[" * 2000 + b"]" * 2000, "TOML nested too deeply")]:
        with pytest.raises(ParseError) as e:
            load_toml(text)
        assert str(e.value) == message


def test_purls_are_built_once_per_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """A package in several lockfiles of a tree gets its purl built (quoted, joined) once."""
    quoted = count_calls(monkeypatch, purl_mod, "_q")
    make_purl.cache_clear()
    purls = {make_purl("npm", "@scope/name", f"1.0.{i % 10}") for i in range(500)}
    assert len(purls) == 10 and "pkg:npm/%40scope/name@1.0.3" in purls
    assert quoted.used == 30  # namespace, name and version of each of the 10 packages


def test_text_scans_search_by_a_literal_prefix() -> None:
    """The regexes that scan a whole lockfile for lines start with the line break before the line, not with `^`
    under re.M: re searches for a literal prefix with a fast scan, while `^` is tried at every character (the scans
    of the lockfile corpus took 8-10x longer)."""
    from vigil.analyzers.lang import npm_lock, pnpm_lock

    patterns = [*npm_lock._indented_regexes("  "), *npm_lock._indented_regexes("\t"), pnpm_lock._DOC_SEPARATOR]
    assert [p.pattern[:2] for p in patterns] == ["\\n"] * len(patterns)
    assert not any(p.flags & re.M and p.pattern.startswith("^") for p in patterns)


def test_json_lockfiles_are_decoded_by_msgspec_with_json_semantics(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_json decodes with msgspec (a third faster) and leaves to json.loads only what msgspec refuses, so
    every document reads as json.loads reads it: NaN, numbers past the float range, lone surrogates, the last of
    duplicate keys in the first one's place, integers of any size; errors in json's words."""
    from vigil.analyzers.errors import ParseError
    from vigil.analyzers.lang import _common

    real = json.loads
    fallbacks = count_calls(monkeypatch, json, "loads")  # imported by load_json when it falls back
    plain = b'\xef\xbb\xbf{"a": 1, "b": [2.5, -0.0, 18446744073709551616, "\\u00e9"], "a": {"c": null}}'
    assert repr(_common.load_json(plain)) == repr(real(plain.decode("utf-8-sig")))
    assert list(_common.load_json(plain)) == ["a", "b"]
    assert fallbacks.used == 0
    for text in ['{"x": NaN, "y": -Infinity}', "[1e400]", '["\\ud800"]']:
        assert repr(_common.load_json(text.encode())) == repr(real(text))
    assert fallbacks.used == 3
    for data, message in [(b'{"a": 1,}', "invalid JSON at line 1 column 9: Expecting property name enclosed in "
                                         "double quotes"),
                          (b"[" * 5000 + b"]" * 5000, "JSON nested too deeply")]:
        with pytest.raises(ParseError) as e:
            _common.load_json(data)
        assert str(e.value) == message
