"""`vigil repo`: scan a git repository (a local path or a URL) at a branch, tag or commit, like `trivy repo`.

    vigil repo https://github.com/org/app --branch release-1.4 --scanners vuln,secret,misconfig
    vigil repo ./checkout --commit 3f2a9c1
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import ScanCommand, add_options, fail, resolve_or_exit


@click.command("repo", cls=ScanCommand, context_settings={"show_default": False})
@click.argument("location")
@add_options("repo")
def repo_cmd(location: str, **kwargs: Any) -> None:
    """Scan a git repository: LOCATION is a path or a URL (https://, ssh://, git@host:path, file://)."""
    from vigil.shells.cli.output import db_ready, list_all_pkgs, scan_and_emit

    values = list_all_pkgs(resolve_or_exit("repo", kwargs))
    refs = [k for k in ("branch", "tag", "commit") if values.get(k)]
    if len(refs) > 1:
        fail(f"give at most one of --branch, --tag and --commit (got {', '.join('--' + r for r in refs)})")
    if not db_ready(values):
        return  # --download-db-only: done
    from vigil.pipeline.scan import repo_source
    from vigil.settings import scan_options
    from vigil.sources.repo import RepoSpec

    opts = scan_options(Path(location), values)
    spec = RepoSpec(location=location, branch=values.get("branch") or "", tag=values.get("tag") or "",
                    commit=values.get("commit") or "")
    scan_and_emit(values, opts, lambda: repo_source(opts, spec))
