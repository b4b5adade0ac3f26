"""NuGet versions: NuGet.Versioning `NuGetVersion.TryParse` + `VersionComparer.Default`
(https://learn.microsoft.com/nuget/concepts/package-versioning, SemVer 2.0 with NuGet's extensions).

  * 1 to 4 numeric parts (System.Version, each a non-negative Int32; leading zeros allowed), missing parts are 0:
    "1" == "1.0" == "1.0.0" == "1.0.0.0"; the 4th part (Revision) orders after Patch: 1.0.0 < 1.0.0.1 < 1.0.1;
  * an optional "-" pre-release label of "."-separated identifiers ([0-9A-Za-z-]+, leading zeros allowed) and
    an optional "+" build metadata, which is IGNORED when comparing (1.0.0+a == 1.0.0+b);
  * a pre-release sorts before its release; labels compare identifier by identifier: an identifier that
    int.TryParse accepts (fits Int32, optional "-" sign) is numeric and sorts before a non-numeric one; numeric
    ones compare numerically, others with StringComparer.OrdinalIgnoreCase ("1.0.0-RC" == "1.0.0-rc"); a shorter
    label sorts first when all preceding identifiers are equal.
Surrounding whitespace is ignored; a leading "v" is not a NuGet version and raises InvalidVersion.
"""

from __future__ import annotations

import re

from vigil.detectors.versions._base import Key, KeyedScheme, invalid

_NAME = "nuget"
_IDENTS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_PATTERN = re.compile(rf"([0-9]+(?:\.[0-9]+){{0,3}})(?:-({_IDENTS}))?(?:\+({_IDENTS}))?", re.ASCII)
_INT32 = re.compile(r"-?[0-9]+", re.ASCII)
_INT32_MAX = 2**31 - 1
_RELEASE: tuple[int] = (1,)


def _label_key(ident: str) -> tuple[int, int] | tuple[int, str]:
    if _INT32.fullmatch(ident):
        n = int(ident)
        if -(2**31) <= n <= _INT32_MAX:
            return (0, n)
    # OrdinalIgnoreCase compares the upper-case forms ordinally.
    return (1, ident.upper())


def parse(version: str) -> Key:
    m = _PATTERN.fullmatch(version.strip())
    if m is None:
        raise invalid(version, _NAME)
    numbers, label, _build = m.groups()
    parts = [int(p) for p in numbers.split(".")]
    if max(parts) > _INT32_MAX:
        raise invalid(version, _NAME, "version part does not fit in an Int32")
    parts += [0] * (4 - len(parts))
    pre = _RELEASE if label is None else (0, *(_label_key(i) for i in label.split(".")))
    return (*parts, pre)


SCHEME = KeyedScheme(_NAME, parse)
