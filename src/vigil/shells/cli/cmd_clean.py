"""`vigil clean`: remove cached data (Trivy's `trivy clean`): the layer-analysis cache, the vulnerability DB, or
both. `--cache-backend redis://…` clears a shared Redis cache's Vigil keys."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import add_options, fail, resolve_or_exit


@click.command("clean")
@click.option("--all", "all_", is_flag=True, help="remove the analysis cache and the vulnerability DB")
@click.option("--scan-cache", is_flag=True, help="remove cached layer analyses")
@click.option("--vuln-db", is_flag=True, help="remove the vulnerability DB")
@click.option("--cache-backend", default=None, metavar="fs|redis://HOST:PORT",
              help="which analysis cache to clear (default: fs under --cache-dir)")
@add_options("clean")
def clean_cmd(all_: bool, scan_cache: bool, vuln_db: bool, cache_backend: str | None, **kwargs: Any) -> None:
    """Remove cached layer analyses and/or the vulnerability DB."""
    values = resolve_or_exit("clean", kwargs)
    if not (all_ or scan_cache or vuln_db):
        fail("say what to remove: --all, --scan-cache or --vuln-db")
    from vigil.cache import CacheError, open_cache
    from vigil.settings import default_cache_dir

    cache_dir: Path = values.get("cache_dir") or default_cache_dir()
    if all_ or scan_cache:
        backend = cache_backend or "fs"
        if backend == "fs" and not (cache_dir / "analysis").exists():
            click.echo("analysis cache: nothing to remove", err=True)
        else:
            try:
                c = open_cache(backend, cache_dir)
                n = c.clear()
                c.close()
            except CacheError as e:
                fail(str(e))
            click.echo(f"analysis cache: removed {n} entries", err=True)
    if all_ or vuln_db:
        db_dir = cache_dir / "db"
        if db_dir.exists():
            try:
                shutil.rmtree(db_dir)
            except OSError as e:  # a symlink, a read-only mount, files of another user
                fail(f"cannot remove {db_dir}: {e.strerror or e}")
            click.echo(f"vulnerability DB: removed {db_dir}", err=True)
        else:
            click.echo("vulnerability DB: nothing to remove", err=True)
