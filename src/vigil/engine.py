"""The pipeline (ARCHITECTURE.md top): source -> analyzers -> inventory -> detectors -> findings -> filters.

Shells (CLI, server, operator) only build ScanOptions and render the Report this returns.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec

from vigil.analyzers.registry import MAX_RELATED_FILES, AnalysisInput, Analyzer, all_analyzers, run_guarded
from vigil.analyzers.secrets.engine import SecretScanner
from vigil.analyzers.secrets.rules import RuleSet
from vigil.detectors import remediation
from vigil.findings import suppress
from vigil.findings.blob import BlobInfo, SecretsInFile
from vigil.findings.records import SEVERITY_RANK, Metadata, Report, Result, SecretFinding, Vulnerability
from vigil.findings.vex import VexError, VexStatement, parse_vex
from vigil.inventory.records import Application, Unknown
from vigil.settings import ScanOptions
from vigil.sources import fs

if TYPE_CHECKING:
    from vigil.vulndb.store import Store

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


# Directories whose lockfiles describe other projects' builds (a lockfile inside node_modules is not an app,
# Trivy #4948); installed-package analyzers still read them in rootfs/image scans.
_INSTALLED_SKIPS = (".git", ".hg", ".svn", "__pycache__")


def _in_default_skip(rel: str) -> bool:
    return any(part in fs.DEFAULT_SKIP_DIRS for part in rel.split("/")[:-1])


def drop_os_owned(inv: Inventory, owned: frozenset[str]) -> Inventory:
    """The hook for OS package file lists (dpkg/rpm/apk, from the image issue): language packages whose metadata
    file belongs to an OS package (e.g. /usr/lib/python3/dist-packages/*.dist-info from python3-urllib3) are
    reported once, as the OS package, never again as a language package. Paths are compared without a leading
    "/"; a nested jar is owned when its outer archive is."""
    if not owned:
        return inv
    norm = {o.lstrip("/") for o in owned}

    def is_owned(path: str) -> bool:
        path = path.lstrip("/")
        if path in norm:
            return True
        for ext in (".jar/", ".war/", ".ear/", ".par/"):
            i = path.find(ext)
            if i >= 0 and path[: i + len(ext) - 1] in norm:
                return True
        return False

    apps = [a for a in inv.applications if not is_owned(a.file_path)]
    return Inventory(applications=apps, unknowns=[u for u in inv.unknowns if not is_owned(u.file_path)])


def collect_fs(opts: ScanOptions, analyzer_kinds: tuple[str, ...] | None = None) -> Inventory:
    """Run the analyzers of `analyzer_kinds` (default opts.analyzer_kinds: "lockfile" for fs; rootfs adds
    "installed") over the target, then drop what OS packages own (opts.os_owned_paths)."""
    kinds = tuple(analyzer_kinds or opts.analyzer_kinds)
    inv = Inventory()
    analyzers = [a for a in all_analyzers() if a.kind in kinds]
    installed = "installed" in kinds
    binaries = [a for a in analyzers if a.executables]

    def runs(a: Analyzer, rel: str) -> bool:
        # lockfiles below node_modules/vendor/... describe other projects' builds: never apps
        return a.matches(rel) and not (a.kind == "lockfile" and installed and _in_default_skip(rel))

    def wanted(rel: str) -> bool:
        return any(runs(a, rel) for a in analyzers)

    try:
        refs = list(fs.walk(opts.target, wanted, opts.skip_dirs, opts.skip_files,
                            default_skips=_INSTALLED_SKIPS if installed else fs.DEFAULT_SKIP_DIRS,
                            executables=bool(binaries)))
    except fs.SourceError as e:
        raise ScanError(str(e)) from None
    # files analyzers pull in through `related` (parent POMs …): only inside the scan root, read once per scan
    scan_root = opts.target if opts.target.is_dir() else opts.target.parent
    related_cache: dict[str, bytes | None] = {}
    for ref in refs:
        chosen = [a for a in analyzers if runs(a, ref.rel_path)]
        if ref.executable:
            chosen += [a for a in binaries if a not in chosen]
        for a in chosen:
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
            related = (
                fs.read_related(scan_root, ref.rel_path, data, a.related, opts.max_file_size, MAX_RELATED_FILES,
                                related_cache)
                if a.related is not None
                else {}
            )
            res = run_guarded(a, AnalysisInput(path=ref.rel_path, data=data, siblings=siblings, related=related))
            inv.applications.extend(res.applications)
            inv.unknowns.extend(res.unknowns)
    return drop_os_owned(inv, opts.os_owned_paths)


def license_results(inv: Inventory, opts: ScanOptions) -> list[Result]:
    """`--scanners license`: one class "license" result per application that declares licenses."""
    from vigil.detectors.licenses import LicensePolicy, findings_for

    policy = LicensePolicy.build(opts.license_categories, opts.ignored_licenses)
    out: list[Result] = []
    for app in sorted(inv.applications, key=lambda a: (a.file_path, a.type)):
        pkgs = [p for p in app.packages if (opts.include_dev_deps or not p.dev)
                and p.relationship in opts.pkg_relationships]
        found = findings_for(pkgs, policy, app.file_path)
        if found:
            out.append(Result(target=app.file_path, class_="license", type=app.type, licenses=found))
    return out


def _sort_vulns(vulns: list[Vulnerability]) -> tuple[Vulnerability, ...]:
    return tuple(
        sorted(
            vulns,
            key=lambda v: (v.pkg_name, v.installed_version, -SEVERITY_RANK[v.severity], v.vulnerability_id),
        )
    )


def open_store(opts: ScanOptions) -> Store | None:
    """The DB for this scan (None when vulnerabilities are not scanned). One scan should read one Store: a DB
    swapped in by an update between two opens would mix two DBs in one report."""
    from vigil.vulndb.store import DBError, Store

    if "vuln" not in opts.scanners:
        return None
    try:
        return Store(opts.db_path)
    except DBError as e:
        raise ScanError(str(e)) from None


def detect(inv: Inventory, opts: ScanOptions, store: Store | None = None) -> tuple[list[Result], Metadata]:
    """Match the inventory's packages. `store`: a Store the caller opened (and closes); else one is opened here."""
    from vigil.detectors.vuln.generic import GenericMatcher

    own = store is None
    if own:
        store = open_store(opts)
    meta = Metadata()
    if store is not None:
        meta = Metadata(
            db_built_at=store.metadata.built_at,
            db_next_update=store.metadata.next_update,
            db_schema_version=store.metadata.schema_version,
        )
    matcher = GenericMatcher(store) if store is not None else None
    results: list[Result] = []
    for app in sorted(inv.applications, key=lambda a: (a.file_path, a.type)):
        if "library" not in opts.pkg_types:  # --pkg-types os: language packages are not reported at all
            break
        pkgs = [p for p in app.packages if (opts.include_dev_deps or not p.dev)
                and p.relationship in opts.pkg_relationships]
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
                packages=tuple(pkgs) if opts.list_all_pkgs or opts.dependency_tree else (),
                vulnerabilities=_sort_vulns(vulns),
            )
        )
    if "license" in opts.scanners and "library" in opts.pkg_types:
        results.extend(license_results(inv, opts))
    for u in sorted(inv.unknowns, key=lambda u: u.file_path):
        results.append(Result(target=u.file_path, class_="lang-pkgs", type=u.analyzer, error=u.reason))
    if own and store is not None:
        store.close()
    return results, meta


def load_ignores(opts: ScanOptions) -> tuple[tuple[suppress.IgnoreEntry, ...], list[str]]:
    """The ignore file: plain `.vigilignore`, or YAML when the name ends .yaml/.yml (like Trivy). With the default
    name and no `.vigilignore`, a `.vigilignore.yaml` next to it is used. Returns the entries and the warnings
    (expired entries, entries expiring within 14 days)."""
    path = opts.ignorefile
    if path is not None and not path.exists() and path.name == ".vigilignore":
        path = path.with_name(".vigilignore.yaml")
    if path is None or not path.exists():
        return (), []
    try:
        text = path.read_text(encoding="utf-8")
        if suppress.is_yaml_ignorefile(path.name):
            entries = suppress.parse_ignore_yaml(text, str(path))
        else:
            entries = suppress.parse_ignorefile(text, str(path))
    except (OSError, UnicodeDecodeError) as e:
        raise ScanError(f"cannot read ignore file {path}: {e}") from None
    except suppress.IgnoreFileError as e:
        raise ScanError(str(e)) from None
    today = dt.datetime.now(dt.UTC).date()
    return tuple(entries), (suppress.expiry_warnings(tuple(entries), today, str(path))
                            + suppress.expiry_notices(tuple(entries), today, str(path)))


def load_vex(opts: ScanOptions) -> tuple[VexStatement, ...]:
    out: list[VexStatement] = []
    for path in opts.vex:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ScanError(f"cannot read VEX file {path}: {e.strerror or e}") from None
        try:
            out.extend(parse_vex(data, str(path)))
        except VexError as e:
            raise ScanError(str(e)) from None
    return tuple(out)


def _finish(opts: ScanOptions, inv: Inventory, artifact_type: Literal["filesystem", "sbom"],
            secrets: list[Result] | None = None) -> Report:
    """Detection, filters and remediation over an inventory (the server side of a client/server scan).
    `secrets`: precomputed secret results (client mode); None = scan the target's files here."""
    ignores, warnings = load_ignores(opts)
    for w in warnings:
        log.warning("%s", w)
    vex = load_vex(opts)
    results, meta = detect(inv, opts)
    if "secret" in opts.scanners and artifact_type == "filesystem":
        results.extend(secret_results(opts) if secrets is None else secrets)
    meta = msgspec.structs.replace(meta, unknowns=tuple(inv.unknowns), warnings=tuple(warnings))
    report = Report(
        vigil_version=_version(),
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        artifact_name=opts.artifact_name or str(opts.target),
        artifact_type=artifact_type,
        metadata=meta,
        results=tuple(results),
    )
    report = suppress.apply(
        report,
        suppress.Filters(severities=opts.severities, ignore_unfixed=opts.ignore_unfixed, ignores=ignores, vex=vex),
    )
    return remediation.annotate(report)


def scan(opts: ScanOptions) -> Report:
    load_ignores(opts)  # fail fast on a malformed ignore file, before walking the tree
    load_vex(opts)
    if "secret" in opts.scanners:
        load_secret_ruleset(opts)  # fail fast on a malformed secret config
    # --scanners secret alone reads no lockfiles (Trivy reports only secret results then)
    inv = Inventory() if set(opts.scanners) <= {"secret"} else collect_fs(opts)
    return _finish(opts, inv, "filesystem")


# --- client/server split (issue 8): analysis -> BlobInfo (client) ; BlobInfo -> Report (server) ---------------


def analyze_fs(opts: ScanOptions) -> BlobInfo:
    """The analysis half of `vigil fs`/`vigil rootfs`: packages, unknowns and secrets of the target, as one
    BlobInfo (what a client uploads). DiffID is a digest of the blob's own content."""
    load_ignores(opts)
    load_vex(opts)
    if "secret" in opts.scanners:
        load_secret_ruleset(opts)
    inv = Inventory() if set(opts.scanners) <= {"secret"} else collect_fs(opts)
    secrets: tuple[SecretsInFile, ...] = ()
    if "secret" in opts.scanners:
        secrets = tuple(SecretsInFile(file_path=r.target, secrets=r.secrets) for r in secret_results(opts))
    return content_addressed(BlobInfo(diff_id="", applications=tuple(inv.applications),
                                      unknowns=tuple(inv.unknowns), secrets=secrets))


def analyze_sbom(opts: ScanOptions) -> BlobInfo:
    load_ignores(opts)
    load_vex(opts)
    inv = collect_sbom(opts)
    return content_addressed(BlobInfo(diff_id="", applications=tuple(inv.applications)))


def content_addressed(blob: BlobInfo) -> BlobInfo:
    """The blob with DiffID = sha256 of its encoding (without DiffID): the key a server stores it under."""
    import hashlib

    raw = msgspec.msgpack.encode(msgspec.structs.replace(blob, diff_id=""))
    return msgspec.structs.replace(blob, diff_id="sha256:" + hashlib.sha256(raw).hexdigest())


def report_from_blob(opts: ScanOptions, blob: BlobInfo, artifact_type: Literal["filesystem", "sbom"]) -> Report:
    """The detection half: the same Report `scan`/`scan_sbom` give for the target the blob was made from."""
    inv = Inventory(applications=list(blob.applications), unknowns=list(blob.unknowns))
    secrets = [Result(target=s.file_path, class_="secret", secrets=s.secrets) for s in blob.secrets]
    return _finish(opts, inv, artifact_type, secrets=secrets)


def collect_sbom(opts: ScanOptions) -> Inventory:
    """Read an SBOM (CycloneDX JSON/XML, SPDX JSON) and turn its packages (purls) into applications."""
    from vigil.analyzers.sbom import SBOMError, parse_sbom

    try:
        data = fs.read_capped(opts.target, opts.max_file_size)
    except fs.FileTooLarge as e:
        raise ScanError(str(e)) from None
    except OSError as e:
        raise ScanError(f"cannot read SBOM {opts.target}: {e.strerror or e}") from None
    try:
        apps = parse_sbom(data, opts.target.name)
    except SBOMError as e:
        raise ScanError(f"{opts.target}: {e}") from None
    return Inventory(applications=list(apps))


def scan_sbom(opts: ScanOptions) -> Report:
    """`vigil sbom`: the SBOM's packages through the same detect/filter/remediation steps as `vigil fs`."""
    load_ignores(opts)
    load_vex(opts)
    return _finish(opts, collect_sbom(opts), "sbom")


def load_report(path: Path) -> Report:
    """A saved JSON report (for `vigil convert`): decoded into the same Report record, so every format renders
    from it exactly as from a fresh scan."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ScanError(f"cannot read report {path}: {e.strerror or e}") from None
    try:
        return msgspec.json.decode(data, type=Report)
    except msgspec.DecodeError as e:
        raise ScanError(f"{path}: not a Vigil JSON report: {e}") from None


# --- secrets (issue 6): walk every file once, stream it through the secret engine, one Result per file ---------

_SECRET_SCANNER = None  # set in the parent before forking workers (a hyperscan database is not picklable)
_PARALLEL_MIN_FILES = 256  # below this, worker start-up costs more than it saves


def load_secret_ruleset(opts: ScanOptions) -> RuleSet:
    """Built-in rules adjusted by vigil-secret.yaml (--secret-config). A missing default file is fine; a missing
    file the user named is an error (exit 2), as is a malformed one."""
    from vigil.analyzers.secrets.rules import SecretConfigError, effective, parse_config

    path = opts.secret_config
    if path is None or not path.exists():
        if path is not None and path != Path("vigil-secret.yaml"):
            raise ScanError(f"secret config {path} not found")
        return effective(None)
    try:
        data = fs.read_capped(path, 16 * 1024 * 1024)
    except (OSError, fs.FileTooLarge) as e:
        raise ScanError(f"cannot read secret config {path}: {e}") from None
    try:
        return effective(parse_config(data, str(path)))
    except SecretConfigError as e:
        raise ScanError(str(e)) from None


def secret_rules_digest(opts: ScanOptions) -> str:
    """Cache-key part for secret findings (ARCHITECTURE.md §8): engine version + sha256 of the effective rule set
    (built-in rules adjusted by vigil-secret.yaml), so editing the config invalidates exactly the secret blobs."""
    from vigil.analyzers.secrets.engine import NAME, VERSION

    return f"{NAME}/{VERSION}/{load_secret_ruleset(opts).digest()}"


def _secret_scan_file(scanner: SecretScanner, ref: fs.FileRef) -> list[SecretFinding]:
    try:
        return scanner.scan_chunks(ref.rel_path, fs.iter_chunks(ref.abs_path))
    except OSError as e:
        log.warning("%s: cannot read: %s", ref.rel_path, e.strerror or e)
        return []


def _secret_batch(refs: list[fs.FileRef]) -> list[tuple[str, list[SecretFinding]]]:
    scanner = _SECRET_SCANNER
    assert scanner is not None
    return [(r.rel_path, f) for r in refs if (f := _secret_scan_file(scanner, r))]


def secret_results(opts: ScanOptions, ruleset: RuleSet | None = None) -> list[Result]:
    global _SECRET_SCANNER
    import os

    from vigil.analyzers.secrets.engine import SecretScanner

    rs = ruleset if ruleset is not None else load_secret_ruleset(opts)
    scanner = SecretScanner(rs)
    cfg = opts.secret_config.resolve() if opts.secret_config is not None and opts.secret_config.exists() else None

    def wanted(rel: str) -> bool:
        return scanner.wants(rel)

    try:
        refs = [r for r in fs.walk(opts.target, wanted, opts.skip_dirs, opts.skip_files)
                if cfg is None or r.abs_path.resolve() != cfg]  # Trivy skips its own config file
    except fs.SourceError as e:
        raise ScanError(str(e)) from None
    workers = opts.parallel or (os.cpu_count() or 1)
    found: list[tuple[str, list[SecretFinding]]] = []
    if workers > 1 and len(refs) >= _PARALLEL_MIN_FILES:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        _SECRET_SCANNER = scanner
        try:
            ctx = mp.get_context("fork")
            n = max(1, min(64, len(refs) // (workers * 8)))
            batches = [refs[i : i + n] for i in range(0, len(refs), n)]
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                for part in pool.map(_secret_batch, batches):
                    found.extend(part)
        finally:
            _SECRET_SCANNER = None
    else:
        found = [(r.rel_path, f) for r in refs if (f := _secret_scan_file(scanner, r))]
    return [Result(target=rel, class_="secret", secrets=tuple(f)) for rel, f in sorted(found, key=lambda x: x[0])]
