"""Backtracking-free matching for the regexes a secret config supplies.

A repository's vigil-secret.yaml is read by default, so its regexes are attacker input. Python's `re` backtracks:
`(a|aa)+b` against a run of 34 a's takes seconds, 60 a's take centuries, and nothing can interrupt it from outside
the main thread. The hyperscan prefilter does not help, because it only decides which rules run; the exact step
still runs the rule's regex. So every regex that does not come from the packaged rule file (custom rules and their
`path`, allow rules, exclude blocks, skip patterns) is compiled here instead of by `re`:

- `re`'s own parser reads the pattern, so the syntax and the flags are exactly `re`'s. The subset is what Go's
  RE2 accepts, which is all Trivy's trivy-secret.yaml can contain: literals, classes, `.`, alternation, groups
  (named or not, with scoped flags), greedy and lazy repeats, `^ $ \\A \\Z \\b \\B`. Lookarounds, backreferences,
  conditionals, atomic groups and possessive repeats are rejected when the config is parsed (exit 2).
- A Pike VM (Thompson's NFA simulation with per-thread captures) runs it: every (instruction, position) pair is
  visited at most once per start position group, so the cost is O(len(text) x len(program)) whatever the input,
  and threads are kept in priority order, so the leftmost match, its end and its capture groups are the ones
  `re` reports (leftmost-first, greedy/lazy, first alternative first).
- The program is capped at MAX_PROGRAM instructions (a bounded repeat is unrolled), and one search has a work
  budget (instruction visits proportional to the text length): a search over budget stops and raises
  BudgetExceeded, which the engine reports as a warning naming the rule and the file. The bound is on work, so
  results do not depend on the machine's speed.
- When no thread is alive, the search skips to the next byte that can start a match with one `re` character-class
  search (a single class cannot backtrack), so text without candidates costs what a C scan costs.

Semantics are `re`'s for bytes patterns (ASCII classes and case folding). Paths are matched as their UTF-8 bytes.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any

import msgspec

_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

MAX_PROGRAM = 20_000
WORK_PER_BYTE = 512  # instruction visits per byte of text one search may spend
WORK_BASE = 1 << 20

_CHAR, _SPLIT, _JMP, _SAVE, _ASSERT, _MATCH = range(6)
_BOS, _BOL, _EOS, _EOL, _END, _WORDB, _NWORDB = range(7)

_DIGIT = frozenset(b"0123456789")
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_SPACE = frozenset(b" \t\n\r\x0b\x0c")
_ALL = frozenset(range(256))


class UnsupportedRegex(ValueError):
    """A construct a linear-time matcher cannot run (or a pattern too large to unroll)."""


class BudgetExceeded(RuntimeError):
    """A search spent its work budget (see the module docstring)."""


def _fold(s: frozenset[int]) -> frozenset[int]:
    out = set(s)
    for b in s:
        if 65 <= b <= 90:
            out.add(b + 32)
        elif 97 <= b <= 122:
            out.add(b - 32)
    return frozenset(out)


def _category(cat: Any) -> frozenset[int]:
    table = {
        _c.CATEGORY_DIGIT: _DIGIT, _c.CATEGORY_NOT_DIGIT: _ALL - _DIGIT,
        _c.CATEGORY_WORD: _WORD, _c.CATEGORY_NOT_WORD: _ALL - _WORD,
        _c.CATEGORY_SPACE: _SPACE, _c.CATEGORY_NOT_SPACE: _ALL - _SPACE,
        _c.CATEGORY_LINEBREAK: frozenset(b"\n"), _c.CATEGORY_NOT_LINEBREAK: _ALL - frozenset(b"\n"),
    }
    if cat not in table:
        raise UnsupportedRegex(f"unsupported class {cat}")
    return table[cat]


def _in_set(items: list[tuple[Any, Any]], icase: bool) -> frozenset[int]:
    neg = False
    out: set[int] = set()
    for op, av in items:
        if op is _c.NEGATE:
            neg = True
        elif op is _c.LITERAL:
            out.add(av)
        elif op is _c.RANGE:
            out.update(range(av[0], av[1] + 1))
        elif op is _c.CATEGORY:
            out.update(_category(av))
        else:
            raise UnsupportedRegex(f"unsupported class item {op}")
    s = frozenset(b for b in out if b < 256)
    if icase:
        s = _fold(s)
    return _ALL - s if neg else s


def _table(s: frozenset[int]) -> bytes:
    return bytes(1 if b in s else 0 for b in range(256))


class _Compiler:
    def __init__(self) -> None:
        self.prog: list[list[Any]] = []

    def emit(self, *ins: Any) -> int:
        if len(self.prog) >= MAX_PROGRAM:
            raise UnsupportedRegex(f"pattern too large (more than {MAX_PROGRAM} steps once repeats are unrolled)")
        self.prog.append(list(ins))
        return len(self.prog) - 1

    def char(self, s: frozenset[int]) -> None:
        self.emit(_CHAR, _table(s))

    def seq(self, node: Any, flags: int) -> None:
        for op, av in node.data if hasattr(node, "data") else node:
            self.item(op, av, flags)

    def item(self, op: Any, av: Any, flags: int) -> None:
        icase = bool(flags & _c.SRE_FLAG_IGNORECASE)
        if op is _c.LITERAL or op is _c.NOT_LITERAL:
            s = frozenset({av}) if av < 256 else frozenset()
            s = _fold(s) if icase else s
            self.char(s if op is _c.LITERAL else _ALL - s)
        elif op is _c.ANY:
            self.char(_ALL if flags & _c.SRE_FLAG_DOTALL else _ALL - frozenset(b"\n"))
        elif op is _c.IN:
            self.char(_in_set(av, icase))
        elif op is _c.BRANCH:
            alts = av[1]
            jumps = []
            for k, alt in enumerate(alts):
                if k < len(alts) - 1:
                    split = self.emit(_SPLIT, len(self.prog) + 1, None)
                    self.seq(alt, flags)
                    jumps.append(self.emit(_JMP, None))
                    self.prog[split][2] = len(self.prog)
                else:
                    self.seq(alt, flags)
            for j in jumps:
                self.prog[j][1] = len(self.prog)
        elif op is _c.SUBPATTERN:
            group, add, remove, sub = av
            inner = (flags | add) & ~remove
            if group:
                self.emit(_SAVE, 2 * group)
            self.seq(sub, inner)
            if group:
                self.emit(_SAVE, 2 * group + 1)
        elif op is _c.MAX_REPEAT or op is _c.MIN_REPEAT:
            self.repeat(av, flags, greedy=op is _c.MAX_REPEAT)
        elif op is _c.AT:
            self.emit(_ASSERT, self.at(av, flags))
        else:
            raise UnsupportedRegex(f"{str(op).lower()} is not supported (lookarounds, backreferences, "
                                   "conditionals, atomic groups and possessive repeats cannot run in linear time)")

    def repeat(self, av: Any, flags: int, greedy: bool) -> None:
        lo, hi, sub = av
        for _ in range(lo):
            self.seq(sub, flags)
        if hi is _c.MAXREPEAT or hi == _c.MAXREPEAT:
            loop = self.emit(_SPLIT, None, None)
            self.seq(sub, flags)
            self.emit(_JMP, loop)
            body, out = loop + 1, len(self.prog)
            self.prog[loop][1:] = [body, out] if greedy else [out, body]
            return
        skips = []
        for _ in range(hi - lo):
            skips.append(self.emit(_SPLIT, None, None))
            self.seq(sub, flags)
        end = len(self.prog)
        for s in skips:
            self.prog[s][1:] = [s + 1, end] if greedy else [end, s + 1]

    @staticmethod
    def at(code: Any, flags: int) -> int:
        multiline = bool(flags & _c.SRE_FLAG_MULTILINE)
        if code is _c.AT_BEGINNING:
            return _BOL if multiline else _BOS
        if code is _c.AT_BEGINNING_STRING:
            return _BOS
        if code is _c.AT_END:
            return _EOL if multiline else _END
        if code is _c.AT_END_STRING:
            return _EOS
        if code is _c.AT_BOUNDARY:
            return _WORDB
        if code is _c.AT_NON_BOUNDARY:
            return _NWORDB
        raise UnsupportedRegex(f"unsupported anchor {code}")


_WORD_TABLE = _table(_WORD)


def _assert_ok(kind: int, buf: bytes, i: int) -> bool:
    n = len(buf)
    if kind == _BOS:
        return i == 0
    if kind == _BOL:
        return i == 0 or buf[i - 1] == 10
    if kind == _EOS:
        return i == n
    if kind == _EOL:
        return i == n or buf[i] == 10
    if kind == _END:
        return i == n or (i == n - 1 and buf[i] == 10)
    before = i > 0 and _WORD_TABLE[buf[i - 1]] == 1
    after = i < n and _WORD_TABLE[buf[i]] == 1
    return (before != after) if kind == _WORDB else (before == after and n > 0)


class LinearMatch(msgspec.Struct, frozen=True):
    """The part of re.Match the secret engine uses."""

    caps: tuple[int, ...]
    groupindex: dict[str, int]

    def _g(self, g: int | str) -> int:
        return self.groupindex[g] if isinstance(g, str) else g

    def start(self, g: int | str = 0) -> int:
        return self.caps[2 * self._g(g)]

    def end(self, g: int | str = 0) -> int:
        return self.caps[2 * self._g(g) + 1]

    def span(self, g: int | str = 0) -> tuple[int, int]:
        return self.start(g), self.end(g)


class LinearPattern:
    """A compiled pattern with the re.Pattern methods the secret engine uses (search, finditer; bytes or str)."""

    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self.pattern = pattern.encode("utf-8") if isinstance(pattern, str) else pattern
        try:
            parsed = _parser.parse(self.pattern, flags)
        except re.error as e:
            raise UnsupportedRegex(str(e)) from e
        comp = _Compiler()
        comp.seq(parsed, parsed.state.flags | flags)
        comp.emit(_MATCH)
        self.prog: list[tuple[Any, ...]] = [tuple(i) for i in comp.prog]
        self.groups = parsed.state.groups - 1
        self.groupindex: dict[str, int] = dict(parsed.state.groupdict)
        self._ncaps = 2 * (self.groups + 1)
        first = self._first_bytes()
        self._skip = None if first is None else re.compile(
            b"[" + b"".join(re.escape(bytes([b])) for b in sorted(first)) + b"]")

    def _first_bytes(self) -> frozenset[int] | None:
        """Bytes that can start a match, or None when a match can be empty (every position is a candidate)."""
        seen: set[int] = set()
        stack = [0]
        out: set[int] = set()
        while stack:
            pc = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            ins = self.prog[pc]
            op = ins[0]
            if op == _MATCH:
                return None
            if op == _CHAR:
                out.update(b for b in range(256) if ins[1][b])
            elif op == _SPLIT:
                stack += [ins[1], ins[2]]
            elif op == _JMP:
                stack.append(ins[1])
            else:  # SAVE, or an assertion (assumed to hold: a superset is fine for skipping)
                stack.append(pc + 1)
        return None if len(out) == 256 else frozenset(out)

    def _add(self, lst: list[tuple[int, tuple[int, ...]]], seen: set[int], pc: int, caps: tuple[int, ...],
             buf: bytes, i: int) -> int:
        """Follow the epsilon moves from pc at position i, appending the threads (in priority order) that wait
        on a byte or a match. Returns the number of instructions visited."""
        prog = self.prog
        stack = [(pc, caps)]
        visits = 0
        while stack:
            pc, caps = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            visits += 1
            ins = prog[pc]
            op = ins[0]
            if op == _JMP:
                stack.append((ins[1], caps))
            elif op == _SPLIT:
                stack.append((ins[2], caps))
                stack.append((ins[1], caps))
            elif op == _SAVE:
                c = list(caps)
                c[ins[1]] = i
                stack.append((pc + 1, tuple(c)))
            elif op == _ASSERT:
                if _assert_ok(ins[1], buf, i):
                    stack.append((pc + 1, caps))
            else:
                lst.append((pc, caps))
        return visits

    def _search(self, buf: bytes, pos: int, no_empty_at: int = -1, anchored: bool = False) -> LinearMatch | None:
        n = len(buf)
        budget = WORK_BASE + WORK_PER_BYTE * max(0, n - pos)
        prog = self.prog
        blank = (-1,) * self._ncaps
        clist: list[tuple[int, tuple[int, ...]]] = []
        seen: set[int] = set()
        matched: tuple[int, ...] | None = None
        i = pos
        while True:
            if anchored and i > pos:
                if not clist:
                    break
            elif matched is None:
                if not clist and self._skip is not None:
                    m = self._skip.search(buf, i)
                    if m is None:
                        return None
                    if m.start() != i:
                        i, seen = m.start(), set()
                start = list(blank)
                start[0] = i
                budget -= self._add(clist, seen, 0, tuple(start), buf, i)
            nlist: list[tuple[int, tuple[int, ...]]] = []
            nseen: set[int] = set()
            for pc, caps in clist:
                ins = prog[pc]
                if ins[0] == _MATCH:
                    if caps[0] == i == no_empty_at:
                        continue
                    c = list(caps)
                    c[1] = i
                    matched = tuple(c)
                    break  # lower-priority threads lose to this match
                if i < n and ins[1][buf[i]]:
                    budget -= self._add(nlist, nseen, pc + 1, caps, buf, i + 1)
            if budget < 0:
                raise BudgetExceeded(f"gave up after {WORK_BASE + WORK_PER_BYTE * max(0, n - pos)} steps")
            if i >= n or (matched is not None and not nlist):
                break
            clist, seen = nlist, nseen
            i += 1
        return None if matched is None else LinearMatch(matched, self.groupindex)

    def search(self, text: str | bytes, pos: int = 0) -> LinearMatch | None:
        buf = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        return self._search(buf, pos)

    def match(self, text: str | bytes, pos: int = 0) -> LinearMatch | None:
        buf = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        return self._search(buf, pos, anchored=True)

    def finditer(self, text: bytes, pos: int = 0) -> Iterator[LinearMatch]:
        no_empty_at = -1
        while pos <= len(text):
            m = self._search(text, pos, no_empty_at)
            if m is None:
                return
            yield m
            s, e = m.span()
            pos, no_empty_at = e, (e if s == e else -1)


def check(pattern: str | bytes) -> None:
    """Raise UnsupportedRegex when the pattern cannot be matched in linear time (see the module docstring)."""
    LinearPattern(pattern)
