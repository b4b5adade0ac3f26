"""Maven versions: org.apache.maven.artifact.versioning.ComparableVersion as shipped in Maven 3.9.x
(including MNG-6964 "compare the whole sub-list with null" and MNG-7644 ".X is treated like -X").

Parsing (lower-cased first; "1.0.0.RELEASE" and "1.0.0.release" are the same version):
  * "." and "-" separate items; an empty item ("1..2", "-1") is the number 0;
  * "-" also opens a sub-list (a ListItem) that holds everything after it: "1-2-3" is [1, [2, [3]]];
  * a digit/letter transition separates items too, and the item after it goes into a new sub-list:
    "1.0alpha1" parses to [1, 0, [alpha, [1]]]; a letter run directly followed by a digit that is not at the start of a
    list also opens a sub-list first, and so does a trailing letter run ("1.0.0.RC1" ~ "1.0.0-RC1"; MNG-7644);
  * numbers compare numerically, leading zeros ignored;
  * qualifiers: alpha < beta < milestone < rc == cr < snapshot < "" == ga == final == release < sp, then unknown
    qualifiers after all known ones, lexically; "a", "b", "m" directly followed by a digit mean alpha/beta/milestone;
  * each list is normalised by dropping trailing "null" items (0, "", empty list), scanning from the end past
    non-null sub-lists: "1.0-1" == "1-1", "1.0.0" == "1".
Comparison: item by item, a missing item is "null"; number > list > string at the same position; against null a
number is greater unless 0, a qualifier compares to "" (alpha < null < sp), a list compares item-wise.
So "1-SNAPSHOT" < "1" < "1-sp" < "1-1" < "1.1" and "1.0.0.RELEASE" == "1".

Total order: ComparableVersion is NOT transitive on every input. Because an item is compared with padding by its
sign relative to a release ("1-sp" > "1") but with another item by type (a number beats a list or a qualifier),
cycles exist, e.g. "1.0.alpha.1" < "1" < "1-1" < "1.0.alpha.1" (the last step is "0 beats a list"). A key for sorting
and caching must be totally ordered, so we keep ComparableVersion's answer on every pair except where it would
contradict the item's position relative to the release: the key groups, at each position, everything that sorts
below a release, then the release (end of list), then everything above it. In the cycle above we answer
"1.0.alpha.1" < "1-1" (pre-release of 1 vs post-release of 1). One more, deliberate, simplification: a null
qualifier ("ga", "final", "release") that normalisation leaves inside a list ("1.ga.1") counts as 0 (Java orders
that "" below numbers and sub-lists). tests/unit/versions checks the key against a transcription of
ComparableVersion#compareTo on generated versions: every disagreement is one of these two cases.

Encoding: like gem.py, runs of null items are counted and attached to the next non-null item, and END (the null
padding) closes each list:
    (0, zeros, kind, value)  qualifier/list below release, more zeros first larger
    (1,)                     END
    (2, zeros, kind, value)  qualifier/list above release
    (3, -zeros, number)      number (always above release; more zeros before it means smaller)
with kind 0 = qualifier (value = (rank, text)) and kind 1 = sub-list (value = its token tuple).

Not versions: we raise InvalidVersion for empty strings and for strings containing whitespace, "$", "{", "}",
"[", "]", "(", ")" or "," — unresolved properties ("${project.version}") and version ranges ("[1.0,2.0)") are not
installed versions, although ComparableVersion would happily order them.
"""

from __future__ import annotations

from vigil.detectors.versions._base import Key, KeyedScheme, invalid

_NAME = "maven"
_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_RANK = {q: i for i, q in enumerate(_QUALIFIERS)}
_RELEASE_RANK = _RANK[""]
_UNKNOWN_RANK = len(_QUALIFIERS)
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}
_FORBIDDEN = frozenset("${}[](),")
_END: tuple[int] = (1,)

# Parsed items are int (IntItem/LongItem/BigIntegerItem), str (StringItem, already aliased) or list (ListItem).
Token = tuple[object, ...]


def _qualifier(text: str, followed_by_digit: bool) -> str:
    if followed_by_digit and len(text) == 1:
        text = _SHORT.get(text, text)  # a1 = alpha-1, b1 = beta-1, m1 = milestone-1
    return _ALIASES.get(text, text)


def _item(is_digit: bool, text: str) -> int | str:
    return int(text) if is_digit else _qualifier(text, False)


def _is_null(item: object) -> bool:
    return item == 0 or item == "" or item == []


def _normalize(items: list[object]) -> None:
    i = len(items) - 1
    while i >= 0:
        item = items[i]
        if _is_null(item):
            del items[i]
        elif not isinstance(item, list):
            break
        i -= 1


def _parse_items(version: str) -> list[object]:
    """ComparableVersion.parseVersion (Maven 3.9.x)."""
    text = version.lower()
    items: list[object] = []
    current = items
    stack = [items]

    def sublist() -> None:
        nonlocal current
        new: list[object] = []
        current.append(new)
        current = new
        stack.append(new)

    is_digit = False
    start = 0
    for i, c in enumerate(text):
        if c == "." or c == "-":
            current.append(0 if i == start else _item(is_digit, text[start:i]))
            start = i + 1
            if c == "-":
                sublist()
        elif c.isdecimal():  # Character.isDigit
            if not is_digit and i > start:
                if current:  # 1.0.0.X1 < 1.0.0-X2: treat .X as -X
                    sublist()
                current.append(_qualifier(text[start:i], True))
                start = i
                sublist()
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(_item(True, text[start:i]))
                start = i
                sublist()
            is_digit = False
    if len(text) > start:
        if not is_digit and current:  # treat .X as -X for a trailing qualifier
            sublist()
        current.append(_item(is_digit, text[start:]))
    while stack:
        _normalize(stack.pop())
    return items


def _tokens(items: list[object]) -> tuple[Token, ...]:
    tokens: list[Token] = []
    zeros = 0
    for item in items:
        if _is_null(item):
            zeros += 1
            continue
        if isinstance(item, int):
            tokens.append((3, -zeros, item))
        elif isinstance(item, str):
            rank = _RANK.get(item, _UNKNOWN_RANK)
            value = (rank, item if rank == _UNKNOWN_RANK else "")
            tokens.append((0 if rank < _RELEASE_RANK else 2, zeros, 0, value))
        else:
            assert isinstance(item, list)
            sub = _tokens(item)
            # A normalised non-empty list holds a non-null item, so its first token is not END; the list sorts
            # below a release iff that token does (MNG-6964: the whole list is compared with null).
            tokens.append((0 if sub[0][0] == 0 else 2, zeros, 1, sub))
        zeros = 0
    tokens.append(_END)
    return tuple(tokens)


def parse(version: str) -> Key:
    body = version.strip()
    if not body or _FORBIDDEN.intersection(body) or any(c.isspace() for c in body):
        raise invalid(version, _NAME)
    return _tokens(_parse_items(body))


def canonical(version: str) -> str:
    """ComparableVersion.getCanonical()-like rendering of the parsed items, for debugging and tests."""

    def render(items: list[object]) -> str:
        out = ""
        for item in items:
            if out:
                out += "-" if isinstance(item, list) else "."
            out += render(item) if isinstance(item, list) else str(item)
        return out

    return render(_parse_items(version))


SCHEME = KeyedScheme(_NAME, parse)
