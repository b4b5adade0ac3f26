"""ARCHITECTURE.md §4: the registry is explicit, and omissions fail a test."""

import pkgutil
from pathlib import Path

import pytest

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


def test_declared_ids_are_the_modules_analyzers() -> None:
    """Cache keys are made from ANALYZER_IDS without importing the analyzers: a version bumped in a module but
    not here would let a warm scan reuse an analysis made by the old version."""
    import importlib

    from vigil.analyzers.registry import ANALYZER_IDS, COMPREHENSIVE_IDS, Analyzer

    assert set(ANALYZER_IDS) == set(ANALYZER_MODULES)
    others = set()
    for mod_name in ANALYZER_MODULES:
        mod = importlib.import_module(mod_name)
        assert ANALYZER_IDS[mod_name] == (mod.ANALYZER.name, mod.ANALYZER.version), mod_name
        for attr, value in vars(mod).items():
            if isinstance(value, Analyzer) and attr != "ANALYZER" and attr.isupper():
                others.add(mod_name)
                assert COMPREHENSIVE_IDS[mod_name] == (attr, value.version, value.variant), mod_name
                assert value.name == mod.ANALYZER.name
    assert others == set(COMPREHENSIVE_IDS)


def test_declared_paths_are_current() -> None:
    """A scan picks the analyzers a file needs from analyzers/paths.py before importing any: the file says what
    each module's ANALYZER wants, or a changed pattern would send files to the wrong analyzer."""
    from tests.tool_helpers import load_tool

    gen = load_tool("gen_analyzer_paths")
    assert gen.OUT.read_text(encoding="utf-8") == gen.render(), "regenerate it with `make analyzer-paths`"


def test_refs_want_the_paths_their_analyzers_want() -> None:
    from vigil.analyzers.registry import PathIndex, analyzers_of, refs_of

    kinds = ("lockfile", "installed", "os")
    refs, analyzers = refs_of(kinds), analyzers_of(kinds)
    paths = ["package-lock.json", "a/b/requirements-dev.txt", "usr/lib/python3.11/site-packages/x.dist-info/METADATA",
             "var/lib/dpkg/status", "lib/apk/db/installed", "opt/conda/conda-meta/x-1.json", "app/x.deps.json",
             "vendor/composer/installed.json", "etc/os-release", "README.md", "bin/ls", "a/pom.xml"]
    for p in paths:
        want = [a.name for a in analyzers if a.matches(p)]
        assert [r.name for r in PathIndex(refs).matching(p)] == want, p
        assert [r.name for r in refs if r.matches(p)] == want, p
    assert [r.kind for r in refs] == [a.kind for a in analyzers]
    assert [r.companions for r in refs] == [a.companions for a in analyzers]
    assert [r.executables for r in refs] == [a.executables for a in analyzers]


def test_refs_load_what_the_option_transforms_give_and_name_them_alike() -> None:
    from itertools import combinations

    from vigil.analyzers.registry import analyzers_of, refs_of
    from vigil.pipeline.analyze import FilePatterns, with_detection_priority, with_file_patterns

    kinds = ("lockfile", "installed", "os")
    for n in (1, 2, 3):
        for chosen in combinations(kinds, n):
            for comprehensive in (False, True):
                for patterns in ({}, {"pip": ("reqs/.*\\.txt",), "dpkg": ("x", "y"), "gomod": ("go\\.work",)}):
                    want = with_file_patterns(
                        with_detection_priority(analyzers_of(chosen), "comprehensive" if comprehensive else "precise"),
                        FilePatterns(patterns, ()))
                    refs = refs_of(chosen, comprehensive, patterns)
                    assert tuple(r.load() for r in refs) == want
                    assert [r.cache_name for r in refs] == [a.cache_name for a in want]


