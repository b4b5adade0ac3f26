"""License scanning (`--scanners license`): declared licenses -> SPDX -> category -> LicenseFinding.

Declared licenses come from package metadata (lockfiles that record them, dist-info, package.json, gemspecs,
conda-meta, composer). Each is normalised to SPDX with `license-expression` (after a small alias table for common
free-text spellings); a compound expression ("MIT OR Apache-2.0") yields one finding per license in it, as in
Trivy. Category (Trivy's: forbidden, restricted, reciprocal, notice, permissive, unencumbered, unknown) decides
severity: CRITICAL, HIGH, MEDIUM, LOW, LOW, LOW, UNKNOWN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from vigil.detectors.license_data import ALIASES, CATEGORIES, CATEGORY_SEVERITY, DEFAULT_CATEGORIES
from vigil.findings.records import LicenseFinding, Severity
from vigil.inventory.records import Package

_SUFFIX = re.compile(r"(-only|-or-later|\+)$", re.I)


@cache
def _licensing() -> Any:
    from license_expression import get_spdx_licensing  # type: ignore[import-untyped]  # lazy: ~0.1 s

    return get_spdx_licensing()


@dataclass(frozen=True)
class LicensePolicy:
    """Category lists (category -> SPDX IDs) and licenses to ignore (IDs or raw names, case-insensitive)."""

    categories: Mapping[str, tuple[str, ...]]
    ignored: frozenset[str] = frozenset()

    @classmethod
    def build(cls, overrides: Mapping[str, tuple[str, ...]] | None = None,
              ignored: Iterable[str] = ()) -> LicensePolicy:
        cats = {c: DEFAULT_CATEGORIES.get(c, ()) for c in CATEGORIES}
        for c, ids in (overrides or {}).items():
            if ids:
                cats[c] = tuple(ids)
        return cls(categories=cats, ignored=frozenset(i.lower() for i in ignored))

    @property
    def _index(self) -> dict[str, str]:
        return _index(tuple((c, tuple(ids)) for c, ids in self.categories.items()))

    def category(self, spdx_id: str) -> str:
        idx = self._index
        key = spdx_id.lower()
        return idx.get(key) or idx.get(_SUFFIX.sub("", key)) or "unknown"


@cache
def _index(cats: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for c, ids in cats:
        for i in ids:
            out.setdefault(i.lower(), c)
            out.setdefault(_SUFFIX.sub("", i.lower()), c)
    return out


def normalize(declared: str) -> list[str]:
    """SPDX license names in a declared license value (each WITH-exception kept with its license); a value
    license-expression cannot parse is returned as-is (it will classify as unknown)."""
    s = declared.strip()
    if not s:
        return []
    alias = ALIASES.get(s.lower())
    if alias:
        return [alias]
    try:
        lic = _licensing()
        parsed = lic.parse(s, validate=False)
        if parsed is None:
            return []
        syms = lic.license_symbols(parsed, decompose=False)
        return [_spdx_name(cast(str, sym.render())) for sym in syms] or [s]
    except Exception:  # license_expression raises several error types for free text; keep the text
        return [s]


def _spdx_name(name: str) -> str:
    """A symbol of an expression as the SPDX ID it means when it is a common short name (rpm's "GPLv2+" ->
    "GPL-2.0-or-later"); an "X WITH exception" is kept as parsed."""
    from vigil.inventory.licenses import normalize_license

    return name if " WITH " in name else normalize_license(name)


def _base(name: str) -> str:
    """The license part of "X WITH exception"."""
    return name.split(" WITH ", 1)[0].strip()


def findings_for(pkgs: Iterable[Package], policy: LicensePolicy, file_path: str = "") -> tuple[LicenseFinding, ...]:
    out: dict[tuple[str, str], LicenseFinding] = {}
    for p in pkgs:
        for declared in p.licenses:
            for name in normalize(declared):
                if name.lower() in policy.ignored or _base(name).lower() in policy.ignored \
                        or declared.lower() in policy.ignored:
                    continue
                cat = policy.category(_base(name))
                sev = cast(Severity, CATEGORY_SEVERITY[cat])
                out.setdefault((p.id or p.name, name), LicenseFinding(
                    severity=sev, category=cat, pkg_name=p.name, file_path=p.file_path or file_path, name=name,
                    link=f"https://spdx.org/licenses/{_base(name)}.html" if cat != "unknown" else "",
                ))
    return tuple(sorted(out.values(), key=lambda f: (f.pkg_name, f.name)))
