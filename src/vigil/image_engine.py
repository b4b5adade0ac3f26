"""Image scan pipeline (issue 4): image source -> per-layer analysis (cached) -> merge -> detect -> Report.

1. The source (archive / OCI layout / daemon / registry) gives the config and the layers, lazily.
2. Each layer is analysed on its own (`analyze_layer`): one streaming pass over its tar, no extraction. Files that
   analyzers want are read (size-capped); OS release files and package databases go to the "os" analyzers, lockfiles
   and installed-package metadata and executables to the language analyzers, every file the secret rules want to the
   secret engine. The result is a BlobInfo, stored in the analysis cache under diff_id + analyzer versions + options,
   so unchanged layers are never downloaded or read again. Layers run in parallel worker processes.
3. `merge` squashes the BlobInfos bottom-up with the layers' whiteouts and opaque dirs, so nothing from a deleted or
   hidden file is reported, and records for every package the layer that introduced it (Trivy's Layer).
4. OS packages are matched by the OS matcher (distro advisories), language packages by the generic matcher; the
   report carries the image metadata (ImageID, DiffIDs, RepoTags/RepoDigests, config, layers, OS with EOSL).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from vigil import engine
from vigil.analyzers.registry import (
    MAX_RELATED_FILES,
    AnalysisInput,
    AnalysisResult,
    Analyzer,
    all_analyzers,
    run_guarded,
)
from vigil.findings.blob import ArtifactInfo, BlobInfo, OSRelease, SecretsInFile
from vigil.findings.records import SEVERITY_RANK, LayerInfo, Metadata, Report, Result, Vulnerability
from vigil.inventory.purl import os_purl
from vigil.inventory.records import (
    OS_FAMILIES,
    Application,
    LayerRef,
    OSInfo,
    Package,
    Unknown,
)
from vigil.settings import ScanOptions
from vigil.sources.image import Image, ImageError, LayerBlob, RegistryOptions

if TYPE_CHECKING:
    from vigil.vulndb.store import Store

log = logging.getLogger(__name__)

IMAGE_KINDS = ("lockfile", "installed", "os")
# Package databases can be far bigger than lockfiles (an RHEL rpmdb.sqlite is 20-100 MB).
MAX_PKGDB_SIZE = 512 << 20
# Small files analysers want are kept in memory until the layer ends, so analyzers that need companions (a
# package.json beside a lockfile) or related files (parent POMs) see them whatever the tar order. Bounded.
_DEFER_MAX_FILE = 4 << 20
_DEFER_MAX_TOTAL = 256 << 20
_ELF = b"\x7fELF"
# Bumped when analyze_layer's output changes for the same analyzers (2: replaced paths listed as whiteouts).
LAYER_ANALYSIS_VERSION = 2


@dataclass(frozen=True)
class ImageOptions:
    """Image-specific options (the CLI's `vigil image` flags)."""

    reference: str = ""  # registry/daemon reference, or "" with `input`
    input: Path | None = None  # docker-archive / OCI layout (dir or tar)
    input_ref: str = ""  # tag inside the archive/layout ("./layout:tag")
    image_src: tuple[str, ...] = ("docker", "podman", "remote")
    registry: RegistryOptions = field(default_factory=RegistryOptions)
    cache_backend: str = "fs"
    cache_dir: Path | None = None
    cache_ttl: float = 0
    exit_on_eol: int = 0
    workers: int = 0  # processes for layer analysis (0: one per CPU)


# --- per-layer analysis --------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    analyzers: tuple[Analyzer, ...]
    binaries: tuple[Analyzer, ...]
    companion_globs: tuple[str, ...]
    scanner: Any  # SecretScanner | None (hyperscan DB: not picklable, reached through fork); built lazily
    max_file_size: int
    skip_dirs: tuple[str, ...]
    skip_files: tuple[str, ...]
    ruleset: Any = None  # the secret RuleSet when secrets are scanned (its digest is part of the cache key)

    def ensure_scanner(self) -> None:
        """Compile the secret engine only when a layer must really be read (a warm rescan never does: the
        hyperscan compile alone costs ~0.15 s)."""
        if self.ruleset is not None and self.scanner is None:
            from vigil.analyzers.secrets.engine import SecretScanner

            self.scanner = SecretScanner(self.ruleset)


def _in_default_skip(rel: str) -> bool:
    from vigil.sources.fs import DEFAULT_SKIP_DIRS

    return any(part in DEFAULT_SKIP_DIRS for part in rel.split("/")[:-1])


def _runs(a: Analyzer, rel: str) -> bool:
    # lockfiles below node_modules/vendor/... describe other projects' builds: never apps (as collect_fs)
    return a.matches(rel) and not (a.kind == "lockfile" and _in_default_skip(rel))


def make_context(opts: ScanOptions) -> _Ctx:
    scanners = set(opts.scanners)
    analyzers: tuple[Analyzer, ...] = ()
    if scanners & {"vuln", "license"}:
        analyzers = tuple(a for a in all_analyzers() if a.kind in IMAGE_KINDS)
    ruleset = engine.load_secret_ruleset(opts) if "secret" in scanners else None
    return _Ctx(
        analyzers=analyzers,
        binaries=tuple(a for a in analyzers if a.executables),
        companion_globs=tuple(sorted({c for a in analyzers for c in a.companions})),
        scanner=None,
        ruleset=ruleset,
        max_file_size=opts.max_file_size,
        # image paths are relative to the image root: "/usr/lib/x" (Trivy's documented form) means "usr/lib/x"
        skip_dirs=_image_relative(opts.skip_dirs),
        skip_files=_image_relative(opts.skip_files),
    )


def _image_relative(patterns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p.strip().lstrip("/") or p for p in patterns)


def cache_inputs(opts: ScanOptions, ctx: _Ctx) -> tuple[list[str], dict[str, object]]:
    """What a layer's cached analysis depends on besides its bytes (ARCHITECTURE.md §8)."""
    names = [f"{a.name}/{a.version}" for a in ctx.analyzers]
    names.append(f"image-layer/{LAYER_ANALYSIS_VERSION}")
    if ctx.ruleset is not None:
        from vigil.analyzers.secrets.engine import NAME, VERSION

        names.append(f"{NAME}/{VERSION}/{ctx.ruleset.digest()}")
    options: dict[str, object] = {
        "scanners": sorted(set(opts.scanners) & {"vuln", "license", "secret"}),
        "max_file_size": opts.max_file_size,
        "skip_dirs": list(ctx.skip_dirs),
        "skip_files": list(ctx.skip_files),
    }
    return names, options


def _skipped(ctx: _Ctx, rel: str) -> bool:
    from vigil.sources.globs import any_match

    if ctx.skip_files and any_match(ctx.skip_files, rel):
        return True
    if ctx.skip_dirs:
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            if any_match(ctx.skip_dirs, "/".join(parts[:i])):
                return True
    return False


def _cap_for(a: Analyzer, ctx: _Ctx) -> int:
    return max(ctx.max_file_size, MAX_PKGDB_SIZE) if a.kind == "os" else ctx.max_file_size


def analyze_layer(layer: LayerBlob, ctx: _Ctx, limits: Any = None) -> BlobInfo:
    """One streaming pass over one layer. Raises sources.image.layers.LayerError for a layer that must be refused
    (decompression bomb, corrupt stream)."""
    from vigil.sources.fs import FileTooLarge
    from vigil.sources.image.layers import LayerLimits, iter_layer

    # Deflate tops out near 1032:1, so the reader's default ratio (1000) only catches perfect bombs; real layers
    # past 1 GiB stay far below 200:1 (the Debian fixture's layers are 2.3-3.2:1).
    lim = limits or LayerLimits(max_ratio=200)
    warnings: list[str] = []
    whiteouts: list[str] = []
    replaced: list[str] = []  # non-directory entries that hide a lower layer's analysis of the same path
    opaque: list[str] = []
    results: list[tuple[Analyzer, str, AnalysisResult]] = []
    unknowns: list[Unknown] = []
    secrets: list[SecretsInFile] = []
    stored: dict[str, bytes] = {}  # small files kept for companions / related / deferred analyzers
    stored_total = 0
    deferred: list[tuple[Analyzer, str]] = []
    files = 0

    def run(a: Analyzer, path: str, data: bytes, siblings: dict[str, bytes] | None = None,
            related: dict[str, bytes] | None = None) -> None:
        res = run_guarded(a, AnalysisInput(path=path, data=data, siblings=siblings or {}, related=related or {}))
        results.append((a, path, res))

    with layer.open() as stream:
        for e in iter_layer(stream, digest=layer.digest, limits=lim, on_warning=warnings.append,
                            diff_id=layer.diff_id):
            if e.kind == "whiteout":
                whiteouts.append(e.path)
                continue
            if e.kind == "opaque":
                opaque.append(e.path)
                continue
            if e.kind in ("symlink", "other"):
                replaced.append(e.path)  # whatever a lower layer had at this path (and below it) is gone
                continue
            if e.kind not in ("file", "hardlink"):
                continue
            files += 1
            rel = e.path
            if (ctx.skip_files or ctx.skip_dirs) and _skipped(ctx, rel):
                continue
            chosen = [a for a in ctx.analyzers if _runs(a, rel)]
            if chosen or e.mode & 0o111:
                # A lower layer's result for this path (same analyzers, or an executable) is replaced even when
                # this content yields nothing. Only such paths are listed: they are all a lower result can be at.
                replaced.append(rel)
            base = rel.rsplit("/", 1)[-1]
            companion = bool(ctx.companion_globs) and any(fnmatch.fnmatchcase(base, g) for g in ctx.companion_globs)
            exe = bool(ctx.binaries) and bool(e.mode & 0o111) and e.size >= 64
            want_secret = ctx.scanner is not None and ctx.scanner.wants(rel)
            if not (chosen or companion or exe or want_secret):
                continue
            data: bytes | None = None
            if chosen or companion or exe:
                cap = max([_cap_for(a, ctx) for a in chosen] or [ctx.max_file_size])
                try:
                    data = e.read(cap)
                except FileTooLarge as err:
                    for a in chosen:
                        unknowns.append(Unknown(file_path=rel, analyzer=a.name, reason=str(err)))
                    chosen, companion, exe = [], False, False
            if data is not None and exe and not data.startswith(_ELF):
                exe = False
            if want_secret:
                chunks: Iterable[bytes] = [data] if data is not None else e.chunks()
                try:
                    found = ctx.scanner.scan_chunks(rel, chunks)
                except FileTooLarge:
                    found = []
                if found:
                    secrets.append(SecretsInFile(file_path=rel, secrets=tuple(found)))
            if data is None:
                continue
            small = len(data) <= _DEFER_MAX_FILE and stored_total + len(data) <= _DEFER_MAX_TOTAL
            if small and (companion or any(a.companions or a.related is not None for a in chosen)):
                stored[rel] = data
                stored_total += len(data)
            for a in chosen:
                if small and (a.companions or a.related is not None):
                    deferred.append((a, rel))
                else:
                    run(a, rel, data)
            if exe:
                for a in ctx.binaries:
                    if a not in chosen:
                        run(a, rel, data)
    for a, rel in deferred:
        data = stored[rel]
        d = posixpath.dirname(rel)
        siblings = {}
        if a.companions:
            prefix = d + "/" if d else ""
            for p, b in stored.items():
                if p != rel and posixpath.dirname(p) == d:
                    name = p[len(prefix):]
                    if any(fnmatch.fnmatchcase(name, g) for g in a.companions):
                        siblings[name] = b
        related: dict[str, bytes] = {}
        if a.related is not None:
            related = _related_from(stored, rel, data, a)
        run(a, rel, data, siblings, related)
    # Replaced paths travel as whiteouts: the docker/OCI applier removes an existing path (and its subtree) before
    # it extracts a non-directory entry there, which is exactly what merge() does for a whiteout; merge applies a
    # layer's whiteouts before adding that layer's own results.
    whiteouts = sorted(set(whiteouts) | set(replaced))
    return _blob_from(layer, results, unknowns, secrets, whiteouts, opaque, warnings, files)


def _related_from(stored: dict[str, bytes], rel: str, data: bytes, a: Analyzer) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    seen = {rel}
    queue = [(rel, data)]
    ask = a.related
    assert ask is not None
    while queue and len(out) < MAX_RELATED_FILES:
        cur, cur_data = queue.pop(0)
        try:
            wanted = list(ask(cur, cur_data))
        except Exception:
            continue
        for r in wanted:
            if r in seen or len(out) >= MAX_RELATED_FILES:
                continue
            seen.add(r)
            got = stored.get(r)
            if got is not None:
                out[r] = got
                queue.append((r, got))
    return out


def _blob_from(layer: LayerBlob, results: list[tuple[Analyzer, str, AnalysisResult]], unknowns: list[Unknown],
               secrets: list[SecretsInFile], whiteouts: list[str], opaque: list[str], warnings: list[str],
               files: int) -> BlobInfo:
    os_releases: list[OSRelease] = []
    dbs: list[Application] = []
    apps: list[Application] = []
    for a, path, res in results:
        if res.os is not None:
            os_releases.append(OSRelease(file_path=path, os=res.os))
        if res.os_packages:
            dbs.append(Application(type=a.name, file_path=path, packages=tuple(res.os_packages)))
        apps.extend(res.applications)
        unknowns.extend(res.unknowns)
    return BlobInfo(
        diff_id=layer.diff_id,
        digest=layer.digest,
        os_releases=tuple(sorted(os_releases, key=lambda r: r.file_path)),
        package_dbs=tuple(sorted(dbs, key=lambda x: x.file_path)),
        applications=tuple(sorted(apps, key=lambda x: (x.file_path, x.type))),
        unknowns=tuple(sorted(unknowns, key=lambda u: (u.file_path, u.analyzer))),
        secrets=tuple(sorted(secrets, key=lambda s: s.file_path)),
        whiteouts=tuple(sorted(whiteouts)),
        opaque_dirs=tuple(sorted(opaque)),
        warnings=tuple(warnings),
        files=files,
    )


# --- merge ---------------------------------------------------------------------------------------------------


@dataclass
class Merged:
    os: OSInfo | None = None
    os_packages: list[Package] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)
    unknowns: list[Unknown] = field(default_factory=list)
    secrets: list[SecretsInFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _nested_under(key: str, pre: str) -> bool:
    # Application paths of nested archives ("opt/app.jar!/BOOT-INF/lib/x.jar") belong to their outer file.
    i = key.find("!/")
    return i >= 0 and (key[:i] + "/").startswith(pre)


# Which release file names the OS most precisely, per family (os-release says only "12" for Debian 12.15).
_PRECISE = {
    "debian": ("etc/debian_version",),
    "alpine": ("etc/alpine-release",),
    "redhat": ("etc/redhat-release",),
    "centos": ("etc/centos-release", "etc/redhat-release"),
    "rocky": ("etc/rocky-release", "etc/redhat-release"),
    "alma": ("etc/almalinux-release", "etc/redhat-release"),
}


def detect_os(releases: dict[str, OSInfo]) -> OSInfo | None:
    """The OS from the surviving release files: os-release names the family, the family's own release file
    the precise version (when it agrees with the family); without os-release, any recognised file."""
    base = releases.get("etc/os-release") or releases.get("usr/lib/os-release")
    if base is None:
        for p in sorted(releases):
            if releases[p].family in OS_FAMILIES:
                base = releases[p]
                break
        if base is None:
            return None
    for p in _PRECISE.get(base.family, ()):
        r = releases.get(p)
        if r is not None and r.family == base.family and r.name and r.name[0].isdigit():
            return OSInfo(family=base.family, name=r.name)
    return OSInfo(family=base.family, name=base.name)


def _layer_ref(layer: LayerBlob | LayerInfo) -> LayerRef:
    return LayerRef(digest=layer.digest, diff_id=layer.diff_id, created_by=layer.created_by)


def merge(layers: Sequence[LayerBlob | LayerInfo], blobs: list[BlobInfo]) -> Merged:
    """Squash per-layer analyses bottom-up. A file written again in a later layer replaces the earlier analysis;
    a whiteout removes the path (and its subtree) from the layers below; an opaque dir hides everything below it.
    Each package keeps the first layer in which it appeared with that version (Trivy attributes the same way)."""
    rel_files: dict[str, OSRelease] = {}
    dbs: dict[str, tuple[Application, int]] = {}
    apps: dict[tuple[str, str], tuple[Application, int]] = {}
    unknowns: dict[tuple[str, str], Unknown] = {}
    first_os: dict[tuple[str, str, str], int] = {}  # (name, version, arch) -> layer index
    first_lang: dict[tuple[str, str, str], int] = {}  # (file_path, name, version) -> layer index
    secrets: list[SecretsInFile] = []
    warnings: list[str] = []
    for i, blob in enumerate(blobs):
        gone = frozenset(blob.whiteouts)
        for tables in (rel_files, dbs, apps, unknowns):
            for d in blob.opaque_dirs:
                _hide_keys(tables, d, opaque=True)
            if gone:
                _hide_paths(tables, gone)
        for r in blob.os_releases:
            rel_files[r.file_path] = r
        for db in blob.package_dbs:
            dbs[db.file_path] = (db, i)
            for p in db.packages:
                first_os.setdefault((p.name, p.version, p.arch), i)
        for app in blob.applications:
            apps[(app.file_path, app.type)] = (app, i)
            for p in app.packages:
                first_lang.setdefault((app.file_path, p.name, p.version), i)
        for u in blob.unknowns:
            unknowns[(u.file_path, u.analyzer)] = u
        refs = _layer_ref(layers[i]) if i < len(layers) else None
        for s in blob.secrets:
            secrets.append(SecretsInFile(file_path=s.file_path, secrets=tuple(
                msgspec.structs.replace(f, layer=refs) for f in s.secrets)))
        warnings.extend(blob.warnings)
    out = Merged(warnings=warnings, secrets=secrets, unknowns=[unknowns[k] for k in sorted(unknowns)])
    out.os = detect_os({p: r.os for p, r in rel_files.items()})
    refs_by_idx = [_layer_ref(la) for la in layers]

    def ref(i: int) -> LayerRef | None:
        return refs_by_idx[i] if 0 <= i < len(refs_by_idx) else None

    files_by_pkg: dict[str, tuple[str, ...]] = {}
    pkgs: dict[tuple[str, str, str], Package] = {}
    for path in sorted(dbs):
        db, idx = dbs[path]
        for p in db.packages:
            if not p.version:  # a file list (dpkg info/<pkg>.list): joined to the package by name below
                files_by_pkg[p.name] = files_by_pkg.get(p.name, ()) + p.installed_files
                continue
            key = (p.name, p.version, p.arch)
            pkgs[key] = msgspec.structs.replace(p, layer=ref(first_os.get(key, idx)))
    family = out.os.family if out.os is not None else ""
    for key in sorted(pkgs):
        p = pkgs[key]
        extra = files_by_pkg.get(p.name) or files_by_pkg.get(f"{p.name}:{p.arch}") or ()
        p = msgspec.structs.replace(
            p, ecosystem=family or p.ecosystem,
            installed_files=p.installed_files or extra,
            id=p.id or f"{p.name}@{p.version}",
        )
        if out.os is not None and not p.purl:
            p = msgspec.structs.replace(p, purl=os_purl(out.os, p))
        out.os_packages.append(p)
    for k in sorted(apps):
        app, idx = apps[k]
        out.applications.append(msgspec.structs.replace(app, packages=tuple(
            msgspec.structs.replace(p, layer=ref(first_lang.get((app.file_path, p.name, p.version), idx)))
            for p in app.packages)))
    return out


def _hide_keys(table: dict[Any, Any], path: str, *, opaque: bool) -> None:
    """Apply one whiteout/opaque entry to a table keyed by file path (or (file path, type))."""
    pre = path.rstrip("/") + "/" if path else ""
    doomed = []
    for k in table:
        fp = k[0] if isinstance(k, tuple) else k
        if (not opaque and fp == path) or fp.startswith(pre) or _nested_under(fp, pre):
            doomed.append(k)
    for k in doomed:
        del table[k]


def _under_any(path: str, gone: frozenset[str]) -> bool:
    while True:
        if path in gone:
            return True
        i = path.rfind("/")
        if i < 0:
            return False
        path = path[:i]


def _hide_paths(table: dict[Any, Any], gone: frozenset[str]) -> None:
    """Apply a layer's whiteouts at once: drop keys at or below any path in `gone` (nested archive entries
    "outer.jar!/inner" with their outer file). One set lookup per ancestor instead of one scan per whiteout."""
    doomed = []
    for k in table:
        fp = k[0] if isinstance(k, tuple) else k
        i = fp.find("!/")
        if _under_any(fp, gone) or (i >= 0 and _under_any(fp[:i], gone)):
            doomed.append(k)
    for k in doomed:
        del table[k]


# --- the scan ------------------------------------------------------------------------------------------------

_JOB: tuple[list[LayerBlob], _Ctx] | None = None  # set in the parent before forking layer workers


def _analyze_index(i: int) -> bytes:
    assert _JOB is not None
    layers, ctx = _JOB
    return msgspec.msgpack.encode(analyze_layer(layers[i], ctx))


def layer_keys(image: Image, opts: ScanOptions, ctx: _Ctx) -> list[str]:
    """The analysis-cache key of every layer (the same on a client and a server)."""
    from vigil.cache import blob_key

    names, options = cache_inputs(opts, ctx)
    return [blob_key(la.diff_id or la.digest, names, options) for la in image.layers]


def analyze_missing(image: Image, ctx: _Ctx, todo: list[int], workers: int = 0) -> dict[int, BlobInfo]:
    """Analyse the layers at the indices `todo` (parallel worker processes when there are several)."""
    blobs: dict[int, BlobInfo] = {}
    if todo:
        ctx.ensure_scanner()
    n = workers or (os.cpu_count() or 1)
    if n > 1 and len(todo) > 1:
        _prefetch(image, todo)
        global _JOB
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        _JOB = (image.layers, ctx)
        try:
            # biggest layers first, so the pool's tail is short
            order = sorted(todo, key=lambda i: -image.layers[i].size)
            with ProcessPoolExecutor(max_workers=min(n, len(todo)), mp_context=mp.get_context("fork")) as pool:
                for i, raw in zip(order, pool.map(_analyze_index, order), strict=True):
                    blobs[i] = msgspec.msgpack.decode(raw, type=BlobInfo)
        finally:
            _JOB = None
    else:
        for i in todo:
            blobs[i] = analyze_layer(image.layers[i], ctx)
    return blobs


def analyze_layers(image: Image, opts: ScanOptions, ctx: _Ctx, cache: Any, workers: int = 0
                   ) -> tuple[list[BlobInfo], int]:
    """Analysis of every layer, from the cache where present. Returns (blobs in layer order, layers analysed)."""
    keys = layer_keys(image, opts, ctx)
    missing_keys = set(cache.missing(keys)) if cache is not None else set(keys)
    blobs: dict[int, BlobInfo] = {}
    todo = [i for i, k in enumerate(keys) if k in missing_keys]
    if cache is not None:
        for i, k in enumerate(keys):
            if k not in missing_keys:
                got = cache.get(k)
                if got is None:
                    todo.append(i)
                else:
                    blobs[i] = got
    todo = sorted(set(todo))
    blobs.update(analyze_missing(image, ctx, todo, workers))
    if cache is not None:
        for i in todo:
            cache.put(keys[i], blobs[i])
    return [blobs[i] for i in range(len(image.layers))], len(todo)


def _prefetch(image: Image, todo: list[int]) -> None:
    """Download (registry) blobs in the parent before forking: a forked child must not share the HTTP client."""
    for i in todo:
        with image.layers[i].open():
            pass


def open_image(io: ImageOptions, tmp_dir: Path) -> Image:
    """The image from --input, else from the first source of --image-src that has it (daemon, then registry)."""
    if io.input is not None:
        from vigil.sources.image.archive import open_archive

        if not io.input.exists():
            raise ImageError(f"{io.input}: no such file or directory")
        return open_archive(io.input, tmp_dir, io.input_ref, platform=io.registry.platform)
    errors: list[str] = []
    for src in io.image_src:
        if src in ("docker", "podman"):
            from vigil.sources.image.daemon import open_daemon_image

            try:
                img = open_daemon_image(io.reference, tmp_dir)
            except ImageError as e:
                errors.append(f"{src}: {e}")
                continue
            if img is not None:
                return img
        elif src == "remote":
            from vigil.sources.image.registry import open_registry_image

            return open_registry_image(io.reference, io.registry, tmp_dir)
        else:
            raise ImageError(f"unknown image source {src!r} (expected docker, podman or remote)")
    raise ImageError(f"{io.reference}: image not found ({'; '.join(errors) or 'no source had it'})")


def _os_target(artifact: str, os_info: OSInfo) -> str:
    return f"{artifact} ({os_info.family} {os_info.name})"


def _detect_os(merged: Merged, opts: ScanOptions, artifact: str, warnings: list[str],
               store: Store | None) -> tuple[list[Result], OSInfo | None]:
    os_info = merged.os
    if os_info is None:
        if merged.os_packages:
            warnings.append("OS not detected: OS packages are listed but not matched")
        return [], None
    if store is None or "os" not in opts.pkg_types:
        return [], os_info
    from vigil.detectors.vuln.ospkg import OSMatcher

    matcher = OSMatcher(store)  # the report's one Store (see engine.open_store)
    eosl = matcher.is_eol(os_info, dt.datetime.now(dt.UTC).date())
    os_info = msgspec.structs.replace(os_info, eosl=eosl)
    if eosl:
        warnings.append(f"{os_info.family} {os_info.name} is no longer supported by the distribution "
                        "(end of life): vulnerabilities may be missing")
    vulns: list[Vulnerability] = []
    if matcher.supported(os_info):
        for p in merged.os_packages:
            for v in matcher.match(os_info, p):
                vulns.append(msgspec.structs.replace(v, layer=p.layer))
    else:
        warnings.append(f"{os_info.family} {os_info.name}: no advisories for this OS release in the DB; "
                        "OS packages are not matched")
    res = Result(
        target=_os_target(artifact, os_info), class_="os-pkgs", type=os_info.family,
        packages=tuple(merged.os_packages) if opts.list_all_pkgs else (),
        vulnerabilities=engine._sort_vulns(vulns),
    )
    return [res], os_info


# Installed-package metadata is one file per package (a dist-info, a node_modules package.json, a jar): like Trivy,
# an image report groups them into one result per language, each package and finding keeping its own file
# (Package.FilePath, Vulnerability.PkgPath). Lockfiles and binaries stay one result per file.
AGGREGATED = {"python-pkg": "Python", "node-pkg": "Node.js", "jar": "Java", "gemspec": "Ruby", "conda-pkg": "Conda"}


def aggregate(results: list[Result]) -> list[Result]:
    grouped: dict[str, list[Result]] = {}
    out: list[Result] = []
    for r in results:
        if r.class_ == "lang-pkgs" and not r.error and r.type in AGGREGATED:
            grouped.setdefault(r.type, []).append(r)
        else:
            out.append(r)
    for typ, rs in sorted(grouped.items(), key=lambda kv: AGGREGATED[kv[0]]):
        pkgs = tuple(msgspec.structs.replace(p, file_path=p.file_path or r.target) for r in rs for p in r.packages)
        vulns = [msgspec.structs.replace(v, pkg_path=v.pkg_path or r.target) for r in rs for v in r.vulnerabilities]
        out.append(Result(target=AGGREGATED[typ], class_="lang-pkgs", type=typ, packages=pkgs,
                          vulnerabilities=tuple(sorted(vulns, key=lambda v: (
                              v.pkg_name, v.installed_version, v.pkg_path, -SEVERITY_RANK[v.severity],
                              v.vulnerability_id)))))
    return out


def _with_layers(results: list[Result], apps: list[Application]) -> list[Result]:
    where: dict[tuple[str, str, str], LayerRef | None] = {}
    for app in apps:
        for p in app.packages:
            where[(app.file_path, p.name, p.version)] = p.layer
    out = []
    for r in results:
        if r.vulnerabilities:
            r = msgspec.structs.replace(r, vulnerabilities=tuple(
                msgspec.structs.replace(v, layer=where.get((r.target, v.pkg_name, v.installed_version)))
                for v in r.vulnerabilities))
        out.append(r)
    return out


def _history_created_by(config: dict[str, Any]) -> list[str]:
    hist = config.get("history")
    if not isinstance(hist, list):
        return []
    return [str(h.get("created_by", "")) for h in hist if isinstance(h, dict)]


def artifact_info(image: Image) -> ArtifactInfo:
    return ArtifactInfo(
        name=image.name,
        image_id=image.config_digest,
        repo_tags=tuple(image.repo_tags),
        repo_digests=tuple(image.repo_digests),
        image_config=image.config,
        layers=tuple(LayerInfo(digest=la.digest, diff_id=la.diff_id, size=la.size, created_by=la.created_by)
                     for la in image.layers),
    )


def image_metadata(art: ArtifactInfo, os_info: OSInfo | None) -> dict[str, Any]:
    rootfs = art.image_config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    return {
        "os": os_info,
        "image_id": art.image_id,
        "diff_ids": tuple(str(d) for d in diff_ids) if isinstance(diff_ids, list) else (),
        "repo_tags": art.repo_tags,
        "repo_digests": art.repo_digests,
        "image_config": art.image_config,
        "layers": art.layers,
        "size": sum(la.size for la in art.layers),
    }


@dataclass
class ScanStats:
    layers: int = 0
    analysed: int = 0  # layers not found in the cache


def scan_image(opts: ScanOptions, io: ImageOptions, stats: ScanStats | None = None,
               on_image: Callable[[Image], None] | None = None) -> Report:
    from vigil.cache import CacheError, open_cache
    from vigil.sources.image.layers import LayerError

    engine.load_ignores(opts)
    engine.load_vex(opts)
    ctx = make_context(opts)
    artifact = str(io.input) if io.input is not None else io.reference
    with tempfile.TemporaryDirectory(prefix="vigil-image-") as tmp:
        try:
            image = open_image(io, Path(tmp))
        except ImageError as e:
            raise engine.ScanError(str(e)) from None
        try:
            if on_image is not None:
                on_image(image)
            try:
                cache = open_cache(io.cache_backend, io.cache_dir or Path(tmp), io.cache_ttl) if io.cache_backend != "none" else None
            except CacheError as e:
                raise engine.ScanError(str(e)) from None
            try:
                blobs, analysed = analyze_layers(image, opts, ctx, cache, io.workers or opts.parallel)
            except (LayerError, ImageError) as e:
                raise engine.ScanError(str(e)) from None
            finally:
                if cache is not None:
                    cache.close()
            if stats is not None:
                stats.layers, stats.analysed = len(image.layers), analysed
            return report_from_blobs(opts, artifact_info(image), blobs, artifact)
        finally:
            image.close()


def report_from_blobs(opts: ScanOptions, art: ArtifactInfo, blobs: list[BlobInfo], artifact: str = "") -> Report:
    """The detection half of an image scan (local, or on a server from a client's blobs)."""
    return _report(opts, art, merge(art.layers, blobs), artifact or art.name)


def _report(opts: ScanOptions, art: ArtifactInfo, merged: Merged, artifact: str) -> Report:
    from vigil.detectors import remediation
    from vigil.findings import suppress

    ignores, warnings = engine.load_ignores(opts)
    for w in [*warnings, *merged.warnings]:
        log.warning("%s", w)
    warnings = list(warnings) + merged.warnings
    vex = engine.load_vex(opts)
    results: list[Result] = []
    scan_warnings: list[str] = []
    store = engine.open_store(opts)
    try:
        os_results, os_info = _detect_os(merged, opts, artifact, scan_warnings, store)
        results.extend(os_results)
        owned = frozenset(f for p in merged.os_packages for f in p.installed_files)
        inv = engine.drop_os_owned(engine.Inventory(applications=merged.applications, unknowns=merged.unknowns),
                                   owned)
        meta = Metadata()
        if opts.scanners and set(opts.scanners) & {"vuln", "license"}:
            lang, meta = engine.detect(inv, opts, store)
            results.extend(aggregate(_with_layers(lang, inv.applications)))
    finally:
        if store is not None:
            store.close()
    if "secret" in opts.scanners:
        for s in sorted(merged.secrets, key=lambda s: s.file_path):
            results.append(Result(target=s.file_path, class_="secret", secrets=s.secrets))
    if "misconfig" in opts.scanners:
        from vigil.config_engine import scan_image_history

        res = scan_image_history(_history_created_by(art.image_config))
        if res is not None:
            results.append(res)
    for w in scan_warnings:
        log.warning("%s", w)
    md = image_metadata(art, os_info)
    meta = msgspec.structs.replace(meta, unknowns=tuple(inv.unknowns), warnings=tuple(warnings + scan_warnings), **md)
    report = Report(
        vigil_version=engine._version(),
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        artifact_name=opts.artifact_name or artifact,
        artifact_type="container_image",
        metadata=meta,
        results=tuple(results),
    )
    report = suppress.apply(report, suppress.Filters(severities=opts.severities, ignore_unfixed=opts.ignore_unfixed,
                                                     ignores=ignores, vex=vex))
    return remediation.annotate(report)
