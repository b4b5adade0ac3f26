"""mix.lock (Elixir Mix) analyzer.

Format facts (mix.lock is an Elixir map literal written by `mix deps.get`; https://hexdocs.pm/mix/Mix.Tasks.Deps.html):
- `%{"<app>": {:hex, :<hex package>, "<version>", "<inner checksum>", [<build tools>], [<deps>], "<repo>",
  "<outer checksum>"}, …}`; older Mix versions write shorter tuples (`{:hex, :pkg, "1.0.0"}` with 3, 4 or 6 items).
- each dep is `{:<app>, "<requirement>", [hex: :<package>, repo: "hexpm", optional: bool]}`.
- git and path dependencies (`{:git, "<url>", "<sha>", [...]}`) carry no version and are not Hex packages.

The lock is read with a small parser for the Elixir term syntax it uses (maps, tuples, lists, keyword lists,
strings, atoms, numbers) — never evaluated. Semantics (as Trivy): relationships unknown (mix.lock does not say which
deps are direct; mix.exs is code), nothing is marked dev (the lock does not record `only: :test`). The package
name is the Hex package name (2nd tuple item), which is what advisories name; edges follow the deps lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import LineIndex, decode, expect, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import HEX, Application
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "hex"
MAX_DEPTH = 64

_TOKEN = re.compile(
    r'''\s+|\#[^\n]*|(?P<str>"(?:[^"\\]|\\.)*")(?P<key>:(?=\s))?|(?P<atom>:"(?:[^"\\]|\\.)*"|:[A-Za-z_][\w@]*[?!]?)'''
    r"""|(?P<kw>[A-Za-z_][\w@]*[?!]?:(?=\s))|(?P<punct>%\{|=>|[{}\[\],])|(?P<word>[\w.+\-]+)""",
    re.S,
)


class Atom(str):
    """An Elixir atom (distinct from a string)."""


class Tuple(tuple[Any, ...]):
    """An Elixir tuple (distinct from a list)."""


@dataclass(slots=True)
class _Tok:
    kind: str
    value: str
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ParseError(f"mix.lock: unexpected character at line {text.count(chr(10), 0, pos) + 1}")
        pos = m.end()
        kind = m.lastgroup
        if m.group("str") is not None:
            kind = "key" if m.group("key") else "str"
            out.append(_Tok(kind, m.group("str"), m.start(), m.end()))
        elif kind is not None:
            out.append(_Tok(kind, m.group(kind), m.start(), m.end()))
    return out


def _unquote(s: str) -> str:
    # Elixir escapes that matter in a lock are \" and \\; anything else is kept as written
    return re.sub(r"\\(.)", r"\1", s[1:-1])


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0
        self.spans: dict[str, tuple[int, int]] = {}  # top-level map key → (start, end) offsets of the entry

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> _Tok:
        t = self.peek()
        if t is None:
            raise ParseError("mix.lock: unexpected end of file")
        self.i += 1
        return t

    def value(self, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ParseError("mix.lock: nested too deeply")
        t = self.next()
        if t.kind == "str":
            return _unquote(t.value)
        if t.kind == "atom":
            return Atom(_unquote(t.value[1:]) if t.value.startswith(':"') else t.value[1:])
        if t.kind == "word":
            return t.value
        if t.value == "%{":
            return self.map(depth, top=depth == 0)
        if t.value == "{":
            return Tuple(self.seq("}", depth))
        if t.value == "[":
            return self.seq("]", depth)
        raise ParseError(f"mix.lock: unexpected {t.value!r}")

    def seq(self, close: str, depth: int) -> list[Any]:
        items: list[Any] = []
        while True:
            t = self.peek()
            if t is None:
                raise ParseError("mix.lock: unexpected end of file")
            if t.value == close and t.kind == "punct":
                self.i += 1
                return items
            if t.kind == "kw":  # keyword-list entry `name: value`
                self.i += 1
                items.append(Tuple((Atom(t.value[:-1]), self.value(depth + 1))))
            else:
                items.append(self.value(depth + 1))
            self._comma(close)

    def _comma(self, close: str) -> None:
        t = self.peek()
        if t is not None and t.kind == "punct" and t.value == ",":
            self.i += 1
        elif t is None or t.value != close:
            raise ParseError(f"mix.lock: expected ',' or {close!r}")

    def map(self, depth: int, top: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            t = self.next()
            if t.kind == "punct" and t.value == "}":
                return out
            if t.kind == "key":  # "name": value
                key = _unquote(t.value)
            elif t.kind == "kw":  # name: value
                key = t.value[:-1]
            else:  # key => value
                self.i -= 1
                key = str(self.value(depth + 1))
                arrow = self.next()
                if arrow.value != "=>":
                    raise ParseError("mix.lock: expected '=>' in map")
            out[key] = self.value(depth + 1)
            if top:
                self.spans[key] = (t.start, self.toks[self.i - 1].end)
            self._comma("}")


def parse_mix_lock(data: bytes, path: str = "") -> Application:
    text = decode(data)
    p = _Parser(_tokens(text))
    if p.peek() is None:
        return Application(type=APP_TYPE, file_path=path)
    doc = p.value()
    expect(isinstance(doc, dict), "mix.lock: not an Elixir map")
    expect(p.peek() is None, "mix.lock: trailing content after the map")
    index = LineIndex(text)

    # app name → (hex package name, version)
    locked: dict[str, tuple[str, str]] = {}
    for app, spec in doc.items():
        if (
            isinstance(spec, Tuple)
            and len(spec) >= 3
            and spec[0] == "hex"
            and isinstance(spec[0], Atom)
            and isinstance(spec[1], Atom)
            and isinstance(spec[2], str)
            and not isinstance(spec[2], Atom)
            and spec[2]
        ):
            locked[app] = (str(spec[1]), spec[2])
        else:
            log.debug("%s: %s is not a Hex package (git/path dependency?), skipped", path, app)

    packages = []
    seen: set[tuple[str, str]] = set()
    for app, (name, version) in locked.items():
        if (name, version) in seen:
            continue
        seen.add((name, version))
        spec = doc[app]
        deps: list[str] = []
        if len(spec) >= 6 and isinstance(spec[5], list):
            for d in spec[5]:
                if isinstance(d, Tuple) and d and isinstance(d[0], Atom) and str(d[0]) in locked:
                    target = locked[str(d[0])]
                    deps.append(f"{target[0]}@{target[1]}")
        span = p.spans.get(app)
        lines = (index.line_of(span[0]), index.line_of(span[1] - 1)) if span else None
        packages.append(package(HEX, name, version, file_path=path, depends_on=deps, lines=lines))
    packages.sort(key=lambda x: (x.name, x.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_mix_lock(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="mix-lock", version=1, filenames=("mix.lock",), analyze=_analyze)
