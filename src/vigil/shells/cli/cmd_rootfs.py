"""`vigil rootfs`: scan an unpacked root filesystem (an extracted image, a VM disk mount, a chroot).

Like Trivy's rootfs: lockfiles plus what is installed — Python dist-info/egg-info, node_modules package.json,
gemspecs, composer installed.json, conda-meta, jar/war/ear, Go and Rust (cargo-auditable) binaries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import ScanCommand, add_options, resolve_or_exit


@click.command("rootfs", cls=ScanCommand, context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("rootfs")
def rootfs_cmd(target: Path, **kwargs: Any) -> None:
    """Scan an unpacked root filesystem (installed packages and binaries as well as lockfiles)."""
    from vigil.shells.cli.output import db_ready, list_all_pkgs, scan_and_emit

    values = list_all_pkgs(resolve_or_exit("rootfs", kwargs))
    if not db_ready(values):
        return  # --download-db-only: done
    import msgspec

    from vigil.pipeline.scan import fs_source
    from vigil.settings import scan_options

    opts = msgspec.structs.replace(scan_options(target, values), analyzer_kinds=("lockfile", "installed", "os"))
    scan_and_emit(values, opts, lambda: fs_source(opts, installed=True))
