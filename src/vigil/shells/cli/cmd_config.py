"""`vigil config`: scan Dockerfiles, docker-compose files, Kubernetes manifests and Helm charts for
misconfigurations (built-in DS/KSV/VCOMP checks plus custom Rego checks)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vigil.shells.cli.common import add_options, resolve_or_exit

if TYPE_CHECKING:
    from vigil.findings.records import Report


@click.command("config", context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("config")
def config_cmd(target: Path, **kwargs: Any) -> None:
    """Scan a directory or a single config file for misconfigurations."""
    values = resolve_or_exit("config", kwargs)
    from vigil.config_engine import config_options, scan_config
    from vigil.shells.cli.output import scan_and_emit

    def local() -> Report:
        return scan_config(config_options(target, values))

    # `config` declares no --server option, so the scan always runs here; rendering (--template,
    # --show-suppressed) and --exit-code are the ones every scan command shares.
    scan_and_emit(values, local, local)
