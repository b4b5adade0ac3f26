"""`vigil config`: scan Dockerfiles, docker-compose files, Kubernetes manifests and Helm charts for
misconfigurations (built-in DS/KSV/VCOMP checks plus custom Rego checks)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import add_options, fail, resolve_or_exit


@click.command("config", context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("config")
def config_cmd(target: Path, **kwargs: Any) -> None:
    """Scan a directory or a single config file for misconfigurations."""
    values = resolve_or_exit("config", kwargs)
    from vigil.config_engine import config_options, scan_config
    from vigil.engine import ScanError
    from vigil.reporters import get

    try:
        report = scan_config(config_options(target, values))
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
