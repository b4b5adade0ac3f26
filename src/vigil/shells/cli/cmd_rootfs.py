"""`vigil rootfs`: scan an unpacked root filesystem (an extracted image, a VM disk mount, a chroot).

Like Trivy's rootfs: lockfiles plus what is installed — Python dist-info/egg-info, node_modules package.json,
gemspecs, composer installed.json, conda-meta, jar/war/ear, Go and Rust (cargo-auditable) binaries.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vigil.shells.cli.common import add_options, resolve_or_exit

if TYPE_CHECKING:
    from vigil.findings.records import Report


@click.command("rootfs", context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("rootfs")
def rootfs_cmd(target: Path, **kwargs: Any) -> None:
    """Scan an unpacked root filesystem (installed packages and binaries as well as lockfiles)."""
    from vigil.shells.cli.output import db_ready, list_all_pkgs, scan_and_emit

    values = list_all_pkgs(resolve_or_exit("rootfs", kwargs))
    if not db_ready(values):
        return  # --download-db-only: done
    from vigil.engine import scan
    from vigil.settings import scan_options

    opts = dataclasses.replace(scan_options(target, values), analyzer_kinds=("lockfile", "installed"))

    def remote() -> Report:  # client mode: analyse here, detect on the server
        from vigil.shells.client_mode import scan_fs_via_server, server_options

        return scan_fs_via_server(opts, "filesystem", server_options(values))

    scan_and_emit(values, lambda: scan(opts), remote)
