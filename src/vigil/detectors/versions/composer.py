"""Composer (Packagist) versions: composer/semver `VersionParser::normalize()` followed by PHP's `version_compare()`
on the normalised strings, which is what `Composer\\Semver\\Comparator` does.

Normalisation (composer/semver src/VersionParser.php):
  * trim; drop an alias ("1.0.x-dev as 1.0.0" -> left side), an "@stability" flag and "+build" metadata;
  * "v"/"V" prefix allowed; 1 to 4 numeric parts padded to 4 ("1.2" -> "1.2.0.0"), first part at most 5 digits;
    date versions ("2010-01-02", "20100102") keep their digits;
  * an optional stability suffix, separated by ".", "_", "-" or nothing: stable|beta|b|RC|alpha|a|patch|pl|p
    (case-insensitive) with an optional number ("1.0.0-beta.2", "1.0.0b2"), expanded to alpha/beta/RC/patch;
    "stable" (exactly, lower case) is dropped; an optional trailing "dev"/"-dev" -> "-dev".
  * Branches are not versions: "dev-master", "master", "dev-feature" and numbered branches such as "2.x-dev" or
    "2.1.*-dev" raise InvalidVersion (Composer never lets a branch match a version constraint).

version_compare (php-src ext/standard/versioning.c): "-", "_", "+" become ".", a "." is inserted between a digit and
a non-digit, then parts compare left to right: numbers numerically; names by prefix rank
    any other string < dev < alpha = a < beta = b < RC = rc < (number) < pl = p (patch)
and a number vs a name compares the name with the number's rank. When one side runs out, the other side's next
part decides: a number means "longer is greater", a name is compared with the number rank. So
1.0.0-dev < 1.0.0-alpha < 1.0.0-alpha1 < 1.0.0-beta2 < 1.0.0-RC1 < 1.0.0 < 1.0.0-patch1 < 1.0.1, and
"1.0.0-beta2-dev" < "1.0.0-beta2".

Key: each part is (rank, number) — numbers (4, n), names (rank, 0) — and the end of the list is (4, -1): below
every number and, by rank, above dev/alpha/beta/RC and below patch, exactly as version_compare treats a missing
part. Numbers saturate at 2**63-1 like PHP's strtol.

Note for advisory data: Composer's *constraints* "<1.2" and ">=1.2" mean "<1.2.0.0-dev" / ">=1.2.0.0-dev", i.e. they
exclude/include the 1.2 pre-releases. Plain interval bounds compared with this scheme do not add that "-dev";
the feed ETL must write "1.2-dev" into the bound if it wants Composer's constraint semantics.
"""

from __future__ import annotations

import re

from vigil.detectors.versions._base import Key, KeyedScheme, invalid

_NAME = "composer"
_MODIFIER = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?[0-9]+)*+)?)?([.-]?dev)?"
_CLASSICAL = re.compile(
    r"v?([0-9]{1,5})(\.[0-9]++)?(\.[0-9]++)?(\.[0-9]++)?" + _MODIFIER, re.IGNORECASE | re.ASCII
)
_DATE = re.compile(
    r"v?([0-9]{4}(?:[.:-]?[0-9]{2}){1,6}(?:[.:-]?[0-9]{1,3})?)" + _MODIFIER, re.IGNORECASE | re.ASCII
)
_ALIAS = re.compile(r"([^,\s]++) ++as ++([^,\s]++)", re.ASCII)
_STABILITY_FLAG = re.compile(r"@(?:stable|RC|beta|alpha|dev)$", re.IGNORECASE | re.ASCII)
_BUILD = re.compile(r"([^,\s+]++)\+[^\s]++", re.ASCII)
_NON_DIGIT = re.compile(r"[^0-9]", re.ASCII)
_PHP_TRIM = " \t\n\r\0\x0b"
_EXPAND = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}

# php_version_compare: compare_special_version_forms matches these as *prefixes*, in this order.
_FORMS = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)
_NUMBER_RANK = 4
_END = (_NUMBER_RANK, -1)
_LONG_MAX = 2**63 - 1


def normalize(version: str) -> str:
    """VersionParser::normalize() for concrete versions; branches and garbage raise InvalidVersion."""
    v = version.strip(_PHP_TRIM)
    m = _ALIAS.fullmatch(v)
    if m:
        v = m.group(1)
    m = _STABILITY_FLAG.search(v)
    if m:
        v = v[: m.start()]
    if v in ("master", "trunk", "default") or v[:4].lower() == "dev-":
        raise invalid(version, _NAME, "a branch, not a version")
    m = _BUILD.fullmatch(v)
    if m:
        v = m.group(1)
    m = _CLASSICAL.fullmatch(v)
    if m:
        normalized = m.group(1) + "".join(g or ".0" for g in m.group(2, 3, 4))
        stability, number, dev = m.group(5, 6, 7)
    else:
        m = _DATE.fullmatch(v)
        if m is None:
            if v.lower().endswith("dev"):  # "2.x-dev", "2.1.*-dev": normalizeBranch() territory
                raise invalid(version, _NAME, "a branch, not a version")
            raise invalid(version, _NAME)
        normalized = _NON_DIGIT.sub(".", m.group(1))
        stability, number, dev = m.group(2, 3, 4)
    if stability:
        if stability == "stable":
            return normalized
        lowered = stability.lower()
        normalized += "-" + _EXPAND.get(lowered, lowered) + (number.lstrip(".-") if number else "")
    if dev:
        normalized += "-dev"
    return normalized


def _rank(name: str) -> int:
    for prefix, rank in _FORMS:
        if name.startswith(prefix):
            return rank
    return -1


def _canonical_parts(normalized: str) -> list[str]:
    """php_canonicalize_version + split on "." (the normalised string has no other separators left)."""
    out: list[str] = []
    current = ""
    prev_digit: bool | None = None
    for c in normalized:
        if c in "-_+.":
            if current:
                out.append(current)
            current = ""
            prev_digit = None
            continue
        is_digit = c.isdigit()
        if current and prev_digit is not None and is_digit != prev_digit:
            out.append(current)
            current = ""
        current += c
        prev_digit = is_digit
    if current:
        out.append(current)
    return out


def parse(version: str) -> Key:
    parts = _canonical_parts(normalize(version))
    key: list[tuple[int, int]] = []
    for part in parts:
        if part.isdigit():
            key.append((_NUMBER_RANK, min(int(part), _LONG_MAX)))
        else:
            key.append((_rank(part), 0))
    key.append(_END)
    return tuple(key)


SCHEME = KeyedScheme(_NAME, parse)
