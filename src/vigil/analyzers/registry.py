"""Analyzer protocol and the explicit registry.

An analyzer module defines a pure `parse_x(data: bytes, ...)` and registers one `Analyzer` object here by being
listed in `ANALYZER_MODULES`; each module exposes a module-level `ANALYZER`. A test checks that every module under
`vigil/analyzers/lang` is listed and has fixtures. Modules are imported lazily, on first use.
"""

from __future__ import annotations

import fnmatch
import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Generic, Literal, Protocol, TypeVar

import msgspec

from vigil.analyzers.errors import ParseError, number_too_large
from vigil.inventory.records import Application, OSInfo, Package, Unknown
from vigil.log import get_logger

log = get_logger(__name__)

# Every analyzer module, in a fixed order. Adding an ecosystem = one module + one line here + fixtures.
ANALYZER_MODULES: tuple[str, ...] = (
    "vigil.analyzers.lang.npm_lock",
    "vigil.analyzers.lang.yarn_lock",
    "vigil.analyzers.lang.pnpm_lock",
    "vigil.analyzers.lang.bun_lock",
    "vigil.analyzers.lang.pip_requirements",
    "vigil.analyzers.lang.pipenv_lock",
    "vigil.analyzers.lang.poetry_lock",
    "vigil.analyzers.lang.uv_lock",
    "vigil.analyzers.lang.go_mod",
    "vigil.analyzers.lang.cargo_lock",
    "vigil.analyzers.lang.gemfile_lock",
    "vigil.analyzers.lang.composer_lock",
    # installed packages and binaries (kind="installed": image/rootfs scans, fs only when asked)
    "vigil.analyzers.lang.python_pkg",
    "vigil.analyzers.lang.node_pkg",
    "vigil.analyzers.lang.gemspec",
    "vigil.analyzers.lang.composer_vendor",
    "vigil.analyzers.lang.conda_meta",
    "vigil.analyzers.lang.jar",
    "vigil.analyzers.lang.gobinary",
    "vigil.analyzers.lang.rustbinary",
    # more lockfiles and manifests
    "vigil.analyzers.lang.nuget_lock",
    "vigil.analyzers.lang.nuget_config",
    "vigil.analyzers.lang.dotnet_deps",
    "vigil.analyzers.lang.pom_xml",
    "vigil.analyzers.lang.gradle_lockfile",
    "vigil.analyzers.lang.mix_lock",
    "vigil.analyzers.lang.pubspec_lock",
    "vigil.analyzers.lang.swift_resolved",
    "vigil.analyzers.lang.podfile_lock",
    "vigil.analyzers.lang.conan_lock",
    "vigil.analyzers.lang.pdm_lock",
    "vigil.analyzers.lang.pylock_toml",
    "vigil.analyzers.lang.julia_manifest",
    "vigil.analyzers.lang.conda_environment",
    "vigil.analyzers.lang.packages_props",
    "vigil.analyzers.lang.sbt_lock",
    # OS package databases and release files
    "vigil.analyzers.os.os_release",
    "vigil.analyzers.os.dpkg",
    "vigil.analyzers.os.dpkg_files",
    "vigil.analyzers.os.dpkg_copyright",
    "vigil.analyzers.os.apk",
    "vigil.analyzers.os.rpm",
)

# Which analyzers a scan runs (like Trivy: fs/repo read lockfiles; image/rootfs read installed metadata and
# binaries). `fs` is lockfile-only unless asked.
AnalyzerKind = Literal["lockfile", "installed", "os"]


class AnalysisInput(msgspec.Struct, frozen=True):
    """What a source hands an analyzer: the file's path relative to the scan root, its bytes (already
    size-capped by the source), and the bytes of the sibling files the analyzer asked for (`companions`) that
    exist next to it (e.g. pyproject.toml beside poetry.lock)."""

    path: str
    data: bytes
    siblings: Mapping[str, bytes] = msgspec.field(default_factory=dict)
    # files elsewhere in the scanned tree that the analyzer's `related` asked for, keyed by their path relative to
    # the scan root (e.g. a parent pom.xml two directories up)
    related: Mapping[str, bytes] = msgspec.field(default_factory=dict)


class AnalysisResult(msgspec.Struct, frozen=True):
    applications: tuple[Application, ...] = ()
    unknowns: tuple[Unknown, ...] = ()
    # kind="os" analyzers: the OS a release file names, and the packages a package database lists
    # (ecosystem = the package format "dpkg"/"apk"/"rpm"; the image engine sets it to the detected family, and
    # the packages' installed_files feed engine.drop_os_owned).
    os: OSInfo | None = None
    os_packages: tuple[Package, ...] = ()


