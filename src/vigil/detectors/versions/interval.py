"""Matching versions against the intervals of an advisory (vigil.vulndb.records.AffectedPackage).

Semantics are those documented on AffectedPackage (like Trivy's IsVulnerable): a version is vulnerable iff
(`vulnerable` is empty or the version lies in some `vulnerable` interval) and it lies in no `safe` interval.

Bounds are parsed with the package's scheme. A bound that does not parse makes its interval match nothing (logged at
debug level): an advisory we cannot read must not turn every version vulnerable — nor, through a `safe` interval,
hide a vulnerability we *can* read. Unparsable bounds are likewise skipped when picking a fixed version.
The installed version itself must parse: `scheme.key` raises InvalidVersion and the caller reports the package as
unknown-version.
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import lru_cache
from typing import Any, cast

from vigil.detectors.versions import InvalidVersion, Scheme
from vigil.log import get_logger
from vigil.vulndb.records import AffectedPackage, Interval

log = get_logger(__name__)

# (lo key or None, hi key or None); None for the whole tuple when a bound does not parse. Keys are the schemes'
# opaque orderable keys, hence Any.
_Bounds = tuple[Any, Any]


def _bounds(scheme: Scheme, interval: Interval) -> _Bounds | None:
    return _bounds_cached(cast(Hashable, scheme), interval)


@lru_cache(maxsize=65536)
def _bounds_cached(hashable_scheme: Hashable, interval: Interval) -> _Bounds | None:
    scheme = cast(Scheme, hashable_scheme)
    try:
        lo = None if interval.lo is None else scheme.key(interval.lo)
        hi = None if interval.hi is None else scheme.key(interval.hi)
    except InvalidVersion as exc:
        log.debug("ignoring interval %s: %s", interval.describe(), exc)
        return None
    return lo, hi


def contains(scheme: Scheme, version_key: Any, interval: Interval) -> bool:
    """Whether the version whose `scheme.key` is `version_key` lies in `interval` (False if a bound is invalid)."""
    bounds = _bounds(scheme, interval)
    if bounds is None:
        return False
    lo, hi = bounds
    if lo is not None:
        if interval.lo_incl:
            if version_key < lo:
                return False
        elif not lo < version_key:
            return False
    if hi is not None:
        if interval.hi_incl:
            if hi < version_key:
                return False
        elif not version_key < hi:
            return False
    return True


def is_vulnerable(scheme: Scheme, version: str, affected: AffectedPackage) -> tuple[bool, Interval | None]:
    """(vulnerable?, the first `vulnerable` interval containing `version` — None if `vulnerable` is empty)."""
    key = scheme.key(version)
    matched: Interval | None = None
    if affected.vulnerable:
        matched = next((iv for iv in affected.vulnerable if contains(scheme, key, iv)), None)
        if matched is None:
            return False, None
    if any(contains(scheme, key, iv) for iv in affected.safe):
        return False, None
    return True, matched


def smallest_fix_above(scheme: Scheme, version: str, affected: AffectedPackage) -> str:
    """The smallest fixed version greater than `version`, or "" if there is none.

    Candidates are `affected.fixed`, or, when that is empty, the exclusive upper bounds of `vulnerable` intervals
    and the lower bounds of `safe` intervals. With fixes on several branches (2.2.25, 3.0.14, 3.1.8) and 3.0.1
    installed this is 3.0.14.
    """
    key = scheme.key(version)
    if affected.fixed:
        candidates: list[str] = list(affected.fixed)
    else:
        candidates = [iv.hi for iv in affected.vulnerable if iv.hi is not None and not iv.hi_incl]
        candidates += [iv.lo for iv in affected.safe if iv.lo is not None]
    best = ""
    best_key: Any = None
    for candidate in candidates:
        try:
            ck = scheme.key(candidate)
        except InvalidVersion as exc:
            log.debug("ignoring fixed version %r: %s", candidate, exc)
            continue
        if key < ck and (best_key is None or ck < best_key):
            best, best_key = candidate, ck
    return best
