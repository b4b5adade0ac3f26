"""Plumbing shared by the version schemes (private; the public API is `vigil.detectors.versions`).

Every scheme is a pure function `parse(version) -> key` where the key is a plain tuple built so that Python's
built-in tuple ordering *is* the ecosystem's version ordering. Comparing two cached keys is then a C-level tuple
comparison, which is what makes warm comparisons cheap (bench/bench_versions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from vigil.detectors.versions import InvalidVersion

# Longer strings are not versions in any ecosystem we know of; the cap also bounds parse cost on hostile input
# (and keeps int() far below CPython's 4300-digit conversion limit).
MAX_VERSION_LENGTH = 256
CACHE_SIZE = 65536

Key = tuple[object, ...]


def invalid(version: object, scheme: str, why: str = "") -> InvalidVersion:
    detail = f": {why}" if why else ""
    return InvalidVersion(f"{version!r} is not a valid {scheme} version{detail}")


class KeyedScheme:
    """A Scheme (see vigil.detectors.versions.Scheme) backed by a cached parse-to-tuple function."""

    __slots__ = ("_cached", "_parse", "name")

    def __init__(self, name: str, parse: Callable[[str], Key]) -> None:
        self.name = name
        self._parse = parse
        self._cached = lru_cache(maxsize=CACHE_SIZE)(self._checked_parse)

    def _checked_parse(self, version: str) -> Key:
        if not isinstance(version, str):
            raise invalid(version, self.name, "not a string")
        if len(version) > MAX_VERSION_LENGTH:
            raise invalid(version[:40] + "…", self.name, f"longer than {MAX_VERSION_LENGTH} characters")
        return self._parse(version)

    def key(self, version: str) -> Key:
        """Totally ordered, hashable key; equal keys <=> equal versions. Cached (invalid strings are not)."""
        return self._cached(version)

    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 as `a` sorts before, equal to or after `b`."""
        cached = self._cached
        ka = cached(a)
        kb = cached(b)
        if ka < kb:
            return -1
        return 1 if kb < ka else 0

    def cache_clear(self) -> None:
        self._cached.cache_clear()

    def __repr__(self) -> str:
        return f"<version scheme {self.name}>"
