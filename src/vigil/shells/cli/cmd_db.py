"""`vigil db build|info|pack|push|pull`: build, publish, download and inspect the vulnerability DB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil import __version__
from vigil.settings import default_cache_dir
from vigil.shells.cli.common import ScanCommand, add_options, fail, resolve_or_exit


@click.group("db")
def db_group() -> None:
    """Build, publish, download and inspect the vulnerability DB."""


def _db_dir(values: dict[str, Any], out: Path | None) -> Path:
    if out is not None:
        return out
    if values.get("db_path"):
        return Path(values["db_path"]).parent
    return (values.get("cache_dir") or default_cache_dir()) / "db"


def _remove_stale_temp_files(db_dir: Path) -> None:
    """Temp DBs left by builds or updates that were killed (vulndb.tempfiles), removed under the DB lock that
    updaters hold while they write theirs. A lock held for long (a slow download) is not waited for: the next
    build or update cleans up instead."""
    from vigil.dbdist.update import UpdateError, db_lock
    from vigil.vulndb.tempfiles import remove_stale

    try:
        with db_lock(db_dir, timeout=5.0):
            remove_stale(db_dir)
    except (UpdateError, OSError):
        return


@db_group.command("build", cls=ScanCommand)
@click.option("--feeds", "feeds", type=click.Path(path_type=Path), default=None,
              help="directory of advisory feeds (e.g. ../shared/data/advisories)")
@click.option("--feeds-from", "feeds_from", type=click.Choice(["upstream"]), default=None,
              help="download the feeds from their public upstream sources into <cache-dir>/feeds/ first")
@click.option("--feeds-url", "feeds_url", default=None, metavar="BASE",
              help="download the feeds from a mirror with the layout of the feeds directory (BASE/<feed>/<file>)")
@click.option("--previous", "previous", type=click.Path(path_type=Path), default=None, metavar="DIR",
              help="an earlier build's output directory: also publish a delta from its vigil.db to the new one")
@click.option("--no-feed-cache", "no_feed_cache", is_flag=True, default=False,
              help="parse every feed again instead of reusing <cache-dir>/feeds-parsed/")
@click.option("-o", "--output-dir", "output_dir", type=click.Path(path_type=Path), default=None,
              help="where to write vigil.db and metadata.json (default: <cache-dir>/db)")
@add_options("db")
def db_build(feeds: Path | None, feeds_from: str | None, feeds_url: str | None, previous: Path | None,
             no_feed_cache: bool, output_dir: Path | None, **kwargs: Any) -> None:
    """Build the DB from advisory feeds (one ETL module per feed; failing feeds are reported and skipped)."""
    values = resolve_or_exit("db", kwargs)
    if sum(x is not None for x in (feeds, feeds_from, feeds_url)) != 1:
        fail("give exactly one of --feeds DIR, --feeds-from upstream, --feeds-url BASE")
    if feeds_url is not None and not feeds_url.startswith(("http://", "https://")):
        fail(f"--feeds-url must be an http(s) URL, not {feeds_url!r}")
    if previous is not None and not (previous / "vigil.db").is_file():
        fail(f"--previous {previous}: no vigil.db there")
    from vigil.vulndb.build.builder import build
    from vigil.vulndb.build.records import FeedError

    cache_dir: Path = values.get("cache_dir") or default_cache_dir()
    fetch_errors: dict[str, str] = {}
    try:
        if feeds is None:
            from vigil.vulndb.build.feeds import all_feeds
            from vigil.vulndb.build.upstream import sync_feeds

            sync = sync_feeds(all_feeds(), cache_dir, base_url=feeds_url, user_agent=f"vigil/{__version__}")
            feeds, fetch_errors = sync.feeds_dir, sync.errors
            if not values["quiet"]:
                click.echo(f"Feeds in {feeds}: {sync.fetched} downloaded ({sync.bytes} bytes), {sync.not_modified} "
                           f"not modified, {sync.failed} failed ({sync.seconds:.1f}s)", err=True)
        out_dir = _db_dir(values, output_dir)
        _remove_stale_temp_files(out_dir)
        res = build(feeds, out_dir, vigil_version=__version__,
                    parsed_cache=None if no_feed_cache else cache_dir / "feeds-parsed",
                    fetch_errors=fetch_errors, previous=previous)
    except FeedError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot write the DB: {e}")
    if not values["quiet"]:
        for f in res.feeds:
            status = f.status if f.status == "ok" else f"{f.status.upper()}: {f.error}"
            status += " (cached)" if f.cached else ""
            click.echo(f"  {f.name:<28} {f.records:>7} records  {f.seconds:6.2f}s  {status}", err=True)
        c = res.counts
        click.echo(
            f"Built {res.db_path} in {res.seconds:.1f}s: {c['vulnerabilities']} vulnerabilities, "
            f"{c['advisories']} package advisories, {c['aliases']} IDs; next update after {res.metadata.next_update}",
            err=True,
        )
        if res.delta is not None:
            click.echo(f"Delta {res.delta.file}: {res.delta.size} bytes from {res.delta.base}", err=True)
    if res.delta_error:
        click.echo(f"WARN\tno delta published: {res.delta_error}", err=True)
    failed = [f.name for f in res.feeds if f.status == "failed"]
    if failed:
        click.echo(f"WARN\tfeeds skipped because they failed to download or parse: {', '.join(failed)}", err=True)


@db_group.command("info", cls=ScanCommand)
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


@db_group.command("pack", cls=ScanCommand)
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


@db_group.command("push", cls=ScanCommand)
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


@db_group.command("pull", cls=ScanCommand)
@add_options("db")
def db_pull(**kwargs: Any) -> None:
    """Download the DB now from --db-repository (in order, falling back on errors) into --db-path or
    <cache-dir>/db; nothing is fetched when the installed DB is already the published one."""
    values = resolve_or_exit("db", kwargs)
    import sys

    from vigil.dbdist.update import ensure_db
    from vigil.settings import db_path_of, repositories_of
    from vigil.vulndb.store import DBError

    repos = repositories_of(values)
    if not repos:
        fail("no DB repository: pass --db-repository oci://HOST/REPO:TAG or https://HOST/DIR/ (or set db.repository)")
    path = db_path_of(values)
    try:
        res = ensure_db(path, list(repos), skip_update=False, offline=False, force=True,
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
