"""RubyGems versions: the rules of `Gem::Version` (rubygems/lib/rubygems/version.rb).

  * A version matches `[0-9]+(\\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?` after stripping surrounding
    whitespace. (Gem::Version.new("") means "0"; we raise InvalidVersion for empty strings instead, since an empty
    installed version is "unknown", not "0".)
  * Every "-" is replaced by ".pre." ("1.0.0-rc1" is "1.0.0.pre.rc1"), then the string is scanned into segments,
    runs of digits (integers) and runs of letters (strings): "1.0.a10" -> [1, 0, "a", 10].
  * Canonical segments: trailing zeros are dropped from the numeric prefix and from the rest separately, so
    "1.0" == "1" and "1.0.a" == "1.a".
  * Comparison walks both canonical lists padding the shorter with 0: equal segments continue; a string sorts
    before a number (so any letter marks a pre-release: "1.0.a" < "1.0", "1.0.0.pre" < "1.0.0"); strings compare
    byte-wise (case-sensitive), numbers numerically.

Key: "pad with 0" is not tuple ordering ("1" > "1.a" but (1,) < (1, "a")), so the key run-length-encodes zeros:
each non-zero segment becomes a token carrying the number of zeros before it, and an END token stands for the
infinite zero padding. Tokens are ordered by what they mean after the padding:
    (string after z zeros)  <  END  <  (number after z zeros)
strings ordered by (z ascending, text) — more zeros before a string is larger, since 0 > string — and numbers by
(z descending, value). Plain tuple comparison of the token lists then equals Gem::Version#<=>.
"""

from __future__ import annotations

import re

from vigil.detectors.versions._base import Key, KeyedScheme, invalid

_NAME = "rubygems"
_PATTERN = re.compile(r"[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?", re.ASCII)
_SEGMENT = re.compile(r"[0-9]+|[a-zA-Z]+", re.ASCII)
_RUBY_STRIP = " \t\n\v\f\r\0"  # String#strip
_END: tuple[int] = (1,)


def segments(version: str) -> list[int | str]:
    """Gem::Version#canonical_segments of an already validated version string."""
    segs: list[int | str] = [
        int(s) if s.isdigit() else s for s in _SEGMENT.findall(version.replace("-", ".pre."))
    ]
    first_string = next((i for i, s in enumerate(segs) if isinstance(s, str)), len(segs))
    numeric, rest = segs[:first_string], segs[first_string:]
    while numeric and numeric[-1] == 0:
        numeric.pop()
    while rest and rest[-1] == 0:
        rest.pop()
    return numeric + rest


def parse(version: str) -> Key:
    body = version.strip(_RUBY_STRIP)
    if not _PATTERN.fullmatch(body):
        raise invalid(version, _NAME)
    tokens: list[tuple[object, ...]] = []
    zeros = 0
    for seg in segments(body):
        if seg == 0:
            zeros += 1
        elif isinstance(seg, str):
            tokens.append((0, zeros, seg))
            zeros = 0
        else:
            tokens.append((2, -zeros, seg))
            zeros = 0
    tokens.append(_END)
    return tuple(tokens)


SCHEME = KeyedScheme(_NAME, parse)
