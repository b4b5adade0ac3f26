"""Declared license names as package metadata writes them, normalised to SPDX identifiers where one is meant.

OS package databases and Debian copyright files declare licenses in free text: apk `L:MIT BSD GPL2+`, rpm
`License: GPLv2+ and LGPLv2+`, Debian `License: GPL-2+`. Reported raw they neither classify nor compare with
other tools; so each name is reduced to a key (case, spacing, "The … License", a version written "v2", "2",
"Version 2.0" or "-2.0", a "+"/"or later" suffix) and looked up in a table of common short names, then in the
SPDX license list (current and deprecated IDs, from the license-expression package's index). A name found in
neither is kept as written. GNU licenses take SPDX's "-only"/"-or-later" forms. The rules follow what Trivy's
license normaliser does (pkg/licensing), so both tools report the same names for the same metadata.

Pure functions, no I/O: analyzers call them.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import msgspec

# SPDX IDs that take "-only"/"-or-later" instead of "+" (SPDX 3.x deprecates the bare and "+" forms).
_GNU = frozenset({
    "AGPL-1.0", "AGPL-3.0", "GFDL-1.1", "GFDL-1.2", "GFDL-1.3", "GPL-1.0", "GPL-2.0", "GPL-3.0",
    "LGPL-2.0", "LGPL-2.1", "LGPL-3.0",
    *(f"GFDL-1.{v}-{kind}" for v in "123" for kind in ("invariants", "no-invariants")),
})
_GNU_UPPER = {g.upper(): g for g in _GNU}

# Short names in use that are no SPDX ID, by their key (see _key): the license each one means in practice.
# (name, "or later" implied)
_SHORT: dict[str, tuple[str, bool]] = {
    "AFL": ("AFL-3.0", False), "AGPL": ("AGPL-3.0", False), "AL-2": ("Apache-2.0", False),
    "AL-2.0": ("Apache-2.0", False), "APACHE": ("Apache-2.0", False), "APACHE-STYLE": ("Apache-2.0", False),
    "APACHE-1": ("Apache-1.0", False), "APACHE-2": ("Apache-2.0", False), "APL-2": ("Apache-2.0", False),
    "APL-2.0": ("Apache-2.0", False), "ASF-2": ("Apache-2.0", False), "ASF-2.0": ("Apache-2.0", False),
    "ASL": ("Apache-2.0", False), "ASL-1.1": ("Apache-1.1", False), "ASL-2": ("Apache-2.0", False),
    "ASL-2.0": ("Apache-2.0", False), "APACHE SOFTWARE": ("Apache-2.0", False),
    "ARTISTIC": ("Artistic-2.0", False), "BSD": ("BSD-3-Clause", False), "BSD*": ("BSD-3-Clause", False),
    "BSD-LIKE": ("BSD-3-Clause", False), "BSD-STYLE": ("BSD-3-Clause", False), "BSD STYLE": ("BSD-3-Clause", False),
    "BSD-VARIANT": ("BSD-3-Clause", False), "BSD-1": ("BSD-1-Clause", False), "BSD-2": ("BSD-2-Clause", False),
    "BSD-3": ("BSD-3-Clause", False), "BSD-3-CLAUSE": ("BSD-3-Clause", False), "BSD-4": ("BSD-4-Clause", False),
    "BOOST": ("BSL-1.0", False), "BOOST-1.0": ("BSL-1.0", False), "BSL": ("BSL-1.0", False),
    "CC0": ("CC0-1.0", False), "CDDL": ("CDDL-1.0", False), "CDDL-1": ("CDDL-1.0", False),
    "CPL": ("CPL-1.0", False), "ECLIPSE": ("EPL-1.0", False), "EPL": ("EPL-1.0", False),
    "EUPL": ("EUPL-1.0", False), "EXPAT": ("MIT", False), "FDL": ("GFDL-1.3", True), "GFDL": ("GFDL-1.3", True),
    "GPL": ("GPL-2.0", True), "GPL-1": ("GPL-1.0", False), "GPL-2": ("GPL-2.0", False), "GPL-3": ("GPL-3.0", False),
    "LGPL": ("LGPL-2.0", True), "LGPL-2": ("LGPL-2.0", False), "LGPL-3": ("LGPL-3.0", False),
    "MIT-LIKE": ("MIT", False), "MIT-STYLE": ("MIT", False),
    "GFDL-NIV-1.1": ("GFDL-1.1-no-invariants", False), "GFDL-NIV-1.2": ("GFDL-1.2-no-invariants", False),
    "GFDL-NIV-1.3": ("GFDL-1.3-no-invariants", False), "GNU LESSER": ("LGPL-2.1", False),
    "GNU LESSER GENERAL PUBLIC": ("LGPL-2.1", False), "GNU LESSER PUBLIC": ("LGPL-2.1", False),
    "MPL": ("MPL-2.0", False), "MPL-1": ("MPL-1.0", False), "MPL-2": ("MPL-2.0", False),
    "PYTHON": ("Python-2.0", False), "PSF": ("PSF-2.0", False), "ZOPE": ("ZPL-2.1", False),
    "GO": ("BSD-3-Clause", False), "ISCL": ("ISC", False), "OPENSSL": ("OpenSSL", False),
    "ZLIB/LIBPNG": ("Zlib", False), "WTF": ("WTFPL", False),
    "APACHE-2.0 WITH LLVM-EXCEPTION": ("Apache-2.0 WITH LLVM-exception", False),
}

_VERSION_ANYWHERE = re.compile(
    r"([A-UW-Z)])( LICENSE)?\s*[,(-]?\s*(V|V\.|VER|VER\.|VERSION|VERSION-|-)?\s*([1-9](\.\d)*)\)?", re.I
)
_VERSION_SUFFIX = re.compile(r"([A-UW-Z)])( LICENSE)?\s*[,(-]?\s*(V|V\.|VER|VER\.|VERSION|VERSION-|-)?\s*([1-9](\.\d)*)\)?$")
# "GPL-3+ with autoconf exception": SPDX's deprecated single IDs for GPL with these exceptions ("+" kept).
_GPL_EXCEPTION = re.compile(r"GPL-([23])(?:\.0)?(\+)?[ -]WITH[ -](AUTOCONF|CLASSPATH|FONT|GCC)[ -]EXCEPTION")
_GPL_EXCEPTION_IDS = {("2", "AUTOCONF"): "autoconf", ("2", "CLASSPATH"): "classpath", ("2", "FONT"): "font",
                      ("2", "GCC"): "GCC", ("3", "AUTOCONF"): "autoconf", ("3", "GCC"): "GCC"}
_PLUS_SUFFIXES = ("+", "-OR-LATER", " OR LATER")
_ONLY_SUFFIXES = ("-ONLY", " ONLY")
# Debian copyright "License:" lines and Python metadata join names with ", ", " or ", " and " (or "_or_").
_SPLIT = re.compile(r"(,?[_ ]+(?:or|and)[_ ]+)|(,[ ]*)")
# Text that is a license's body or a pointer to it, not a name: never split into names.
_TEXT_MARKERS = ("http://", "https://", "(c)", "as-is", ";", "hereby", "permission to use", "permission is",
                 "use in source", "use, copy, modify", "using")


@cache
def _spdx_ids() -> dict[str, str]:
    """Lower-cased SPDX license IDs (current and deprecated) -> the ID as SPDX spells it. A deprecated ID stays
    itself ("BSD-2-Clause-NetBSD"): which current license it became is a judgement the metadata did not make.
    Read from data/spdx_ids.json, which tools/gen_spdx_ids.py derives from license-expression's license index
    (importing that library and walking its index cost more than the rest of a small image's analysis)."""
    doc = msgspec.json.decode((Path(__file__).resolve().parent.parent / "data" / "spdx_ids.json").read_bytes())
    ids: dict[str, str] = doc["ids"]
    return ids


def _key(name: str) -> tuple[str, bool]:
    """The lookup key of a license name and whether it says "or later"."""
    s = " ".join(name.split()).upper()
    if s.startswith("HTTP"):
        return s, False
    s = s.replace("LICENCE", "LICENSE").removeprefix("THE ")
    for suffix in (" LICENSE", " LICENSED", "-LICENSE", "-LICENSED"):
        s = s.removesuffix(suffix)
    if s != "UNLICENSE":
        s = s.removesuffix("LICENSE")
    if s != "UNLICENSED":
        s = s.removesuffix("LICENSED")
    plus = False
    for suffix in _PLUS_SUFFIXES:
        if s.endswith(suffix):
            s, plus = s[: -len(suffix)], True
    for suffix in _ONLY_SUFFIXES:
        s = s.removesuffix(suffix)
    return _VERSION_SUFFIX.sub(r"\1-\4", s), plus


def _render(spdx: str, plus: bool) -> str:
    if spdx in _GNU:
        return spdx + ("-or-later" if plus else "-only")
    if plus and not spdx.endswith(("-or-later", "+")):
        return spdx + "+"
    return spdx


def normalize_license(name: str) -> str:
    """One declared license name as its SPDX ID when it means one; otherwise the name, trimmed."""
    raw = name.strip()
    if not raw or raw.startswith(TEXT_PREFIX):
        return raw
    key, plus = _key(raw)
    short = _SHORT.get(key)
    if short is not None:
        return _render(short[0], plus or short[1])
    if key in _GNU_UPPER:
        return _render(_GNU_UPPER[key], plus)
    m = _GPL_EXCEPTION.fullmatch(key)
    if m and (m.group(1), m.group(3)) in _GPL_EXCEPTION_IDS:
        exc = _GPL_EXCEPTION_IDS[(m.group(1), m.group(3))]
        return f"GPL-{m.group(1)}.0-with-{exc}-exception" + ("+" if plus or m.group(2) else "")
    spdx = _spdx_ids().get(key.lower())
    if spdx is not None:
        if spdx.endswith("-only") and spdx[: -len("-only")] in _GNU:
            spdx = spdx[: -len("-only")]
        elif spdx.endswith("-or-later") and spdx[: -len("-or-later")] in _GNU:
            spdx, plus = spdx[: -len("-or-later")], True
        return _render(spdx, plus)
    return raw


def normalize_licenses(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """normalize_license over a list, empty and repeated results dropped, order kept."""
    return tuple(dict.fromkeys(n for n in (normalize_license(x) for x in names) if n))


# What marks a license's text (not its name) in a license list, as Trivy marks it.
TEXT_PREFIX = "CUSTOM License: "


def split_licenses(text: str) -> list[str]:
    """The license names in a list written for people ("MIT, Apache-2.0", "GPL-2+ or Artistic",
    "Apache License, Version 2.0"). Text that reads as a license body is one item, unsplit, marked with
    TEXT_PREFIX (normalize_license leaves it alone)."""
    if not text.strip():
        return []
    lower = text.lower()
    if any(m in lower for m in _TEXT_MARKERS):
        return [TEXT_PREFIX + text.strip()]
    out: list[str] = []
    for part in _SPLIT.split(text):
        if part is None or _SPLIT.fullmatch(part):
            continue
        first = part.strip().lower().split(" ", 1)[0]
        if out and first in ("ver", "version"):  # "Apache License, Version 2.0" is one name
            out[-1] += ", " + part
            continue
        if out and first == "later":  # "GPL v2 or later"
            out[-1] += " or " + part
            continue
        if part.strip():
            out.append(part.strip())
    return out


def lax_split_licenses(text: str) -> list[str]:
    """Normalised names in a space-separated list without operators between names, as apk's `L:` field holds
    ("MIT BSD GPL2+", "MPL 2.0 GPL2+"): a version after a name joins it first; AND/OR are dropped and a WITH
    keeps its exception with the license before it."""
    out: list[str] = []
    after_with = False
    for word in _VERSION_ANYWHERE.sub(r"\1-\4", text).split():
        word = word.strip("()")
        if not word or word in ("AND", "OR"):
            continue
        if word == "WITH":
            after_with = True
            continue
        norm = normalize_license(word)
        if after_with and out:
            out[-1] += " WITH " + norm
            after_with = False
        else:
            out.append(norm)
    return out
