"""ARCHITECTURE.md §4: the registry is explicit, and omissions fail a test."""

import pkgutil
from pathlib import Path

import vigil.analyzers.lang as lang
import vigil.analyzers.os as os_analyzers
from vigil.analyzers.errors import ParseError
from vigil.analyzers.registry import (
    ANALYZER_MODULES,
    AnalysisInput,
    AnalysisResult,
    Analyzer,
    all_analyzers,
    run_guarded,
)

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "analyzers"


def test_every_lang_module_is_registered_and_has_goldens() -> None:
    modules = {f"{pkg.__name__}.{m.name}" for pkg in (lang, os_analyzers)
               for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")}
    assert modules == set(ANALYZER_MODULES)
    names = [a.name for a in all_analyzers()]
    assert len(names) == len(set(names)), "analyzer names must be unique"
    for mod in ANALYZER_MODULES:
        short = mod.rsplit(".", 1)[1]
        folder = GOLDEN / short if mod.startswith("vigil.analyzers.lang.") else GOLDEN.parent / "os" / short
        assert list(folder.glob("*.json")), f"{short} has no golden files in {folder}"


def test_declared_module_kinds_match_the_analyzers() -> None:
    """analyzers_of() picks modules by a declared kind without importing the others: the declaration is right, and
    it gives what filtering every analyzer by kind gives, in the same order."""
    import importlib
    from itertools import combinations

    from vigil.analyzers.registry import analyzers_of, module_kind

    for mod in ANALYZER_MODULES:
        assert module_kind(mod) == importlib.import_module(mod).ANALYZER.kind, mod
    kinds = ("lockfile", "installed", "os")
    for n in (1, 2, 3):
        for chosen in combinations(kinds, n):
            assert analyzers_of(chosen) == tuple(a for a in all_analyzers() if a.kind in chosen), chosen


def _boom(kind: type[BaseException]) -> Analyzer:
    def analyze(inp: AnalysisInput) -> AnalysisResult:
        raise kind("bad thing")

    return Analyzer(name="boom", version=1, analyze=analyze, filenames=("x",))


def test_guard_turns_errors_into_unknowns() -> None:
    for kind, reason in [(ParseError, "bad thing"), (KeyError, "internal error in analyzer boom"),
                         (RecursionError, "nested too deeply")]:
        res = run_guarded(_boom(kind), AnalysisInput(path="dir/x", data=b""))
        (u,) = res.unknowns
        assert u.file_path == "dir/x" and reason in u.reason and u.analyzer == "boom"
