"""`vigil sbom FILE`: scan the packages (purls) of a CycloneDX (JSON/XML) or SPDX (JSON/tag-value) SBOM."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import add_options, fail, resolve_or_exit


@click.command("sbom", context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("sbom")
def sbom_cmd(target: Path, **kwargs: Any) -> None:
    """Scan an SBOM's packages for vulnerabilities (CycloneDX JSON/XML, SPDX JSON/tag-value)."""
    from vigil.shells.cli.output import emit, list_all_pkgs

    values = list_all_pkgs(resolve_or_exit("sbom", kwargs))
    from vigil.engine import ScanError, scan_sbom
    from vigil.settings import scan_options

    values.setdefault("scanners", ("vuln",))
    values.setdefault("include_dev_deps", True)  # an SBOM lists what it lists: no dev filtering
    from vigil.dbdist.cli_hook import DBPrepareError, prepare_db

    try:
        if prepare_db(values) is None:
            return  # --download-db-only: done
    except DBPrepareError as e:
        fail(str(e))
    try:
        if values.get("server"):  # client mode: analyse here, detect on the server
            from vigil.shells.client_mode import scan_fs_via_server, server_options

            report = scan_fs_via_server(scan_options(target, values), "sbom", server_options(values))
        else:
            report = scan_sbom(scan_options(target, values))
    except ScanError as e:
        fail(str(e))
    emit(report, values)
    if values["exit_code"] and report.findings_count() > 0:
        sys.exit(values["exit_code"])
