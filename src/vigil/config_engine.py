"""`vigil config`: the I/O around the misconfiguration scan (vigil.analyzers.misconf.scan, which is pure).

read_tree (fs.walk with scan.wants, size-capped reads) -> scan.scan_files -> Report -> ignore file and severities
(suppress.apply) -> scan.finalize (MisconfSummary at the selected severities, PASS kept only with
--include-non-failures, like Trivy's pkg/result/filter.go). Custom Rego checks and --helm-values files are read
here too; everything about config types, checks and charts lives in the scan module.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.analyzers.misconf.checks.base import Check
from vigil.analyzers.misconf.scan import (  # re-exported: callers and tests import them from here
    MisconfOptions,
    finalize,
    inline_ignores,
    is_compose,
    is_dockerfile,
    is_yaml_or_json,
    looks_like_k8s,
    rego_input,
    scan_files,
    scan_image_history,
    wants,
)
from vigil.engine import ScanError, load_ignores
from vigil.findings import suppress
from vigil.findings.records import Metadata, Report
from vigil.settings import SEVERITY_NAMES, ScanOptions
from vigil.sources import fs

__all__ = ["ConfigOptions", "config_options", "finalize", "inline_ignores", "is_compose", "is_dockerfile",
           "is_yaml_or_json", "load_custom_checks", "looks_like_k8s", "read_tree", "rego_input", "scan_config",
           "scan_image_history"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfigOptions:
    target: Path
    severities: tuple[str, ...] = SEVERITY_NAMES
    skip_dirs: tuple[str, ...] = ()
    skip_files: tuple[str, ...] = ()
    ignorefile: Path | None = None
    max_file_size: int = 256 * 1024 * 1024
    include_non_failures: bool = False
    include_deprecated_checks: bool = False
    config_check: tuple[Path, ...] = ()
    config_data: tuple[Path, ...] = ()
    check_namespaces: tuple[str, ...] = ("user",)
    helm_values: tuple[Path, ...] = ()
    helm_set: tuple[str, ...] = ()
    helm_kube_version: str = ""
    artifact_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def config_options(target: Path, values: Mapping[str, Any]) -> ConfigOptions:
    def paths(key: str) -> tuple[Path, ...]:
        return tuple(Path(p).expanduser() for p in values.get(key) or ())

    return ConfigOptions(
        target=target,
        severities=tuple(values.get("severity") or SEVERITY_NAMES),
        skip_dirs=tuple(values.get("skip_dirs") or ()),
        skip_files=tuple(values.get("skip_files") or ()),
        ignorefile=values.get("ignorefile"),
        max_file_size=int(values.get("max_file_size") or 256 * 1024 * 1024),
        include_non_failures=bool(values.get("include_non_failures")),
        include_deprecated_checks=bool(values.get("include_deprecated_checks")),
        config_check=paths("config_check"),
        config_data=paths("config_data"),
        check_namespaces=tuple(values.get("check_namespaces") or ("user",)),
        helm_values=paths("helm_values"),
        helm_set=tuple(values.get("helm_set") or ()),
        helm_kube_version=str(values.get("helm_kube_version") or ""),
        artifact_name=str(target),
    )


# --- custom checks -----------------------------------------------------------------------------------------------

def _read_tree(paths: Iterable[Path], exts: tuple[str, ...], what: str, max_size: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for p in paths:
        try:
            refs = list(fs.walk(p, lambda r: r.lower().endswith(exts)))
        except fs.SourceError as e:
            raise ScanError(f"{what}: {e}") from None
        for ref in refs:
            try:
                out[str(ref.abs_path)] = fs.read_capped(ref.abs_path, max_size)
            except (OSError, fs.FileTooLarge) as e:
                raise ScanError(f"{what} {ref.abs_path}: cannot read: {e}") from None
    return out


def load_custom_checks(opts: ConfigOptions) -> tuple[Check, ...]:
    if not opts.config_check:
        return ()
    from vigil.analyzers.misconf import rego

    raw = _read_tree(opts.config_check, (".rego",), "--config-check", opts.max_file_size)
    if not raw:
        raise ScanError(f"--config-check: no .rego files in {', '.join(map(str, opts.config_check))}")
    data_docs: list[Any] = []
    for path, blob in _read_tree(opts.config_data, (".json", ".yaml", ".yml"), "--config-data",
                                 opts.max_file_size).items():
        data_docs.append(_load_data(path, blob))
    try:
        sources = {p: b.decode("utf-8") for p, b in raw.items()}
        with _stdout_to_stderr():  # rego-cpp prints compiler errors on stdout; keep stdout for the report
            return rego.load_checks(sources, data_docs, opts.check_namespaces, rego_input)
    except UnicodeDecodeError as e:
        raise ScanError(f"--config-check: not UTF-8: {e}") from None
    except rego.RegoLoadError as e:
        raise ScanError(f"custom check: {e}") from None


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real fd 1 (e.g. captured by a test runner): nothing to redirect
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _load_data(path: str, blob: bytes) -> Any:
    import yaml

    try:
        if path.lower().endswith(".json"):
            return json.loads(blob)
        return yaml.safe_load(blob)
    except (ValueError, yaml.YAMLError) as e:
        raise ScanError(f"--config-data {path}: invalid document: {e}") from None


# --- the scan ----------------------------------------------------------------------------------------------------

def read_tree(target: Path, skip_dirs: tuple[str, ...], skip_files: tuple[str, ...],
              max_size: int) -> tuple[dict[str, bytes], dict[str, str]]:
    """The files under `target` the misconfiguration scan wants, in walk order: (path -> bytes, path -> why it
    could not be read)."""
    files: dict[str, bytes] = {}
    errors: dict[str, str] = {}
    try:
        for ref in fs.walk(target, wants, skip_dirs, skip_files):
            try:
                files[ref.rel_path] = fs.read_capped(ref.abs_path, max_size)
            except fs.FileTooLarge as e:
                errors[ref.rel_path] = str(e)
            except OSError as e:
                errors[ref.rel_path] = e.strerror or str(e)
    except fs.SourceError as e:
        raise ScanError(str(e)) from None
    return files, errors


def _helm_values(opts: ConfigOptions) -> tuple[bytes, ...]:
    out = []
    for p in opts.helm_values:
        try:
            out.append(fs.read_capped(p, opts.max_file_size))
        except (OSError, fs.FileTooLarge) as e:
            raise ScanError(f"--helm-values {p}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    return tuple(out)


def scan_config(opts: ConfigOptions) -> Report:
    legacy = ScanOptions(target=opts.target, db_path=Path("-"), ignorefile=opts.ignorefile)
    ignores, warnings = load_ignores(legacy)
    for w in warnings:
        log.warning("%s", w)
    custom = load_custom_checks(opts)
    files, errors = read_tree(opts.target, opts.skip_dirs, opts.skip_files, opts.max_file_size)
    misconf = MisconfOptions(include_deprecated_checks=opts.include_deprecated_checks, custom_checks=custom,
                             helm_values=_helm_values(opts), helm_set=opts.helm_set,
                             helm_kube_version=opts.helm_kube_version)
    out = scan_files(files, misconf, errors)
    report = Report(
        vigil_version=_version(),
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        artifact_name=opts.artifact_name or str(opts.target),
        artifact_type="filesystem",
        metadata=Metadata(suppressed=out.suppressed, warnings=(*warnings, *out.warnings)),
        results=out.results,
    )
    report = suppress.apply(report, suppress.Filters(severities=opts.severities, ignores=ignores))
    return finalize(report, opts.severities, opts.include_non_failures)


def _version() -> str:
    from vigil import __version__

    return __version__
