"""`vigil rootfs`: scan an unpacked root filesystem (an extracted image, a VM disk mount, a chroot).

Like Trivy's rootfs: lockfiles plus what is installed — Python dist-info/egg-info, node_modules package.json,
gemspecs, composer installed.json, conda-meta, jar/war/ear, Go and Rust (cargo-auditable) binaries.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import add_options, fail, resolve_or_exit


@click.command("rootfs", context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("rootfs")
def rootfs_cmd(target: Path, **kwargs: Any) -> None:
    """Scan an unpacked root filesystem (installed packages and binaries as well as lockfiles)."""
    from vigil.shells.cli.output import emit, list_all_pkgs

    values = list_all_pkgs(resolve_or_exit("rootfs", kwargs))
    from vigil.dbdist.cli_hook import DBPrepareError, prepare_db

    try:
        if prepare_db(values) is None:
            return  # --download-db-only: done
    except DBPrepareError as e:
        fail(str(e))
    from vigil.engine import ScanError, scan
    from vigil.settings import scan_options

    opts = dataclasses.replace(scan_options(target, values), analyzer_kinds=("lockfile", "installed"))
    try:
        if values.get("server"):  # client mode: analyse here, detect on the server
            from vigil.shells.client_mode import scan_fs_via_server, server_options

            report = scan_fs_via_server(opts, "filesystem", server_options(values))
        else:
            report = scan(opts)
    except ScanError as e:
        fail(str(e))
    emit(report, values)
    if values["exit_code"] and report.findings_count() > 0:
        sys.exit(values["exit_code"])
