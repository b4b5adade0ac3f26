"""Vigil: a vulnerability scanner.

Python API (the same Report the CLI prints; no environment variables or vigil.yaml are read):

    import vigil
    report = vigil.scan("path/to/project", severity=("HIGH", "CRITICAL"))
    for result in report.results:
        for v in result.vulnerabilities:
            print(v.vulnerability_id, v.pkg_name, v.installed_version, v.fixed_version)

    report = vigil.scan_image("app.tar", scanners=("vuln", "secret", "misconfig"))

Anything else: build a `vigil.settings.ScanOptions` (a frozen msgspec Struct: `msgspec.structs.replace` copies it
with changes) and a source, and call `vigil.pipeline.scan.scan`.
Imports are lazy so that `vigil --version` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:  # pathlib too: `vigil --version` does not need it
    from collections.abc import Sequence
    from pathlib import Path

    from vigil.findings.records import Report
    from vigil.settings import ScanOptions

_SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


def _options(target: Path, db_path: str | Path | None, scanners: Sequence[str], severity: Sequence[str],
             ignore_unfixed: bool, include_dev_deps: bool, list_all_pkgs: bool,
             ignorefile: str | Path | None, kinds: tuple[str, ...]) -> ScanOptions:
    from pathlib import Path

    from vigil.settings import ScanOptions, default_cache_dir

    return ScanOptions(
        target=target,
        db_path=Path(db_path) if db_path is not None else default_cache_dir() / "db" / "vigil.db",
        scanners=tuple(scanners), severities=tuple(s.upper() for s in severity), ignore_unfixed=ignore_unfixed,
        include_dev_deps=include_dev_deps, list_all_pkgs=list_all_pkgs,
        ignorefile=Path(ignorefile) if ignorefile is not None else None, artifact_name=str(target),
        analyzer_kinds=kinds)


def scan(target: str | Path, *, db_path: str | Path | None = None, scanners: Sequence[str] = ("vuln",),
         severity: Sequence[str] = _SEVERITIES, ignore_unfixed: bool = False, include_dev_deps: bool = False,
         list_all_pkgs: bool = False, ignorefile: str | Path | None = None, installed: bool = False) -> Report:
    """Scan a directory or a lockfile (`vigil fs`; `installed=True`: `vigil rootfs`). `db_path` defaults to the
    CLI's DB (<cache dir>/db/vigil.db); it is used as it is, never downloaded."""
    from pathlib import Path

    from vigil.pipeline.scan import fs_source
    from vigil.pipeline.scan import scan as run

    kinds = ("lockfile", "installed", "os") if installed else ("lockfile",)
    opts = _options(Path(target), db_path, scanners, severity, ignore_unfixed, include_dev_deps, list_all_pkgs,
                    ignorefile, kinds)
    return run(fs_source(opts, installed=installed), opts)


def scan_image(image: str | Path, *, db_path: str | Path | None = None,
               scanners: Sequence[str] = ("vuln", "secret"), severity: Sequence[str] = _SEVERITIES,
               ignore_unfixed: bool = False, list_all_pkgs: bool = False,
               ignorefile: str | Path | None = None) -> Report:
    """Scan a container image: an existing path is a docker-archive or OCI layout, anything else a reference
    (daemon, then registry). No analysis cache."""
    from pathlib import Path

    from vigil.pipeline.scan import scan as run
    from vigil.sources.image.source import ImageSource, ImageSourceOptions

    path = Path(image)
    io = ImageSourceOptions(input=path) if path.exists() else ImageSourceOptions(reference=str(image))
    opts = _options(path, db_path, scanners, severity, ignore_unfixed, False, list_all_pkgs, ignorefile,
                    ("lockfile", "installed", "os"))
    return run(ImageSource(io, io.artifact), opts)


__all__ = ["__version__", "scan", "scan_image"]
