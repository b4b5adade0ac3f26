"""Vigil: a vulnerability scanner.

Python API (the same Report the CLI prints):

    import vigil
    report = vigil.scan("path/to/project", severity=("HIGH", "CRITICAL"))
    for result in report.results:
        for v in result.vulnerabilities:
            print(v.vulnerability_id, v.pkg_name, v.installed_version, v.fixed_version)

Imports are lazy so that `vigil --version` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vigil.findings.records import Report


def scan(target: str | Path, **options: Any) -> Report:
    """Scan a directory or lockfile. `options` are the `vigil fs` option names (see `vigil.settings.OPTIONS`),
    e.g. severity=("HIGH",), ignore_unfixed=True, include_dev_deps=True, db_path="…/vigil.db".
    Environment variables and vigil.yaml apply as for the CLI; keyword arguments win."""
    from vigil.pipeline.scan import fs_source
    from vigil.pipeline.scan import scan as _scan
    from vigil.settings import resolve, scan_options

    values = resolve("fs", options)
    opts = scan_options(Path(target), values)
    return _scan(fs_source(opts), opts)


__all__ = ["__version__", "scan"]
