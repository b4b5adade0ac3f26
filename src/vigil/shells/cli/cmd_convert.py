"""`vigil convert report.json --format X`: render a saved JSON report in another format without rescanning."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import ScanCommand, add_options, resolve_or_exit


@click.command("convert", cls=ScanCommand, context_settings={"show_default": False})
@click.argument("report_file", type=click.Path(path_type=Path))
@add_options("convert")
def convert_cmd(report_file: Path, **kwargs: Any) -> None:
    """Render a JSON report (from --format json) in any format."""
    values = resolve_or_exit("convert", kwargs)
    from vigil.pipeline.report import load_report
    from vigil.shells.cli.output import emit

    report = load_report(report_file)
    emit(report, values)
    if values.get("exit_code") and report.findings_count() > 0:
        sys.exit(values["exit_code"])
