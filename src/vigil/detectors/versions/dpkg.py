"""Debian package versions: the ordering of Debian Policy §5.6.12 as implemented by dpkg's `verrevcmp`.

  * A version is `[epoch:]upstream[-revision]`: the epoch is the digits before the first ":" (default 0); the
    revision is everything after the LAST "-" (absent = empty, which compares equal to "0"). Upstream must start
    with a digit and use only `[A-Za-z0-9.+~-:]` ("-" only with a revision, ":" only with an epoch); the revision
    only `[A-Za-z0-9.+~]`. Surrounding whitespace is ignored (dpkg skips it); anything else is InvalidVersion.
  * Epochs compare numerically, then upstream, then revision, each with the same string algorithm: the string is
    read as alternating runs, a non-digit run then a digit run, and so on. Non-digit runs compare character by
    character with weights `~` < end-of-run < letters (ASCII) < everything else (ASCII + 256); digit runs compare
    numerically (an empty run is 0). A string that has ended behaves like endless empty runs, so "1.0~" < "1.0"
    and "1.0" == "1.0-0".

Key: flattening every run to its character weights, a 0 terminator (= end of run) and its number gives a list of
ints; a finished string is endless zeros, so two strings compare as those lists padded with 0. "Pad with 0" is not
tuple ordering (a "~" weight is negative), so, as in gem.py, trailing zeros are dropped and each remaining non-zero
int becomes a token carrying the count of zeros before it, with an END token for the padding:
    (negative after z zeros: (0, z, v))  <  END (1,)  <  (positive after z zeros: (2, -z, v))
Plain tuple comparison of the token tuples then equals verrevcmp.
"""

from __future__ import annotations

import re

from vigil.detectors.versions._base import Key, KeyedScheme, invalid

_NAME = "debian"
_EPOCH = re.compile(r"[0-9]+", re.ASCII)
_UPSTREAM = re.compile(r"[0-9][A-Za-z0-9.+~:-]*", re.ASCII)
_REVISION = re.compile(r"[A-Za-z0-9.+~]+", re.ASCII)
_RUN = re.compile(r"([^0-9]*)([0-9]*)", re.ASCII)
_END: tuple[int] = (1,)


def _weight(char: str) -> int:
    if char == "~":
        return -1
    if "A" <= char <= "Z" or "a" <= char <= "z":
        return ord(char)
    return ord(char) + 256


def _tokens(part: str) -> tuple[tuple[int, ...], ...]:
    flat: list[int] = []
    for letters, digits in _RUN.findall(part):
        if not letters and not digits:
            continue  # findall's final empty match
        flat.extend(_weight(c) for c in letters)
        flat.append(0)
        flat.append(int(digits) if digits else 0)
    tokens: list[tuple[int, ...]] = []
    zeros = 0
    for value in flat:
        if value == 0:
            zeros += 1
        elif value < 0:
            tokens.append((0, zeros, value))
            zeros = 0
        else:
            tokens.append((2, -zeros, value))
            zeros = 0
    tokens.append(_END)
    return tuple(tokens)


def parse(version: str) -> Key:
    body = version.strip()
    epoch_str, colon, rest = body.partition(":")
    if not colon:
        epoch_str, rest = "0", body
    elif not _EPOCH.fullmatch(epoch_str):
        raise invalid(version, _NAME, "epoch is not a number")
    upstream, hyphen, revision = rest.rpartition("-")
    if not hyphen:
        upstream, revision = rest, ""
    elif not _REVISION.fullmatch(revision):
        raise invalid(version, _NAME, "bad revision")
    if not _UPSTREAM.fullmatch(upstream):
        raise invalid(version, _NAME, "upstream must start with a digit and use [A-Za-z0-9.+~-:]")
    return (int(epoch_str), _tokens(upstream), _tokens(revision))


SCHEME = KeyedScheme(_NAME, parse)
