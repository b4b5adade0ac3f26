"""Regenerate src/vigil/data/spdx_ids.json: every SPDX license ID (current and deprecated, exceptions and
LicenseRef- keys left out) by its lower-cased spelling, from the license index that license-expression (pinned in
requirements.lock) ships. Scans read this small table to normalise declared licenses; importing license-expression
and walking its 1 MB index cost ~40 ms of CPU per scan, more than the rest of a small image's analysis.
tests/unit/core/test_licenses_table.py checks the file is current: regenerate after moving license-expression."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "vigil" / "data" / "spdx_ids.json"


def ids() -> dict[str, str]:
    from license_expression import get_license_index  # type: ignore[import-untyped]

    out: dict[str, str] = {}
    for entry in get_license_index():
        spdx = entry.get("spdx_license_key")
        if not spdx or entry.get("is_exception") or spdx.startswith("LicenseRef-"):
            continue
        out.setdefault(spdx.lower(), spdx)
        for other in entry.get("other_spdx_license_keys") or ():
            if not other.startswith("LicenseRef-"):
                out.setdefault(other.lower(), other)
    return out


def render() -> str:
    doc = {"source": f"license-expression {importlib.metadata.version('license-expression')}",
           "ids": dict(sorted(ids().items()))}
    return json.dumps(doc, indent=0, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
