"""RPM package versions: `[epoch:]version[-release]` ordered by rpm's `rpmvercmp` (rpm >= 4.15, with "^").

  * The epoch is the leading digits before ":" (absent or empty = 0); the release is everything after the LAST
    "-". Version and release use `[A-Za-z0-9._+~^]` (the characters rpmbuild accepts) and must hold at least one
    alphanumeric character; anything else (whitespace, more colons, an empty part) is InvalidVersion.
  * Epochs compare numerically, then versions, then releases, each with rpmvercmp. A missing release compares as
    the empty string, i.e. before any release ("1.0" < "1.0-1"), which makes the order total. (rpm itself skips
    the release comparison when one side has none; that is a range-matching rule, not an ordering.)
  * rpmvercmp reads maximal runs of digits or of ASCII letters (segments); every other character only separates
    segments ("1.0" == "1_0" == "1..0"). Walking both strings: a "~" sorts before anything, even the end of the
    string ("1.0~rc1" < "1.0"); a "^" sorts after the end of the string but before any further segment
    ("1.0" < "1.0^post1" < "1.0.1"); a numeric segment is newer than an alphabetic one ("1.0a" < "1.0.1");
    numbers compare numerically (leading zeros ignored), letters byte-wise; if one string runs out of segments
    first, the other ("1.0a" > "1.0") is newer.

Key: each of version and release becomes a token tuple ending in END, with tokens ranked exactly as the walk
above ranks them: "~" (0,) < END (1,) < "^" (2,) < letters (3, s) < number (4, n). END only appears last, so
plain tuple comparison equals rpmvercmp.
"""

from __future__ import annotations

import re

from vigil.detectors.versions._base import Key, KeyedScheme, invalid

_NAME = "rpm"
_EPOCH = re.compile(r"([0-9]*):", re.ASCII)
_PART = re.compile(r"[A-Za-z0-9._+~^]*[A-Za-z0-9][A-Za-z0-9._+~^]*", re.ASCII)
_TOKEN = re.compile(r"[0-9]+|[A-Za-z]+|~|\^", re.ASCII)
_TILDE: tuple[int] = (0,)
_END: tuple[int] = (1,)
_CARET: tuple[int] = (2,)


def _tokens(part: str) -> tuple[tuple[object, ...], ...]:
    tokens: list[tuple[object, ...]] = []
    for tok in _TOKEN.findall(part):
        if tok == "~":
            tokens.append(_TILDE)
        elif tok == "^":
            tokens.append(_CARET)
        elif tok[0].isdigit():
            tokens.append((4, int(tok)))
        else:
            tokens.append((3, tok))
    tokens.append(_END)
    return tuple(tokens)


def parse(version: str) -> Key:
    epoch = 0
    rest = version
    m = _EPOCH.match(version)
    if m:
        epoch = int(m.group(1) or 0)
        rest = version[m.end() :]
    vers, hyphen, release = rest.rpartition("-")
    if not hyphen:
        vers, release = rest, ""
    elif not _PART.fullmatch(release):
        raise invalid(version, _NAME, "bad release")
    if not _PART.fullmatch(vers):
        raise invalid(version, _NAME, "bad version")
    return (epoch, _tokens(vers), _tokens(release))


SCHEME = KeyedScheme(_NAME, parse)
