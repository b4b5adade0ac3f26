"""Alpine package versions: the ordering of apk-tools 2.x (`apk version -t`), which Alpine's secdb assumes.

  * Accepted grammar (the subset of what apk-tools validates that real packages use):
        digits ("." [digits])* [letter [digits]] ("_" suffix [digits])* ["-r" digits]
    with suffix one of alpha, beta, pre, rc (pre-releases) or cvs, svn, git, hg, p (post-releases) and letter a-z.
    apk-tools accepts an empty dotted component and reads it as 0; real secfixes use it ("1.18.-r2",
    "0.8.21.r2"), so we do too. Anything else (empty string, leading letter, "-" not followed by "r", apk 3's
    "~commit") is InvalidVersion.
  * apk reads the string as a stream of typed tokens and walks two streams together. Tokens of the same type
    compare by value: numbers numerically, the letter by ASCII, suffixes alpha < beta < pre < rc < cvs < svn < git
    < hg < p. When the types differ, the version whose next token is "further along" the grammar is the older
    one: the ranking of next tokens from newest to oldest is
        "." number  >  number  >  letter  >  post suffix  >  suffix number  >  -r revision  >  end  >  pre suffix
    so "1.2.3" > "1.2a" > "1.2_p1" > "1.2-r1" > "1.2" > "1.2_rc1", and "1.2_p" < "1.2_p0".
  * A dotted component with leading zeros is not its number: apk emits a token worth -(count of zeros), then the
    remaining digits as a separate number token (a component that is all zeros at the end of the string emits only
    the zeros token). Hence "1.05" < "1.5", "1.00" < "1.0", "2.15.05" < "2.15.4" — Alpine ships such versions
    (nasm 2.15.05, 2.16.01), so reading them as plain numbers would invert real orderings.
  * Numbers are Python ints (apk-tools uses a C int, which overflows beyond 10 digits; we stay exact).

Key: the token stream as (rank, value) pairs, rank ordered as in the list above, ending with an END pair. Tokens
are equal only when type and value are equal and END appears only last, so tuple comparison equals apk's walk.
"""

from __future__ import annotations

import re

from vigil.detectors.versions._base import Key, KeyedScheme, invalid

_NAME = "alpine"
_PATTERN = re.compile(
    r"(?P<first>[0-9]+)(?P<dots>(?:\.[0-9]*)*)(?:(?P<letter>[a-z])(?P<ldigits>[0-9]*))?"
    r"(?P<suffixes>(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*)(?:-r(?P<rev>[0-9]+))?",
    re.ASCII,
)
_SUFFIX = re.compile(r"_(alpha|beta|pre|rc|cvs|svn|git|hg|p)([0-9]*)", re.ASCII)
_SUFFIX_VALUE = {"alpha": -4, "beta": -3, "pre": -2, "rc": -1, "cvs": 0, "svn": 1, "git": 2, "hg": 3, "p": 4}

# Ranks: a higher rank is a newer version when the two streams' next tokens differ in type.
_PRE_SUFFIX = 0
_END = 1
_REVISION = 2
_SUFFIX_NO = 3
_POST_SUFFIX = 4
_LETTER = 5
_DIGIT = 6
_DOT_DIGIT = 7  # a number introduced by "." (apk's digit-or-zero state)
_END_TOKEN = (_END, 0)


def parse(version: str) -> Key:
    m = _PATTERN.fullmatch(version)
    if not m:
        raise invalid(version, _NAME)
    tokens: list[tuple[int, int]] = [(_DIGIT, int(m["first"]))]
    dots = m["dots"]
    if dots:
        components = dots[1:].split(".")
        last = len(components) - 1
        at_end = m.end("dots") == len(version)
        for i, comp in enumerate(components):
            digits = comp.lstrip("0")
            zeros = len(comp) - len(digits)
            if zeros:
                tokens.append((_DOT_DIGIT, -zeros))
                if digits or not (i == last and at_end):
                    tokens.append((_DIGIT, int(digits or "0")))
            else:
                tokens.append((_DOT_DIGIT, int(comp or "0")))  # apk reads an empty component ("1..2") as 0
    if m["letter"]:
        tokens.append((_LETTER, ord(m["letter"])))
        if m["ldigits"]:
            tokens.append((_DIGIT, int(m["ldigits"])))
    for name, number in _SUFFIX.findall(m["suffixes"] or ""):
        value = _SUFFIX_VALUE[name]
        tokens.append((_PRE_SUFFIX if value < 0 else _POST_SUFFIX, value))
        if number:
            tokens.append((_SUFFIX_NO, int(number)))
    if m["rev"] is not None:
        tokens.append((_REVISION, int(m["rev"])))
    tokens.append(_END_TOKEN)
    return tuple(tokens)


SCHEME = KeyedScheme(_NAME, parse)
