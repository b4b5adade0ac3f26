"""Rendering a Report to stdout or -o FILE in the chosen --format (shared by fs, sbom and convert)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from vigil.findings.records import Report
from vigil.shells.cli.common import cache_backend_url, client_token, fail, printable, show_progress

R = TypeVar("R")

if TYPE_CHECKING:
    from vigil.pipeline.backend import LocalBackend, RemoteBackend
    from vigil.settings import ScanOptions
    from vigil.sources.base import Source

# Formats that describe packages (SBOMs, CI reports with line numbers): they need every package, not only the
# vulnerable ones, so --list-all-pkgs is implied (as in Trivy for SBOM formats).
NEEDS_ALL_PKGS = frozenset({"cyclonedx", "cyclonedx-xml", "spdx", "spdx-json", "github", "sarif", "gitlab",
                            "html", "template", "cosign-vuln"})


def list_all_pkgs(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("format") in NEEDS_ALL_PKGS:
        return {**values, "list_all_pkgs": True}
    return values


def _template_text(values: dict[str, Any]) -> str:
    tpl: str = values.get("template") or ""
    if values.get("format") != "template":
        return tpl
    if not tpl:
        fail("--format template needs --template (inline Jinja2 text or @path/to/file.j2)")
    if tpl.startswith("@"):
        path = Path(tpl[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            fail(f"cannot read template {path}: {e}")
    return tpl


def emit(report: Report, values: dict[str, Any]) -> None:
    from vigil.reporters import RenderOptions, get

    fmt = values["format"]
    opts = RenderOptions(template=_template_text(values), show_suppressed=bool(values.get("show_suppressed")),
                         dependency_tree=bool(values.get("dependency_tree")),
                         table_mode=tuple(values.get("table_mode") or ("summary", "detailed")))
    render = get(fmt, opts)
    try:
        write_report(render, report, values.get("output"))
    except ValueError as e:  # a template error: the user's input
        fail(str(e))
    if values.get("show_suppressed") and fmt not in ("table", "json") and report.metadata.suppressed:
        click.echo(f"{len(report.metadata.suppressed)} finding(s) suppressed:", err=True)
        for s in report.metadata.suppressed:
            click.echo(printable(f"  {s.target}: {s.kind} {s.vulnerability_id} {s.pkg_name}: {s.reason}"), err=True)


def write_report(render: Callable[[R, IO[str]], None], report: R, out_path: Path | None) -> None:
    """Render to --output or stdout. A reader that leaves (`vigil … | head`) is not an error; a file that cannot be
    written is one line, exit 2."""
    from vigil.gcpause import paused

    try:
        # a report is built whole (a document of as many containers as the scan found) before it is written
        with paused():
            if out_path is not None:
                with open(out_path, "w", encoding="utf-8") as fh:
                    render(report, fh)
            else:
                render(report, sys.stdout)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as e:
        fail(f"cannot write {out_path or 'stdout'}: {e.strerror or e}")


def db_ready(values: dict[str, Any]) -> bool:
    """The scan commands' DB step: download/update the DB as --db-repository/--skip-db-update/--offline-scan say
    (vigil.dbdist). False after --download-db-only: the command is done. A DB problem is one line, exit 2."""
    from vigil.dbdist.prepare import prepare_db
    from vigil.settings import db_options

    progress = show_progress(values)
    return prepare_db(db_options(values, progress=progress)) is not None


def scan_and_emit(values: dict[str, Any], opts: ScanOptions, source: Callable[[], Source],
                  cache: bool = False) -> Report:
    """Run the pipeline on the source here, or in client mode (--server) with detection on the server; render the
    report and exit with --exit-code when findings remain, or --exit-on-eol when the OS is past its end of life.
    `cache`: keep analyses in the analysis cache (--cache-backend; image layers)."""
    from vigil.pipeline.scan import scan

    with _backend(values, opts, cache) as backend:
        report = scan(source(), opts, backend)
    emit(report, values)
    if values.get("publish"):  # the store's client (SQLAlchemy records, httpx) is loaded only when publishing
        from vigil.shells.cli.publish import publish_report

        publish_report(report, values, scanned=None if report.artifact_type == "container_image" else opts.target)
    if values["exit_code"] and report.findings_count() > 0:
        sys.exit(values["exit_code"])
    os_info = report.metadata.os
    if values.get("exit_on_eol") and os_info is not None and os_info.eosl:  # image, rootfs, sbom
        sys.exit(values["exit_on_eol"])
    return report


def _backend(values: dict[str, Any], opts: ScanOptions, cache: bool) -> LocalBackend | RemoteBackend:
    from vigil.pipeline.backend import LocalBackend, RemoteBackend

    if values.get("server"):
        from vigil.server_client import ServerOptions

        ca = values.get("server_cacert") or values.get("cacert")  # Trivy's --cacert/--insecure cover the server
        headers = []
        for item in values.get("custom_headers") or ():
            name, sep, value = str(item).partition(":")
            if not sep or not name.strip():
                fail(f"--custom-headers: expected NAME:VALUE, got {item!r}")
            headers.append((name.strip(), value.strip()))
        return RemoteBackend(ServerOptions(
            url=str(values["server"]), token=client_token(values),
            token_header=str(values.get("token_header") or "Vigil-Token"), ca_file=str(ca) if ca else "",
            insecure=bool(values.get("server_insecure") or values.get("insecure")),
            custom_headers=tuple(headers)))
    backend_name = cache_backend_url(values)
    if not cache or backend_name == "none":
        return LocalBackend(opts.db_path)
    from vigil.cache import FSCache, MemoryCache, open_cache
    from vigil.settings import default_cache_dir, parse_duration

    ttl = parse_duration(str(values.get("cache_ttl") or "0"))
    cache_dir: Path = values.get("cache_dir") or default_cache_dir()
    blobs = open_cache(backend_name, cache_dir, ttl)
    # Reports are kept only in a cache this machine alone writes: in a shared Redis, another runner's entry would
    # be trusted as this scan's whole result, where a blob only stands for one layer's analysis.
    reports = blobs if isinstance(blobs, FSCache | MemoryCache) else None
    return LocalBackend(opts.db_path, blobs, reports=reports)
