"""The analyze stage: a Source's blobs through the analyzer dispatcher, the backend's blob store and a process pool.

Blobs whose bytes are known before analysis (image layers, by diff_id) are looked up first: the backend says which
it lacks and only those are read — a warm rescan opens no layer, and in client mode a layer another client already
uploaded is never analysed again. A directory's blob can only be named by its analysis, so it is analysed, then
keyed by the digest of that analysis. Independent blobs (layers) run in parallel worker processes, biggest first;
a single large directory is split into batches of files for the workers instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from vigil.analysis.dispatch import AnalyzerSet, analyze_tree, coverage_gaps, join_batches, to_blob
from vigil.analysis.parallel import fork_map, workers_for
from vigil.analyzers.registry import ANALYZER_IDS, Analyzer, AnalyzerRef, refs_of
from vigil.errors import UserError
from vigil.findings.analysis import ArtifactInfo, BlobInfo, SecretsInFile, content_key
from vigil.findings.records import SecretFinding
from vigil.log import get_logger
from vigil.pipeline.backend import Backend
from vigil.settings import ScanOptions
from vigil.sources.base import BlobSpec, FileTree, Source, TreeEntry

TargetType = Literal["filesystem", "container_image", "sbom", "repository"]
_PARALLEL_MIN_FILES = 256  # below this, worker start-up costs more than splitting a directory saves
_PARALLEL_MIN_BYTES = 2 << 20  # compressed layer bytes besides the biggest layer, below which layers run here


class ScanStats(msgspec.Struct):
    layers: int = 0
    analysed: int = 0  # blobs analysed here (not found in the cache or on the server)


log = get_logger(__name__)


class AnalyzeOptionsError(UserError):
    """An analysis option the user gave that cannot be used (exit 2)."""


# Trivy's names for analyzers Vigil names otherwise; and the config types: those --file-patterns applies to (the
# misconfiguration scan reads the matching files as that type), and Trivy's others, which Vigil does not scan
_TRIVY_ANALYZER_NAMES = {"pub": "pubspec-lock", "gradle": "gradle-lockfile", "sbt": "sbt-lockfile"}
PATTERN_CONFIG_TYPES = frozenset({"dockerfile", "kubernetes", "compose"})
_CONFIG_TYPES = frozenset({"dockerfile", "kubernetes", "helm", "compose", "yaml", "json", "terraform",
                           "cloudformation", "azure-arm", "ansible"})


class FilePatterns(msgspec.Struct, frozen=True):
    """--file-patterns TYPE:REGEX, parsed: more files for package analyzers, and for config types."""

    analyzers: dict[str, tuple[str, ...]]
    config: tuple[tuple[str, str], ...]  # (dockerfile|kubernetes|compose, regex), in the order given


def parse_file_patterns(patterns: tuple[str, ...]) -> FilePatterns:
    """--file-patterns TYPE:REGEX (Trivy's): the analyzer named TYPE also reads the files whose path relative to
    the scan root the regular expression matches (searched, not anchored, as in Trivy); for a config type
    (dockerfile, kubernetes, compose) the misconfiguration scan reads them as that type. An unknown TYPE or a bad
    expression is the user's error; Helm and the config types Vigil does not scan are accepted with one warning
    (charts are found by their Chart.yaml)."""
    import re

    extra: dict[str, list[str]] = {}
    config: list[tuple[str, str]] = []
    for item in patterns:
        kind, sep, rx = item.partition(":")
        kind = _TRIVY_ANALYZER_NAMES.get(kind.strip(), kind.strip())
        if not sep or not kind or not rx:
            raise AnalyzeOptionsError(f"--file-patterns {item!r}: expected TYPE:REGEX (e.g. pip:requirements-.*\\.txt)")
        try:
            re.compile(rx)
        except re.error as e:
            raise AnalyzeOptionsError(f"--file-patterns {item!r}: invalid regular expression: {e}") from None
        if kind in PATTERN_CONFIG_TYPES:
            config.append((kind, rx))
            continue
        if kind in _CONFIG_TYPES:
            log.warning("--file-patterns %s: %s files are found by their names only; pattern not applied", item,
                        kind)
            continue
        names = {name for name, _ in ANALYZER_IDS.values()}  # the declared names: no analyzer imported to check
        if kind not in names:
            raise AnalyzeOptionsError(f"--file-patterns {item!r}: unknown type {kind!r} (one of "
                                      f"{', '.join(sorted(names | PATTERN_CONFIG_TYPES))})")
        extra.setdefault(kind, []).append(rx)
    return FilePatterns({k: tuple(v) for k, v in extra.items()}, tuple(config))


def with_file_patterns(analyzers: tuple[Analyzer, ...], patterns: tuple[str, ...] | FilePatterns
                       ) -> tuple[Analyzer, ...]:
    """The analyzers with the --file-patterns of their type added (see parse_file_patterns)."""

    extra = (patterns if isinstance(patterns, FilePatterns) else parse_file_patterns(patterns)).analyzers
    if not extra:
        return analyzers
    return tuple(msgspec.structs.replace(a, path_regexes=(*a.path_regexes, *extra[a.name])) if a.name in extra else a
                 for a in analyzers)


def with_detection_priority(analyzers: tuple[Analyzer, ...], priority: str) -> tuple[Analyzer, ...]:
    """--detection-priority comprehensive: the analyzers with a comprehensive reading (Trivy's: pip, gomod,
    pubspec-lock) are swapped for it."""
    if priority != "comprehensive":
        return analyzers
    import importlib

    variants = {}
    for mod in ("pip_requirements", "go_mod", "pubspec_lock"):
        a: Analyzer = importlib.import_module(f"vigil.analyzers.lang.{mod}").COMPREHENSIVE
        variants[a.name] = a

    return tuple(msgspec.structs.replace(variants[a.name], path_regexes=a.path_regexes) if a.name in variants else a
                 for a in analyzers)


def analyzer_set(opts: ScanOptions, target: TargetType) -> AnalyzerSet:
    """What runs over the target's trees. Loads the secret rules and the custom checks, so a malformed one fails
    before any work."""
    from vigil.pipeline.inputs import (
        load_misconf_options,
        load_secret_ruleset,
        packaged_secret_rules,
        packaged_secret_rules_only,
    )

    scanners = set(opts.scanners)
    patterns = parse_file_patterns(opts.file_patterns)
    refs: tuple[AnalyzerRef, ...] = ()
    if scanners & {"vuln", "license"} and target != "sbom":
        # by reference: imported only when a file is analysed (what with_file_patterns(with_detection_priority(
        # analyzers_of(kinds))) gives, without the imports)
        refs = refs_of(opts.analyzer_kinds, opts.detection_priority == "comprehensive", patterns.analyzers)
    misconf, misconf_digest = load_misconf_options(opts, patterns.config) if "misconfig" in scanners else (None, "")
    image = target == "container_image"
    secrets = "secret" in scanners and target != "sbom"
    lazy_rules = secrets and packaged_secret_rules_only(opts)
    digest = None
    if lazy_rules:
        from vigil.analyzers.secrets import packaged_rules_digest

        digest = packaged_rules_digest()
    compiled = None
    if secrets and opts.compiled_cache_dir is not None:
        from vigil.compiled_cache import CompiledFiles

        compiled = CompiledFiles(opts.compiled_cache_dir)
    return AnalyzerSet(
        refs=refs,
        ruleset=load_secret_ruleset(opts) if secrets and not lazy_rules else None,
        load_ruleset=packaged_secret_rules if lazy_rules else None,
        ruleset_digest=digest,
        compiled=compiled,
        misconf=misconf if target != "sbom" else None,
        misconf_digest=misconf_digest,
        max_file_size=opts.max_file_size,
        # lockfiles and config files under node_modules/vendor/.git are other projects'; so are a directory's
        # secrets there, but an image's secrets are scanned wherever they are: they ship in the image
        default_skip_scanners=frozenset({"lockfile", "config"} if image else {"lockfile", "secret", "config"}),
        elf_only=image,
    )


def cache_options(opts: ScanOptions) -> dict[str, object]:
    """The options a blob's analysis depends on besides the analyzers (part of its cache key)."""
    from vigil.sources.image.tree import image_relative  # the image-layer stack: only scans with cache keys

    return {
        "scanners": sorted(set(opts.scanners) & {"vuln", "license", "secret", "misconfig"}),
        "max_file_size": opts.max_file_size,
        "skip_dirs": list(image_relative(opts.skip_dirs)),
        "skip_files": list(image_relative(opts.skip_files)),
    }


def blob_keys(specs: Sequence[BlobSpec], aset: AnalyzerSet, opts: ScanOptions) -> list[str]:
    """The cache key of every blob known by its content (the same on a client and a server)."""
    from vigil.cache import blob_key

    names, options = aset.cache_names(), cache_options(opts)
    return [blob_key(s.content_id, names, options) for s in specs]


def image_config_secrets(art: ArtifactInfo, aset: AnalyzerSet, backend: Backend, opts: ScanOptions
                         ) -> tuple[SecretFinding, ...]:
    """The secrets in an image's config (as Trivy scans it, see vigil.analyzers.secrets.image_config). Kept in the
    local analysis cache beside the layers, under the key a blob named "image-config/<ImageID>" would have: a warm
    rescan then neither compiles nor loads the secret engine. A server is not asked: the user's rules are here."""
    from vigil.pipeline.backend import BlobsMissing, LocalBackend

    # an image without an ID (none of the sources makes one, but the key would then be every such image's)
    local = backend if isinstance(backend, LocalBackend) and backend.blobs is not None and art.image_id else None
    key = ""
    if local is not None:
        from vigil.cache import blob_key

        key = blob_key(f"image-config/{art.image_id}", aset.cache_names(), cache_options(opts))
        if not local.missing([key]):
            try:
                (blob,) = local.gather([key])
            except BlobsMissing:  # undecodable, or expired since: scanned again below
                pass
            else:
                return blob.secrets[0].secrets if blob.secrets else ()
    from vigil.analyzers.secrets.image_config import CONFIG_PATH, trivy_config_json

    text = trivy_config_json(art.image_config)
    aset.plan_secrets(len(text))
    scanner = aset.scanner
    assert scanner is not None
    found = tuple(scanner.scan(CONFIG_PATH, text))
    if local is not None:
        local.put(key, BlobInfo(diff_id="", secrets=(SecretsInFile(file_path=CONFIG_PATH, secrets=found),)
                                  if found else ()))
    return found


def analyze(source: Source, aset: AnalyzerSet, backend: Backend, opts: ScanOptions,
            stats: ScanStats | None = None) -> list[str]:
    """Every blob of the source into the backend; returns the blob keys in order."""
    specs = source.blobs()
    stats = stats if stats is not None else ScanStats()
    stats.layers = len(specs)
    if specs and all(s.content_id for s in specs):
        return _analyze_known(source, specs, aset, backend, opts, stats)
    keys = []
    for spec in specs:
        blob = _analyze_one(spec, aset, opts.parallel)
        key = content_key(blob)
        blob = msgspec.structs.replace(blob, diff_id=key)
        if backend.missing([key]):
            backend.put(key, blob)
        stats.analysed += 1
        keys.append(key)
    return keys


def _analyze_known(source: Source, specs: Sequence[BlobSpec], aset: AnalyzerSet, backend: Backend,
                   opts: ScanOptions, stats: ScanStats) -> list[str]:
    keys = blob_keys(specs, aset, opts)
    missing = set(backend.missing(list(dict.fromkeys(keys))))
    todo: list[int] = []
    for i, k in enumerate(keys):  # a layer repeated in an image is analysed and stored once
        if k in missing and k not in {keys[j] for j in todo}:
            todo.append(i)
    stats.analysed = len(todo)
    if not todo:
        return keys
    # once here (forked workers inherit it), for the compressed size of the layers to read (unknown when a source
    # does not know a layer's size)
    sizes = sorted((specs[i].size for i in todo), reverse=True)
    known = all(sizes)
    workers = workers_for(opts.parallel)
    # Worker processes pay off only when the layers besides the biggest hold real work: starting a pool (and
    # sending results back) costs more than analysing a few small layers here.
    forking = workers > 1 and len(todo) > 1 and not (known and sum(sizes[1:]) < _PARALLEL_MIN_BYTES)
    aset.prepare(sum(sizes) if known else None, forking)
    if forking:
        source.prefetch(todo)  # a forked worker must not share the parent's HTTP client
        order = sorted(todo, key=lambda i: -specs[i].size)  # biggest first, so the pool's tail is short
        for i, blob in zip(order, fork_map(_layer, order, (specs, aset), workers, _decode_blob), strict=True):
            backend.put(keys[i], blob)
    else:
        for i in todo:
            backend.put(keys[i], _analyze_one(specs[i], aset, 1))
    return keys


def _analyze_one(spec: BlobSpec, aset: AnalyzerSet, workers: int) -> BlobInfo:
    if spec.analyzed is not None:
        return spec.analyzed()
    assert spec.open_tree is not None
    with spec.open_tree() as tree:
        if tree.random_access:
            return _analyze_directory(tree, aset, workers_for(workers))
        return to_blob(analyze_tree(tree, aset), aset, diff_id=spec.diff_id, digest=spec.digest,
                       warnings=tree.warnings, files=tree.files)


def _analyze_directory(tree: FileTree, aset: AnalyzerSet, workers: int) -> BlobInfo:
    entries: list[TreeEntry] = list(tree.entries(aset.wants, aset.has_binaries))
    gaps = coverage_gaps(tree)  # directories the walk could not list
    if aset.secrets and entries:
        from vigil.analyzers.secrets.engine import HYPERSCAN_MIN_BYTES

        aset.plan_secrets(_bytes_at_least(entries, HYPERSCAN_MIN_BYTES))
    if workers <= 1 or len(entries) < _PARALLEL_MIN_FILES:
        part = analyze_tree(tree, aset, entries)
        part.unknowns.extend(gaps)
        return to_blob(part, aset)
    aset.prepare(None, forking=True)  # the workers inherit the analyzers (the secret engine is ready already)
    if any(a.kind == "lockfile" for a in aset.analyzers):
        from vigil.analyzers.lang._common import warm_parsers

        warm_parsers()  # imported once here, not once per worker
    batches = _batches(entries, workers * 16)
    # biggest first: the pool starts on them while this process takes the small ones from the end of the list, so
    # that neither is left with a long batch when the other is done (fork_map); joined in the walk's order
    order = sorted(range(len(batches)), key=lambda i: -batches[i][1])
    done = dict(zip(order, fork_map(_batch, [batches[i][0] for i in order], (tree, aset), workers, _decode_batch),
                    strict=True))
    return join_batches((done[i] for i in range(len(batches))), aset, gaps)


# What a file costs to analyse beyond its bytes (opening, dispatch, an analyzer's set-up), in bytes of parsing.
_FILE_COST = 4096


def _batches(entries: Sequence[TreeEntry], parts: int) -> list[tuple[list[TreeEntry], int]]:
    """The entries as about `parts` runs (in the walk's order) of similar work, with their estimated cost: a file's
    bytes stand for the work of analysing it (the lockfile corpus mixes 100-byte manifests with 5 MB lockfiles;
    runs of equal file counts differed twentyfold). At most 64 files a run; equal counts when a size is unknown."""
    sizes = _sizes(entries)
    if sizes is None:
        n = max(1, min(64, len(entries) // parts))
        return [(list(entries[i : i + n]), n) for i in range(0, len(entries), n)]
    costs = [size + _FILE_COST for size in sizes]
    target = sum(costs) // parts + 1
    out: list[tuple[list[TreeEntry], int]] = []
    run: list[TreeEntry] = []
    acc = 0
    for e, c in zip(entries, costs, strict=True):
        run.append(e)
        acc += c
        if acc >= target or len(run) >= 64:
            out.append((run, acc))
            run, acc = [], 0
    if run:
        out.append((run, acc))
    return out


def _bytes_at_least(entries: Sequence[TreeEntry], enough: int) -> int | None:
    """The bytes of a directory's files, counted until `enough` (then `enough`); None when an entry's size cannot
    be known."""
    sizes = _sizes(entries, enough)
    return None if sizes is None else min(sum(sizes), enough)


def _sizes(entries: Sequence[TreeEntry], enough: int | None = None) -> list[int] | None:
    """Each entry's bytes on disk (0 for one that cannot be stat'ed), up to the one that brings the total to
    `enough`; None when an entry is not a file on disk (its size would mean reading it)."""
    import os

    from vigil.sources.fs import FsEntry

    out: list[int] = []
    total = 0
    for e in entries:
        if not isinstance(e, FsEntry):
            return None
        try:
            size = os.stat(e.abs_path, follow_symlinks=False).st_size
        except OSError:
            size = 0
        out.append(size)
        total += size
        if enough is not None and total >= enough:
            break
    return out


# A batch's analysis: the blob, the config files kept for misconfiguration checks, the config files' errors.
_Batch = tuple[BlobInfo, dict[str, bytes], dict[str, str]]


def _batch(state: tuple[FileTree, AnalyzerSet], entries: list[TreeEntry]) -> _Batch:
    tree, aset = state
    part = analyze_tree(tree, aset, entries)
    return to_blob(part, aset, misconf=False), part.config_files, part.config_errors


def _decode_batch(raw: bytes) -> _Batch:
    return msgspec.msgpack.decode(raw, type=_Batch)


def _layer(state: tuple[Sequence[BlobSpec], AnalyzerSet], i: int) -> BlobInfo:
    specs, aset = state
    return _analyze_one(specs[i], aset, 1)


def _decode_blob(raw: bytes) -> BlobInfo:
    return msgspec.msgpack.decode(raw, type=BlobInfo)


__all__ = ["ScanStats", "analyze", "analyzer_set", "blob_keys", "image_config_secrets"]
