"""`vigil sbom FILE`: scan the packages (purls) of a CycloneDX (JSON/XML) or SPDX (JSON/tag-value) SBOM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import ScanCommand, add_options, resolve_or_exit


@click.command("sbom", cls=ScanCommand, context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("sbom")
def sbom_cmd(target: Path, **kwargs: Any) -> None:
    """Scan an SBOM's packages for vulnerabilities (CycloneDX JSON/XML, SPDX JSON/tag-value)."""
    from vigil.shells.cli.output import db_ready, list_all_pkgs, scan_and_emit

    values = list_all_pkgs(resolve_or_exit("sbom", kwargs))
    from vigil.pipeline.scan import sbom_source
    from vigil.settings import scan_options

    values.setdefault("scanners", ("vuln",))
    values.setdefault("include_dev_deps", True)  # an SBOM lists what it lists: no dev filtering
    if not db_ready(values):
        return  # --download-db-only: done
    opts = scan_options(target, values)
    scan_and_emit(values, opts, lambda: sbom_source(opts))
