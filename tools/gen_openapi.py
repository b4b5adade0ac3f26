"""Regenerate docs/openapi.json, the OpenAPI document of `vigil server` (run after changing an endpoint or a
wire record; tests/integration/test_server_schema.py checks it is current and runs schemathesis against it).
Descriptions are normalised (vigil.findings.schema_text), so every supported Python writes the same bytes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def spec() -> dict[str, Any]:
    from vigil.cache import MemoryCache
    from vigil.shells.server.app import create_app
    from vigil.shells.server.state import ServerState

    state = ServerState(db_path=Path("vigil.db"), cache=MemoryCache())
    try:
        return create_app(state).openapi()
    finally:
        state.close()


def render() -> str:
    from vigil.findings.schema_text import clean_schema_text

    return json.dumps(clean_schema_text(spec()), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
