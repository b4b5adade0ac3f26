"""`vigil clean`: remove cached data (Trivy's `trivy clean`): the layer-analysis cache, the vulnerability DB, or
both. `--cache-backend redis://…` clears a shared Redis cache's Vigil keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import ScanCommand, add_options, fail, resolve_or_exit


@click.command("clean", cls=ScanCommand)
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
    from vigil.cache import CACHE_FILENAME, CacheError, is_fs_cache, open_cache
    from vigil.settings import default_cache_dir

    cache_dir: Path = values.get("cache_dir") or default_cache_dir()
    if all_ or scan_cache:
        backend = cache_backend or "fs"
        # `--cache-dir .` in a project: its own analysis/ folder is neither Vigil's to create files in nor to empty
        own = cache_dir / "analysis" / CACHE_FILENAME
        if backend in ("fs", "") and not own.exists():
            click.echo("analysis cache: nothing to remove", err=True)
        elif backend in ("fs", "") and not is_fs_cache(own):
            click.echo(f"analysis cache: {own} is not a Vigil analysis cache; nothing removed", err=True)
        else:
            try:
                c = open_cache(backend, cache_dir)
                n = c.clear()
                c.close()
            except CacheError as e:
                fail(str(e))
            click.echo(f"analysis cache: removed {n} entries", err=True)
        _clean_compiled(cache_dir / "compiled")
        from vigil.shells.cli import regexcache

        if removed := regexcache.clear():
            click.echo(f"compiled regular expressions: removed {removed} files ({regexcache.default_directory()})",
                       err=True)
    if all_ or vuln_db:
        _clean_db(cache_dir / "db")


def _clean_compiled(directory: Path) -> None:
    """The compiled secret matchers a scan keeps so the next one need not compile them (rebuilt on demand)."""
    from vigil.compiled_cache import CompiledFiles

    if directory.is_symlink():
        fail(f"cannot remove {directory}: it is a symbolic link")
    try:
        n = CompiledFiles(directory).clear()
    except OSError as e:
        fail(f"cannot remove {directory}: {e.strerror or e}")
    if n:
        click.echo(f"compiled matchers: removed {n} files", err=True)


def _clean_db(db_dir: Path) -> None:
    """Only what Vigil wrote: `--cache-dir .` in a project must not delete the project's own `db/` folder."""
    from vigil.dbdist.update import is_vigil_db_dir, remove_db_files

    if db_dir.is_symlink():  # e.g. linked to a shared volume: its files are not this cache's to delete
        fail(f"cannot remove {db_dir}: it is a symbolic link")
    if not db_dir.exists():
        click.echo("vulnerability DB: nothing to remove", err=True)
        return
    if not db_dir.is_dir() or not is_vigil_db_dir(db_dir):
        click.echo(f"vulnerability DB: {db_dir} is not a Vigil DB directory; nothing removed", err=True)
        return
    try:
        removed, kept = remove_db_files(db_dir)
    except OSError as e:  # a read-only mount, files of another user
        fail(f"cannot remove {db_dir}: {e.strerror or e}")
    if kept:
        click.echo(f"vulnerability DB: removed {removed} files from {db_dir}; kept {len(kept)} entries Vigil did "
                   f"not create", err=True)
    else:
        click.echo(f"vulnerability DB: removed {db_dir}", err=True)
