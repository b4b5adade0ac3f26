"""`vigil` CLI. Only parsing and printing live here; the work happens in vigil.engine / vigil.vulndb.

Exit codes: 0 ok; the --exit-code value when findings remain after filtering; 2 usage or input errors
(bad flag, missing target or DB, malformed config/ignore file); 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from vigil import __version__
from vigil.settings import OPTIONS, Option, SettingsError, default_cache_dir, resolve

EXIT_USAGE = 2
EXIT_INTERNAL = 3


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname}\t{record.getMessage()}"


def setup_logging(quiet: bool, debug: bool) -> None:
    root = logging.getLogger("vigil")
    root.handlers[:] = [_Handler(sys.stderr)]
    root.setLevel(logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING)
    root.propagate = False


def add_options(command: str):  # type: ignore[no-untyped-def]
    """Decorate a click command with every Option declared for it (flags are built from vigil.settings)."""

    def deco(f):  # type: ignore[no-untyped-def]
        for o in reversed([o for o in OPTIONS if command in o.commands]):
            f = _click_option(o)(f)
        return f

    return deco


def _click_option(o: Option):  # type: ignore[no-untyped-def]
    names = [o.flag] + ([o.short] if o.short else [])
    env_help = f" [env: {o.env}; config: {o.key}]"
    dflt = "" if o.default in (None, (), False) else f" (default: {','.join(o.default) if isinstance(o.default, tuple) else o.default})"
    help_ = o.help + dflt + env_help
    if o.kind == "bool":
        return click.option(o.flag + "/--no-" + o.flag[2:], *([o.short] if o.short else []), o.name,
                            default=None, help=help_)
    if o.kind == "int":
        return click.option(*names, o.name, type=int, default=None, help=help_, metavar="INT")
    return click.option(*names, o.name, type=str, default=None, help=help_,
                        metavar=o.metavar or ("A,B,…" if o.kind == "list" else "PATH" if o.kind == "path" else "TEXT"))


def _given(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


def _fail(msg: str, code: int = EXIT_USAGE) -> None:
    click.echo(f"Error: {msg}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-v", "--version", prog_name="vigil", message="%(prog)s %(version)s")
def cli() -> None:
    """Vigil: find vulnerabilities in lockfiles (and soon images and clusters)."""


@cli.command("fs", context_settings={"show_default": False})
@click.argument("target", type=click.Path(path_type=Path))
@add_options("fs")
def fs_cmd(target: Path, **kwargs: Any) -> None:
    """Scan a directory or a single lockfile."""
    try:
        values = resolve("fs", _given(kwargs))
    except SettingsError as e:
        _fail(str(e))
    setup_logging(values["quiet"], values["debug"])
    from vigil.engine import ScanError, scan
    from vigil.reporters import get
    from vigil.settings import scan_options

    try:
        report = scan(scan_options(target, values))
    except ScanError as e:
        _fail(str(e))
    render = get(values["format"])
    out_path: Path | None = values["output"]
    try:
        if out_path is not None:
            with open(out_path, "w", encoding="utf-8") as fh:
                render(report, fh)
        else:
            render(report, sys.stdout)
    except OSError as e:
        _fail(f"cannot write {out_path}: {e.strerror or e}")
    if values["exit_code"] and report.findings_count() > 0:
        sys.exit(values["exit_code"])


@cli.group("db")
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
    try:
        values = resolve("db", _given(kwargs))
    except SettingsError as e:
        _fail(str(e))
    setup_logging(values["quiet"], values["debug"])
    from vigil.vulndb.build.builder import build
    from vigil.vulndb.build.records import FeedError

    try:
        res = build(feeds, _db_dir(values, output_dir), vigil_version=__version__)
    except FeedError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"cannot write the DB: {e}")
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
    try:
        values = resolve("db", _given(kwargs))
    except SettingsError as e:
        _fail(str(e))
    from vigil.vulndb.schema import DB_FILENAME
    from vigil.vulndb.store import DBError, Store

    path = values.get("db_path") or _db_dir(values, None) / DB_FILENAME
    try:
        st = Store(Path(path))
    except DBError as e:
        _fail(str(e))
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


def main() -> None:
    try:
        cli.main(prog_name="vigil", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:  # a bug: one line for the user, the traceback with --debug
        if logging.getLogger("vigil").isEnabledFor(logging.DEBUG):
            raise
        click.echo(f"Internal error: {type(e).__name__}: {e} (rerun with --debug for details)", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
