"""`vigil db build|info`: build and inspect the vulnerability DB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil import __version__
from vigil.settings import default_cache_dir
from vigil.shells.cli.common import add_options, fail, resolve_or_exit


@click.group("db")
def db_group() -> None:
    """Build and inspect the vulnerability DB."""


def _db_dir(values: dict[str, Any], out: Path | None) -> Path:
    if out is not None:
        return out
    if values.get("db_path"):
        return Path(values["db_path"]).parent
    return (values.get("cache_dir") or default_cache_dir()) / "db"


@db_group.command("build")
@click.option("--feeds", "feeds", type=click.Path(path_type=Path), required=True,
              help="directory of advisory feeds (e.g. ../shared/data/advisories)")
@click.option("-o", "--output-dir", "output_dir", type=click.Path(path_type=Path), default=None,
              help="where to write vigil.db and metadata.json (default: <cache-dir>/db)")
@add_options("db")
def db_build(feeds: Path, output_dir: Path | None, **kwargs: Any) -> None:
    """Build the DB from advisory feeds (one ETL module per feed; failing feeds are reported and skipped)."""
    values = resolve_or_exit("db", kwargs)
    from vigil.vulndb.build.builder import build
    from vigil.vulndb.build.records import FeedError

    try:
        res = build(feeds, _db_dir(values, output_dir), vigil_version=__version__)
    except FeedError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot write the DB: {e}")
    if not values["quiet"]:
        for f in res.feeds:
            status = f.status if f.status == "ok" else f"{f.status.upper()}: {f.error}"
            click.echo(f"  {f.name:<28} {f.records:>7} records  {f.seconds:6.2f}s  {status}", err=True)
        c = res.counts
        click.echo(
            f"Built {res.db_path} in {res.seconds:.1f}s: {c['vulnerabilities']} vulnerabilities, "
            f"{c['advisories']} package advisories, {c['aliases']} IDs; next update after {res.metadata.next_update}",
            err=True,
        )
    failed = [f.name for f in res.feeds if f.status == "failed"]
    if failed:
        click.echo(f"WARN\tfeeds skipped because they failed to parse: {', '.join(failed)}", err=True)


@db_group.command("info")
@add_options("db")
def db_info(**kwargs: Any) -> None:
    """Show the DB's schema version, build time, next update and per-feed record counts."""
    values = resolve_or_exit("db", kwargs)
    from vigil.vulndb.schema import DB_FILENAME
    from vigil.vulndb.store import DBError, Store

    path = values.get("db_path") or _db_dir(values, None) / DB_FILENAME
    try:
        st = Store(Path(path))
    except DBError as e:
        fail(str(e))
    m = st.metadata
    click.echo(f"Path:           {path}")
    click.echo(f"Schema version: {m.schema_version}")
    click.echo(f"Built at:       {m.built_at}")
    click.echo(f"Next update:    {m.next_update}")
    for k, v in st.counts().items():
        click.echo(f"{k.capitalize() + ':':<16}{v}")
    click.echo("Feeds:")
    for f in st.feeds():
        extra = "" if f["status"] == "ok" else f"  {str(f['status']).upper()}: {f['error']}"
        click.echo(f"  {f['name']:<28} {f['records']:>7}  {f['digest']}{extra}")
