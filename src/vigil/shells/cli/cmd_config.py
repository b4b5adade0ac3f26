"""`vigil config`: scan Dockerfiles, docker-compose files, Kubernetes manifests and Helm charts for
misconfigurations (built-in DS/KSV/VCOMP checks plus custom Rego checks).

It is `vigil fs --scanners misconfig` with its own defaults: the same pipeline, the same misconfiguration stage
that `fs`, `rootfs`, `repo` and `image` run when asked, and no vulnerability DB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import ScanCommand, add_options, resolve_or_exit


@click.command("config", cls=ScanCommand, context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("config")
def config_cmd(target: Path, **kwargs: Any) -> None:
    """Scan a directory or a single config file for misconfigurations."""
    values = resolve_or_exit("config", kwargs)
    import msgspec

    from vigil.pipeline.scan import fs_source
    from vigil.settings import scan_options
    from vigil.shells.cli.output import scan_and_emit

    opts = msgspec.structs.replace(scan_options(target, values), scanners=("misconfig",), analyzer_kinds=())
    scan_and_emit(values, opts, lambda: fs_source(opts))
