"""The matchers, behind one interface and listed in one place.

A matcher says which packages it handles and returns their vulnerabilities; detection (vigil.pipeline.detect) asks
every matcher of a package's kind, for every target, in the CLI and in `vigil server` alike. Language packages
are matched by the generic matcher (semantic ranges of the OSV-style feeds, per ecosystem); OS packages by the
OS matcher bound to the detected release (distro advisories first, then NVD). A new matcher is a class with
`name`, `handles` and `match`, added to the lists below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from vigil.findings.records import Vulnerability
from vigil.inventory.records import OSInfo, Package

if TYPE_CHECKING:
    from vigil.detectors.vuln.ospkg import OSMatcher
    from vigil.vulndb.store import Store


class Matcher(Protocol):
    name: str

    def handles(self, pkg: Package) -> bool: ...

    def match(self, pkg: Package) -> list[Vulnerability]: ...


class OSReleaseMatcher:
    """The OS matcher for one detected release: handles every OS package of that release."""

    name = "ospkg"

    def __init__(self, matcher: OSMatcher, os: OSInfo) -> None:
        self.matcher = matcher
        self.os = os

    def handles(self, pkg: Package) -> bool:
        return True

    def prepare(self, pkgs: Sequence[Package]) -> None:
        self.matcher.prepare(self.os, pkgs)

    def match(self, pkg: Package) -> list[Vulnerability]:
        return self.matcher.match(self.os, pkg)


def language_matchers(store: Store) -> tuple[Matcher, ...]:
    from vigil.detectors.vuln.generic import GenericMatcher

    return (GenericMatcher(store),)


def os_matchers(matcher: OSMatcher, os: OSInfo) -> tuple[Matcher, ...]:
    return (OSReleaseMatcher(matcher, os),)


def prepare(matchers: tuple[Matcher, ...], pkgs: Sequence[Package]) -> None:
    """Before matching these packages one by one: a matcher that can read what it needs for all of them at once
    (the DB rows and vulnerability details of the language and OS matchers) does so. Optional: a matcher without `prepare` reads as it matches."""
    for m in matchers:
        prep = getattr(m, "prepare", None)
        if prep is not None:
            prep(pkgs)


def match(matchers: tuple[Matcher, ...], pkg: Package) -> list[Vulnerability]:
    """Every vulnerability any matcher that handles the package finds."""
    out: list[Vulnerability] = []
    for m in matchers:
        if m.handles(pkg):
            out.extend(m.match(pkg))
    return out
