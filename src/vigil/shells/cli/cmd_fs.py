"""`vigil fs`: scan a directory or a lockfile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import ScanCommand, add_options, resolve_or_exit


@click.command("fs", cls=ScanCommand, context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("fs")
def fs_cmd(target: Path, **kwargs: Any) -> None:
    """Scan a directory or a single lockfile."""
    from vigil.shells.cli.output import db_ready, list_all_pkgs, scan_and_emit

    values = list_all_pkgs(resolve_or_exit("fs", kwargs))
    if not db_ready(values):
        return  # --download-db-only: done
    from vigil.pipeline.scan import fs_source
    from vigil.settings import scan_options

    opts = scan_options(target, values)
    scan_and_emit(values, opts, lambda: fs_source(opts))
