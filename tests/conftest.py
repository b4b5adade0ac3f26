"""Shared test fixtures.

Golden files: `golden.check(name, obj)` compares `obj` (msgspec-encodable) as pretty JSON with
tests/golden/<name>.json. Set VIGIL_UPDATE_GOLDEN=1 to (re)write them — only deliberately, and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "data" / "corpus"
LOCKFILES = CORPUS / "lockfiles"
ADVISORIES = SHARED / "data" / "advisories"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def _to_jsonable(obj: Any) -> Any:
    return json.loads(msgspec.json.encode(obj))


class Golden:
    def check(self, name: str, obj: Any) -> None:
        path = GOLDEN_DIR / f"{name}.json"
        actual = json.dumps(_to_jsonable(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        if os.environ.get("VIGIL_UPDATE_GOLDEN") == "1" or not path.exists():
            if os.environ.get("CI") and not path.exists():
                pytest.fail(f"golden file {path} is missing (run with VIGIL_UPDATE_GOLDEN=1 locally)")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"output differs from golden file {path}; rerun with VIGIL_UPDATE_GOLDEN=1 if intended"


@pytest.fixture
def golden() -> Golden:
    return Golden()


@pytest.fixture(scope="session")
def lockfiles_dir() -> Path:
    if not LOCKFILES.is_dir():
        pytest.skip("../shared corpus not present")
    return LOCKFILES
