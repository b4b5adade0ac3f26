"""Go module and Go toolchain versions.

Modules follow golang.org/x/mod/semver, i.e. SemVer 2.0 precedence (see semver.py) with:
  * a leading "v" ("v1.2.3"); it may be omitted, because OSV/go-vulndb advisories write "1.2.3";
  * the shorthands "v1" and "v1.2" for v1.0.0 and v1.2.0 (no pre-release/build allowed on a shorthand);
  * no leading zeros in numbers or numeric pre-release identifiers;
  * build metadata ignored — in particular "+incompatible" ("v2.0.0+incompatible" == "v2.0.0").
Pseudo-versions need no special case: "v0.0.0-20200101000000-abcdef123456", "v1.2.4-0.20200101000000-abcdef123456"
(a commit after v1.2.3) and "v1.2.3-pre.0.20200101000000-abcdef123456" are SemVer pre-releases and sort exactly as
Go intends (after the preceding tag, before the next one): v1.2.3 < v1.2.4-0.2020…-abcdef123456 < v1.2.4.

Toolchain / standard library versions ("go1.21.3", "go1.21", "go1", "go1.21rc2", "go1.9beta1", and the same without
the "go" prefix when they carry an alpha/beta/rc suffix, e.g. "1.21rc2") are mapped the way go-vulndb maps Go tags
to SemVer: go1.21 -> 1.21.0, go1.21rc2 -> 1.21.0-rc.2, go1.9beta1 -> 1.9.0-beta.1. go-vulndb's "1.21.0-0" (before
every pre-release of 1.21.0) therefore orders correctly against go1.21rc1. Anything else ("devel +abc", "go1.21.3
X:boringcrypto", "1.2.x") raises InvalidVersion.
"""

from __future__ import annotations

import re

from vigil.detectors.versions import InvalidVersion
from vigil.detectors.versions._base import Key, KeyedScheme, invalid
from vigil.detectors.versions.semver import RELEASE, parse_strict

_NAME = "go"
_NUM = r"(0|[1-9][0-9]*)"
_TOOLCHAIN = re.compile(rf"{_NUM}(?:\.{_NUM}(?:\.{_NUM})?)?(?:(alpha|beta|rc){_NUM})?", re.ASCII)


def _toolchain(body: str, version: str) -> Key:
    m = _TOOLCHAIN.fullmatch(body)
    if m is None:
        raise invalid(version, _NAME, "neither a module version nor a Go toolchain version")
    major, minor, patch, kind, num = m.groups()
    pre = RELEASE if kind is None else (0, (1, kind), (0, int(num)))
    return (int(major), int(minor or 0), int(patch or 0), pre)


def parse(version: str) -> Key:
    body = version.strip()
    if body.startswith("go"):
        return _toolchain(body[2:], version)
    if body.startswith("v"):
        return parse_strict(body[1:], _NAME, version)
    try:
        return parse_strict(body, _NAME, version)
    except InvalidVersion:
        if body[-1:].isdigit() and any(k in body for k in ("alpha", "beta", "rc")):
            return _toolchain(body, version)  # "1.21rc2" written without the "go" prefix
        raise


SCHEME = KeyedScheme(_NAME, parse)
