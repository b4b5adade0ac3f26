"""Fuzzing the installed-package and binary parsers (issue 3).

Contract: on any input a parser returns normally or raises ParseError. Inputs: arbitrary bytes; the real fixtures
(tests/fixtures/installed) truncated and with bytes flipped; zip archives with hostile entry names (path
traversal, absolute, NUL), bombs (highly compressible entries) and corrupt headers; ELF files truncated anywhere
and with random section tables; cargo-auditable sections with random JSON.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.analyzers._elf import dep_v0, make_elf, old_go_buildinfo

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.composer_vendor import parse_installed_json
from vigil.analyzers.lang.conda_meta import parse_conda_meta
from vigil.analyzers.lang.gemspec import parse_gemspec
from vigil.analyzers.lang.gobinary import parse_gobinary
from vigil.analyzers.lang.jar import parse_jar
from vigil.analyzers.lang.node_pkg import parse_package_json
from vigil.analyzers.lang.python_pkg import parse_metadata
from vigil.analyzers.lang.rustbinary import parse_rustbinary

pytestmark = pytest.mark.fuzz

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "installed"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PARSERS: dict[str, tuple[Callable[[bytes], Any], str]] = {
    "python": (parse_metadata, "python/site-packages/urllib3-1.26.4.dist-info/METADATA"),
    "node": (parse_package_json, "node/node_modules/util-deprecate/package.json"),
    "gem": (parse_gemspec, "gem/specifications/rack-2.2.3.gemspec"),
    "composer": (parse_installed_json, "composer/vendor/composer/installed.json"),
    "conda": (parse_conda_meta, "conda/conda-meta/openssl-1.1.1q-h7f8727e_0.json"),
    "jar": (parse_jar, "jar/commons-text-1.10.0.jar"),
    "go": (parse_gobinary, "gobinary/hello"),
    "rust": (parse_rustbinary, "gobinary/hello"),
}


def _ok(fn: Callable[[bytes], Any], data: bytes) -> None:
    try:
        fn(data)
    except ParseError:
        pass


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes(name: str, data: bytes) -> None:
    _ok(PARSERS[name][0], data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8))
def test_mutated_real_files(name: str, cut: float, flips: list[tuple[float, int]]) -> None:
    fn, rel = PARSERS[name]
    real = bytearray((FIX / rel).read_bytes())
    for pos, byte in flips:
        real[int(pos * (len(real) - 1))] = byte
    _ok(fn, bytes(real[: max(1, int(cut * len(real)))]))
    _ok(fn, bytes(real))


_NAMES = st.sampled_from([
    "../../../../etc/passwd", "/abs/pom.properties", "META-INF/maven/../../../x/pom.properties",
    "META-INF/maven/g/a/pom.properties", "META-INF/MANIFEST.MF", "WEB-INF/lib/../../../evil.jar",
    "BOOT-INF/lib/x-1.0.jar", "a\x00b.jar", "C:\\windows\\x.jar", "dir/", "lib/y.war",
])


@pytest.mark.filterwarnings("ignore:Duplicate name")
@FUZZ
@given(entries=st.lists(st.tuples(_NAMES, st.binary(max_size=300)), max_size=8),
       nested=st.booleans(), bomb=st.booleans())
def test_hostile_zips(entries: list[tuple[str, bytes]], nested: bool, bomb: bool) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
        if bomb:
            zf.writestr("META-INF/maven/g/a/pom.properties", b"\x00" * (2 * 1024 * 1024))
    data = buf.getvalue()
    if nested:
        outer = io.BytesIO()
        with zipfile.ZipFile(outer, "w") as zf:
            zf.writestr("WEB-INF/lib/inner-1.0.jar", data)
        data = outer.getvalue()
    _ok(lambda d: parse_jar(d, "t.war"), data)


@FUZZ
@given(sections=st.lists(st.tuples(st.sampled_from([".go.buildinfo", ".dep-v0", ".data", ".text", ""]),
                                   st.integers(0, 2**64 - 1), st.binary(max_size=200)), max_size=4),
       cut=st.integers(0, 2000))
def test_random_elf(sections: list[tuple[str, int, bytes]], cut: int) -> None:
    elf = make_elf(sections)
    for blob in (elf, elf[:cut]):
        _ok(parse_gobinary, blob)
        _ok(parse_rustbinary, blob)


@FUZZ
@given(version=st.text(max_size=40), modinfo=st.text(max_size=300), cut=st.integers(0, 600))
def test_old_go_format(version: str, modinfo: str, cut: int) -> None:
    elf = old_go_buildinfo(version, modinfo)
    _ok(parse_gobinary, elf)
    _ok(parse_gobinary, elf[:cut])


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                     lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
                     max_leaves=20)


@FUZZ
@given(pkgs=st.lists(st.dictionaries(st.sampled_from(["name", "version", "kind", "dependencies", "root",
                                                      "source"]), _JSON, max_size=6), max_size=6),
       raw=_JSON)
def test_cargo_auditable_json(pkgs: list[dict[str, Any]], raw: Any) -> None:
    _ok(parse_rustbinary, make_elf([(".dep-v0", 0, dep_v0(pkgs))]))
    _ok(parse_rustbinary, make_elf([(".dep-v0", 0, zlib.compress(json.dumps(raw).encode()))]))


@pytest.mark.parametrize("parse", [parse_package_json, parse_installed_json, parse_conda_meta])
@FUZZ
@given(doc=_JSON)
def test_json_shapes(parse: Callable[[bytes], Any], doc: Any) -> None:
    _ok(parse, json.dumps(doc).encode())
