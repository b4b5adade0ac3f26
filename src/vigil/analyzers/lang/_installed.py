"""Helpers shared by the installed-package analyzers (kind="installed"): license value cleanup."""

from __future__ import annotations

from typing import Any


def license_values(value: Any) -> tuple[str, ...]:
    """Declared licenses from the shapes package metadata uses: "MIT", ["MIT", "ISC"], {"type": "MIT"},
    [{"type": "MIT"}] (old npm), and "(MIT OR Apache-2.0)" kept as one expression."""
    out: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            item = item.get("type") or item.get("name")
        if isinstance(item, str):
            s = item.strip()
            if s and len(s) <= 200 and "\n" not in s:
                out.append(s)
    return tuple(dict.fromkeys(out))
