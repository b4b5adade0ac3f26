"""Version schemes, one module per ecosystem family, behind one small API.

    scheme = scheme_for("npm")
    scheme.compare("1.2.3-beta.1", "1.2.3")   # -> -1
    scheme.key("1.2.3")                       # orderable, hashable key; parsed once, cached

Every scheme raises `InvalidVersion` for strings it cannot parse; callers treat that as "cannot compare" and the
matcher reports the package as unknown-version, never as vulnerable by accident.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any, Protocol


class InvalidVersion(ValueError):
    """The string is not a version of this scheme."""


class Scheme(Protocol):
    name: str

    def key(self, version: str) -> Any:
        """A totally ordered, hashable key; equal keys <=> equal versions under the scheme. Cached."""

    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1."""


# ecosystem -> "module:attribute" of its Scheme instance
_SCHEMES: dict[str, str] = {
    "pypi": "vigil.detectors.versions.pep440:SCHEME",
    "npm": "vigil.detectors.versions.semver:NPM",
    "cargo": "vigil.detectors.versions.semver:CARGO",
    "hex": "vigil.detectors.versions.semver:HEX",
    "pub": "vigil.detectors.versions.semver:PUB",
    "go": "vigil.detectors.versions.go:SCHEME",
    "rubygems": "vigil.detectors.versions.gem:SCHEME",
    "maven": "vigil.detectors.versions.maven:SCHEME",
    "composer": "vigil.detectors.versions.composer:SCHEME",
    "nuget": "vigil.detectors.versions.nuget:SCHEME",
    "debian": "vigil.detectors.versions.dpkg:SCHEME",
    "ubuntu": "vigil.detectors.versions.dpkg:SCHEME",
    "rpm": "vigil.detectors.versions.rpm:SCHEME",
    "redhat": "vigil.detectors.versions.rpm:SCHEME",
    "centos": "vigil.detectors.versions.rpm:SCHEME",
    "rocky": "vigil.detectors.versions.rpm:SCHEME",
    "alma": "vigil.detectors.versions.rpm:SCHEME",
    "alpine": "vigil.detectors.versions.apk:SCHEME",
}


def known_ecosystems() -> tuple[str, ...]:
    return tuple(_SCHEMES)


@cache
def scheme_for(ecosystem: str) -> Scheme:
    target = _SCHEMES.get(ecosystem)
    if target is None:
        raise KeyError(f"no version scheme for ecosystem {ecosystem!r}")
    mod_name, attr = target.split(":")
    scheme: Scheme = getattr(importlib.import_module(mod_name), attr)
    return scheme
