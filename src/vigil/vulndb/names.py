"""Package-name normalisation shared by the DB builder and the matchers, so both sides agree on lookup keys."""

from __future__ import annotations

import re

_PEP503 = re.compile(r"[-_.]+")


def normalize(ecosystem: str, name: str) -> str:
    name = name.strip()
    if ecosystem == "pypi":
        return _PEP503.sub("-", name).lower()  # PEP 503
    if ecosystem in ("composer", "nuget", "cargo"):
        # Packagist and NuGet names are case-insensitive; crates.io treats case as insignificant too.
        return name.lower()
    return name
