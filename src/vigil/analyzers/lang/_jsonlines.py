"""Where values sit in JSON text. json.loads gives no positions, so one extra linear pass over the (already
validated) text finds them. Two helpers with different jobs:

- `json_container_spans`: 1-based line ranges of objects and arrays at any depth, selected by a predicate on their
  key path (array elements keyed None); tolerates JSONC comments (bun.lock). Used by npm_lock and bun_lock.
- `json_value_spans`: character offsets of every value (scalars included) down to a fixed depth, keyed by path
  with array indices as int; an object member starts at its key. Used by composer_lock, pipenv_lock, dotnet_deps,
  conan_lock, nuget_lock, sbt_lock and swift_resolved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from vigil.analyzers.lang._common import LineIndex

# One token per JSON string (unrolled loop: linear, no backtracking blow-up), structural character, or JSONC
# comment. Numbers and literals produce no token: they do not affect structure.
_CONTAINER_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:]|//[^\n]*|/\*.*?\*/', re.S)

JsonKeyPath = tuple[str | None, ...]


# Skipping a subtree nobody asked about: the C decoder finds where a value ends far faster than the token loop.
# It also builds the value, which is thrown away; that is still cheaper than one Python step per token.
_DECODER = json.JSONDecoder()


def _value_end(text: str, start: int) -> int | None:
    """The offset just past the JSON value starting at `start`, or None if it does not decode (JSONC comments,
    trailing commas, an integer past the digit limit, nesting past the recursion limit)."""
    try:
        return _DECODER.raw_decode(text, start)[1]
    except (ValueError, RecursionError):
        return None


def json_container_spans(
    text: str,
    want: Callable[[list[str | None]], bool],
    descend: Callable[[list[str | None]], bool] | None = None,
) -> dict[JsonKeyPath, tuple[int, int]]:
    """Line ranges (1-based, inclusive) of JSON objects and arrays, keyed by their key path from the root (array
    elements have key None; the root itself is not part of the path). `want(path)` selects which containers to
    record. One linear pass; `text` should be JSON (or JSONC) that already parsed — on anything else the result
    is merely incomplete, never an exception. Duplicate keys: the last one wins, as in json.loads.

    `descend(path)`, if given, must be False only for containers below which `want` selects nothing: their
    interiors are then skipped by the C decoder instead of tokenized. Where that decoder fails (JSONC, invalid
    text), the walk goes on token by token and skips nothing more, so the work stays linear."""
    keys: list[str | None] = []  # key of each open container; keys[0] is the root's (None)
    starts: list[int] = []
    raw: dict[JsonKeyPath, tuple[int, int]] = {}
    key: str | None = None
    last_string = ""
    after_colon = False
    pos = 0
    while True:
        for m in _CONTAINER_TOKEN.finditer(text, pos):
            tok = m.group()
            c = tok[0]
            if c == '"':
                if after_colon:  # a string value: the pending key is consumed
                    key = None
                    after_colon = False
                last_string = tok
            elif c == ":":
                key = json_string(last_string)
                after_colon = True
            elif c in "{[":
                start = m.start()
                if descend is not None and starts:
                    path = [*keys[1:], key]
                    if not descend(path):
                        end = _value_end(text, start)
                        if end is not None:
                            if want(path):
                                raw[tuple(path)] = (start, end - 1)
                            key = None
                            after_colon = False
                            pos = end
                            break
                        descend = None  # the decoder failed here: walk the rest token by token
                keys.append(key)
                starts.append(start)
                key = None
                after_colon = False
            elif c in "}]":
                if starts:
                    path = keys[1:]
                    if want(path):
                        raw[tuple(path)] = (starts[-1], m.start())
                    keys.pop()
                    starts.pop()
                key = None
                after_colon = False
            # comments ("/" tokens) change nothing
        else:
            break
    if not raw:
        return {}
    idx = LineIndex(text)
    # asked in document order (a container is recorded when it closes, after those inside it): see LineIndex
    line = {o: idx.line_of(o) for o in sorted({o for span in raw.values() for o in span})}
    return {k: (line[s], line[e]) for k, (s, e) in raw.items()}


def json_string(tok: str) -> str:
    """The value of a JSON string token (quotes included); the token without its quotes if it does not decode."""
    if "\\" not in tok:
        return tok[1:-1]
    try:
        val = json.loads(tok)
    except ValueError:
        return tok[1:-1]
    return val if isinstance(val, str) else tok[1:-1]


# Strings are matched whole (so brackets inside them are ignored); numbers and literals produce no token and do not
# matter for structure.
_VALUE_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],]', re.S)

JsonPath = tuple[str | int, ...]


@dataclass(slots=True)
class _Frame:
    is_object: bool
    path: JsonPath | None  # None once deeper than we track
    start: int
    index: int = 0
    key: str | None = None
    key_start: int = 0
    expect_key: bool = True


def json_value_spans(text: str, max_depth: int = 2) -> dict[JsonPath, tuple[int, int]]:
    """Map the path of every value at depth 1..max_depth (object keys as str, array indices as int) to the
    (start, end) character offsets of its source text; for an object member, start is the offset of its key.

    `text` must be valid JSON (call this after json.loads succeeded); on anything else the result is merely
    incomplete, never an exception. Duplicate keys: the last one wins, as in json.loads."""
    spans: dict[JsonPath, tuple[int, int]] = {}
    stack: list[_Frame] = []

    def child(parent: _Frame | None, value_start: int) -> tuple[JsonPath | None, int]:
        if parent is None:
            return (), value_start
        if parent.path is None or len(parent.path) >= max_depth:
            return None, value_start
        if parent.is_object:
            if parent.key is None:
                return None, value_start
            return (*parent.path, parent.key), parent.key_start
        return (*parent.path, parent.index), value_start

    skip = True  # containers nothing inside of which is recorded are skipped by the C decoder, until it fails once
    pos = 0
    while True:
        for m in _VALUE_TOKEN.finditer(text, pos):
            tok = m.group()
            c = tok[0]
            top = stack[-1] if stack else None
            if c == '"':
                if top is not None and top.is_object and top.expect_key:
                    top.expect_key = False
                    top.key_start = m.start()
                    if top.path is not None and len(top.path) < max_depth:
                        try:
                            key = json.loads(tok)
                        except ValueError:
                            key = None
                        top.key = key if isinstance(key, str) else None
                    continue
                path, start = child(top, m.start())
                if path:
                    spans[path] = (start, m.end())
            elif c in "{[":
                path, start = child(top, m.start())
                if skip and top is not None and (path is None or len(path) >= max_depth):
                    end = _value_end(text, m.start())
                    if end is not None:
                        if path:
                            spans[path] = (start, end)
                        pos = end
                        break
                    skip = False
                stack.append(_Frame(is_object=c == "{", path=path, start=start))
            elif c in "}]":
                if not stack:
                    continue
                frame = stack.pop()
                if frame.path:
                    spans[frame.path] = (frame.start, m.end())
            elif top is not None:  # ','
                if top.is_object:
                    top.expect_key = True
                    top.key = None
                else:
                    top.index += 1
        else:
            break
    return spans
