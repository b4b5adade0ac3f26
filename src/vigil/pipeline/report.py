"""The report stage, written once: the user's filters over a detected Report, then remediation.

Detection (local or on a server) reports everything; what the user asked to see is decided here, on the machine
that holds the ignore file and the VEX documents (they never travel to a server). Order, as Trivy: ignore-file
warnings first in Metadata.Warnings; severity, --ignore-unfixed, ignore file and VEX filters (suppressed findings
kept with the reason); the misconfiguration summary and PASS filtering at the selected severities; remediation over
what is left.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from vigil.errors import UserError
from vigil.findings.records import Report
from vigil.log import get_logger
from vigil.settings import ScanOptions, is_parse_error, read_untrusted, yaml_error_position

if TYPE_CHECKING:
    from vigil.findings import suppress
    from vigil.findings.vex import VexStatement

# vigil.findings.suppress and .vex are imported when there is an ignore file, a VEX document or a finding to filter:
# a scan of a tree with nothing in it needs neither

log = get_logger(__name__)


class ReportError(UserError):
    """An ignore file, VEX document or saved report that cannot be read."""


class ReportFilters(msgspec.Struct, frozen=True):
    severities: tuple[str, ...]
    ignore_unfixed: bool = False
    ignores: tuple[suppress.IgnoreEntry, ...] = ()
    vex: tuple[VexStatement, ...] = ()
    include_non_failures: bool = False
    warnings: tuple[str, ...] = ()  # from the ignore file (expired and soon-expiring entries)
    ignore_status: tuple[str, ...] = ()
    policy: IgnorePolicy | None = None
    config_types: tuple[str, ...] = ()  # --misconfig-scanners (empty: every type)
    k8s_version: tuple[int, int] | None = None  # --k8s-version


def load_filters(opts: ScanOptions) -> ReportFilters:
    """Read the ignore file and the VEX documents: before any scanning work, so a malformed one fails fast."""
    ignores, warnings = load_ignores(opts)
    return ReportFilters(severities=tuple(opts.severities), ignore_unfixed=opts.ignore_unfixed, ignores=ignores,
                         vex=load_vex(opts), include_non_failures=opts.include_non_failures,
                         warnings=tuple(warnings), ignore_status=tuple(opts.ignore_status),
                         policy=IgnorePolicy(opts.ignore_policy) if opts.ignore_policy else None,
                         config_types=config_types(opts.misconfig_scanners),
                         k8s_version=_k8s_version(opts.k8s_version))


def _k8s_version(text: str) -> tuple[int, int] | None:
    if not text:
        return None
    from vigil.analyzers.misconf.k8s_removals import parse_version

    try:
        return parse_version(text)
    except ValueError as e:
        raise ReportError(f"--k8s-version: {e}") from None


# The config types of --misconfig-scanners Vigil scans (a Helm chart renders to Kubernetes manifests but is its own
# type, as in Trivy); Trivy's others (terraform, cloudformation…) are accepted and match nothing.
SCANNED_CONFIG_TYPES = ("dockerfile", "kubernetes", "helm", "compose")


def config_types(selected: tuple[str, ...]) -> tuple[str, ...]:
    if not selected:
        return ()
    types = tuple(t for t in selected if t in SCANNED_CONFIG_TYPES)
    if not types:
        log.warning("--misconfig-scanners %s: none of these config types is scanned by Vigil (it scans %s)",
                    ",".join(selected), ", ".join(SCANNED_CONFIG_TYPES))
        return ("none",)
    return types


class IgnorePolicy:
    """--ignore-policy: a Rego file (Trivy's format: `package trivy`, a rule `ignore`) evaluated with each finding
    as `input` (its JSON object, with Trivy's keys: VulnerabilityID, PkgName, Severity, Status, ID, RuleID…); the
    finding is dropped, and kept among the suppressed with the policy named, when `data.trivy.ignore` is true."""

    def __init__(self, path: Path) -> None:
        self.name = f"ignore policy {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ReportError(f"cannot read ignore policy {path}: {getattr(e, 'strerror', None) or e}") from e
        from regopy import Interpreter

        self._interp = Interpreter()
        try:
            self._interp.add_module(path.name, text)
            self._interp.set_input({})
            self._interp.query("data.trivy.ignore")  # compiles the module: an error is the user's, now
        except Exception as e:  # regopy raises its own error type with the compiler's messages
            first = (str(e).strip().splitlines() or ["compile error"])[0]
            raise ReportError(f"ignore policy {path}: invalid Rego: {first}") from e

    def __call__(self, finding: dict[str, object]) -> bool:
        import json

        self._interp.set_input(finding)
        out = str(self._interp.query("data.trivy.ignore"))
        if out == "undefined":
            return False
        try:
            exprs = json.loads(out).get("expressions") or [False]
        except ValueError:
            return False
        return exprs[0] is True


def load_ignores(opts: ScanOptions) -> tuple[tuple[suppress.IgnoreEntry, ...], list[str]]:
    """The ignore file: plain `.vigilignore`, or YAML when the name ends .yaml/.yml (like Trivy). With the default
    name and no `.vigilignore`, a `.vigilignore.yaml`, `.trivyignore` or `.trivyignore.yaml` next to it is used. Returns the entries and the warnings
    (expired entries, entries expiring within 14 days)."""
    path = opts.ignorefile
    if path is not None and not os.path.lexists(path) and path.name == ".vigilignore":
        # the default name: then .vigilignore.yaml, then Trivy's .trivyignore and .trivyignore.yaml (a project
        # moving from Trivy keeps its ignore file)
        path = next((c for c in (path.with_name(n) for n in (".vigilignore.yaml", ".trivyignore", ".trivyignore.yaml"))
                     if os.path.lexists(c)), path.with_name(".vigilignore.yaml"))
    if path is None:
        return (), []
    notes: list[str] = []
    try:
        if "ignorefile" in opts.untrusted_files:
            data = read_untrusted(path, "ignore file", notes)
            if data is None:
                return (), notes
            text = _decode_untrusted(data, path)
        elif not path.exists():
            return (), []
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ReportError(f"cannot read ignore file {path}: {e}") from e
    from vigil.findings import suppress

    try:
        if suppress.is_yaml_ignorefile(path.name):
            entries = suppress.parse_ignore_yaml(text, str(path))
        else:
            entries = suppress.parse_ignorefile(text, str(path))
    except suppress.IgnoreFileError as e:
        if "ignorefile" in opts.untrusted_files and is_parse_error(e.__cause__):  # its message quotes the text
            raise ReportError(f"ignore file {path}: {yaml_error_position(e.__cause__)}") from None
        raise
    today = dt.datetime.now(dt.UTC).date()
    return tuple(entries), (notes + suppress.expiry_warnings(tuple(entries), today, str(path))
                            + suppress.expiry_notices(tuple(entries), today, str(path)))


def _decode_untrusted(data: bytes, path: object) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ReportError(f"ignore file {path}: {yaml_error_position(e)}") from None


def load_vex(opts: ScanOptions) -> tuple[VexStatement, ...]:
    if not opts.vex:
        return ()
    from vigil.findings.vex import parse_vex

    out: list[VexStatement] = []
    for path in opts.vex:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ReportError(f"cannot read VEX file {path}: {e.strerror or e}") from e
        out.extend(parse_vex(data, str(path)))
    return tuple(out)


def apply_filters(report: Report, f: ReportFilters) -> Report:
    for w in f.warnings:
        log.warning("%s", w)
    if f.warnings:
        meta = msgspec.structs.replace(report.metadata, warnings=(*f.warnings, *report.metadata.warnings))
        report = msgspec.structs.replace(report, metadata=meta)
    if f.k8s_version is not None:
        from vigil.analyzers.misconf.k8s_removals import judge

        report = msgspec.structs.replace(report, results=judge(report.results, f.k8s_version))
    if f.config_types:
        report = msgspec.structs.replace(report, results=tuple(
            r for r in report.results if r.class_ != "config" or r.type in f.config_types))
    if not report.results:  # the filters, the misconfiguration summary and remediation would leave it as it is
        return report
    from vigil.detectors import remediation
    from vigil.findings import suppress

    report = suppress.apply(report, suppress.Filters(
        severities=f.severities, ignore_unfixed=f.ignore_unfixed, ignores=f.ignores, vex=f.vex,
        ignore_status=f.ignore_status, policy=f.policy, policy_name=f.policy.name if f.policy else ""))
    if any(r.class_ == "config" for r in report.results):  # the misconfiguration stack only when it has work
        from vigil.analyzers.misconf.scan import finalize

        report = finalize(report, f.severities, f.include_non_failures)
    return remediation.annotate(report)


def load_report(p: Path) -> Report:
    """A saved JSON report (for `vigil convert`): decoded into the same Report record, so every format renders
    from it exactly as from a fresh scan."""
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ReportError(f"cannot read report {p}: {e.strerror or e}") from e
    try:
        return msgspec.json.decode(data, type=Report)
    except msgspec.DecodeError as e:
        raise ReportError(f"{p}: not a Vigil JSON report: {e}") from e
