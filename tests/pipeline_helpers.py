"""Helpers that run single pipeline stages the way a scan does (for tests that look at blobs or inventories)."""

from __future__ import annotations

import msgspec

from vigil.findings.analysis import BlobInfo, content_key
from vigil.settings import ScanOptions


def content_addressed(blob: BlobInfo) -> BlobInfo:
    """The blob with DiffID = its content key (what a client uploads a directory's analysis under)."""
    return msgspec.structs.replace(blob, diff_id=content_key(blob))


def analyze_dir(opts: ScanOptions) -> BlobInfo:
    """A directory's analysis as `vigil fs` (rootfs with "installed" in analyzer_kinds) makes it: one blob, keyed
    by its content."""
    from vigil.pipeline.scan import analyze_only, fs_source

    _, _, (blob,) = analyze_only(fs_source(opts, installed="installed" in opts.analyzer_kinds), opts)
    return blob


def ConfigOptions(target: object, **kw: object) -> ScanOptions:
    """Options of a `vigil config` scan (misconfigurations only, no DB)."""
    from pathlib import Path

    return ScanOptions(target=Path(str(target)), db_path=Path("-"), scanners=("misconfig",), analyzer_kinds=(),
                       **kw)  # type: ignore[arg-type]


def scan_config(opts: ScanOptions) -> object:
    """`vigil config` through the pipeline."""
    from vigil.pipeline.scan import fs_source, scan

    return scan(fs_source(opts), opts)


def read_tree(target: object, skip_dirs: tuple[str, ...], skip_files: tuple[str, ...],
              cap: int) -> tuple[dict[str, bytes], dict[str, str]]:
    """The config files a misconfiguration scan of `target` reads, and the ones it cannot read."""
    from pathlib import Path

    from vigil.analyzers.misconf.scan import wants
    from vigil.sources.fs import FileTooLarge, FsTree

    files: dict[str, bytes] = {}
    errors: dict[str, str] = {}
    for e in FsTree(Path(str(target)), skip_dirs, skip_files).entries(wants, False):
        try:
            files[e.path] = e.read(cap)
        except (OSError, FileTooLarge) as err:
            errors[e.path] = str(err)
    return files, errors