class Analyzer(msgspec.Struct, frozen=True):  # a Struct: a dataclass cost ~1 ms to define, on every scan
    """name and version are permanent IDs (part of cache keys). `filenames` are exact base names; `globs` are
    fnmatch patterns on the base name (e.g. 'requirements*.txt'). `companions` are sibling base names the source
    should provide in AnalysisInput.siblings.

    `kind` says which scans run it (see AnalyzerKind). `path_globs` are fnmatch patterns on "/" + the whole
    relative path (for files known by their directory, e.g. "*/conda-meta/*.json"). `executables`: the source also
    hands it every executable regular file (Go/Rust binaries are found by executability, like Trivy); such an
    analyzer returns an empty result for files that are not its format.

    `related(path, data)`, when set, returns paths relative to the scan root (normalised, posix) of other files the
    analysis may need; the source reads those that exist inside the scan root, calls `related` again on each file
    it read (so chains such as parent POMs are followed), up to MAX_RELATED_FILES, and passes them all in
    AnalysisInput.related. It must be pure and must not raise (return [] for input it cannot read)."""

    name: str
    version: int
    analyze: Callable[[AnalysisInput], AnalysisResult]
    filenames: tuple[str, ...] = ()
    globs: tuple[str, ...] = ()
    companions: tuple[str, ...] = ()
    kind: AnalyzerKind = "lockfile"
    path_globs: tuple[str, ...] = ()
    executables: bool = False
    related: Callable[[str, bytes], Sequence[str]] | None = None
    # --file-patterns TYPE:REGEX: more files for this analyzer, by a regular expression searched in the path
    # relative to the scan root (Trivy's semantics)
    path_regexes: tuple[str, ...] = ()
    # another reading of the same files (e.g. "comprehensive": --detection-priority comprehensive): part of the
    # cache key, so a cached analysis of one reading is never taken for the other
    variant: str = ""

    @property
    def cache_name(self) -> str:
        """What identifies this analyzer in a cache key (AnalyzerRef.cache_name says the same without importing)."""
        return cache_name(self.name, self.version, self.variant, self.path_regexes)

    def matches(self, path: str) -> bool:
        return wants_path(self, path)


class PathSpec(Protocol):
    """What decides whether an analyzer wants a file: an Analyzer, or an AnalyzerRef before its module is imported."""

    @property
    def filenames(self) -> tuple[str, ...]: ...
    @property
    def globs(self) -> tuple[str, ...]: ...
    @property
    def path_globs(self) -> tuple[str, ...]: ...
    @property
    def path_regexes(self) -> tuple[str, ...]: ...


def wants_path(a: PathSpec, path: str) -> bool:
    base = path.rsplit("/", 1)[-1]
    if base in a.filenames:
        return True
    if any(glob_matches(base, g) for g in a.globs):
        return True
    if any(re.search(rx, path) for rx in a.path_regexes):
        return True
    return any(glob_matches("/" + path, g) for g in a.path_globs)


_WILD = re.compile(r"[*?\[]")


def glob_matches(name: str, glob: str) -> bool:
    """fnmatchcase(name, glob), without compiling a regex for a glob that has no wildcard: such a glob matches only
    itself, and most path globs are literal paths (/etc/os-release, /var/lib/dpkg/status…), each of which fnmatch
    would compile on a scan's first wanted path. Nor for a glob of `*` and `?` whose literal text the name lacks
    (its start, its end, a piece between wildcards): a wanted path is asked of every analyzer with patterns, and
    fnmatch compiled each of their globs on the first one."""
    parts = _literal_parts(glob)
    if parts is None:
        return name == glob
    if parts and not (name.startswith(parts[0]) and name.endswith(parts[1])
                      and all(p in name for p in parts[2])):
        return False
    return fnmatch.fnmatchcase(name, glob)


@cache
def _literal_parts(glob: str) -> tuple[str, str, tuple[str, ...]] | tuple[()] | None:
    """None for a glob without wildcards; for one of `*` and `?` only, the text every match starts and ends with and
    the pieces it contains; () for one with a `[…]` set (only fnmatch can tell)."""
    if not _WILD.search(glob):
        return None
    if "[" in glob:
        return ()
    pieces = glob.replace("?", "*").split("*")
    return pieces[0], pieces[-1], tuple(p for p in pieces[1:-1] if p)


