"""Property-based fuzzing of the JavaScript, Go and Cargo lockfile parsers.

Every parser must either return normally or raise ParseError on any input — never KeyError, TypeError,
AttributeError, RecursionError or anything else. Inputs: (a) arbitrary bytes, (b) real corpus files truncated at
random points and with random bytes replaced, (c) real corpus documents whose values are swapped for random JSON
values (type confusion: a list where an object is expected, a number where a string is, …), (d) line-level edits.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import LOCKFILES

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.bun_lock import parse_bun_lock, strip_jsonc
from vigil.analyzers.lang.cargo_lock import parse_cargo_lock
from vigil.analyzers.lang.go_mod import parse_go_mod
from vigil.analyzers.lang.npm_lock import parse_npm_lock
from vigil.analyzers.lang.pnpm_lock import parse_pnpm_lock
from vigil.analyzers.lang.yarn_lock import parse_yarn_lock

pytestmark = pytest.mark.fuzz

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_CORPUS_FILE = 120_000  # keep examples fast; big files add nothing the small ones do not


def _corpus(name: str) -> list[Path]:
    if not LOCKFILES.is_dir():
        return []
    return sorted(p for p in LOCKFILES.rglob(name) if p.stat().st_size <= MAX_CORPUS_FILE)


Parser = Callable[[bytes], Any]

PARSERS: dict[str, tuple[Parser, str]] = {
    "npm": (lambda b: parse_npm_lock(b, "package-lock.json"), "package-lock.json"),
    "yarn": (lambda b: parse_yarn_lock(b, "yarn.lock"), "yarn.lock"),
    "pnpm": (lambda b: parse_pnpm_lock(b, "pnpm-lock.yaml"), "pnpm-lock.yaml"),
    "bun": (lambda b: parse_bun_lock(b, "bun.lock"), "bun.lock"),
    "gomod": (lambda b: parse_go_mod(b, "go.mod"), "go.mod"),
    "cargo": (lambda b: parse_cargo_lock(b, "Cargo.lock"), "Cargo.lock"),
}
CORPUS = {k: _corpus(fname) for k, (_, fname) in PARSERS.items()}
NAMES = sorted(PARSERS)


def _survives(parse: Parser, data: bytes) -> None:
    try:
        parse(data)
    except ParseError:
        pass


# --- (a) arbitrary bytes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", NAMES)
@FUZZ
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes(fmt: str, data: bytes) -> None:
    _survives(PARSERS[fmt][0], data)


@pytest.mark.parametrize("fmt", NAMES)
@FUZZ
@given(
    text=st.text(
        alphabet=st.sampled_from("{}[]():,\"'@/#\\ \n\t-=>_.~^*0123456789abvnpmrequiz"), max_size=600
    )
)
def test_syntax_soup(fmt: str, text: str) -> None:
    """Text made of the formats' own punctuation reaches deeper than random bytes."""
    _survives(PARSERS[fmt][0], text.encode())


# --- (b) truncated / corrupted corpus files -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", NAMES)
@FUZZ
@given(data=st.data())
def test_corpus_truncated_and_flipped(fmt: str, data: st.DataObject) -> None:
    files = CORPUS[fmt]
    if not files:
        pytest.skip("corpus not present")
    raw = bytearray(data.draw(st.sampled_from(files)).read_bytes())
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    del raw[cut:]
    if raw:
        for _ in range(data.draw(st.integers(min_value=0, max_value=8))):
            pos = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
            raw[pos] = data.draw(st.integers(min_value=0, max_value=255))
    _survives(PARSERS[fmt][0], bytes(raw))


# --- (c) type confusion inside real documents ---------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-5, max_value=5)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.sampled_from(["", "1.0.0", "link:../x", "workspace:*", "npm:a@1", "/a/1.0.0", "a@1.0.0(b@2)", "@"])
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def _containers(doc: Any, limit: int = 4000) -> list[tuple[Any, Any]]:
    """(container, key) slots of a loaded document, breadth first."""
    out: list[tuple[Any, Any]] = []
    queue = [doc]
    while queue and len(out) < limit:
        node = queue.pop(0)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            out.append((node, k))
            if isinstance(v, dict | list):
                queue.append(v)
    return out


def _mutated(doc: Any, data: st.DataObject) -> Any:
    slots = _containers(doc)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        if not slots:
            break
        container, key = data.draw(st.sampled_from(slots))
        container[key] = data.draw(json_values)
    return doc


_YAML_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
STRUCTURED_MAX_FILE = 40_000


def _load_yaml_last(text: str) -> Any:
    return [*yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))][-1]


STRUCTURED: dict[str, tuple[Callable[[str], Any], Callable[[Any], bytes]]] = {
    "npm": (json.loads, lambda d: json.dumps(d).encode()),
    "bun": (lambda t: json.loads(strip_jsonc(t)), lambda d: json.dumps(d).encode()),
    "pnpm": (_load_yaml_last, lambda d: yaml.dump(d, Dumper=_YAML_DUMPER).encode()),
    "yarn": (_load_yaml_last, lambda d: yaml.dump(d, Dumper=_YAML_DUMPER).encode()),  # berry files only
}


@functools.cache
def _loaded(fmt: str, path: Path) -> str:
    """The document as JSON text, so each example gets a fresh copy cheaply (json.loads)."""
    return json.dumps(STRUCTURED[fmt][0](path.read_text()), default=str)


