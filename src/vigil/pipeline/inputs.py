"""Files the user names to adjust a scan — the secret config, custom Rego checks and their data, Helm values —
read once per scan, before any scanning work, so a malformed one fails fast with one line (exit 2)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.errors import UserError
from vigil.log import get_logger
from vigil.settings import ScanOptions, is_parse_error, read_untrusted, yaml_error_position
from vigil.sources import fs

if TYPE_CHECKING:
    from vigil.analyzers.misconf.checks.base import Check
    from vigil.analyzers.misconf.scan import MisconfOptions
    from vigil.analyzers.secrets.rules import RuleSet

log = get_logger(__name__)


class InputError(UserError):
    """A secret config, custom check, check data or Helm values file that cannot be used."""


_DEFAULT_SECRET_CONFIGS = (Path("vigil-secret.yaml"), Path("trivy-secret.yaml"))


def _secret_config_path(opts: ScanOptions) -> Path | None:
    path = opts.secret_config
    if path == Path("vigil-secret.yaml") and not os.path.lexists(path) and os.path.lexists("trivy-secret.yaml"):
        path = Path("trivy-secret.yaml")  # Trivy's default name: a project moving from Trivy keeps its rules
    return path


def packaged_secret_rules_only(opts: ScanOptions) -> bool:
    """Whether the scan has no secret config to read (none named, no file of a default name): its rules are then
    the packaged ones, which cannot fail to load, so they are loaded by the first file scanned (an empty tree: never;
    see packaged_secret_rules)."""
    path = _secret_config_path(opts)
    return path is None or (path in _DEFAULT_SECRET_CONFIGS and not os.path.lexists(path))


def packaged_secret_rules() -> RuleSet:
    from vigil.analyzers.secrets.rules import effective

    return effective(None)


def load_secret_ruleset(opts: ScanOptions) -> RuleSet:
    """Built-in rules adjusted by vigil-secret.yaml (--secret-config). A missing default file is fine; a missing
    file the user named is an error (exit 2), as is a malformed one."""
    from vigil.analyzers.secrets.rules import SecretConfigError, effective, parse_config

    path = _secret_config_path(opts)
    if path is not None and "secret_config" in opts.untrusted_files:
        notes: list[str] = []
        data = read_untrusted(path, "secret config", notes)
        for n in notes:
            log.warning("%s", n)
        if data is None:
            if notes or path in _DEFAULT_SECRET_CONFIGS:
                return effective(None)
            raise InputError(f"secret config {path} not found")
        try:
            return effective(parse_config(data, str(path)))
        except SecretConfigError as e:
            if is_parse_error(e.__cause__):  # the parser's message quotes the text
                raise InputError(f"secret config {path}: {yaml_error_position(e.__cause__)}") from None
            raise
    if path is None or not path.exists():
        if path is not None and path not in _DEFAULT_SECRET_CONFIGS:
            raise InputError(f"secret config {path} not found")
        return effective(None)
    try:
        data = fs.read_capped(path, 16 * 1024 * 1024)
    except (OSError, fs.FileTooLarge) as e:
        raise InputError(f"cannot read secret config {path}: {e}") from e
    return effective(parse_config(data, str(path)))


def load_misconf_options(opts: ScanOptions, file_patterns: tuple[tuple[str, str], ...] = ()
                         ) -> tuple[MisconfOptions, str]:
    """The misconfiguration options with the custom checks compiled and the Helm values read, and a digest of
    all of it (analysis cache keys include it). `file_patterns`: --file-patterns of config types, parsed."""
    from vigil.analyzers.misconf.scan import SCANNED_TYPES, MisconfOptions

    custom, sources = load_custom_checks(opts)
    values = tuple(_read(p, "--helm-values", opts.max_file_size) for p in opts.helm_values)
    file_values = tuple(_helm_file_values(e, opts.max_file_size) for e in opts.helm_set_file)
    # --misconfig-scanners: the types not asked for are not parsed at all (none scanned: "none", matching nothing)
    types = (tuple(t for t in opts.misconfig_scanners if t in SCANNED_TYPES) or ("none",)) \
        if opts.misconfig_scanners else ()
    h = hashlib.sha256()
    parts: list[str | bytes] = [str(opts.include_deprecated_checks), *sorted(sources), *values, *opts.helm_set,
                                opts.helm_kube_version, str(opts.helm_skip_hooks), *opts.check_namespaces,
                                "\0set-string", *opts.helm_set_string, "\0set-file", *file_values,
                                "\0api-versions", *opts.helm_api_versions, "\0types", *types,
                                "\0patterns", *(f"{k}:{rx}" for k, rx in file_patterns)]
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    mo = MisconfOptions(include_deprecated_checks=opts.include_deprecated_checks, custom_checks=custom,
                        helm_values=values, helm_set=opts.helm_set, helm_kube_version=opts.helm_kube_version,
                        helm_skip_hooks=opts.helm_skip_hooks, helm_set_string=opts.helm_set_string,
                        helm_file_values=file_values, helm_api_versions=opts.helm_api_versions, types=types,
                        file_patterns=file_patterns)
    return mo, h.hexdigest()


def _helm_file_values(expr: str, cap: int) -> str:
    """One --helm-set-file KEY=PATH expression with its files read (paths relative to the working directory, as
    in Trivy), as the JSON object Helm merges last. A malformed expression or an unreadable file: one line, exit 2."""
    import json  # imported where used (here and below): only misconfiguration inputs need it

    from vigil.analyzers.errors import ParseError
    from vigil.analyzers.misconf.helm import helm_file_values

    try:
        return json.dumps(helm_file_values(expr, lambda path: _read(Path(path), "--helm-set-file", cap)),
                          sort_keys=True)
    except ParseError as e:
        raise InputError(str(e)) from None


def _read(path: Path, what: str, cap: int) -> bytes:
    try:
        return fs.read_capped(path, cap)
    except (OSError, fs.FileTooLarge) as e:
        raise InputError(f"{what} {path}: cannot read: {getattr(e, 'strerror', None) or e}") from e


def _read_tree(paths: Iterable[Path], exts: tuple[str, ...], what: str, max_size: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for p in paths:
        try:
            refs = list(fs.walk(p, lambda r: r.lower().endswith(exts)))
        except fs.SourceError as e:
            raise InputError(f"{what}: {e}") from e
        for ref in refs:
            out[str(ref.abs_path)] = _read(ref.abs_path, what, max_size)
    return out


def load_custom_checks(opts: ScanOptions) -> tuple[tuple[Check, ...], list[str]]:
    """--config-check Rego files (with --config-data documents), compiled. Returns the checks and the sources
    (for the cache digest)."""
    if not opts.config_check:
        return (), []
    from vigil.analyzers.misconf import rego
    from vigil.analyzers.misconf.scan import rego_input

    raw = _read_tree(opts.config_check, (".rego",), "--config-check", opts.max_file_size)
    if not raw:
        raise InputError(f"--config-check: no .rego files in {', '.join(map(str, opts.config_check))}")
    data_docs: list[Any] = []
    for path, blob in _read_tree(opts.config_data, (".json", ".yaml", ".yml"), "--config-data",
                                 opts.max_file_size).items():
        data_docs.append(_load_data(path, blob))
    try:
        sources = {p: b.decode("utf-8") for p, b in raw.items()}
    except UnicodeDecodeError as e:
        raise InputError(f"--config-check: not UTF-8: {e}") from e
    try:
        with _stdout_to_stderr():  # rego-cpp prints compiler errors on stdout; keep stdout for the report
            checks = rego.load_checks(sources, data_docs, opts.check_namespaces, rego_input)
    except rego.RegoLoadError as e:
        raise InputError(f"custom check: {e}") from e
    import json

    return tuple(checks), [f"{p}\0{src}" for p, src in sorted(sources.items())] + [
        json.dumps(d, sort_keys=True, default=str) for d in data_docs]


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
    import json

    import yaml

    from vigil.yaml_safe import safe_load

    try:
        if path.lower().endswith(".json"):
            return json.loads(blob)
        return safe_load(blob)
    except (ValueError, yaml.YAMLError) as e:
        raise InputError(f"--config-data {path}: invalid document: {e}") from e
