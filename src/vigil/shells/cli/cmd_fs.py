"""`vigil fs`: scan a directory or a lockfile."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import add_options, fail, resolve_or_exit


@click.command("fs", context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("fs")
def fs_cmd(target: Path, **kwargs: Any) -> None:
    """Scan a directory or a single lockfile."""
    values = resolve_or_exit("fs", kwargs)
    from vigil.engine import ScanError, scan
    from vigil.reporters import get
    from vigil.settings import scan_options

    try:
        report = scan(scan_options(target, values))
    except ScanError as e:
        fail(str(e))
    render = get(values["format"])
    out_path: Path | None = values["output"]
    try:
        if out_path is not None:
            with open(out_path, "w", encoding="utf-8") as fh:
                render(report, fh)
        else:
            render(report, sys.stdout)
    except OSError as e:
        fail(f"cannot write {out_path}: {e.strerror or e}")
    if values["exit_code"] and report.findings_count() > 0:
        sys.exit(values["exit_code"])
