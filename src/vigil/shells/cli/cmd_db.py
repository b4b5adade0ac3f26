"""`vigil db build|info|pack|push|pull`: build, publish, download and inspect the vulnerability DB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil import __version__
from vigil.settings import default_cache_dir
from vigil.shells.cli.common import add_options, fail, resolve_or_exit


@click.group("db")
def db_group() -> None:
    """Build, publish, download and inspect the vulnerability DB."""


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
    from vigil.dbdist.update import installed_source

    click.echo(f"Repository:     {installed_source(Path(path)) or '(built locally or unknown)'}")
    for k, v in st.counts().items():
        click.echo(f"{k.capitalize() + ':':<16}{v}")
    click.echo("Feeds:")
    for f in st.feeds():
        extra = "" if f["status"] == "ok" else f"  {str(f['status']).upper()}: {f['error']}"
        click.echo(f"  {f['name']:<28} {f['records']:>7}  {f['digest']}{extra}")


@db_group.command("pack")
@click.argument("build_dir", type=click.Path(path_type=Path))
@add_options("db")
def db_pack(build_dir: Path, **kwargs: Any) -> None:
    """Turn a `db build` output dir into an artifact dir (vigil.db.zst + metadata.json with digests) that any
    web server can serve as an HTTP(S) DB repository."""
    values = resolve_or_exit("db", kwargs)
    from vigil.dbdist.artifact import ArtifactError, pack

    try:
        meta = pack(build_dir)
    except ArtifactError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot pack {build_dir}: {e}")
    if not values["quiet"]:
        click.echo(f"Packed {build_dir}: vigil.db.zst {meta.compressed_size} bytes (DB {meta.db_size} bytes, "
                   f"schema {meta.schema_version}, built {meta.built_at})", err=True)


@db_group.command("push")
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.argument("repository")
@add_options("db")
def db_push(build_dir: Path, repository: str, **kwargs: Any) -> None:
    """Pack BUILD_DIR and push it as an OCI artifact to REPOSITORY (oci://HOST/REPO:TAG). Credentials:
    VIGIL_USERNAME/VIGIL_PASSWORD, else docker's config.json."""
    values = resolve_or_exit("db", kwargs)
    from vigil.dbdist.artifact import ArtifactError
    from vigil.dbdist.oci import push

    try:
        digest, meta = push(build_dir, repository)
    except ArtifactError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot read {build_dir}: {e}")
    if not values["quiet"]:
        click.echo(f"Pushed {repository}@{digest} (DB built {meta.built_at}, schema {meta.schema_version})",
                   err=True)


@db_group.command("pull")
@add_options("db")
def db_pull(**kwargs: Any) -> None:
    """Download the DB now from --db-repository (in order, falling back on errors) into --db-path or
    <cache-dir>/db; nothing is fetched when the installed DB is already the published one."""
    values = resolve_or_exit("db", kwargs)
    import sys

    from vigil.dbdist.cli_hook import db_path_of, repositories_of
    from vigil.dbdist.update import ensure_db
    from vigil.vulndb.store import DBError

    repos = repositories_of(values)
    if not repos:
        fail("no DB repository: pass --db-repository oci://HOST/REPO:TAG or https://HOST/DIR/ (or set db.repository)")
    path = db_path_of(values)
    try:
        res = ensure_db(path, repos, skip_update=False, offline=False, force=True,
                        progress=not values["quiet"] and sys.stderr.isatty())
    except DBError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot write the DB in {path.parent}: {e.strerror or e}")
    if res.warnings:
        fail("the DB was not updated (the existing one is kept; see the warning above)")
    if not values["quiet"]:
        how = " (incremental)" if res.delta else ""
        verb = f"Downloaded{how} {res.downloaded} bytes from" if res.updated else "Up to date with"
        click.echo(f"{verb} {res.source}: {res.db_path}", err=True)
