"""`vigil config`: the misconfiguration pipeline (issue 5).

source (fs.walk) -> detect each file's config type -> parse once -> every registered check of that type (plus
custom Rego checks) -> one Result per file (class "config") -> inline/ignore-file suppression -> severity filter
and MisconfSummary -> Report.

Config types: Dockerfile (`Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*`), compose
(`docker-compose*.y*ml`, `compose*.y*ml`), Kubernetes (YAML/JSON with apiVersion and kind; parser
`vigil.analyzers.misconf.kubernetes`), Helm chart directories (Chart.yaml; `vigil.analyzers.misconf.helm`),
and — only when a custom check selects them — any other YAML/JSON file. The Kubernetes and Helm modules are
optional here: if one is not installed, that type is skipped silently.

Like Trivy (pkg/result/filter.go), MisconfSummary counts the checks at the selected severities after
suppression; PASS entries are kept in the report only with --include-non-failures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import importlib
import importlib.util
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import msgspec

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.checks.base import Check, Failure
from vigil.analyzers.misconf.checks.registry import checks_for
from vigil.analyzers.yaml_safe import safe_load
from vigil.engine import ScanError, load_ignores
from vigil.findings import suppress
from vigil.findings.records import (
    SEVERITY_RANK,
    CauseMetadata,
    Code,
    CodeLine,
    Metadata,
    Misconfiguration,
    MisconfSummary,
    Report,
    Result,
    SuppressedFinding,
)
from vigil.settings import SEVERITY_NAMES, ScanOptions
from vigil.sources import fs

log = logging.getLogger(__name__)

CONTEXT_LINES = 1  # lines of context either side of the cause in code snippets
MAX_CAUSE_LINES = 30  # a longer cause is cut (Truncated marks the last line shown)
TYPE_LABEL = {"dockerfile": "Dockerfile Security Check", "kubernetes": "Kubernetes Security Check",
              "helm": "Kubernetes Security Check", "compose": "Compose Security Check",
              "yaml": "YAML Security Check", "json": "JSON Security Check"}
PROVIDER = {"dockerfile": "Dockerfile", "kubernetes": "Kubernetes", "helm": "Kubernetes", "compose": "Compose",
            "yaml": "Generic", "json": "Generic"}
_IGNORE = re.compile(r"#\s*(?:vigil|trivy):ignore:([A-Za-z0-9_.*/-]+)")
_K8S_YAML = re.compile(rb"^\s*apiVersion\s*:", re.MULTILINE)
_K8S_KIND = re.compile(rb"^\s*kind\s*:", re.MULTILINE)
_DOC_EXT = (".md", ".txt", ".rst", ".orig", ".bak", ".swp")


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


# --- file type detection ----------------------------------------------------------------------------------------

def is_dockerfile(rel: str) -> bool:
    name = PurePosixPath(rel).name.lower()
    if name.endswith(_DOC_EXT):
        return False
    return (name in ("dockerfile", "containerfile") or name.endswith(".dockerfile")
            or name.startswith(("dockerfile.", "containerfile.")))


def is_compose(rel: str) -> bool:
    name = PurePosixPath(rel).name.lower()
    return fnmatch.fnmatch(name, "docker-compose*.y*ml") or fnmatch.fnmatch(name, "compose*.y*ml")


def is_yaml_or_json(rel: str) -> bool:
    return rel.lower().endswith((".yaml", ".yml", ".json"))


def looks_like_k8s(data: bytes, rel: str) -> bool:
    if rel.lower().endswith(".json"):
        head = data[:65536]
        return b'"apiVersion"' in head and b'"kind"' in head
    return bool(_K8S_YAML.search(data)) and bool(_K8S_KIND.search(data))


def _optional(module: str) -> Any | None:
    """The other config-type modules (Kubernetes, Helm) are optional: None when not present."""
    try:
        if importlib.util.find_spec(module) is None:
            return None
    except (ImportError, ValueError):
        return None
    return importlib.import_module(module)


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
        return safe_load(blob)
    except (ValueError, yaml.YAMLError) as e:
        raise ScanError(f"--config-data {path}: invalid document: {e}") from None


def rego_input(input_type: str, doc: Any) -> Any:
    """The Rego `input` for a parsed document (shapes documented in the README)."""
    if input_type == "dockerfile":
        from vigil.analyzers.misconf.dockerfile import DockerfileDoc, to_rego_input

        if isinstance(doc, DockerfileDoc):
            return to_rego_input(doc)
    if input_type == "compose":
        from vigil.analyzers.misconf.compose import ComposeDoc
        from vigil.analyzers.misconf.compose import to_rego_input as compose_input

        if isinstance(doc, ComposeDoc):
            return compose_input(doc)
    obj = getattr(doc, "obj", None)  # Kubernetes resources carry the manifest as `obj`
    if isinstance(obj, Mapping):
        return dict(obj)
    return doc


# --- running checks ----------------------------------------------------------------------------------------------

@dataclass
class _FileScan:
    rel: str
    type: str
    lines: list[str]
    docs: list[Any]
    error: str = ""


def _run_checks(checks: Iterable[Check], fscan: _FileScan, opts: ConfigOptions,
                extra_files: Mapping[str, list[str]] | None = None) -> list[Misconfiguration]:
    out: list[Misconfiguration] = []
    for check in checks:
        if check.meta.deprecated and not opts.include_deprecated_checks:
            continue
        failures: list[Failure] = []
        try:
            for doc in fscan.docs:
                failures.extend(check.run(doc))
        except ParseError as e:
            log.warning("%s: check %s: %s", fscan.rel, check.meta.id, e)
            continue
        except Exception as e:  # one broken check must not stop the scan; name the check (ARCHITECTURE §11)
            log.warning("%s: check %s failed: %s: %s", fscan.rel, check.meta.id, type(e).__name__, e)
            continue
        if not failures:
            out.append(_misconf(check, fscan, None, "PASS", extra_files))
        seen: set[tuple[str, int, int, str]] = set()
        for f in failures:
            key = (f.message, f.start_line, f.end_line, f.file_path)
            if key in seen:
                continue
            seen.add(key)
            out.append(_misconf(check, fscan, f, "FAIL", extra_files))
    return out


def _snippet(lines: list[str], start: int, end: int) -> Code:
    if start <= 0 or start > len(lines):
        return Code()
    end = min(max(end, start), len(lines))
    cut = end - start + 1 > MAX_CAUSE_LINES
    last_cause = start + MAX_CAUSE_LINES - 1 if cut else end
    first = max(1, start - CONTEXT_LINES)
    last = last_cause if cut else min(len(lines), end + CONTEXT_LINES)
    out = []
    for n in range(first, last + 1):
        out.append(CodeLine(number=n, content=lines[n - 1].rstrip("\r"), is_cause=start <= n <= end,
                            truncated=cut and n == last))
    return Code(lines=tuple(out))


def _misconf(check: Check, fscan: _FileScan, f: Failure | None, status: str,
             extra_files: Mapping[str, list[str]] | None) -> Misconfiguration:
    m = check.meta
    avd = next((a for a in m.aliases if a.startswith("AVD-")), "")
    cause = CauseMetadata(provider=PROVIDER.get(fscan.type, ""), service="general")
    if f is not None:
        lines = fscan.lines
        if f.file_path and extra_files is not None and f.file_path in extra_files:
            lines = extra_files[f.file_path]
        cause = CauseMetadata(resource=f.resource, provider=PROVIDER.get(fscan.type, ""), service="general",
                              start_line=f.start_line, end_line=max(f.end_line, f.start_line),
                              code=_snippet(lines, f.start_line, f.end_line))
    return Misconfiguration(
        type=TYPE_LABEL.get(fscan.type, fscan.type), id=m.id, avd_id=avd, aliases=m.aliases, title=m.title,
        description=m.description, message=f.message if f is not None else "No issues found",
        namespace=m.namespace, query=f"data.{m.namespace}.deny" if m.namespace else "",
        resolution=m.resolution, severity=m.severity, primary_url=m.references[0] if m.references else "",
        references=m.references, status=status,  # type: ignore[arg-type]
        cause_metadata=cause,
    )


def _sort(ms: list[Misconfiguration]) -> tuple[Misconfiguration, ...]:
    return tuple(sorted(ms, key=lambda m: (m.status != "FAIL", -SEVERITY_RANK[m.severity], m.id,
                                           m.cause_metadata.start_line, m.message)))


# --- inline suppression ------------------------------------------------------------------------------------------

def inline_ignores(lines: list[str]) -> dict[int, set[str]]:
    """line number -> IDs ignored there. A `# vigil:ignore:ID` (or `trivy:ignore:`) comment applies to the line
    it is on and, on a comment-only line, to the next non-comment line (through any further comment lines)."""
    out: dict[int, set[str]] = {}
    pending: set[str] = set()
    for n, line in enumerate(lines, 1):
        ids = set(_IGNORE.findall(line))
        stripped = line.strip()
        if stripped.startswith("#"):
            pending |= ids
            continue
        if not stripped:
            continue  # a blank line keeps the pending ignore, like Trivy's ignore-on-next-block
        here = ids | pending
        if here:
            out[n] = here
        pending = set()
    return out


def _inline_hit(ignores: dict[int, set[str]], m: Misconfiguration) -> str:
    start = m.cause_metadata.start_line
    if start <= 0:
        start = 1
    ids = {m.id, m.avd_id, *m.aliases} - {""}
    for n in (start, m.cause_metadata.end_line):
        for i in ignores.get(n, ()):
            if i == "*" or i in ids:
                return i
    return ""


# --- the scan ----------------------------------------------------------------------------------------------------

def _decode_lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")


def _parse(kind: str, rel: str, data: bytes, k8s: Any) -> list[Any]:
    if kind == "dockerfile":
        from vigil.analyzers.misconf.dockerfile import parse_dockerfile

        return [parse_dockerfile(data, rel)]
    if kind == "compose":
        from vigil.analyzers.misconf.compose import parse_compose

        return [parse_compose(data, rel)]
    if kind == "kubernetes":
        docs = k8s.parse_kubernetes(data, rel)
        return list(docs) if isinstance(docs, (list, tuple)) else [docs]
    if kind in ("yaml", "json"):
        import yaml

        try:
            return [json.loads(data) if kind == "json" else safe_load(data)]
        except (ValueError, yaml.YAMLError) as e:
            raise ParseError(f"invalid {kind.upper()}: {type(e).__name__}") from None
    raise ParseError(f"unknown config type {kind}")  # pragma: no cover


def _chart_dirs(refs: list[fs.FileRef]) -> list[str]:
    dirs = sorted({str(PurePosixPath(r.rel_path).parent) for r in refs
                   if PurePosixPath(r.rel_path).name == "Chart.yaml"})
    return [d for d in dirs if not any(d != o and (o == "." or d.startswith(o + "/")) for o in dirs)]


def _under(rel: str, d: str) -> bool:
    return d == "." or rel == d or rel.startswith(d + "/")


def _helm_values(opts: ConfigOptions) -> list[bytes]:
    out = []
    for p in opts.helm_values:
        try:
            out.append(fs.read_capped(p, opts.max_file_size))
        except (OSError, fs.FileTooLarge) as e:
            raise ScanError(f"--helm-values {p}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    return out


def scan_config(opts: ConfigOptions) -> Report:
    legacy = ScanOptions(target=opts.target, db_path=Path("-"), ignorefile=opts.ignorefile)
    ignores, warnings = load_ignores(legacy)
    for w in warnings:
        log.warning("%s", w)
    custom = load_custom_checks(opts)
    custom_types = {c.meta.input_type for c in custom}
    k8s = _optional("vigil.analyzers.misconf.kubernetes")
    helm = _optional("vigil.analyzers.misconf.helm")

    def wanted(rel: str) -> bool:
        return (is_dockerfile(rel) or is_compose(rel) or is_yaml_or_json(rel)
                or PurePosixPath(rel).name in ("Chart.yaml", "Kustomization")
                or rel.lower().endswith((".tgz", ".tar.gz", ".tar")))

    try:
        refs = list(fs.walk(opts.target, wanted, opts.skip_dirs, opts.skip_files))
    except fs.SourceError as e:
        raise ScanError(str(e)) from None
    charts = _chart_dirs(refs) if helm is not None else []
    results: list[Result] = []
    suppressed: list[SuppressedFinding] = []
    all_warnings = list(warnings)

    for ref in refs:
        rel = ref.rel_path
        if any(_under(rel, d) for d in charts):
            continue
        if is_dockerfile(rel):
            kind = "dockerfile"
        elif is_compose(rel):
            kind = "compose"
        elif rel.lower().endswith((".tgz", ".tar.gz", ".tar")):
            if helm is None:
                continue
            kind = "helm-archive"
        else:
            kind = ""
        try:
            data = fs.read_capped(ref.abs_path, opts.max_file_size)
        except (OSError, fs.FileTooLarge) as e:
            msg = str(e) if isinstance(e, fs.FileTooLarge) else (e.strerror or str(e))
            if kind:
                log.warning("%s: skipped: %s", rel, msg)
                results.append(Result(target=rel, class_="config", type=kind, error=msg))
            continue
        if kind == "helm-archive" and helm is not None:
            try:
                chart_files = helm.load_chart_archive(data)
            except ParseError as e:
                if rel.lower().endswith(".tgz"):  # a .tgz that is not a chart is not our business otherwise
                    log.debug("%s: not a chart archive: %s", rel, e)
                continue
            results.extend(_scan_helm(helm, rel, chart_files, opts, custom, suppressed, all_warnings))
            continue
        if not kind:
            if k8s is not None and looks_like_k8s(data, rel):
                kind = "kubernetes"
            elif is_yaml_or_json(rel) and ({"yaml", "json"} & custom_types):
                kind = "json" if rel.lower().endswith(".json") else "yaml"
                if kind not in custom_types:
                    continue
            else:
                continue
        results.extend(_scan_file(rel, kind, data, k8s, opts, custom, suppressed, all_warnings))

    all_warnings.extend(_kustomize_warnings(refs, opts))
    for d in charts:
        chart_abs = opts.target / d if d != "." else opts.target
        files: dict[str, bytes] = {}
        try:
            for r in fs.walk(chart_abs, lambda _r: True, (), ()):
                files[r.rel_path] = fs.read_capped(r.abs_path, opts.max_file_size)
        except (OSError, fs.SourceError, fs.FileTooLarge) as e:
            results.append(Result(target=d, class_="config", type="helm", error=str(e)))
            continue
        results.extend(_scan_helm(helm, d, files, opts, custom, suppressed, all_warnings))

    report = Report(
        vigil_version=_version(),
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        artifact_name=opts.artifact_name or str(opts.target),
        artifact_type="filesystem",
        metadata=Metadata(suppressed=tuple(suppressed), warnings=tuple(all_warnings)),
        results=tuple(sorted(results, key=lambda r: (r.target, r.type))),
    )
    report = suppress.apply(report, suppress.Filters(severities=opts.severities, ignores=ignores))
    return finalize(report, opts.severities, opts.include_non_failures)


def _kustomize_warnings(refs: list[fs.FileRef], opts: ConfigOptions) -> list[str]:
    """Kustomize directories: the manifests they reference are scanned like any other file by the walk (no
    overlays applied: no kustomize engine is installable here, see the README); this surfaces what the
    kustomization references but cannot be scanned (remote bases, missing files) as warnings."""
    kz = _optional("vigil.analyzers.misconf.kustomize")
    if kz is None:
        return []
    names = set(kz.KUSTOMIZATION_NAMES)
    out: list[str] = []
    for ref in refs:
        p = PurePosixPath(ref.rel_path)
        if p.name not in names:
            continue
        d = "" if str(p.parent) == "." else str(p.parent)
        files: dict[str, bytes] = {}
        for r in refs:
            if (not d or r.rel_path.startswith(d + "/")) and (is_yaml_or_json(r.rel_path) or
                                                              PurePosixPath(r.rel_path).name in names):
                try:
                    files[r.rel_path] = fs.read_capped(r.abs_path, opts.max_file_size)
                except (OSError, fs.FileTooLarge):
                    continue
        try:
            scan = kz.scan_kustomize(files, d)
        except ParseError as e:
            out.append(f"{ref.rel_path}: kustomization not followed: {e}")
            continue
        for what, why in scan.skipped:
            out.append(f"{ref.rel_path}: {what}: {why}")
    for w in out:
        log.warning("%s", w)
    return out


def _version() -> str:
    from vigil import __version__

    return __version__


def _scan_file(rel: str, kind: str, data: bytes, k8s: Any, opts: ConfigOptions, custom: tuple[Check, ...],
               suppressed: list[SuppressedFinding], warnings: list[str]) -> list[Result]:
    lines = _decode_lines(data)
    try:
        docs = _parse(kind, rel, data, k8s)
    except ParseError as e:
        log.warning("%s: not scanned: %s", rel, e)
        warnings.append(f"{rel}: not scanned: {e}")
        return [Result(target=rel, class_="config", type=kind, error=str(e))]
    except Exception as e:  # a parser bug must not stop the scan; report the file as unparsable
        log.warning("%s: parser failed: %s: %s", rel, type(e).__name__, e)
        warnings.append(f"{rel}: parser failed: {type(e).__name__}")
        return [Result(target=rel, class_="config", type=kind, error=f"parser failed: {type(e).__name__}: {e}")]
    if kind == "kubernetes" and not docs:
        return []  # YAML that is not a Kubernetes object
    fscan = _FileScan(rel=rel, type=kind, lines=lines, docs=docs)
    builtin = checks_for(kind) if kind not in ("yaml", "json") else ()
    ms = _run_checks((*builtin, *(c for c in custom if c.meta.input_type == kind)), fscan, opts)
    ms = _apply_inline(rel, ms, inline_ignores(lines), suppressed)
    return [Result(target=rel, class_="config", type=kind, misconfigurations=_sort(ms),
                   misconf_summary=MisconfSummary())]


def _apply_inline(rel: str, ms: list[Misconfiguration], ignores: dict[int, set[str]],
                  suppressed: list[SuppressedFinding]) -> list[Misconfiguration]:
    if not ignores:
        return ms
    kept = []
    for m in ms:
        hit = _inline_hit(ignores, m) if m.status == "FAIL" else ""
        if hit:
            suppressed.append(SuppressedFinding(target=rel, kind="misconfiguration", vulnerability_id=m.id,
                                                reason=f"inline comment ignore:{hit} at line "
                                                       f"{m.cause_metadata.start_line}"))
            continue
        kept.append(m)
    return kept


def _scan_helm(helm: Any, rel: str, files: Mapping[str, bytes], opts: ConfigOptions,
               custom: tuple[Check, ...], suppressed: list[SuppressedFinding], warnings: list[str]) -> list[Result]:
    """Render a chart with the Helm module (vigil.analyzers.misconf.helm.scan_chart) and check every rendered
    template as its own Result `<chart>/<template path>`; code snippets show the rendered manifest lines."""
    try:
        rendered = helm.scan_chart(files, values_files=_helm_values(opts), set_values=opts.helm_set,
                                   kube_version=opts.helm_kube_version)
    except ParseError as e:
        log.warning("%s: chart not scanned: %s", rel, e)
        warnings.append(f"{rel}: chart not scanned: {e}")
        return [Result(target=rel, class_="config", type="helm", error=str(e))]
    out = []
    checks = (*checks_for("kubernetes"), *(c for c in custom if c.meta.input_type == "kubernetes"))
    for tpl, resources in rendered:
        target = tpl if rel in (".", "") else f"{rel}/{tpl}"
        # Line numbers refer to the rendered manifest, which scan_chart does not return: no code snippet (showing
        # the template's own lines at those numbers would point at the wrong text).
        lines: list[str] = []
        fscan = _FileScan(rel=target, type="helm", lines=lines, docs=list(resources))
        ms = _run_checks(checks, fscan, opts)
        ms = _apply_inline(target, ms, inline_ignores(lines), suppressed)
        out.append(Result(target=target, class_="config", type="helm", misconfigurations=_sort(ms),
                          misconf_summary=MisconfSummary()))
    return out


def finalize(report: Report, severities: Iterable[str], include_non_failures: bool) -> Report:
    """Trivy's filterMisconfigurations: keep the selected severities, count successes/failures among them, and
    drop PASS entries unless --include-non-failures."""
    sev = set(severities)
    results = []
    for res in report.results:
        if res.class_ != "config" or res.error:
            results.append(res)
            continue
        kept = [m for m in res.misconfigurations if m.severity in sev]
        summary = MisconfSummary(successes=sum(1 for m in kept if m.status == "PASS"),
                                 failures=sum(1 for m in kept if m.status == "FAIL"))
        if not include_non_failures:
            kept = [m for m in kept if m.status == "FAIL"]
        results.append(msgspec.structs.replace(res, misconfigurations=tuple(kept), misconf_summary=summary))
    return msgspec.structs.replace(report, results=tuple(results))


def scan_image_history(created_by: list[str], severities: Iterable[str] = ("UNKNOWN", "LOW", "MEDIUM", "HIGH",
                                                                             "CRITICAL")) -> Result | None:
    """Image config misconfigurations (issue 4; Trivy's --image-config-scanners misconfig): the history's
    `created_by` lines become a one-stage Dockerfile and the built-in DS checks run on it. Target "Dockerfile"
    like Trivy; only failures are kept. None when the image has no history."""
    from vigil.analyzers.misconf.dockerfile import from_image_history

    if not created_by:
        return None
    doc = from_image_history(created_by, "Dockerfile")
    lines = ["FROM scratch", *(c.replace("\n", " ") for c in created_by)]
    fscan = _FileScan(rel="Dockerfile", type="dockerfile", lines=lines, docs=[doc])
    opts = ConfigOptions(target=Path("Dockerfile"), include_non_failures=False)
    ms = _run_checks(checks_for("dockerfile"), fscan, opts)
    res = Result(target="Dockerfile", class_="config", type="dockerfile", misconfigurations=_sort(ms),
                 misconf_summary=MisconfSummary())
    report = Report(artifact_name="image-config", artifact_type="container_image", results=(res,))
    return finalize(report, severities, False).results[0]
