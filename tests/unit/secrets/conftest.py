from __future__ import annotations

import pytest

from vigil.analyzers.secrets import engine


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every hyperscan database compile of the test, by its number of expressions (counted, never timed)."""
    calls: list[int] = []
    real = engine._compile_database

    def counting(db: object, exprs: list[bytes], ids: list[int], flags: list[int]) -> None:
        calls.append(len(exprs))
        real(db, exprs, ids, flags)

    monkeypatch.setattr(engine, "_compile_database", counting)
    return calls