S = TypeVar("S", bound=PathSpec)


class PathIndex(Generic[S]):
    """Which of a list of analyzers (or references to them) want a path, answered with one dict lookup and two
    regex matches for the paths no analyzer wants (nearly every file of a root filesystem), instead of each
    analyzer's globs tried in turn. `matching(path)` is exactly `[a for a in analyzers if wants_path(a, path)]`."""

    def __init__(self, analyzers: Sequence[S]) -> None:
        self.analyzers = tuple(analyzers)
        self._names = frozenset(n for a in self.analyzers for n in a.filenames)
        self._base = _any_glob(g for a in self.analyzers for g in a.globs)
        # a path glob ending in a literal name ("*/vendor/composer/installed.json") can match only paths that end
        # with it: a suffix test; the others ("*/conda-meta/*.json") in one regex
        path_globs = {g for a in self.analyzers for g in a.path_globs}
        literal = {g for g in path_globs if "/" in g and not _WILD.search(g.rpartition("/")[2])}
        self._suffixes = tuple(sorted({"/" + g.rpartition("/")[2] for g in literal}))
        self._path = _any_glob(path_globs - literal)
        # --file-patterns regexes are searched, not matched: with any, every analyzer is asked (a rare option)
        self._regexes = any(a.path_regexes for a in self.analyzers)
        # a wanted path is asked of the analyzers that name its base name exactly and of those with patterns, not
        # of all of them: most analyzers only name files, and a lockfile corpus has hundreds of wanted paths
        self._by_name: dict[str, list[int]] = {}
        for i, a in enumerate(self.analyzers):
            for n in set(a.filenames):
                self._by_name.setdefault(n, []).append(i)
        self._patterned = [i for i, a in enumerate(self.analyzers) if a.globs or a.path_globs or a.path_regexes]

    def maybe(self, path: str) -> bool:
        """False when no analyzer wants the path (True may still mean none does)."""
        if self._regexes:
            return True
        base = path.rsplit("/", 1)[-1]
        full = "/" + path
        return (base in self._names or (self._base is not None and self._base.match(base) is not None)
                or full.endswith(self._suffixes)
                or (self._path is not None and self._path.match(full) is not None))

    def matching(self, path: str) -> list[S]:
        if not self.maybe(path):
            return []
        named = self._by_name.get(path.rsplit("/", 1)[-1], ())
        patterned = [i for i in self._patterned if wants_path(self.analyzers[i], path)]
        if not patterned:
            return [self.analyzers[i] for i in named]
        return [self.analyzers[i] for i in sorted({*named, *patterned})]


def _any_glob(globs: Iterable[str]) -> re.Pattern[str] | None:
    """One regex matching what any of the fnmatch patterns matches (fnmatchcase: the translations, alternated)."""
    unique = sorted(set(globs))
    return re.compile("|".join(fnmatch.translate(g) for g in unique)) if unique else None


# The analyzers of OS package databases: when one of these cannot read its file, the OS packages of the target are
# unknown, which a scan must not pass over silently (the report counts it as a failure for --exit-code).
PACKAGE_DB_ANALYZERS = frozenset({"apk", "dpkg", "rpm"})

# Upper bound on the files one analysis may pull in through `related` (a big reactor's parents and modules).
MAX_RELATED_FILES = 64


def cache_name(name: str, version: int, variant: str = "", path_regexes: Sequence[str] = ()) -> str:
    return f"{name}/{version}" + (f"+{variant}" if variant else "") + "".join(f"/{rx}" for rx in path_regexes)


