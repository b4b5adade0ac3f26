"""The pure helpers of bench/vs_trivy.py (the benchmark itself is not a test: nothing here times anything)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "vs_trivy", Path(__file__).resolve().parents[2] / "bench" / "vs_trivy.py")
assert _spec and _spec.loader
vs = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("vs_trivy", vs)  # dataclasses look their module up there
_spec.loader.exec_module(vs)


def test_median_of_nothing_is_none() -> None:
    assert vs.median([]) is None
    assert vs.median([3.0, 1.0, 2.0]) == 2.0
    assert vs.median([1.0, 2.0]) == 1.5


@pytest.mark.parametrize(("v", "t", "want"), [
    (1.0, 4.0, "0.25x"),
    (4.0, 1.0, "4.00x"),
    (25.0, 1.0, "25x"),
    (None, 1.0, "n/a"),
    (1.0, None, "n/a"),
    (1.0, 0.0, "n/a"),
])
def test_fmt_ratio(v: float | None, t: float | None, want: str) -> None:
    assert vs.fmt_ratio(v, t) == want


def test_fmt_units() -> None:
    assert vs.fmt_seconds(0.1234) == "123 ms"
    assert vs.fmt_seconds(2.345) == "2.35 s"
    assert vs.fmt_seconds(None) == "—"
    assert vs.fmt_mib(2048) == "2 MiB"


@pytest.mark.parametrize(("name", "want"), [
    ("etc/.wh.motd", ("etc/motd", False)),
    (".wh.top", ("top", False)),
    ("opt/app/.wh..wh..opq", ("opt/app", True)),
    ("etc/motd", None),
    ("etc/not.wh.motd", None),
])
def test_whiteout_target(name: str, want: tuple[str, bool] | None) -> None:
    assert vs.whiteout_target(name) == want
