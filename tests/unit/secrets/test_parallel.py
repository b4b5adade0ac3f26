"""Forked workers give the same results as the in-process scan (issue 6: ≥ 25 % of cat throughput on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tests.pipeline_helpers import analyze_dir
from vigil.settings import ScanOptions

TOKEN = "ghp_" + "Zq8xY2wV" * 4  # + 4 digits = a github-pat shape (fake)


def test_parallel_equals_serial(tmp_path: Path) -> None:
    for i in range(400):
        d = tmp_path / f"d{i % 7}"
        d.mkdir(exist_ok=True)
        body = "\n".join(f"line {j}" for j in range(20))
        if i % 13 == 0:
            body += f"\nTOKEN={TOKEN}{i:04d}\n"
        (d / f"f{i}.cfg").write_text(body)
    serial = analyze_dir(ScanOptions(target=tmp_path, db_path=tmp_path / "x", scanners=("secret",), parallel=1)).secrets
    par = analyze_dir(ScanOptions(target=tmp_path, db_path=tmp_path / "x", scanners=("secret",), parallel=2)).secrets
    assert len(serial) == 31
    assert msgspec.json.encode(serial) == msgspec.json.encode(par)