# The name and version of every module's ANALYZER, declared here so that a scan computes its cache keys without
# importing the analyzers: a warm rescan of an image needs only its keys, and importing the analyzers (with their
# dataclasses and regexes) was most of its time. tests/unit/core/test_registry.py checks each against its module:
# bump a version here with the module's.
ANALYZER_IDS: dict[str, tuple[str, int]] = {
    "vigil.analyzers.lang.npm_lock": ("npm", 1),
    "vigil.analyzers.lang.yarn_lock": ("yarn", 2),
    "vigil.analyzers.lang.pnpm_lock": ("pnpm", 2),
    "vigil.analyzers.lang.bun_lock": ("bun", 1),
    "vigil.analyzers.lang.pip_requirements": ("pip", 1),
    "vigil.analyzers.lang.pipenv_lock": ("pipenv", 1),
    "vigil.analyzers.lang.poetry_lock": ("poetry", 1),
    "vigil.analyzers.lang.uv_lock": ("uv", 1),
    "vigil.analyzers.lang.go_mod": ("gomod", 2),
    "vigil.analyzers.lang.cargo_lock": ("cargo", 1),
    "vigil.analyzers.lang.gemfile_lock": ("bundler", 1),
    "vigil.analyzers.lang.composer_lock": ("composer", 1),
    "vigil.analyzers.lang.python_pkg": ("python-pkg", 1),
    "vigil.analyzers.lang.node_pkg": ("node-pkg", 1),
    "vigil.analyzers.lang.gemspec": ("gemspec", 1),
    "vigil.analyzers.lang.composer_vendor": ("composer-vendor", 1),
    "vigil.analyzers.lang.conda_meta": ("conda-pkg", 1),
    "vigil.analyzers.lang.jar": ("jar", 2),
    "vigil.analyzers.lang.gobinary": ("gobinary", 2),
    "vigil.analyzers.lang.rustbinary": ("rustbinary", 2),
    "vigil.analyzers.lang.nuget_lock": ("nuget", 1),
    "vigil.analyzers.lang.nuget_config": ("nuget-config", 1),
    "vigil.analyzers.lang.dotnet_deps": ("dotnet-core", 2),
    "vigil.analyzers.lang.pom_xml": ("pom", 2),
    "vigil.analyzers.lang.gradle_lockfile": ("gradle-lockfile", 1),
    "vigil.analyzers.lang.mix_lock": ("mix-lock", 1),
    "vigil.analyzers.lang.pubspec_lock": ("pubspec-lock", 1),
    "vigil.analyzers.lang.swift_resolved": ("swift", 2),
    "vigil.analyzers.lang.podfile_lock": ("cocoapods", 1),
    "vigil.analyzers.lang.conan_lock": ("conan-lock", 1),
    "vigil.analyzers.lang.pdm_lock": ("pdm", 1),
    "vigil.analyzers.lang.pylock_toml": ("pylock", 1),
    "vigil.analyzers.lang.julia_manifest": ("julia", 2),
    "vigil.analyzers.lang.conda_environment": ("conda-environment", 2),
    "vigil.analyzers.lang.packages_props": ("packages-props", 1),
    "vigil.analyzers.lang.sbt_lock": ("sbt-lockfile", 1),
    "vigil.analyzers.os.os_release": ("os-release", 1),
    "vigil.analyzers.os.dpkg": ("dpkg", 2),
    "vigil.analyzers.os.dpkg_files": ("dpkg-files", 2),
    "vigil.analyzers.os.dpkg_copyright": ("dpkg-license", 1),
    "vigil.analyzers.os.apk": ("apk", 2),
    "vigil.analyzers.os.rpm": ("rpm", 2),
}
# --detection-priority comprehensive: the modules with another reading, its attribute, version and variant
COMPREHENSIVE_IDS: dict[str, tuple[str, int, str]] = {
    "vigil.analyzers.lang.pip_requirements": ("COMPREHENSIVE", 1, "comprehensive"),
    "vigil.analyzers.lang.go_mod": ("COMPREHENSIVE", 2, "comprehensive"),
    "vigil.analyzers.lang.pubspec_lock": ("COMPREHENSIVE", 1, "comprehensive"),
}


class AnalyzerRef(msgspec.Struct, frozen=True):
    """An analyzer known by its module before the module is imported: enough for a cache key (`cache_name`) and to
    tell which files it wants (the fields of paths.WANTS); `load()` imports it (with the --file-patterns regexes
    added)."""

    module: str
    name: str
    version: int
    attr: str = "ANALYZER"
    variant: str = ""
    path_regexes: tuple[str, ...] = ()
    kind: AnalyzerKind = "lockfile"
    filenames: tuple[str, ...] = ()
    globs: tuple[str, ...] = ()
    path_globs: tuple[str, ...] = ()
    companions: tuple[str, ...] = ()
    executables: bool = False

    @property
    def cache_name(self) -> str:
        return cache_name(self.name, self.version, self.variant, self.path_regexes)

    def matches(self, path: str) -> bool:
        return wants_path(self, path)

    def load(self) -> Analyzer:
        a: Analyzer = getattr(importlib.import_module(self.module), self.attr)
        if self.path_regexes:
            a = msgspec.structs.replace(a, path_regexes=(*a.path_regexes, *self.path_regexes))
        return a