def test_path_index_picks_exactly_what_each_analyzer_would() -> None:
    from vigil.analyzers.registry import PathIndex

    analyzers = all_analyzers()
    paths = {"a", "x/y/z.txt", "etc/os-release", "x/etc/os-release", "usr/lib/os-release", "var/lib/dpkg/status",
             "var/lib/dpkg/status.d/base", "var/lib/dpkg/status.d/base.md5sums", "var/lib/dpkg/info/libc6.list",
             "usr/share/doc/libc6/copyright", "usr/share/doc/copyright", "opt/conda/conda-meta/x.json",
             "conda-meta/x.json", "app/node_modules/lodash/package.json", "node_modules/package.json",
             "usr/lib/python3/dist-packages/a-1.dist-info/METADATA", "x.egg-info/PKG-INFO", "EGG-INFO/PKG-INFO",
             "app/vendor/composer/installed.json", "gems/specifications/rack.gemspec", "lib/apk/db/installed",
             "var/lib/rpm/Packages", "var/lib/rpm/rpmdb.sqlite", "app/x.jar", "app/x.JAR", "requirements-dev.txt",
             "deep/dir/requirements.txt", "deps/go.mod", "Cargo.lock", "a/METADATA", "METADATA"}
    for a in analyzers:  # every declared name, also under a directory
        paths.update(a.filenames)
        paths.update(f"some/dir/{f}" for f in a.filenames)
    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    paths.update(p.relative_to(fixtures).as_posix() for p in fixtures.rglob("*") if p.is_file())
    assert len(paths) > 200
    index = PathIndex(analyzers)
    hits = 0
    for p in sorted(paths):
        want = [a for a in analyzers if a.matches(p)]
        assert index.matching(p) == want, p
        hits += bool(want)
    assert hits > 50  # the check compares real matches, not only empty lists
    # --file-patterns regexes (searched anywhere in the path) are honoured too
    import msgspec

    extra = tuple(msgspec.structs.replace(a, path_regexes=("custom/.*\\.lst",)) if a.name == "pip" else a
                  for a in analyzers)
    assert [a.name for a in PathIndex(extra).matching("x/custom/deps.lst")] == ["pip"]


def test_glob_matches_is_fnmatchcase_without_compiling_literal_globs(monkeypatch: pytest.MonkeyPatch) -> None:
    import fnmatch

    from vigil.analyzers.paths import WANTS
    from vigil.analyzers.registry import PathIndex, glob_matches, refs_of

    globs = {g for (_, base, full, _, _) in WANTS.values() for g in (*base, *full)}
    globs |= {"a?c", "[ab]c", "a[!b]", "plain", "with]bracket", "back\\slash", "*"}
    names = ({"abc", "ac", "bc", "a", "axc", "plain", "with]bracket", "back\\slash", "", "/etc/os-release",
              "/x/etc/os-release", "a.jar", "A.JAR", "requirements.txt", "/usr/share/doc/libc6/copyright"}
             | globs | {"/" + g for g in globs} | {g + "x" for g in globs} | {g.replace("*", "x") for g in globs})
    for g in globs:
        for n in names:
            assert glob_matches(n, g) == fnmatch.fnmatchcase(n, g), (n, g)

    # the literal path globs (most of the OS analyzers') are compared, never handed to fnmatch to compile
    asked: list[str] = []
    real = fnmatch.fnmatchcase

    pairs: list[tuple[str, str]] = []

    def counting(name: str, pat: str) -> bool:
        asked.append(pat)
        pairs.append((name, pat))
        return real(name, pat)

    monkeypatch.setattr(fnmatch, "fnmatchcase", counting)
    index = PathIndex(refs_of(("lockfile", "installed", "os")))
    for p in ("etc/os-release", "var/lib/dpkg/status", "lib/apk/db/installed", "app/x.jar",
              "usr/lib/python3.11/site-packages/x.dist-info/METADATA"):
        assert index.matching(p), p
    assert asked  # the globs with wildcards still go through fnmatch
    assert [g for g in asked if not any(c in g for c in "*?[")] == []
    # … but only where the name has the glob's literal text: fnmatch compiles no glob a substring test rules out
    for name, g in pairs:
        pieces = g.replace("?", "*").split("*")
        assert "[" in g or (name.startswith(pieces[0]) and name.endswith(pieces[-1])
                            and all(x in name for x in pieces)), (name, g)
    assert 0 < len(pairs) < 5, pairs
