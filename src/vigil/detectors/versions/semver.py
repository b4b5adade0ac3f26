"""Semantic-versioning ecosystems: npm (NPM), crates.io (CARGO), Hex (HEX) and pub.dev (PUB).

All four order versions by SemVer 2.0.0 precedence (https://semver.org/#spec-item-11):
  * MAJOR.MINOR.PATCH compare numerically;
  * a pre-release sorts before its release: 1.0.0-alpha < 1.0.0;
  * pre-release identifiers compare left to right: numeric ones numerically, alphanumeric ones by ASCII order,
    numeric < alphanumeric, and a shorter list sorts first when all preceding identifiers are equal:
    1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0.
They differ in what they accept and in build metadata:

NPM — node-semver (https://github.com/npm/node-semver), in its *loose* mode, because lockfiles and advisories carry
  all sorts of spellings: surrounding whitespace and any run of leading "v", "=" or whitespace are ignored
  ("=v1.2.3"), numbers may have leading zeros ("01" == 1), the "-" before a pre-release may be omitted ("1.2.3beta"),
  and — our extension, for advisory bounds such as ">=1.2" — missing minor/patch count as 0 ("1.2" == "1.2.0").
  MAJOR/MINOR/PATCH above 2**53-1 are rejected as node-semver does. Build metadata is ignored.

CARGO — the semver crate's grammar (https://docs.rs/semver): no prefix, no leading zeros in numbers or numeric
  pre-release identifiers, no empty identifiers. Build metadata is ignored, as Cargo's requirement matching does
  (RustSec matches with VersionReq). Extension: "1" and "1.2" are accepted as 1.0.0 / 1.2.0 (RustSec writes bounds
  like ">= 0.3"); a pre-release or build suffix needs all three numbers.

HEX — Elixir's Version (https://hexdocs.pm/elixir/Version.html): same grammar and ordering as CARGO (Elixir also
  rejects leading zeros and ignores build metadata when comparing; Erlang term order puts integers before binaries,
  i.e. numeric < alphanumeric identifiers). Same "1.2" extension, for "~> 1.2"-style advisory bounds.

PUB — Dart's pub_semver (https://pub.dev/packages/pub_semver), `Version.compareTo`:
  * numbers may have leading zeros (its pattern is `\\d+`);
  * pre-release and build identifiers are split on "." and each is `int.tryParse`d, so "01" is 1, "-1" is -1 and
    "0x1f" is 31 (Dart's int.tryParse accepts a sign and a 0x prefix); anything else, or an integer that does not
    fit in 64 bits, compares as a string;
  * unlike SemVer 2.0, build metadata DOES order: after pre-release comparison, a version without build sorts
    before one with build (1.0.0 < 1.0.0+1), and builds compare with the same identifier rules
    (1.0.0+1 < 1.0.0+2 < 1.0.0+a). So "1.0.0+1" != "1.0.0" under PUB.
  Same "1.2" extension as CARGO.
"""

from __future__ import annotations

import re
from functools import cache

from vigil.detectors.versions._base import Key, KeyedScheme, invalid

# An identifier key is (0, int) for numeric identifiers and (1, str) for alphanumeric ones, so tuple comparison
# gives numeric < alphanumeric without ever comparing an int with a str.
Ident = tuple[int, int] | tuple[int, str]
RELEASE: tuple[int] = (1,)  # sorts after every pre-release key (0, ident, ...)

_IDENTS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"

# SemVer 2.0 core with the partial-core extension (pre-release/build only after a full core), as in Go's
# golang.org/x/mod/semver shorthand.
_STRICT = re.compile(
    rf"(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:-({_IDENTS}))?(?:\+({_IDENTS}))?)?)?",
    re.ASCII,
)

# The npm and pub patterns are compiled on first use: this module is also imported for the Go scheme alone (which
# shares _STRICT), and compiling the others cost about as much as the rest of the module.


@cache
def _pub() -> re.Pattern[str]:
    return re.compile(rf"([0-9]+)(?:\.([0-9]+)(?:\.([0-9]+)(?:-({_IDENTS}))?(?:\+({_IDENTS}))?)?)?", re.ASCII)


