"""Tests assert behaviour and bounds on work (bytes read, calls, CPU time), never wall-clock time: a duration
assertion fails on a loaded machine (a CI runner at load 8) although nothing is wrong. Timings belong in bench/.

This reads every test module and refuses an `assert` on a duration measured with a wall clock (a difference of
time.monotonic()/perf_counter()/time() readings, directly or through a variable), and a Hypothesis `deadline`
other than None. Waiting with a deadline (`while time.monotonic() < deadline`, `assert time.monotonic() <
deadline, "timed out"`) bounds how long a test may hang; it measures nothing and stays allowed."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import hypothesis

TESTS = Path(__file__).resolve().parent.parent
SAMPLES = TESTS / "data" / "wall_clock"
WALL_CLOCKS = frozenset({"monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"})
TIME_MODULE_CLOCKS = frozenset({"time", "time_ns"})  # time.time(): only as an attribute of the time module


def _clock_names(tree: ast.AST) -> set[str]:
    """Clock functions imported by name (`from time import monotonic`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            names.update(a.asname or a.name for a in node.names if a.name in WALL_CLOCKS | TIME_MODULE_CLOCKS)
    return names


def _is_clock_call(node: ast.AST, imported: set[str]) -> bool:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr in WALL_CLOCKS or (f.attr in TIME_MODULE_CLOCKS and isinstance(f.value, ast.Name)
                                         and f.value.id == "time")
    return isinstance(f, ast.Name) and f.id in imported


def _mentions(node: ast.AST, imported: set[str], names: set[str]) -> bool:
    return any(_is_clock_call(n, imported) or (isinstance(n, ast.Name) and n.id in names) for n in ast.walk(node))


def _is_duration(node: ast.AST, imported: set[str], readings: set[str], durations: set[str]) -> bool:
    """A subtraction of clock readings, or a variable holding one."""
    for n in ast.walk(node):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and (
                _mentions(n.left, imported, readings) or _mentions(n.right, imported, readings)):
            return True
        if isinstance(n, ast.Name) and n.id in durations:
            return True
    return False


def wall_clock_asserts(source: str, filename: str = "<test>") -> Iterator[str]:
    """`file:line: what` for each assertion on a wall-clock duration and each Hypothesis deadline in `source`."""
    tree = ast.parse(source, filename)
    imported = _clock_names(tree)
    assigns = [(t.id, n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.AnnAssign)
               and n.value is not None
               for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)]
    readings: set[str] = set()  # variables holding a clock reading (t0 = time.monotonic(); deadline = ... + 20)
    durations: set[str] = set()  # variables holding a difference of readings (elapsed = time.monotonic() - t0)
    changed = True
    while changed:
        changed = False
        for name, value in assigns:
            if name not in readings and _mentions(value, imported, readings):
                readings.add(name)
                changed = True
            if name not in durations and _is_duration(value, imported, readings, durations):
                durations.add(name)
                changed = True
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and _is_duration(node.test, imported, readings, durations):
            yield f"{filename}:{node.lineno}: assertion on a wall-clock duration: {ast.unparse(node.test)}"
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "deadline" and not (isinstance(kw.value, ast.Constant) and kw.value.value is None):
                    yield f"{filename}:{node.lineno}: Hypothesis deadline {ast.unparse(kw.value)} (use None)"


def test_no_test_asserts_wall_clock_time() -> None:
    found = [hit for path in sorted(TESTS.rglob("*.py"))
             for hit in wall_clock_asserts(path.read_text(encoding="utf-8"), str(path.relative_to(TESTS)))]
    assert found == []


def test_hypothesis_deadlines_are_off_for_the_suite() -> None:
    assert hypothesis.settings.default.deadline is None


def test_the_guard_finds_the_shapes_it_refuses() -> None:
    # the samples are kept as .txt data, not test source: a sample of a refused assertion must not read as one
    bad = (SAMPLES / "refused.py.txt").read_text(encoding="utf-8")
    assert sorted(int(h.split(":")[1]) for h in wall_clock_asserts(bad)) == [7, 11, 14, 15]
    fine = (SAMPLES / "allowed.py.txt").read_text(encoding="utf-8")
    assert list(wall_clock_asserts(fine)) == []
