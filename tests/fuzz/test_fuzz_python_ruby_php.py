"""Fuzzing the pip / Pipenv / Poetry / uv / Bundler / Composer parsers.

Contract (analyzers/errors.py): on any input a parser returns normally or raises ParseError — never KeyError,
TypeError, AttributeError, IndexError, … Inputs: (a) arbitrary bytes, (b) real corpus files truncated, with bytes
replaced, inserted or deleted, and (c) for JSON/TOML formats, real files whose values were swapped for values of
other types (a table where a list was expected, a number where a string was), which (b) rarely reaches because the
mutated text seldom still parses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.composer_lock import parse_composer_lock
from vigil.analyzers.lang.gemfile_lock import parse_gemfile_lock
from vigil.analyzers.lang.pip_requirements import parse_requirements
from vigil.analyzers.lang.pipenv_lock import parse_pipenv_lock
from vigil.analyzers.lang.poetry_lock import parse_poetry_lock
from vigil.analyzers.lang.uv_lock import parse_uv_lock

pytestmark = pytest.mark.fuzz

LOCKFILES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "corpus" / "lockfiles"

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _corpus(*patterns: str) -> list[bytes]:
    if not LOCKFILES.is_dir():
        return []
    files = sorted({p for pat in patterns for p in LOCKFILES.rglob(pat) if p.is_file()})
    return [p.read_bytes() for p in files]


CORPUS: dict[str, list[bytes]] = {
    "pip": _corpus("requirements*.txt"),
    "pipenv": _corpus("Pipfile.lock"),
    "poetry": _corpus("poetry.lock"),
    "uv": _corpus("uv.lock"),
    "bundler": _corpus("Gemfile.lock"),
    "composer": _corpus("composer.lock"),
    "pyproject": _corpus("pyproject.toml"),
    "pipfile": _corpus("Pipfile"),
    "composer_json": _corpus("composer.json"),
}


def _pip(data: bytes) -> None:
    # every include resolves to the same (fuzzed) bytes: exercises includes, constraints and cycle detection
    parse_requirements(data, "dir/requirements.txt", lambda rel: data if len(rel) % 2 else None)


def _pipenv(data: bytes) -> None:
    parse_pipenv_lock(data, "Pipfile.lock")
    parse_pipenv_lock(data, "Pipfile.lock", data)


def _poetry(data: bytes) -> None:
    parse_poetry_lock(data, "poetry.lock")
    parse_poetry_lock(data, "poetry.lock", data)


def _uv(data: bytes) -> None:
    parse_uv_lock(data, "uv.lock")


def _bundler(data: bytes) -> None:
    parse_gemfile_lock(data, "Gemfile.lock")


def _composer(data: bytes) -> None:
    parse_composer_lock(data, "composer.lock")
    parse_composer_lock(data, "composer.lock", data)


PARSERS: dict[str, Callable[[bytes], None]] = {
    "pip": _pip,
    "pipenv": _pipenv,
    "poetry": _poetry,
    "uv": _uv,
    "bundler": _bundler,
    "composer": _composer,
}


def _only_parse_errors(fn: Callable[[bytes], None], data: bytes) -> None:
    try:
        fn(data)
    except ParseError:
        pass


# --- mutation strategies -------------------------------------------------------------------------------------------


@st.composite
def byte_mutations(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    ops = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["truncate", "replace", "insert", "delete"]),
                st.integers(min_value=0, max_value=1 << 30),
                st.binary(min_size=1, max_size=8),
            ),
            min_size=1,
            max_size=6,
        )
    )
    for op, where, blob in ops:
        pos = where % (len(data) + 1)
        if op == "truncate":
            del data[pos:]
        elif op == "replace":
            data[pos : pos + len(blob)] = blob
        elif op == "insert":
            data[pos:pos] = blob
        else:
            del data[pos : pos + len(blob)]
    return bytes(data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _json_paths(node: Any, path: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    out = [path]
    if depth >= 5:
        return out
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_json_paths(v, (*path, k), depth + 1))
    elif isinstance(node, list):
        for i, v in enumerate(node[:8]):
            out.extend(_json_paths(v, (*path, i), depth + 1))
    return out


def _json_set(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return root


@st.composite
def json_type_mutations(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    doc = json.loads(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _json_paths(doc)
        doc = _json_set(doc, draw(st.sampled_from(paths)), draw(JSON_VALUES))
    return json.dumps(doc, indent=4).encode()


_TOML_VALUE = re.compile(r'(?m)(=[ \t]*)("[^"\n]*"|[0-9][^\s,}\]]*|true|false|\[[^\n]*\]|\{[^\n]*\})')
_TOML_REPLACEMENTS = [
    "1",
    '"s"',
    "true",
    "[]",
    "{}",
    '[1, "a", {}]',
    "{ name = 1 }",
    '{ name = "x", version = 2, extra = "e" }',
    '[{ name = "x" }, { name = 1 }, "y", [2]]',
    '{ editable = "." }',
    "{ virtual = 3 }",
    '["main", 3]',
]
_TOML_HEADERS = re.compile(r"(?m)^\[\[?[^\]\n]*\]\]?")


@st.composite
def toml_type_mutations(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    text = draw(st.sampled_from(seeds)).decode("utf-8")
    values = list(_TOML_VALUE.finditer(text))
    headers = list(_TOML_HEADERS.finditer(text))
    edits: list[tuple[int, int, str]] = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if values and draw(st.booleans()):
            m = draw(st.sampled_from(values))
            edits.append((m.start(2), m.end(2), draw(st.sampled_from(_TOML_REPLACEMENTS))))
        elif headers:
            m = draw(st.sampled_from(headers))
            new = draw(
                st.sampled_from(
                    ["[package]", "[[package]]", "[package.dependencies]", "[[package.x]]", "[x]"]
                )
            )
            edits.append((m.start(), m.end(), new))
    # apply right to left, skipping overlaps
    out, last = text, len(text) + 1
    for start, end, new in sorted(set(edits), reverse=True):
        if end <= last:
            out = out[:start] + new + out[end:]
            last = start
    return out.encode()


def _need(name: str) -> list[bytes]:
    seeds = CORPUS[name]
    if not seeds:
        pytest.skip("../shared corpus not present")
    return seeds


# --- (a) arbitrary bytes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes(name: str, data: bytes) -> None:
    _only_parse_errors(PARSERS[name], data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.text(alphabet=st.sampled_from(list('[]{}=",:.-#!()\\ \t\n\r;@*~<>abvz019')), max_size=600))
def test_format_like_text(name: str, data: str) -> None:
    _only_parse_errors(PARSERS[name], data.encode())


# --- (b) real files, truncated / bytes replaced ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_corpus_files(name: str, data: st.DataObject) -> None:
    _only_parse_errors(PARSERS[name], data.draw(byte_mutations(_need(name))))


# --- (c) real files with values of the wrong type --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pipenv", "composer"])
@FUZZ
@given(data=st.data())
def test_json_values_of_wrong_type(name: str, data: st.DataObject) -> None:
    _only_parse_errors(PARSERS[name], data.draw(json_type_mutations(_need(name))))


@pytest.mark.parametrize("name", ["poetry", "uv"])
@FUZZ
@given(data=st.data())
def test_toml_values_of_wrong_type(name: str, data: st.DataObject) -> None:
    _only_parse_errors(PARSERS[name], data.draw(toml_type_mutations(_need(name))))


@FUZZ
@given(data=st.data())
def test_companions_of_wrong_type(data: st.DataObject) -> None:
    """The lock is valid; the sibling manifest is mutated (a broken companion must never fail the lock)."""
    poetry = _need("poetry")[0]
    pipenv = _need("pipenv")[0]
    composer = _need("composer")[0]
    pyproject = data.draw(toml_type_mutations(_need("pyproject")))
    pipfile = data.draw(toml_type_mutations(_need("pipfile")))
    composer_json = data.draw(json_type_mutations(_need("composer_json")))
    parse_poetry_lock(poetry, "poetry.lock", pyproject)
    parse_pipenv_lock(pipenv, "Pipfile.lock", pipfile)
    parse_composer_lock(composer, "composer.lock", composer_json)
