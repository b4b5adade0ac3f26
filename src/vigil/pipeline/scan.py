"""The one orchestrator: every scan command (fs, rootfs, repo, sbom, image, config), the Python API and client
mode run a Source through the same four stages.

    filters = load_filters(opts)                # fail fast on a bad ignore file or VEX document
    aset    = analyzer_set(opts, target)        # … and on bad secret rules or custom checks
    keys    = analyze(source, aset, backend)    # blobs into the backend (cache, memory or a server)
    report  = backend.scan(artifact, keys, detection_options(opts))   # detect, unfiltered
    report  = apply_filters(report, filters)    # the user's filters and remediation
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vigil.analysis.dispatch import AnalyzerSet
from vigil.findings.analysis import ArtifactInfo, BlobInfo
from vigil.findings.records import Report
from vigil.findings.wire import DetectionOptions
from vigil.gcpause import paused
from vigil.pipeline.analyze import ScanStats, TargetType, analyze, analyzer_set
from vigil.pipeline.backend import Backend, BlobsMissing, LocalBackend
from vigil.pipeline.report import apply_filters, load_filters
from vigil.settings import ScanOptions
from vigil.sources.base import Source

if TYPE_CHECKING:
    from vigil.sources.repo import RepoSpec


def detection_options(opts: ScanOptions) -> DetectionOptions:
    """The part of the options detection needs: the one object both the local path and the wire use."""
    return DetectionOptions(
        scanners=tuple(s for s in opts.scanners if s in ("vuln", "license", "secret", "misconfig")),  # type: ignore[misc]
        pkg_types=tuple(t for t in opts.pkg_types if t in ("os", "library")),  # type: ignore[misc]
        pkg_relationships=tuple(opts.pkg_relationships),  # type: ignore[arg-type]
        include_dev_deps=opts.include_dev_deps,
        list_all_pkgs=opts.list_all_pkgs,
        dependency_tree=opts.dependency_tree,
        ignored_licenses=tuple(opts.ignored_licenses),
        license_categories={k: tuple(v) for k, v in opts.license_categories.items()},
        distro=opts.distro,
        detection_priority="comprehensive" if opts.detection_priority == "comprehensive" else "precise",
    )


def scan(source: Source, opts: ScanOptions, backend: Backend | None = None,
         stats: ScanStats | None = None) -> Report:
    """Scan `source` with `opts`; detection runs on `backend` (default: this process, with opts.db_path and no
    cache). The source is closed afterwards."""
    try:
        filters = load_filters(opts)
        art = source.describe()
        aset = analyzer_set(opts, _target_type(art.type))
        own = backend is None
        be: Backend = LocalBackend(opts.db_path) if backend is None else backend
        try:
            keys = analyze(source, aset, be, opts, stats)
            # Matching allocates the DB's advisories and the findings, all kept until the report: with the
            # collector on, that growth set off a full collection walking the whole analysis (see gcpause).
            with paused():
                try:
                    report = be.scan(art, keys, detection_options(opts))
                except BlobsMissing:
                    if not isinstance(be, LocalBackend):
                        raise
                    # a cached blob that proved undecodable, or expired since analysis asked for it: the local
                    # backend now counts it as missing, so it is analysed again (once)
                    keys = analyze(source, aset, be, opts, stats)
                    report = be.scan(art, keys, detection_options(opts))
            if art.type == "container_image":
                report = _with_image_config(report, art, opts, aset, be)
        finally:
            if own:
                be.close()
    finally:
        source.close()
    return apply_filters(report, filters)


def _with_image_config(report: Report, art: ArtifactInfo, opts: ScanOptions, aset: AnalyzerSet,
                       backend: Backend) -> Report:
    """The image's config as Trivy 0.76 scans it: for secrets whenever the secret scanner is on (Trivy's config
    secret analyzer always runs, whatever --image-config-scanners says), and its history as a Dockerfile with
    --image-config-scanners misconfig (Vigil: also with --scanners misconfig, in detection). Both are reported
    under the image's name as Trivy does. Here, on the side that holds the user's secret rules (client mode
    too)."""
    import msgspec

    from vigil.findings.records import Result

    extra: list[Result] = []
    if aset.secrets:
        from vigil.pipeline.analyze import image_config_secrets

        found = image_config_secrets(art, aset, backend, opts)
        if found:
            extra.append(Result(target=art.name, class_="secret", secrets=tuple(found)))
    if "misconfig" in opts.image_config_scanners and "misconfig" not in opts.scanners:
        from vigil.pipeline.detect import history_results

        extra.extend(history_results(art))
    return msgspec.structs.replace(report, results=(*report.results, *extra)) if extra else report


def _target_type(t: str) -> TargetType:
    return t  # type: ignore[return-value]


def fs_source(opts: ScanOptions, *, installed: bool = False) -> Source:
    """A directory or file (fs, rootfs): lockfiles, plus installed packages and binaries with `installed`."""
    from vigil.sources.fs import FsSource

    return FsSource(opts.target, opts.artifact_name or str(opts.target), skip_dirs=opts.skip_dirs,
                    skip_files=opts.skip_files, installed=installed, own_files=_own_files(opts))


def repo_source(opts: ScanOptions, spec: RepoSpec) -> Source:
    """A git repository at a branch, tag or commit, checked out and scanned as a directory."""
    from vigil.sources.repo import RepoSource

    return RepoSource(spec, skip_dirs=opts.skip_dirs, skip_files=opts.skip_files, own_files=_own_files(opts))


def _own_files(opts: ScanOptions) -> tuple[Path, ...]:
    """Vigil's own config files that may lie inside the scanned tree: not scanned for secrets (as Trivy skips its
    trivy-secret.yaml)."""
    return (opts.secret_config,) if opts.secret_config is not None and opts.secret_config.exists() else ()


def sbom_source(opts: ScanOptions) -> Source:
    from vigil.sources.sbom import SbomSource

    return SbomSource(opts.target, opts.artifact_name or str(opts.target), opts.max_file_size, _parse_sbom)


def _parse_sbom(data: bytes, name: str) -> BlobInfo:
    from vigil.analyzers.sbom import SBOMError, parse_sbom_inventory
    from vigil.findings.analysis import OSRelease
    from vigil.sources.fs import SourceError

    try:
        with paused():  # a parse: the decoded document and its records (see gcpause)
            inv = parse_sbom_inventory(data, name)
    except SBOMError as e:
        raise SourceError(str(e)) from e
    # the OS the SBOM names stands in for the release file an image would have
    releases = (OSRelease(file_path="etc/os-release", os=inv.os),) if inv.os is not None else ()
    return BlobInfo(diff_id="", applications=inv.applications, os_releases=releases, package_dbs=inv.package_dbs)


def analyze_only(source: Source, opts: ScanOptions) -> tuple[ArtifactInfo, list[str], list[BlobInfo]]:
    """The analyze stage alone (no DB, no cache): the artifact, its blob keys and blobs, as a client would upload
    them (for inventories, benchmarks and tools). The source is closed afterwards."""
    try:
        art = source.describe()
        backend = LocalBackend(opts.db_path)
        keys = analyze(source, analyzer_set(opts, _target_type(art.type)), backend, opts)
        return art, keys, backend.gather(keys)
    finally:
        source.close()
