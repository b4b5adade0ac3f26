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
    from vigil.shells.cli.output import emit, list_all_pkgs

    values = list_all_pkgs(resolve_or_exit("fs", kwargs))
    from vigil.dbdist.cli_hook import DBPrepareError, prepare_db

    try:
        if prepare_db(values) is None:
            return  # --download-db-only: done
    except DBPrepareError as e:
        fail(str(e))
    from vigil.engine import ScanError, scan
    from vigil.settings import scan_options

    try:
        if values.get("server"):  # client mode: analyse here, detect on the server
            from vigil.shells.client_mode import scan_fs_via_server, server_options

            report = scan_fs_via_server(scan_options(target, values), "filesystem", server_options(values))
        else:
            report = scan(scan_options(target, values))
    except ScanError as e:
        fail(str(e))
    emit(report, values)
    if values["exit_code"] and report.findings_count() > 0:
        sys.exit(values["exit_code"])
