"""Shared assertions for version-scheme tests."""

from __future__ import annotations

from collections.abc import Iterable

from vigil.detectors.versions import InvalidVersion, Scheme


def assert_real_versions_parse(scheme: Scheme, versions: Iterable[str], *, min_count: int = 1000) -> None:
    """At least 99.9 % of real-world version strings from a feed parse under `scheme`; the failure message lists
    every reject so a new one can be judged (upstream typo vs. scheme bug)."""
    vs = list(versions)
    bad = []
    for v in vs:
        try:
            scheme.key(v)
        except InvalidVersion:
            bad.append(v)
    assert len(vs) >= min_count, f"only {len(vs)} versions read"
    assert len(bad) <= len(vs) / 1000, f"{len(bad)}/{len(vs)} unparsable: {sorted(set(bad))}"
