"""The pipeline (ARCHITECTURE.md top): source -> analyzers -> inventory -> detectors -> findings -> filters.

Shells (CLI, server, operator) only build ScanOptions and render the Report this returns.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import msgspec

from vigil.analyzers.registry import AnalysisInput, all_analyzers, analyzers_for, run_guarded
from vigil.findings import suppress
from vigil.findings.records import SEVERITY_RANK, Metadata, Report, Result, Vulnerability
from vigil.inventory.records import Application, Unknown
from vigil.settings import ScanOptions
from vigil.sources import fs

log = logging.getLogger(__name__)


class ScanError(Exception):
    """The scan cannot run at all (target missing, DB missing, bad ignore file). Shown to the user, exit 2."""


@dataclass
class Inventory:
    applications: list[Application] = field(default_factory=list)
    unknowns: list[Unknown] = field(default_factory=list)


def _version() -> str:
    from vigil import __version__

    return __version__


def collect_fs(opts: ScanOptions) -> Inventory:
    inv = Inventory()
    analyzers = all_analyzers()

    def wanted(rel: str) -> bool:
        return any(a.matches(rel) for a in analyzers)

    try:
        refs = list(fs.walk(opts.target, wanted, opts.skip_dirs, opts.skip_files))
    except fs.SourceError as e:
        raise ScanError(str(e)) from None
    for ref in refs:
        for a in analyzers_for(ref.rel_path):
            try:
                data = fs.read_capped(ref.abs_path, opts.max_file_size)
            except fs.FileTooLarge as e:
                inv.unknowns.append(Unknown(file_path=ref.rel_path, analyzer=a.name, reason=str(e)))
                log.warning("%s: skipped: %s", ref.rel_path, e)
                continue
            except OSError as e:
                inv.unknowns.append(Unknown(file_path=ref.rel_path, analyzer=a.name, reason=e.strerror or str(e)))
                log.warning("%s: cannot read: %s", ref.rel_path, e.strerror or e)
                continue
            siblings = fs.read_siblings(ref.abs_path, a.companions, opts.max_file_size)
            res = run_guarded(a, AnalysisInput(path=ref.rel_path, data=data, siblings=siblings))
            inv.applications.extend(res.applications)
            inv.unknowns.extend(res.unknowns)
    return inv


def _sort_vulns(vulns: list[Vulnerability]) -> tuple[Vulnerability, ...]:
    return tuple(
        sorted(
            vulns,
            key=lambda v: (v.pkg_name, v.installed_version, -SEVERITY_RANK[v.severity], v.vulnerability_id),
        )
    )


def detect(inv: Inventory, opts: ScanOptions) -> tuple[list[Result], Metadata]:
    from vigil.detectors.vuln.generic import GenericMatcher
    from vigil.vulndb.store import DBError, Store

    store = None
    meta = Metadata()
    if "vuln" in opts.scanners:
        try:
            store = Store(opts.db_path)
        except DBError as e:
            raise ScanError(str(e)) from None
        meta = Metadata(
            db_built_at=store.metadata.built_at,
            db_next_update=store.metadata.next_update,
            db_schema_version=store.metadata.schema_version,
        )
    matcher = GenericMatcher(store) if store is not None else None
    results: list[Result] = []
    for app in sorted(inv.applications, key=lambda a: (a.file_path, a.type)):
        pkgs = [p for p in app.packages if opts.include_dev_deps or not p.dev]
        vulns: list[Vulnerability] = []
        if matcher is not None:
            for p in pkgs:
                if matcher.handles(p):
                    vulns.extend(matcher.match(p))
        results.append(
            Result(
                target=app.file_path,
                class_="lang-pkgs",
                type=app.type,
                packages=tuple(pkgs) if opts.list_all_pkgs else (),
                vulnerabilities=_sort_vulns(vulns),
            )
        )
    for u in sorted(inv.unknowns, key=lambda u: u.file_path):
        results.append(Result(target=u.file_path, class_="lang-pkgs", type=u.analyzer, error=u.reason))
    if store is not None:
        store.close()
    return results, meta


def load_ignores(opts: ScanOptions) -> tuple[tuple[suppress.IgnoreEntry, ...], list[str]]:
    path = opts.ignorefile
    if path is None or not path.exists():
        return (), []
    try:
        entries = suppress.parse_ignorefile(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as e:
        raise ScanError(f"cannot read ignore file {path}: {e}") from None
    except suppress.IgnoreFileError as e:
        raise ScanError(str(e)) from None
    today = dt.datetime.now(dt.UTC).date()
    return tuple(entries), suppress.expiry_warnings(tuple(entries), today, str(path))


def scan(opts: ScanOptions) -> Report:
    ignores, warnings = load_ignores(opts)
    for w in warnings:
        log.warning("%s", w)
    inv = collect_fs(opts)
    results, meta = detect(inv, opts)
    meta = msgspec.structs.replace(meta, unknowns=tuple(inv.unknowns), warnings=tuple(warnings))
    report = Report(
        vigil_version=_version(),
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        artifact_name=opts.artifact_name or str(opts.target),
        artifact_type="filesystem",
        metadata=meta,
        results=tuple(results),
    )
    return suppress.apply(
        report,
        suppress.Filters(severities=opts.severities, ignore_unfixed=opts.ignore_unfixed, ignores=ignores),
    )