def refs_of(kinds: Sequence[str], comprehensive: bool = False,
            path_regexes: Mapping[str, Sequence[str]] | None = None) -> tuple[AnalyzerRef, ...]:
    """What analyzers_of(kinds) gives, by reference (nothing imported); with `comprehensive`, the comprehensive
    readings where there are (with_detection_priority); `path_regexes` by analyzer name (with_file_patterns)."""
    from vigil.analyzers.paths import WANTS

    out = []
    for mod_name in ANALYZER_MODULES:
        kind = module_kind(mod_name)
        if kind not in kinds:
            continue
        name, version = ANALYZER_IDS[mod_name]
        attr, variant = "ANALYZER", ""
        if comprehensive and mod_name in COMPREHENSIVE_IDS:
            attr, version, variant = COMPREHENSIVE_IDS[mod_name]
        filenames, globs, path_globs, companions, executables = WANTS[mod_name]
        out.append(AnalyzerRef(mod_name, name, version, attr, variant, tuple((path_regexes or {}).get(name) or ()),
                               kind, filenames, globs, path_globs, companions, executables))
    return tuple(out)


@cache
def all_analyzers() -> tuple[Analyzer, ...]:
    out = []
    for mod_name in ANALYZER_MODULES:
        mod = importlib.import_module(mod_name)
        out.append(mod.ANALYZER)
    return tuple(out)


# The kind of every module's ANALYZER that is not a lockfile analyzer (tests/unit/core/test_registry.py checks it
# against the modules), so a scan imports only the analyzers it can run: `vigil fs` imports 28 modules of 41,
# and importing them all was the larger part of the start-up of a vulnerability scan of a small directory.
_NOT_LOCKFILE: dict[str, AnalyzerKind] = {
    **dict.fromkeys(("vigil.analyzers.lang.python_pkg", "vigil.analyzers.lang.node_pkg", "vigil.analyzers.lang.gemspec",
                     "vigil.analyzers.lang.composer_vendor", "vigil.analyzers.lang.conda_meta",
                     "vigil.analyzers.lang.jar", "vigil.analyzers.lang.gobinary", "vigil.analyzers.lang.rustbinary"),
                    "installed"),
    **dict.fromkeys(("vigil.analyzers.os.os_release", "vigil.analyzers.os.dpkg", "vigil.analyzers.os.dpkg_files",
                     "vigil.analyzers.os.dpkg_copyright", "vigil.analyzers.os.apk", "vigil.analyzers.os.rpm"), "os"),
}


def module_kind(mod_name: str) -> AnalyzerKind:
    return _NOT_LOCKFILE.get(mod_name, "lockfile")


def analyzers_of(kinds: Sequence[str]) -> tuple[Analyzer, ...]:
    """The analyzers of these kinds, in ANALYZER_MODULES order (what all_analyzers() filtered by kind gives),
    importing only their modules."""
    out = []
    for mod_name in ANALYZER_MODULES:
        if module_kind(mod_name) in kinds:
            analyzer: Analyzer = importlib.import_module(mod_name).ANALYZER
            out.append(analyzer)
    return tuple(out)


def run_guarded(analyzer: Analyzer, inp: AnalysisInput) -> AnalysisResult:
    """The one guard every analyzer call goes through: bad input becomes an Unknown naming the analyzer and the
    reason; a bug in an analyzer does too (logged with the traceback at debug level), never a crash."""
    try:
        return analyzer.analyze(inp)
    except ParseError as e:
        reason = str(e) or "unparsable"
    except RecursionError:
        reason = "input nested too deeply"
    except MemoryError:
        reason = "input too large to parse"
    except ValueError as e:  # a huge integer in a JSON/TOML/YAML file is the input's fault; others a defect
        reason = number_too_large(e) or _internal(analyzer, inp, e)
    except Exception as e:  # a defect in the analyzer, not the user's input: report, keep scanning
        reason = _internal(analyzer, inp, e)
    log.warning("%s: could not parse (%s): %s", inp.path, analyzer.name, reason)
    return AnalysisResult(unknowns=(Unknown(file_path=inp.path, analyzer=analyzer.name, reason=reason),))


def _internal(analyzer: Analyzer, inp: AnalysisInput, e: Exception) -> str:
    log.debug("analyzer %s failed on %s", analyzer.name, inp.path, exc_info=True)
    return f"internal error in analyzer {analyzer.name}: {type(e).__name__}: {e}"
