"""The one analyzer dispatcher: runs the analyzer set over a FileTree and returns what it found as a BlobInfo.

A directory walk and an image layer go through the same code. For each file the tree yields, the dispatcher picks
the analyzers that want it (lockfiles, installed-package metadata, OS package databases, executables for the binary
analyzers), the secret engine when its rules want the path, and the misconfiguration scan for config files; it
reads the bytes once (size-capped), streams them through the secret engine, and calls each analyzer through
`run_guarded`, so a hostile file becomes an Unknown, never a crash.

Where the two trees differ is declared, not copied:
- a directory has random access, so an analyzer's companions (package.json beside a lockfile) and related files
  (parent POMs) are read from disk on demand; a layer is streamed once, so small files those analyzers want are
  kept in memory until the layer ends and those analyzers run then;
- a layer records what it deletes or replaces (whiteouts, opaque dirs, rewritten paths) for the merge;
- `AnalyzerSet.default_skip_scanners` says which scanners ignore files under vendored/installed directories
  (node_modules, vendor, .git …): lockfiles there describe other projects' builds, never an application.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING

import msgspec

from vigil.analyzers.registry import (
    MAX_RELATED_FILES,
    PACKAGE_DB_ANALYZERS,
    AnalysisInput,
    AnalysisResult,
    Analyzer,
    AnalyzerRef,
    PathIndex,
    run_guarded,
)
from vigil.findings.analysis import BlobInfo, ConfigFindings, OSRelease, SecretsInFile
from vigil.gcpause import paused
from vigil.inventory.records import Application, Unknown
from vigil.log import get_logger
from vigil.sources.base import FileTree, TreeEntry
from vigil.sources.fs import DEFAULT_SKIP_DIRS, FileTooLarge
from vigil.sources.related import expand_in, follow_related

if TYPE_CHECKING:
    from vigil.analyzers.misconf.scan import MisconfOptions
    from vigil.analyzers.secrets.engine import CompiledStore, SecretScanner
    from vigil.analyzers.secrets.rules import RuleSet

log = get_logger(__name__)

# Package databases can be far bigger than lockfiles (an RHEL rpmdb.sqlite is 20-100 MB).
MAX_PKGDB_SIZE = 512 << 20
# A streamed tree keeps the small files that companion/related-hungry analyzers want until it ends. Bounded.
_DEFER_MAX_FILE = 4 << 20
_DEFER_MAX_TOTAL = 256 << 20
_ELF = b"\x7fELF"
# Config files are held until the tree ends (a Helm chart is checked as a whole). Past this many bytes only files
# that are config targets on their own are kept: a tree full of data JSON must not be held in memory.
_CONFIG_HOLD_TOTAL = 256 << 20
# Bumped when the dispatcher's output changes for the same analyzers (2: replaced paths listed as whiteouts; 3: every
# non-directory entry listed, directories over files listed, the last entry for a path wins within a layer).
ANALYSIS_VERSION = 3
# A layer lists the paths it replaces whatever their content (a file, symlink or device over a lower directory hides
# that directory's subtree; a directory over a lower file hides the file). Past this many per layer (a million-file
# layer would make a blob of tens of MB), only paths an analyzer reads are listed: a lower result under a dropped
# path is then reported as before (a false positive), never hidden wrongly.
_MAX_REPLACED = 200_000


class AnalyzerSet:
    """What runs over every tree of one scan. Built once per scan from the options; handed to worker processes
    through the pool's initializer (the compiled secret engine is not picklable).

    The analyzers may be given by reference (`refs`): they are imported on first use, so a scan whose blobs are all
    in the cache (a warm rescan of an image) computes its cache keys without importing any analyzer."""

    def __init__(self, analyzers: tuple[Analyzer, ...] = (), ruleset: RuleSet | None = None,
                 misconf: MisconfOptions | None = None, max_file_size: int = 256 << 20,
                 default_skip_scanners: frozenset[str] = frozenset({"lockfile"}), elf_only: bool = False,
                 misconf_digest: str = "", compiled: CompiledStore | None = None,
                 refs: tuple[AnalyzerRef, ...] | None = None,
                 load_ruleset: Callable[[], RuleSet] | None = None, ruleset_digest: str | None = None) -> None:
        self._analyzers = None if refs is not None else tuple(analyzers)
        self.refs = refs
        self.ruleset = ruleset  # secret rules when secrets are scanned
        # instead of `ruleset`: how to load them (the packaged rules, which need no checking before the scan), called
        # when they are first needed, so that a tree with no file never loads them
        self.load_ruleset = load_ruleset
        self.ruleset_digest = ruleset_digest  # what load_ruleset's rules digest to, when known without loading them
        self.misconf = misconf  # misconfiguration options when misconfigurations are scanned
        self.max_file_size = max_file_size
        self.default_skip_scanners = default_skip_scanners
        self.elf_only = elf_only  # executables: only ELF files reach the binary analyzers (Linux image layers)
        self.misconf_digest = misconf_digest  # the misconfiguration options and custom checks (part of cache keys)
        self.compiled = compiled  # where the compiled secret matcher is kept between runs
        self._scanner: SecretScanner | None = None
        self._names: list[str] | None = None
        self._loaded: dict[AnalyzerRef, Analyzer] = {}

    @property
    def analyzers(self) -> tuple[Analyzer, ...]:
        """Every analyzer of the set, imported (before forking workers, or for a set built from analyzers)."""
        if self._analyzers is None:
            self._analyzers = tuple(self._load(r) for r in self.refs or ())
        return self._analyzers

    def _load(self, ref: AnalyzerRef) -> Analyzer:
        """The analyzer a reference names, imported on first use: a scan imports the analyzers its files need, not
        all of them (importing every analyzer module cost more than the rest of a small image's scan)."""
        a = self._loaded.get(ref)
        if a is None:
            a = self._loaded[ref] = ref.load()
        return a

    @property
    def _specs(self) -> tuple[Analyzer, ...] | tuple[AnalyzerRef, ...]:
        return self.refs if self.refs is not None else self.analyzers

    @cached_property
    def has_binaries(self) -> bool:
        """Whether executables go to binary analyzers (known without importing them)."""
        return any(a.executables for a in self._specs)

    @cached_property
    def binaries(self) -> tuple[Analyzer, ...]:
        if self.refs is not None:
            return tuple(self._load(r) for r in self.refs if r.executables)
        return tuple(a for a in self.analyzers if a.executables)

    @cached_property
    def companion_globs(self) -> tuple[str, ...]:
        return tuple(sorted({c for a in self._specs for c in a.companions}))

    @cached_property
    def _companion_rx(self) -> re.Pattern[str] | None:
        globs = self.companion_globs
        return re.compile("|".join(fnmatch.translate(g) for g in globs)) if globs else None

    def is_companion(self, base: str) -> bool:
        """Whether a file of this base name is a companion some analyzer asks for (any of companion_globs)."""
        rx = self._companion_rx
        return rx is not None and rx.match(base) is not None

    @cached_property
    def _index(self) -> PathIndex[Analyzer] | PathIndex[AnalyzerRef]:
        if self.refs is not None:
            return PathIndex(self.refs)
        return PathIndex(self.analyzers)

    @property
    def secrets(self) -> bool:
        return self.ruleset is not None or self.load_ruleset is not None

    def _rules(self) -> RuleSet | None:
        if self.ruleset is None and self.load_ruleset is not None:
            self.ruleset = self.load_ruleset()
        return self.ruleset

    @property
    def scanner(self) -> SecretScanner | None:
        """The secret engine, compiled on first use: a warm rescan reads no file and must not pay the compile."""
        if self._scanner is None and (rules := self._rules()) is not None:
            from vigil.analyzers.secrets.engine import SecretScanner

            self._scanner = SecretScanner(rules, store=self.compiled)
        return self._scanner

    def prepare(self, nbytes: int | None, forking: bool = False) -> None:
        """Build the path matchers and ready the secret engine for about `nbytes` of input; with `forking`, import
        every analyzer too: before worker processes are forked, so that they inherit all of it instead of each
        importing its own."""
        if forking:
            _ = self.analyzers
        _ = self._index, self._companion_rx
        self.plan_secrets(nbytes)

    def plan_secrets(self, nbytes: int | None) -> None:
        """Ready the secret engine (when secrets are scanned) for about `nbytes` of input (None: unknown): the
        backend is chosen and compiled here, before worker processes are forked, so they inherit it."""
        scanner = self.scanner
        if scanner is not None:
            scanner.plan(nbytes)

    def cache_names(self) -> list[str]:
        """What an analysis depends on besides the bytes: part of every cache key."""
        if self._names is None:
            self._names = self._cache_names()
        return list(self._names)

    def _cache_names(self) -> list[str]:
        names = [r.cache_name for r in self.refs] if self.refs is not None else \
            [a.cache_name for a in self.analyzers]
        names.append(f"image-layer/{ANALYSIS_VERSION}")
        if self.secrets:
            from vigil.analyzers.secrets import NAME, VERSION

            # a scan whose blobs are all cached (a warm rescan) never loads lazily loaded rules
            rules = None if self.ruleset_digest else self._rules()
            names.append(f"{NAME}/{VERSION}/{self.ruleset_digest or (rules.digest() if rules else '')}")
        if self.misconf is not None:
            names.append(f"misconfig/{self.misconf_digest}")
        return names

    def skips_default_dirs(self, scanner: str, rel: str) -> bool:
        if scanner not in self.default_skip_scanners:
            return False
        return any(part in DEFAULT_SKIP_DIRS for part in rel.split("/")[:-1])

    def chosen(self, rel: str) -> list[Analyzer]:
        """The analyzers that run on this path (those that want it, lockfile analyzers not in the default skipped
        directories), in the set's order (imported now if they were not)."""
        found = [a for a in self._index.matching(rel)
                 if not (a.kind == "lockfile" and self.skips_default_dirs("lockfile", rel))]
        return [self._load(a) if isinstance(a, AnalyzerRef) else a for a in found]

    def wants_config(self, rel: str) -> bool:
        if self.misconf is None or self.skips_default_dirs("config", rel):
            return False
        from vigil.analyzers.misconf.scan import wants

        return wants(rel, self.misconf)

    def wants_secret(self, rel: str) -> bool:
        return (self.secrets and not self.skips_default_dirs("secret", rel)
                and self.scanner is not None and self.scanner.wants(rel))

    def wants(self, rel: str) -> bool:
        """Whether any part of the set may need this path (what a directory walk yields)."""
        return (bool(self.chosen(rel)) or self.wants_secret(rel)
                or self.wants_config(rel))

    def cap_for(self, a: Analyzer) -> int:
        return max(self.max_file_size, MAX_PKGDB_SIZE) if a.kind == "os" else self.max_file_size


class Partial(msgspec.Struct):
    """What the dispatcher found in one tree, or in one batch of a directory's files."""

    results: list[tuple[Analyzer, str, AnalysisResult]] = msgspec.field(default_factory=list)
    unknowns: list[Unknown] = msgspec.field(default_factory=list)
    secrets: list[SecretsInFile] = msgspec.field(default_factory=list)
    whiteouts: list[str] = msgspec.field(default_factory=list)
    dirs: list[str] = msgspec.field(default_factory=list)  # directories this tree writes (over any lower file there)
    opaque: list[str] = msgspec.field(default_factory=list)
    config_files: dict[str, bytes] = msgspec.field(default_factory=dict)
    config_errors: dict[str, str] = msgspec.field(default_factory=dict)


def analyze_tree(tree: FileTree, aset: AnalyzerSet, entries: Iterable[TreeEntry] | None = None) -> Partial:
    """One pass over the tree (or over `entries`, a batch of a random-access tree's entries; the caller then adds
    the walk's coverage_gaps)."""
    walk = _Walk(tree, aset)
    for e in entries if entries is not None else tree.entries(aset.wants, aset.has_binaries):
        walk.entry(e)
    walk.drop_forgotten()
    walk.run_deferred()
    if entries is None:
        walk.out.unknowns.extend(coverage_gaps(tree))
    return walk.out


# The analyzer name of Unknowns for what the tree walk itself could not read (no analyzer saw those files).
WALK_ANALYZER = "fs"


def coverage_gaps(tree: FileTree) -> list[Unknown]:
    """The directories the tree's last walk could not list, as Unknowns: they appear in the report (an error
    result, Metadata.Unknowns) instead of only in a warning, so machine consumers see what was not scanned."""
    return [Unknown(file_path=d, analyzer=WALK_ANALYZER, reason=why) for d, why in tree.unreadable]


class _Walk:
    def __init__(self, tree: FileTree, aset: AnalyzerSet) -> None:
        self.tree = tree
        self.aset = aset
        self.out = Partial()
        self.stored: dict[str, bytes] = {}  # streamed trees: small files kept for companions / related
        self.stored_total = 0
        self.deferred: list[tuple[Analyzer, str]] = []
        # Streamed layers: where each path's output so far sits (a later entry for the path replaces it), and the
        # paths with output below each directory. Forgetting a path marks its output dead, so a layer repeating
        # thousands of paths costs each repeat O(its own output), never a rescan of everything found so far.
        self.produced: dict[str, list[tuple[str, int]]] = {}  # path -> (output list name, index)
        self.files_in: dict[str, set[str]] = {}  # directory -> produced paths directly in it
        self.subdirs: dict[str, set[str]] = {}  # directory -> its subdirectories with produced paths below them
        self.dead: dict[str, set[int]] = {"results": set(), "unknowns": set(), "secrets": set(), "deferred": set()}
        self.replaced = 0  # paths listed only because they replace whatever a lower layer had there
        self.config_total = 0

    def run(self, a: Analyzer, path: str, data: bytes, siblings: dict[str, bytes] | None = None,
            related: dict[str, bytes] | None = None) -> None:
        with paused():  # the parse's short-lived tree must not drive full collections (see gcpause)
            res = run_guarded(a, AnalysisInput(path=path, data=data, siblings=siblings or {}, related=related or {}))
        self._note(path, "results", len(self.out.results))
        self.out.results.append((a, path, res))

    def entry(self, e: TreeEntry) -> None:
        if e.kind == "whiteout":
            self.out.whiteouts.append(e.path)
            return
        if e.kind == "opaque":
            self.out.opaque.append(e.path)
            return
        if self.tree.layered:
            # A tar may hold several entries for one path: extraction leaves the last one, so it replaces what the
            # earlier ones gave (and a non-directory replaces everything an earlier directory held).
            if e.path in self.produced:
                self._forget(e.path, subtree=False)
            if e.kind != "dir" and (e.path in self.files_in or e.path in self.subdirs):
                self._forget(e.path, subtree=True)
        if e.kind == "dir":
            if self.tree.layered and self.replaced < _MAX_REPLACED:
                self.replaced += 1
                self.out.dirs.append(e.path)  # a lower layer's file here is gone; its directory would stay
            return
        if e.kind in ("symlink", "other"):
            self.out.whiteouts.append(e.path)  # whatever a lower layer had at this path (and below it) is gone
            if e.kind == "symlink" and self.tree.layered:
                self._linked_package_db(e)
            return
        if e.kind not in ("file", "hardlink"):
            return
        aset, rel = self.aset, e.path
        chosen = aset.chosen(rel)
        want_config = aset.wants_config(rel)
        if self.tree.layered:
            # A lower layer's result for this path, or under it when it was a directory there, is replaced even
            # when this content yields nothing. The merge treats these paths as whiteouts.
            if chosen or want_config or e.mode & 0o111:
                self.out.whiteouts.append(rel)
            elif self.replaced < _MAX_REPLACED:
                self.replaced += 1
                self.out.whiteouts.append(rel)
        base = rel.rsplit("/", 1)[-1]
        companion = not self.tree.random_access and aset.is_companion(base)
        exe = aset.has_binaries and bool(e.mode & 0o111) and (not aset.elf_only or e.size >= 64)
        want_secret = rel not in self.tree.own_files and aset.wants_secret(rel)
        if not (chosen or companion or exe or want_secret or want_config):
            return
        if self.tree.layered:
            self._note(rel, "", 0)  # the config files and stored bytes are dicts keyed by the path
        # a directory reports an unreadable executable as an unknown of the binary analyzers too
        readers = chosen + [a for a in aset.binaries if a not in chosen] if exe and self.tree.random_access \
            else chosen
        data = self._read(e, readers, companion or exe or want_config)
        if data is None:
            chosen, companion, exe = [], False, False
        elif exe and aset.elf_only and not data.startswith(_ELF):
            exe = False
        if want_config:
            self._config(e, data)
        if want_secret:
            self._secrets(e, data)
        if data is not None:
            self._analyze(rel, data, chosen, companion, exe)

    def _note(self, rel: str, where: str, index: int) -> None:
        """Remember that output for `rel` sits at `index` of the output list `where` (streamed layers only)."""
        if not self.tree.layered:
            return
        if rel not in self.produced:
            self.produced[rel] = []
            d = posixpath.dirname(rel)
            self.files_in.setdefault(d, set()).add(rel)
            while d:
                parent = posixpath.dirname(d)
                known = self.subdirs.setdefault(parent, set())
                if d in known:
                    break
                known.add(d)
                d = parent
        if where:
            self.produced[rel].append((where, index))

    def _linked_package_db(self, e: TreeEntry) -> None:
        """An OS package database that is a symbolic link is not followed: its target may be in any layer, and
        layers are analysed (and cached) one by one. It becomes an Unknown, so the OS packages are not silently
        missing (Trivy misses such a database without a word)."""
        for a in self.aset.chosen(e.path):
            if a.name in PACKAGE_DB_ANALYZERS:
                target = getattr(e, "linkname", "") or "?"
                reason = f"symbolic link to {target}: not followed (an OS package database must be a regular file)"
                self._note(e.path, "unknowns", len(self.out.unknowns))
                self.out.unknowns.append(Unknown(file_path=e.path, analyzer=a.name, reason=reason))
                log.warning("%s: %s", e.path, reason)

    def _forget(self, path: str, *, subtree: bool) -> None:
        """Drop what earlier entries of this tree gave for `path` (or, with `subtree`, for every path below it).
        Each path's output is dropped once, so a hostile layer cannot make this quadratic."""
        if not subtree:
            self._forget_one(path)
            here = self.files_in.get(posixpath.dirname(path))
            if here is not None:
                here.discard(path)
            return
        todo = [path]
        while todo:
            d = todo.pop()
            for p in self.files_in.pop(d, ()):
                self._forget_one(p)
            todo.extend(self.subdirs.pop(d, ()))
        above = self.subdirs.get(posixpath.dirname(path))
        if above is not None:
            above.discard(path)

    def _forget_one(self, p: str) -> None:
        for where, i in self.produced.pop(p, []):
            self.dead[where].add(i)
        self.out.config_files.pop(p, None)
        self.out.config_errors.pop(p, None)
        data = self.stored.pop(p, None)
        if data is not None:
            self.stored_total -= len(data)

    def drop_forgotten(self) -> None:
        dead, out = self.dead, self.out
        if dead["results"]:
            out.results = [r for i, r in enumerate(out.results) if i not in dead["results"]]
        if dead["unknowns"]:
            out.unknowns = [u for i, u in enumerate(out.unknowns) if i not in dead["unknowns"]]
        if dead["secrets"]:
            out.secrets = [x for i, x in enumerate(out.secrets) if i not in dead["secrets"]]
        if dead["deferred"]:
            self.deferred = [x for i, x in enumerate(self.deferred) if i not in dead["deferred"]]

    def _read(self, e: TreeEntry, chosen: list[Analyzer], needed: bool) -> bytes | None:
        if not (chosen or needed):
            return None
        cap = max([self.aset.cap_for(a) for a in chosen] or [self.aset.max_file_size])
        try:
            return e.read(cap)
        except FileTooLarge as err:
            reason = str(err)
        except OSError as err:
            reason = err.strerror or str(err)
        for a in chosen:
            self._note(e.path, "unknowns", len(self.out.unknowns))
            self.out.unknowns.append(Unknown(file_path=e.path, analyzer=a.name, reason=reason))
        if chosen:
            log.warning("%s: skipped: %s", e.path, reason)
        if self.aset.wants_config(e.path):
            self.out.config_errors[e.path] = reason
        return None

    def _config(self, e: TreeEntry, data: bytes | None) -> None:
        if data is None:
            return
        if self.config_total + len(data) > _CONFIG_HOLD_TOTAL:
            from vigil.analyzers.misconf.scan import standalone

            if not standalone(e.path, data):
                log.debug("%s: not held for the misconfiguration scan (held config files past %d bytes)", e.path,
                          _CONFIG_HOLD_TOTAL)
                return
        self.config_total += len(data)
        self.out.config_files[e.path] = data

    def _secrets(self, e: TreeEntry, data: bytes | None) -> None:
        scanner = self.aset.scanner
        assert scanner is not None
        chunks: Iterable[bytes] = [data] if data is not None else e.chunks()
        try:
            found = scanner.scan_chunks(e.path, chunks)
        except FileTooLarge:
            found = []
        except OSError as err:
            log.warning("%s: cannot read: %s", e.path, err.strerror or err)
            found = []
        if found:
            self._note(e.path, "secrets", len(self.out.secrets))
            self.out.secrets.append(SecretsInFile(file_path=e.path, secrets=tuple(found)))

    def _analyze(self, rel: str, data: bytes, chosen: list[Analyzer], companion: bool, exe: bool) -> None:
        aset = self.aset
        if self.tree.random_access:
            for a in chosen:
                self._run_now(a, rel, data)
        else:
            small = len(data) <= _DEFER_MAX_FILE and self.stored_total + len(data) <= _DEFER_MAX_TOTAL
            if small and (companion or any(a.companions or a.related is not None for a in chosen)):
                self.stored[rel] = data
                self.stored_total += len(data)
            for a in chosen:
                if small and (a.companions or a.related is not None):
                    self._note(rel, "deferred", len(self.deferred))
                    self.deferred.append((a, rel))
                else:
                    self.run(a, rel, data)
        if exe:
            for a in aset.binaries:
                if a not in chosen:
                    self.run(a, rel, data)

    def _run_now(self, a: Analyzer, rel: str, data: bytes) -> None:
        cap = self.aset.max_file_size
        siblings = self.tree.siblings(rel, a.companions, cap) if a.companions else {}
        related = (self.tree.related(rel, data, a.related, cap, MAX_RELATED_FILES)
                   if a.related is not None else {})
        self.run(a, rel, data, siblings, related)

    def run_deferred(self) -> None:
        for a, rel in self.deferred:
            data = self.stored[rel]
            d = posixpath.dirname(rel)
            siblings = {}
            if a.companions:
                prefix = d + "/" if d else ""
                for p, b in self.stored.items():
                    if p != rel and posixpath.dirname(p) == d:
                        name = p[len(prefix):]
                        if any(fnmatch.fnmatchcase(name, g) for g in a.companions):
                            siblings[name] = b
            related: dict[str, bytes] = {}
            if a.related is not None:
                related = follow_related(rel, data, a.related, self.stored.get, MAX_RELATED_FILES,
                                         expand=lambda pattern: expand_in(self.stored, pattern))
            self.run(a, rel, data, siblings, related)
        self.deferred = []


def join_batches(batches: Iterable[tuple[BlobInfo, dict[str, bytes], dict[str, str]]],
                 aset: AnalyzerSet, gaps: Iterable[Unknown] = ()) -> BlobInfo:
    """The blob of a directory analysed in batches of files (in worker processes): each batch's analysis without
    the misconfiguration scan, plus the config files it read; the misconfiguration scan then runs once over all
    of them (a Helm chart's files may be in several batches)."""
    apps: list[Application] = []
    os_releases: list[OSRelease] = []
    dbs: list[Application] = []
    unknowns: list[Unknown] = list(gaps)
    secrets: list[SecretsInFile] = []
    part = Partial()
    for blob, files, errors in batches:
        apps.extend(blob.applications)
        os_releases.extend(blob.os_releases)
        dbs.extend(blob.package_dbs)
        unknowns.extend(blob.unknowns)
        secrets.extend(blob.secrets)
        part.config_files.update(files)
        part.config_errors.update(errors)
    config = _misconf(part, aset.misconf) if aset.misconf is not None else ConfigFindings()
    return BlobInfo(
        diff_id="",
        os_releases=tuple(sorted(os_releases, key=lambda r: r.file_path)),
        package_dbs=tuple(sorted(dbs, key=lambda x: x.file_path)),
        applications=tuple(sorted(apps, key=lambda x: (x.file_path, x.type))),
        unknowns=tuple(sorted(unknowns, key=lambda u: (u.file_path, u.analyzer))),
        secrets=tuple(sorted(secrets, key=lambda s: s.file_path)),
        config=config,
    )


def to_blob(part: Partial, aset: AnalyzerSet, *, diff_id: str = "", digest: str = "",
            warnings: Iterable[str] = (), files: int = 0, misconf: bool = True) -> BlobInfo:
    """The BlobInfo of a tree: analyzer results sorted by path, and the misconfiguration scan over the tree's
    config files (it needs them all at once: a Helm chart is a directory)."""
    os_releases: list[OSRelease] = []
    dbs: list[Application] = []
    apps: list[Application] = []
    unknowns = list(part.unknowns)
    for a, path, res in part.results:
        if res.os is not None:
            os_releases.append(OSRelease(file_path=path, os=res.os))
        if res.os_packages:
            dbs.append(Application(type=a.name, file_path=path, packages=tuple(res.os_packages)))
        apps.extend(res.applications)
        unknowns.extend(res.unknowns)
    config = ConfigFindings()
    if aset.misconf is not None and misconf:
        config = _misconf(part, aset.misconf)
    return BlobInfo(
        diff_id=diff_id,
        digest=digest,
        os_releases=tuple(sorted(os_releases, key=lambda r: r.file_path)),
        package_dbs=tuple(sorted(dbs, key=lambda x: x.file_path)),
        applications=tuple(sorted(apps, key=lambda x: (x.file_path, x.type))),
        unknowns=tuple(sorted(unknowns, key=lambda u: (u.file_path, u.analyzer))),
        secrets=tuple(sorted(part.secrets, key=lambda s: s.file_path)),
        config=config,
        whiteouts=tuple(sorted(set(part.whiteouts))),
        replaced_by_dirs=tuple(sorted(set(part.dirs))),
        opaque_dirs=tuple(sorted(part.opaque)),
        warnings=tuple(warnings),
        files=files,
    )


def _misconf(part: Partial, opts: MisconfOptions) -> ConfigFindings:
    from vigil.analyzers.misconf.scan import scan_files

    if not part.config_files and not part.config_errors:
        return ConfigFindings()
    out = scan_files(dict(sorted(part.config_files.items())), opts, part.config_errors)
    return ConfigFindings(results=tuple(out.results), suppressed=tuple(out.suppressed),
                          warnings=tuple(out.warnings))


