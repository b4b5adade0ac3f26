"""Version-range syntaxes -> tuples of Interval (a union).

Purely textual: no ecosystem version comparison happens here. Caret/tilde/x-ranges get their upper bound computed
from the digits (^1.2.3 -> <2.0.0, ~1.2 -> <1.3.0, ~> 1.2.3 -> <1.3, 1.x -> >=1.0.0 <2.0.0); bounds keep the
source's spelling otherwise, and the matcher compares them with the ecosystem's comparator.

The one place we must order two versions is an AND of two bounds on the same side (Ruby "~> 5.2.4, >= 5.2.4.3",
npm ">=1.0.0 >=1.2.0"): an Interval has one lower and one upper bound, so we keep the tighter bound, chosen with
`loose_compare` (numeric segment-wise, pre-release tags sort before the release). Such bounds are always plain
dotted versions in the feeds, where that comparison agrees with every ecosystem's.

Every function returns None for an expression it cannot parse; callers skip the affected package (and count it)
rather than guess — dropping a patched range would turn fixed versions into false positives.

References: node-semver README "Advanced Range Syntax"; Cargo book "Specifying Dependencies"; RubyGems
"Patterns" (pessimistic operator); Elixir `Version` docs (requirements); Composer docs "Versions and constraints".
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from vigil.vulndb.records import Interval

Union = tuple[Interval, ...]

ANY = Interval()


# --------------------------------------------------------------------------------------------------- ordering


def _tokens(version: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t.lower() for t in re.findall(r"\d+|[A-Za-z]+", version)]


def loose_compare(a: str, b: str) -> int:
    """Order two version strings well enough to pick the tighter of two bounds: numeric segments compare as
    numbers, a textual segment (pre-release tag) sorts before a number and before the end of the version
    ("1.0.0-rc1" < "1.0.0" < "1.0.0.1"), trailing zeros are insignificant ("1.0" == "1.0.0")."""
    for x, y in itertools.zip_longest(_tokens(a), _tokens(b)):
        if x is None:
            if isinstance(y, str):
                return 1  # b continues with a pre-release tag: b < a
            x = 0
        if y is None:
            if isinstance(x, str):
                return -1
            y = 0
        if x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return -1 if x < y else 1
        if isinstance(x, str) and isinstance(y, str):
            return -1 if x < y else 1
        return -1 if isinstance(x, str) else 1
    return 0


def _intersect(a: Interval, b: Interval) -> Interval:
    lo, lo_incl = a.lo, a.lo_incl
    if b.lo is not None:
        if lo is None:
            lo, lo_incl = b.lo, b.lo_incl
        else:
            c = loose_compare(b.lo, lo)
            if c > 0 or (c == 0 and not b.lo_incl):
                lo, lo_incl = b.lo, b.lo_incl
    hi, hi_incl = a.hi, a.hi_incl
    if b.hi is not None:
        if hi is None:
            hi, hi_incl = b.hi, b.hi_incl
        else:
            c = loose_compare(b.hi, hi)
            if c < 0 or (c == 0 and not b.hi_incl):
                hi, hi_incl = b.hi, b.hi_incl
    return Interval(
        lo=lo,
        lo_incl=lo_incl if lo is not None else True,
        hi=hi,
        hi_incl=hi_incl if hi is not None else False,
    )


def _conjunction(terms: list[Union]) -> Union:
    """AND of terms, each a union of intervals (a union only for '!='): distribute and intersect."""
    out: list[Interval] = []
    for combo in itertools.product(*terms):
        acc = ANY
        for iv in combo:
            acc = _intersect(acc, iv)
        if acc not in out:
            out.append(acc)
    return tuple(out)


def _simple(op: str, version: str) -> Union | None:
    """One comparator with a version used verbatim."""
    if not version:
        return None
    if op in (">=",):
        return (Interval(lo=version),)
    if op == ">":
        return (Interval(lo=version, lo_incl=False),)
    if op == "<":
        return (Interval(hi=version),)
    if op == "<=":
        return (Interval(hi=version, hi_incl=True),)
    if op in ("=", "==", ""):
        return (Interval(lo=version, hi=version, hi_incl=True),)
    if op in ("!=", "<>"):
        return (Interval(hi=version), Interval(lo=version, lo_incl=False))
    return None


# --------------------------------------------------------------------------------------------------- partials

# A (possibly partial) semver: MAJOR[.MINOR[.PATCH]][-pre][+build]; any numeric part may be x/X/*.
_PARTIAL = re.compile(
    r"^[vV]?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z][0-9A-Za-z.\-]*))?(?:\+[0-9A-Za-z.\-]+)?$"
)


@dataclass(frozen=True)
class _Partial:
    """major/minor/patch as ints, None when absent or a wildcard (everything after a wildcard is a wildcard)."""

    major: int | None
    minor: int | None
    patch: int | None
    pre: str

    @property
    def full(self) -> bool:
        return self.patch is not None

    def text(self) -> str:
        """Lower bound spelling: missing parts are 0 (node-semver pads partial lower bounds)."""
        base = f"{self.major or 0}.{self.minor or 0}.{self.patch or 0}"
        return f"{base}-{self.pre}" if self.pre and self.full else base

    def next_unspecified(self) -> str | None:
        """The first version after the range the partial denotes: 1 -> 2.0.0, 1.2 -> 1.3.0; None for '*'."""
        if self.major is None:
            return None
        if self.minor is None:
            return f"{self.major + 1}.0.0"
        return f"{self.major}.{self.minor + 1}.0"


def _parse_partial(text: str) -> _Partial | None:
    if text in ("", "*", "x", "X"):
        return _Partial(None, None, None, "")
    m = _PARTIAL.match(text)
    if not m:
        return None
    parts: list[int | None] = []
    wild = False
    for g in m.group(1, 2, 3):
        if g is None or not g.isdigit():
            wild = True
        parts.append(None if wild or g is None else int(g))
    major, minor, patch = parts
    return _Partial(major, minor, patch, (m.group(4) or "") if patch is not None else "")


_NEVER = Interval(hi="0.0.0-0")  # nothing sorts below 0.0.0-0 in semver: an interval matching no version


def _semver_comparator(op: str, text: str, *, bare: str) -> Union | None:
    """One node-semver / Cargo comparator. `bare` is the meaning of a version without operator: "=" for npm
    (an x-range if partial), "^" for Cargo."""
    p = _parse_partial(text)
    if p is None:
        return None
    if not op:
        op = bare
    if op in ("~>",):  # node-semver accepts "~>" as tilde
        op = "~"
    if p.major is None:  # "*", "x", ">=*", …
        return (_NEVER,) if op in ("<", ">") else (ANY,)
    if op == "^":
        lo = p.text()
        if p.minor is None or p.major != 0:
            hi = f"{p.major + 1}.0.0"
        elif p.patch is None or p.minor != 0:
            hi = f"0.{p.minor + 1}.0"
        else:
            hi = f"0.0.{p.patch + 1}"
        return (Interval(lo=lo, hi=hi),)
    if op == "~":
        nxt = p.next_unspecified() if p.minor is None else f"{p.major}.{p.minor + 1}.0"
        return (Interval(lo=p.text(), hi=nxt),)
    if p.full:
        assert p.patch is not None
        version = p.text()
        return _simple(op, version)
    nxt = p.next_unspecified()
    assert nxt is not None
    if op in ("=", "=="):
        return (Interval(lo=p.text(), hi=nxt),)
    if op == ">=":
        return (Interval(lo=p.text()),)
    if op == ">":
        return (Interval(lo=nxt),)
    if op == "<":
        return (Interval(hi=p.text()),)
    if op == "<=":
        return (Interval(hi=nxt),)
    return None


# --------------------------------------------------------------------------------------------------- npm

_OP_SPACE = re.compile(r"(<=|>=|~>|<|>|=|~|\^)\s+")
_NPM_TOKEN = re.compile(r"^(<=|>=|~>|<|>|=|~|\^)?=?(.*)$")
_HYPHEN = re.compile(r"^(\S+)\s+-\s+(\S+)$")


def _hyphen(lo_text: str, hi_text: str) -> Union | None:
    lo_p, hi_p = _parse_partial(lo_text), _parse_partial(hi_text)
    if lo_p is None or hi_p is None:
        return None
    lo = None if lo_p.major is None else lo_p.text()
    if hi_p.major is None:
        return (Interval(lo=lo),)
    if hi_p.full:
        return (Interval(lo=lo, hi=hi_p.text(), hi_incl=True),)
    return (Interval(lo=lo, hi=hi_p.next_unspecified()),)


def npm_range(expr: str) -> Union | None:
    """node-semver range: `||` alternatives of space-separated comparators (AND), hyphen ranges `1.2 - 2.3`,
    ^ ~ x-ranges, `*`/empty (any). Operators may be followed by spaces ("< 2.0.5"), versions may have a leading
    "v". Returns the union of intervals, or None if not parsable."""
    out: list[Interval] = []
    for alt in expr.split("||"):
        alt = alt.strip()
        m = _HYPHEN.match(alt)
        if m:
            ivs = _hyphen(m.group(1), m.group(2))
        else:
            terms: list[Union] = []
            for tok in _OP_SPACE.sub(r"\1", alt).split():
                tm = _NPM_TOKEN.match(tok)
                assert tm is not None  # the pattern matches any string
                term = _semver_comparator(tm.group(1) or "", tm.group(2), bare="=")
                if term is None:
                    return None
                terms.append(term)
            ivs = _conjunction(terms) if terms else (ANY,)
        if ivs is None:
            return None
        out.extend(iv for iv in ivs if iv not in out)
    return tuple(out)


# --------------------------------------------------------------------------------------------------- Cargo

_CARGO_TOKEN = re.compile(r"^(<=|>=|<|>|=|~|\^)?(.+)$")


def cargo_requirement(expr: str) -> Union | None:
    """Cargo semver requirement: comma-separated comparators (AND); a bare version means ^ ("0.9.1" -> >=0.9.1
    <0.10.0); wildcards `*`, `1.*`, `1.2.*`."""
    terms: list[Union] = []
    for raw in expr.split(","):
        tok = _OP_SPACE.sub(r"\1", raw.strip())
        if not tok:
            return None
        m = _CARGO_TOKEN.match(tok)
        if not m:
            return None
        version = m.group(2).strip()
        # A bare version means caret, except a wildcard ("1.2.*"), which is an x-range.
        bare = "=" if any(c in version for c in "*xX") else "^"
        term = _semver_comparator(m.group(1) or "", version, bare=bare)
        if term is None:
            return None
        terms.append(term)
    return _conjunction(terms)


# --------------------------------------------------------------------------------------------------- simple lists

_SIMPLE_TOKEN = re.compile(r"^(<=|>=|==|!=|<>|<|>|=)?\s*([^\s<>=!,]+)$")


def simple_comparators(expr: str) -> Union | None:
    """Comma-separated plain comparators (AND), versions used verbatim: "< 0.2, >= 0.1.5"."""
    terms: list[Union] = []
    for raw in expr.split(","):
        m = _SIMPLE_TOKEN.match(raw.strip())
        if not m:
            return None
        term = _simple(m.group(1) or "=", m.group(2))
        if term is None:
            return None
        terms.append(term)
    return _conjunction(terms)


# --------------------------------------------------------------------------------------------------- RubyGems

_RUBY_TOKEN = re.compile(r"^(~>|>=|<=|!=|=|<|>)?\s*([0-9A-Za-z][0-9A-Za-z.\-_+]*)$")


def _ruby_bump(version: str) -> str | None:
    """Gem::Version#bump: drop pre-release segments, drop the last segment (if more than one), increment the last:
    1.2.3 -> 1.3, 1.2 -> 2, 1.2.0.rc1 -> 1.3."""
    segments = re.findall(r"\d+|[A-Za-z]+", version)
    numeric: list[int] = []
    for seg in segments:
        if not seg.isdigit():
            break
        numeric.append(int(seg))
    if not numeric:
        return None
    if len(numeric) > 1:
        numeric.pop()
    numeric[-1] += 1
    return ".".join(str(n) for n in numeric)


def _ruby_item(item: str) -> Union | None:
    terms: list[Union] = []
    for raw in item.split(","):
        m = _RUBY_TOKEN.match(raw.strip())
        if not m:
            return None
        op, version = m.group(1) or "=", m.group(2)
        if op == "~>":
            hi = _ruby_bump(version)
            if hi is None:
                return None
            terms.append((Interval(lo=version, hi=hi),))
            continue
        term = _simple(op, version)
        if term is None:
            return None
        terms.append(term)
    return _conjunction(terms)


def ruby_requirement(items: list[str]) -> Union | None:
    """RubyGems requirement list as used by ruby-advisory-db: each item is an alternative (OR), a comma inside an
    item is AND ("~> 5.2.4, >= 5.2.4.3" -> >=5.2.4.3 <5.3)."""
    out: list[Interval] = []
    for item in items:
        ivs = _ruby_item(item)
        if ivs is None:
            return None
        out.extend(iv for iv in ivs if iv not in out)
    return tuple(out)


# --------------------------------------------------------------------------------------------------- Elixir

_ELIXIR_TOKEN = re.compile(r"^(~>|>=|<=|==|!=|<|>)?\s*(\S+)$")
_ELIXIR_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.\-]+))?(?:\+[0-9A-Za-z.\-]+)?$")


def _elixir_comparator(op: str, version: str) -> Union | None:
    m = _ELIXIR_VERSION.match(version)
    if not m:
        return None
    if op != "~>":
        return _simple(op or "==", version)
    major, minor, patch, pre = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
    lo = f"{major}.{minor}.{patch or 0}" + (f"-{pre}" if pre else "")
    # Elixir docs: "~> 2.0" == ">= 2.0.0 and < 3.0.0"; "~> 2.1.2" == ">= 2.1.2 and < 2.2.0".
    hi = f"{major + 1}.0.0" if patch is None else f"{major}.{minor + 1}.0"
    return (Interval(lo=lo, hi=hi),)


def elixir_requirement(items: list[str]) -> Union | None:
    """Elixir version requirements: each item is an alternative; inside an item `or` separates alternatives and
    `and` conjoins comparators (`and` binds tighter)."""
    out: list[Interval] = []
    for item in items:
        for alt in re.split(r"\s+or\s+", item.strip()):
            terms: list[Union] = []
            for raw in re.split(r"\s+and\s+", alt.strip()):
                m = _ELIXIR_TOKEN.match(raw.strip())
                if not m:
                    return None
                term = _elixir_comparator(m.group(1) or "", m.group(2))
                if term is None:
                    return None
                terms.append(term)
            out.extend(iv for iv in _conjunction(terms) if iv not in out)
    return tuple(out)


# --------------------------------------------------------------------------------------------------- Composer

_COMPOSER_TOKEN = re.compile(r"^(<=|>=|==|!=|<>|<|>|=|~|\^)?[vV]?([0-9A-Za-z*][0-9A-Za-z.\-_+*]*)$")
_COMPOSER_STABILITY = re.compile(r"@(?:dev|alpha|beta|RC|rc|stable)$")


def _composer_segments(version: str) -> tuple[list[int], str] | None:
    """Leading numeric segments and the rest: "1.2.3-beta1" -> ([1, 2, 3], "-beta1")."""
    m = re.match(r"^(\d+(?:\.\d+)*)(.*)$", version)
    if not m:
        return None
    return [int(s) for s in m.group(1).split(".")], m.group(2)


def _composer_comparator(op: str, version: str) -> Union | None:
    if version in ("*", "x", "X"):
        return (ANY,)
    if version.endswith((".*", ".x", ".X")):
        # Wildcard: 1.0.* -> >=1.0 <1.1 (Composer docs "Wildcard Version Range").
        seg = _composer_segments(version[:-2])
        if seg is None or seg[1] or op not in ("", "=", "=="):
            return None
        nums = seg[0]
        hi = [*nums[:-1], nums[-1] + 1]
        return (Interval(lo=version[:-2], hi=".".join(map(str, hi))),)
    if op == "~":
        # Tilde: ~1.2 -> >=1.2 <2.0; ~1.2.3 -> >=1.2.3 <1.3 (bumps the next-to-last given segment).
        seg = _composer_segments(version)
        if seg is None:
            return None
        nums = seg[0]
        if len(nums) > 1:
            nums = nums[:-1]
        hi = [*nums[:-1], nums[-1] + 1]
        if len(hi) == 1:
            hi.append(0)
        return (Interval(lo=version, hi=".".join(map(str, hi))),)
    if op == "^":
        # Caret: like npm, the first non-zero segment is locked (^0.3 -> <0.4.0, ^1.2.3 -> <2.0.0).
        seg = _composer_segments(version)
        if seg is None:
            return None
        nums = seg[0] + [0] * (3 - len(seg[0]))
        idx = next((i for i, n in enumerate(nums[:-1]) if n != 0), len(seg[0]) - 1)
        hi = [*nums[:idx], nums[idx] + 1] + [0] * (len(nums) - idx - 1)
        return (Interval(lo=version, hi=".".join(map(str, hi))),)
    return _simple(op or "=", version)


def composer_constraint(expr: str) -> Union | None:
    """Composer constraint: `||` (or legacy `|`) alternatives; `,` or whitespace AND; hyphen ranges; ~ ^ and
    wildcards; stability flags (@dev) ignored."""
    out: list[Interval] = []
    for alt in re.split(r"\s*\|\|?\s*", expr.strip()):
        m = _HYPHEN.match(alt.strip())
        if m:
            lo_v, hi_v = (v.lstrip("vV") for v in m.group(1, 2))
            hi_seg = _composer_segments(hi_v)
            if hi_seg is None or _composer_segments(lo_v) is None:
                return None
            if len(hi_seg[0]) < 3 and not hi_seg[1]:
                # "1.0 - 2.0" means <2.1 (a partial upper bound is a wildcard).
                nums = hi_seg[0]
                ivs: Union = (Interval(lo=lo_v, hi=".".join(map(str, [*nums[:-1], nums[-1] + 1]))),)
            else:
                ivs = (Interval(lo=lo_v, hi=hi_v, hi_incl=True),)
        else:
            terms: list[Union] = []
            for tok in re.split(r"\s*,\s*|\s+", _OP_SPACE.sub(r"\1", alt.strip())):
                if not tok:
                    continue
                tok = _COMPOSER_STABILITY.sub("", tok)
                tm = _COMPOSER_TOKEN.match(tok)
                if not tm:
                    return None
                term = _composer_comparator(tm.group(1) or "", tm.group(2))
                if term is None:
                    return None
                terms.append(term)
            if not terms:
                return None
            ivs = _conjunction(terms)
        out.extend(iv for iv in ivs if iv not in out)
    return tuple(out)