@pytest.mark.parametrize("fmt", sorted(STRUCTURED))
@FUZZ
@given(data=st.data())
def test_corpus_type_confusion(fmt: str, data: st.DataObject) -> None:
    files = [
        p
        for p in CORPUS[fmt]
        if p.stat().st_size <= STRUCTURED_MAX_FILE
        and (fmt != "yarn" or b"__metadata" in p.read_bytes()[:2000])
    ]
    if not files:
        pytest.skip("corpus not present")
    doc = json.loads(_loaded(fmt, data.draw(st.sampled_from(files))))
    if fmt == "yarn" and isinstance(doc, dict):
        doc.setdefault("__metadata", {"version": 6})
    _survives(PARSERS[fmt][0], STRUCTURED[fmt][1](_mutated(doc, data)))


@pytest.mark.parametrize("fmt", ["npm", "yarn"])
@FUZZ
@given(data=st.data())
def test_package_json_type_confusion(fmt: str, data: st.DataObject) -> None:
    files = [p for p in CORPUS[fmt] if (p.parent / "package.json").exists()]
    if not files:
        pytest.skip("corpus not present")
    lock = data.draw(st.sampled_from(files))
    manifest = json.dumps(_mutated(json.loads((lock.parent / "package.json").read_text()), data)).encode()
    parse = parse_npm_lock if fmt == "npm" else parse_yarn_lock
    _survives(lambda b: parse(b, "x", package_json=manifest), lock.read_bytes())


@FUZZ
@given(companion=st.binary(max_size=512))
def test_companions_arbitrary_bytes(companion: bytes) -> None:
    npm = CORPUS["npm"][:2]
    yarn = CORPUS["yarn"][:2]
    cargo = CORPUS["cargo"][:3]
    gomod = CORPUS["gomod"][:3]
    for lock in npm:
        _survives(lambda b: parse_npm_lock(b, "x", package_json=companion), lock.read_bytes())
    for lock in yarn:
        _survives(lambda b: parse_yarn_lock(b, "x", package_json=companion), lock.read_bytes())
    for lock in cargo:
        _survives(lambda b: parse_cargo_lock(b, "x", cargo_toml=companion), lock.read_bytes())
    for lock in gomod:
        _survives(lambda b: parse_go_mod(b, "x", go_sum=companion), lock.read_bytes())


TOML_VALUES = st.sampled_from(
    [
        '"app"',
        '"regex"',
        '"0.1.0"',
        "5",
        "true",
        "[1, 2]",
        '{ package = "regex" }',
        "{ package = 5 }",
        "{}",
        '""',
    ]
)
TOML_KEYS = st.sampled_from(["name", "version", "regex", "winapi", "memchr", "package", "workspace"])
TOML_TABLES = st.sampled_from(
    [
        "package",
        "dependencies",
        "dev-dependencies",
        "build-dependencies",
        "target.'cfg(unix)'.dev-dependencies",
        "target.x",
        "workspace",
    ]
)


@FUZZ
@given(
    tables=st.lists(
        st.tuples(TOML_TABLES, st.dictionaries(TOML_KEYS, TOML_VALUES, max_size=4)),
        max_size=5,
        unique_by=lambda t: t[0],
    )
)
def test_cargo_toml_type_confusion(tables: list[tuple[str, dict[str, str]]]) -> None:
    manifest = "\n".join(f"[{t}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items()) for t, kv in tables)
    for lock in CORPUS["cargo"][:4]:
        _survives(lambda b: parse_cargo_lock(b, "x", cargo_toml=manifest.encode()), lock.read_bytes())


# --- (d) line-level edits (go.mod, Cargo.lock, yarn classic) ------------------------------------------------------

LINE_NOISE = st.sampled_from(
    [
        "",
        ")",
        "(",
        "require (",
        "replace a => ./b",
        "replace a v1 => b",
        "require a",
        "toolchain go1.2x",
        "go 1.16",
        "[[package]]",
        'name = "x"',
        "version = 3",
        'dependencies = ["a 1 (x)", 5]',
        'source = ""',
        "[metadata]",
        "a@^1:",
        '  version "1"',
        "  dependencies:",
        '    b "^2"',
        '"@s/a@npm:b@1", c@file:d:',
    ]
)


@pytest.mark.parametrize("fmt", ["gomod", "cargo", "yarn"])
@FUZZ
@given(data=st.data())
def test_corpus_line_edits(fmt: str, data: st.DataObject) -> None:
    files = CORPUS[fmt]
    if not files:
        pytest.skip("corpus not present")
    lines = data.draw(st.sampled_from(files)).read_text().splitlines()
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        pos = data.draw(st.integers(min_value=0, max_value=len(lines)))
        op = data.draw(st.sampled_from(["insert", "delete", "duplicate"]))
        if op == "insert" or not lines:
            lines.insert(pos, data.draw(LINE_NOISE))
        elif op == "delete":
            del lines[min(pos, len(lines) - 1)]
        else:
            lines.insert(pos, lines[min(pos, len(lines) - 1)])
    _survives(PARSERS[fmt][0], "\n".join(lines).encode())


# --- deep nesting -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", NAMES)
@pytest.mark.parametrize("opener", ["[", "{", '{"a":', "- ", "  a:\n"])
def test_deep_nesting(fmt: str, opener: str) -> None:
    _survives(PARSERS[fmt][0], (opener * 50_000).encode())