@cache
def _npm() -> re.Pattern[str]:
    # node-semver LOOSE: prefix [v=\s]*, leading zeros allowed, optional "-" before the pre-release.
    return re.compile(rf"[v=\s]*([0-9]+)(?:\.([0-9]+)(?:\.([0-9]+))?)?(?:-?({_IDENTS}))?(?:\+({_IDENTS}))?", re.ASCII)


@cache
def _dart_int() -> re.Pattern[str]:
    return re.compile(r"[+-]?(?:0[xX][0-9A-Fa-f]+|[0-9]+)", re.ASCII)


_NPM_MAX = 2**53 - 1  # node-semver: Number.MAX_SAFE_INTEGER
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _strict_idents(text: str, scheme: str, version: str) -> tuple[Ident, ...]:
    out: list[Ident] = []
    for ident in text.split("."):
        if ident.isdigit():
            if len(ident) > 1 and ident[0] == "0":
                raise invalid(version, scheme, f"numeric identifier {ident!r} has a leading zero")
            out.append((0, int(ident)))
        else:
            out.append((1, ident))
    return tuple(out)


def _loose_idents(text: str) -> tuple[Ident, ...]:
    return tuple((0, int(i)) if i.isdigit() else (1, i) for i in text.split("."))


def _dart_idents(text: str) -> tuple[Ident, ...]:
    out: list[Ident] = []
    for part in text.split("."):
        if _dart_int().fullmatch(part):
            sign = -1 if part[0] == "-" else 1
            digits = part.lstrip("+-")
            n = sign * (int(digits[2:], 16) if digits[:2] in ("0x", "0X") else int(digits))
            if _INT64_MIN <= n <= _INT64_MAX:
                out.append((0, n))
                continue
        out.append((1, part))
    return tuple(out)


def parse_strict(body: str, scheme: str, version: str) -> Key:
    """SemVer 2.0 key of `body` (no prefix), shared with the Go scheme. Build metadata is dropped."""
    m = _STRICT.fullmatch(body)
    if m is None:
        raise invalid(version, scheme)
    major, minor, patch, pre, _build = m.groups()
    pre_key = RELEASE if pre is None else (0, *_strict_idents(pre, scheme, version))
    return (int(major), int(minor or 0), int(patch or 0), pre_key)


def parse_cargo(version: str) -> Key:
    return parse_strict(version.strip(), "cargo", version)


def parse_hex(version: str) -> Key:
    return parse_strict(version.strip(), "hex", version)


def parse_npm(version: str) -> Key:
    body = version.strip()
    m = _npm().fullmatch(body)
    if m is None:
        raise invalid(version, "npm")
    major, minor, patch, pre, _build = m.groups()
    # Loose mode lets the "-" go only after a full core ("1.2.3beta", not "1.2beta"), and then the pre-release
    # must start with a letter or digit ("1.2.3-" is not "1.2.3--").
    if pre is not None and body[m.start(4) - 1] != "-" and (patch is None or pre[0] == "-"):
        raise invalid(version, "npm", "malformed pre-release")
    nums = (int(major), int(minor or 0), int(patch or 0))
    if max(nums) > _NPM_MAX:
        raise invalid(version, "npm", "number larger than Number.MAX_SAFE_INTEGER")
    pre_key = RELEASE if pre is None else (0, *_loose_idents(pre))
    return (*nums, pre_key)


def parse_pub(version: str) -> Key:
    m = _pub().fullmatch(version.strip())
    if m is None:
        raise invalid(version, "pub")
    major, minor, patch, pre, build = m.groups()
    pre_key = RELEASE if pre is None else (0, *_dart_idents(pre))
    # pub_semver: no build < any build; builds compare like pre-release lists (shorter first).
    build_key = () if build is None else _dart_idents(build)
    return (int(major), int(minor or 0), int(patch or 0), pre_key, build_key)


NPM = KeyedScheme("npm", parse_npm)
CARGO = KeyedScheme("cargo", parse_cargo)
HEX = KeyedScheme("hex", parse_hex)
PUB = KeyedScheme("pub", parse_pub)
