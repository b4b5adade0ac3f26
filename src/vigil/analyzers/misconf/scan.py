"""The misconfiguration scan over an in-memory file set: what `vigil config`, `fs --scanners misconfig` and
`image --scanners misconfig` share.

Pure (no file access, so it runs the same on a directory and on image layers): the caller walks its tree (a directory, image layers), keeps the paths `wants()`
accepts, reads them size-capped and hands over `files` (relative posix path -> bytes) plus `errors` (paths it
could not read -> reason). `scan_files()` then detects each file's config type, parses it once, runs every
built-in check of that type plus the custom (Rego) checks, applies inline `# vigil:ignore:ID` comments and
returns one class "config" Result per file, sorted by (target, type).

Config types: Dockerfile (`Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*`), compose
(`docker-compose*.y*ml`, `compose*.y*ml`), Kubernetes (YAML/JSON with apiVersion and kind), Helm charts
(directories holding Chart.yaml, rendered as a whole, and packaged charts .tgz/.tar.gz/.tar), and — only when a
custom check selects them — any other YAML/JSON file. Kustomizations are not rendered: their manifests are
scanned as ordinary files, and what they reference but cannot be scanned becomes a warning.

The output is neither severity-filtered nor stripped of PASS entries: the ignore file and the severity filter
belong to the report stage, which ends with `finalize()` (Trivy's filterMisconfigurations).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import msgspec
import yaml

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf import helm, kustomize
from vigil.analyzers.misconf.checks.base import Check, Failure
from vigil.analyzers.misconf.checks.registry import checks_for
from vigil.analyzers.misconf.compose import ComposeDoc, parse_compose
from vigil.analyzers.misconf.compose import to_rego_input as compose_rego_input
from vigil.analyzers.misconf.dockerfile import DockerfileDoc, from_image_history, parse_dockerfile
from vigil.analyzers.misconf.dockerfile import to_rego_input as dockerfile_rego_input
from vigil.analyzers.misconf.kubernetes import parse_kubernetes
from vigil.findings.records import (
    SEVERITY_RANK,
    CauseMetadata,
    Code,
    CodeLine,
    Misconfiguration,
    MisconfSummary,
    Report,
    Result,
    SuppressedFinding,
)
from vigil.log import get_logger
from vigil.yaml_safe import safe_load

log = get_logger(__name__)

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
_ARCHIVE_EXT = (".tgz", ".tar.gz", ".tar")
# Files a chart directory needs beyond the YAML/JSON/archives every scan reads: Helm renders every file under
# templates/ (partials may be .tpl or .txt, NOTES.txt is rendered too) and loads the lock files. Whatever a
# template pulls in with .Files.Get/.Glob under another name is not read (Trivy's helm analyzer reads the same
# set); a rule that depends on the path alone is what lets a layer walk decide without seeing Chart.yaml first.
_CHART_NAMES = ("Chart.yaml", "Chart.lock", "requirements.lock", ".helmignore")


# --- which files ---------------------------------------------------------------------------------------------

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


def _is_archive(rel: str) -> bool:
    return rel.lower().endswith(_ARCHIVE_EXT)


def looks_like_k8s(data: bytes, rel: str) -> bool:
    if rel.lower().endswith(".json"):
        head = data[:65536]
        return b'"apiVersion"' in head and b'"kind"' in head
    return bool(_K8S_YAML.search(data)) and bool(_K8S_KIND.search(data))


def _is_config_path(rel: str) -> bool:
    """A file that can be a config target on its own (the others wants() accepts only matter inside a chart)."""
    return (is_dockerfile(rel) or is_compose(rel) or is_yaml_or_json(rel) or _is_archive(rel)
            or PurePosixPath(rel).name in ("Chart.yaml", "Kustomization"))


def _is_chart_support(rel: str) -> bool:
    p = PurePosixPath(rel)
    return p.name in _CHART_NAMES or p.name.lower().endswith(".tpl") or "templates" in p.parts[:-1]


def pattern_kind(rel: str, opts: MisconfOptions | None) -> str:
    """The config type the first --file-patterns expression that matches `rel` names (searched in the path, as
    Trivy does), or ""."""
    if opts is None:
        return ""
    return next((kind for kind, rx in opts.file_patterns if re.search(rx, rel)), "")


def wants(rel: str, opts: MisconfOptions | None = None) -> bool:
    """Whether the misconfiguration scan needs the file at relative posix path `rel` (decided from the path
    alone, so any walker — directory or image layers — can filter before reading)."""
    return _is_config_path(rel) or _is_chart_support(rel) or bool(pattern_kind(rel, opts))


def standalone(rel: str, data: bytes) -> bool:
    """Whether a file wants() accepted is a config target on its own, whatever else the tree holds: everything
    but plain YAML/JSON that does not look like a Kubernetes object. A walker holding many files may drop the
    others first (they matter only as chart values, kustomize patches or custom-check inputs)."""
    if not is_yaml_or_json(rel) or _is_chart_support(rel):
        return True
    name = PurePosixPath(rel).name
    return name in ("Chart.yaml", *kustomize.KUSTOMIZATION_NAMES) or name.startswith("values") or looks_like_k8s(
        data, rel)


# --- options and output ----------------------------------------------------------------------------------------

# The config types Vigil checks (--misconfig-scanners names them; Trivy's others match nothing here)
SCANNED_TYPES = ("dockerfile", "kubernetes", "helm", "compose")


@dataclass(frozen=True)
class MisconfOptions:
    include_deprecated_checks: bool = False
    custom_checks: tuple[Check, ...] = ()
    helm_values: tuple[bytes, ...] = ()  # contents of the --helm-values files, in order (read by the caller)
    helm_set: tuple[str, ...] = ()
    helm_kube_version: str = ""
    helm_skip_hooks: bool = False  # drop Helm hooks and tests (helm.sh/hook), as Trivy does
    helm_set_string: tuple[str, ...] = ()
    helm_file_values: tuple[str, ...] = ()  # --helm-set-file expressions with their files read: JSON objects
    helm_api_versions: tuple[str, ...] = ()
    # --misconfig-scanners: the types checked (empty: all); files of the others are not parsed. Custom checks of the
    # plain yaml/json types run whatever it says (Trivy has no such types there).
    types: tuple[str, ...] = ()
    file_patterns: tuple[tuple[str, str], ...] = ()  # --file-patterns of config types: (type, regex)

    def checks(self, kind: str) -> bool:
        return not self.types or kind not in SCANNED_TYPES or kind in self.types


@dataclass(frozen=True)
class MisconfOutput:
    results: tuple[Result, ...]  # class "config", sorted by (target, type); PASS kept, no severity filter
    suppressed: tuple[SuppressedFinding, ...]  # inline-comment suppressions
    warnings: tuple[str, ...]


def rego_input(input_type: str, doc: Any) -> Any:
    """The Rego `input` for a parsed document (shapes documented in the README)."""
    if input_type == "dockerfile" and isinstance(doc, DockerfileDoc):
        return dockerfile_rego_input(doc)
    if input_type == "compose" and isinstance(doc, ComposeDoc):
        return compose_rego_input(doc)
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
    docs: list[object]
    # Per document, the lines its line numbers refer to (rendered Helm documents are numbered each on its own);
    # None: every document refers to `lines`.
    doc_lines: list[list[str]] | None = None


def _run_checks(checks: Iterable[Check], fscan: _FileScan, include_deprecated: bool) -> list[Misconfiguration]:
    out: list[Misconfiguration] = []
    for check in checks:
        if check.meta.deprecated and not include_deprecated:
            continue
        failures: list[tuple[Failure, int]] = []
        try:
            for i, doc in enumerate(fscan.docs):
                failures.extend((f, i) for f in check.run(doc))
        except ParseError as e:
            log.warning("%s: check %s: %s", fscan.rel, check.meta.id, e)
            continue
        except Exception as e:  # one broken check must not stop the scan; name the check
            log.warning("%s: check %s failed: %s: %s", fscan.rel, check.meta.id, type(e).__name__, e)
            continue
        if not failures:
            out.append(_misconf(check, fscan, None, "PASS"))
        seen: set[tuple[str, int, int, str, int]] = set()
        for f, i in failures:
            doc = i if fscan.doc_lines is not None else 0
            key = (f.message, f.start_line, f.end_line, f.file_path, doc)
            if key in seen:
                continue
            seen.add(key)
            out.append(_misconf(check, fscan, f, "FAIL", fscan.doc_lines[i] if fscan.doc_lines is not None else None))
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


# Trivy's page for a check it shares with Vigil (DS-0002 -> https://avd.aquasec.com/misconfig/ds-0002): its
# PrimaryURL, and the last of its References.
_AVD = "https://avd.aquasec.com/misconfig/"
_TRIVY_CHECK_ID = re.compile(r"(DS|KSV)-\d{4,5}")


def primary_url(check_id: str, references: tuple[str, ...]) -> str:
    if _TRIVY_CHECK_ID.fullmatch(check_id):
        return _AVD + check_id.lower()
    return references[0] if references else ""


def trivy_references(check_id: str, references: tuple[str, ...]) -> tuple[str, ...]:
    """A shared check's references as Trivy lists them: its own links, then its AVD page (once, in the current
    ds-0002 form rather than the older ds002)."""
    if not _TRIVY_CHECK_ID.fullmatch(check_id):
        return references
    return (*(r for r in references if not r.startswith(_AVD)), _AVD + check_id.lower())


def _misconf(check: Check, fscan: _FileScan, f: Failure | None, status: str,
             lines: list[str] | None = None) -> Misconfiguration:
    m = check.meta
    avd = next((a for a in m.aliases if a.startswith("AVD-")), "")
    cause = CauseMetadata(provider=PROVIDER.get(fscan.type, ""), service="general")
    if f is not None:
        cause = CauseMetadata(resource=f.resource, provider=PROVIDER.get(fscan.type, ""), service="general",
                              start_line=f.start_line, end_line=max(f.end_line, f.start_line),
                              code=_snippet(fscan.lines if lines is None else lines, f.start_line, f.end_line))
    return Misconfiguration(
        type=TYPE_LABEL.get(fscan.type, fscan.type), id=m.id, avd_id=avd, aliases=m.aliases, title=m.title,
        description=m.description, message=f.message if f is not None else "No issues found",
        namespace=m.namespace, query=f"data.{m.namespace}.deny" if m.namespace else "",
        resolution=m.resolution, severity=m.severity, primary_url=primary_url(m.id, m.references),
        references=trivy_references(m.id, m.references), status=status,  # type: ignore[arg-type]
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


# --- the scan ----------------------------------------------------------------------------------------------------

def _decode_lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")


def _parse(kind: str, rel: str, data: bytes) -> list[object]:
    if kind == "dockerfile":
        return [parse_dockerfile(data, rel)]
    if kind == "compose":
        return [parse_compose(data, rel)]
    if kind == "kubernetes":
        return list(parse_kubernetes(data, rel))
    if kind in ("yaml", "json"):
        try:
            return [json.loads(data) if kind == "json" else safe_load(data)]
        except (ValueError, yaml.YAMLError) as e:
            raise ParseError(f"invalid {kind.upper()}: {type(e).__name__}") from e
    raise ParseError(f"unknown config type {kind}")  # pragma: no cover


def _walk_order(rel: str) -> tuple[tuple[int, str], ...]:
    """Sort key reproducing a directory walk: a directory's files (by name) before its subdirectories (by name).
    Warnings and inline suppressions are listed in this order whatever order the caller's mapping has."""
    parts = rel.split("/")
    return (*((1, d) for d in parts[:-1]), (0, parts[-1]))


def _chart_dirs(paths: Iterable[str]) -> list[str]:
    """Outermost directories holding a Chart.yaml ("." for the root); charts nested in them (charts/…) are
    rendered as part of their parent."""
    dirs = sorted({str(PurePosixPath(p).parent) for p in paths if PurePosixPath(p).name == "Chart.yaml"})
    return [d for d in dirs if not any(d != o and (o == "." or d.startswith(o + "/")) for o in dirs)]


def _under(rel: str, d: str) -> bool:
    return d == "." or rel == d or rel.startswith(d + "/")


class _Scan:
    """One scan_files() call: the options, and the suppressions and warnings collected along the way."""

    def __init__(self, opts: MisconfOptions) -> None:
        self.opts = opts
        self.suppressed: list[SuppressedFinding] = []
        self.warnings: list[str] = []

    def file(self, rel: str, kind: str, data: bytes) -> list[Result]:
        lines = _decode_lines(data)
        try:
            docs = _parse(kind, rel, data)
        except ParseError as e:
            log.debug("%s: not scanned: %s", rel, e)
            self.warnings.append(f"{rel}: not scanned: {e}")
            return [Result(target=rel, class_="config", type=kind, error=str(e))]
        except Exception as e:  # a parser bug must not stop the scan; report the file as unparsable
            log.debug("%s: parser failed: %s: %s", rel, type(e).__name__, e)
            self.warnings.append(f"{rel}: parser failed: {type(e).__name__}")
            return [Result(target=rel, class_="config", type=kind,
                           error=f"parser failed: {type(e).__name__}: {e}")]
        if kind == "kubernetes" and not docs:
            return []  # YAML that is not a Kubernetes object
        fscan = _FileScan(rel=rel, type=kind, lines=lines, docs=docs)
        builtin = checks_for(kind) if kind not in ("yaml", "json") else ()
        custom = (c for c in self.opts.custom_checks if c.meta.input_type == kind)
        ms = _run_checks((*builtin, *custom), fscan, self.opts.include_deprecated_checks)
        ms = _apply_inline(rel, ms, inline_ignores(lines), self.suppressed)
        return [Result(target=rel, class_="config", type=kind, misconfigurations=_sort(ms),
                       misconf_summary=MisconfSummary())]

    def chart(self, rel: str, files: Mapping[str, bytes]) -> list[Result]:
        """Render a chart with Helm and check every rendered template as its own Result `<chart>/<template>`."""
        try:
            rendered = helm.scan_chart(files, values_files=self.opts.helm_values, set_values=self.opts.helm_set,
                                       kube_version=self.opts.helm_kube_version, skip_hooks=self.opts.helm_skip_hooks,
                                       set_strings=self.opts.helm_set_string,
                                       file_values=[json.loads(v) for v in self.opts.helm_file_values],
                                       api_versions=self.opts.helm_api_versions)
        except ParseError as e:
            log.debug("%s: chart not scanned: %s", rel, e)
            self.warnings.append(f"{rel}: chart not scanned: {e}")
            return [Result(target=rel, class_="config", type="helm", error=str(e))]
        out = []
        checks = (*checks_for("kubernetes"),
                  *(c for c in self.opts.custom_checks if c.meta.input_type == "kubernetes"))
        for tpl, resources in rendered:
            target = tpl if rel in (".", "") else f"{rel}/{tpl}"
            # Line numbers and snippets refer to each rendered document (inline ignores are not read: a template's
            # comments are not where its rendered lines are).
            fscan = _FileScan(rel=target, type="helm", lines=[], docs=[r for r, _ in resources],
                              doc_lines=[lines for _, lines in resources])
            ms = _run_checks(checks, fscan, self.opts.include_deprecated_checks)
            out.append(Result(target=target, class_="config", type="helm", misconfigurations=_sort(ms),
                              misconf_summary=MisconfSummary()))
        return out


def _kustomize_warnings(paths: list[str], files: Mapping[str, bytes]) -> list[str]:
    """What a kustomization references but cannot be scanned (remote bases, files outside the scan, missing
    files). The manifests it does reference are scanned like any other file (no overlays applied: see
    kustomize.py). References resolve against the whole scan, so `../../base` from an overlay finds the base when
    the scan holds it. A scan of the kustomization file alone says nothing about its neighbours: they were not part
    of the scan, not missing (only remote references are reported then). Returned, not logged: the warnings travel
    with the analysis and are printed once."""
    names = set(kustomize.KUSTOMIZATION_NAMES)
    alone = len(paths) <= 1  # the kustomization file itself is the whole scan: its neighbours were not walked
    scope = {r: b for r, b in files.items() if is_yaml_or_json(r) or PurePosixPath(r).name in names}
    out: list[str] = []
    for rel in paths:
        p = PurePosixPath(rel)
        if p.name not in names:
            continue
        d = "" if str(p.parent) == "." else str(p.parent)
        try:
            scan = kustomize.scan_kustomize(scope, d)
        except ParseError as e:
            out.append(f"{rel}: kustomization not followed: {e}")
            continue
        for what, why in scan.skipped:
            if alone and not why.startswith("remote"):
                continue
            out.append(f"{rel}: {what}: {why}")
    return out


def _rendered_by_chart(rel: str, chart: str) -> bool:
    """`rel` is a chart's template or part of a subchart: it is scanned as rendered by Helm. Other files in a chart
    directory (crds/, manifests kept beside the chart) are applied as written, so they are scanned as plain files,
    as in Trivy."""
    if not _under(rel, chart):
        return False
    sub = rel if chart == "." else rel[len(chart) + 1:]
    return sub.split("/", 1)[0] in ("templates", "charts")


def scan_files(files: Mapping[str, bytes], opts: MisconfOptions,
               errors: Mapping[str, str] | None = None) -> MisconfOutput:
    """Scan the files the caller read: `files` maps relative posix paths (those wants() accepted) to their
    bytes, `errors` maps the paths it could not read to why. An unreadable Dockerfile, compose file or chart
    archive becomes an error Result, an unreadable file of a chart directory an error Result for the chart;
    other unreadable files are skipped, as files that are not config are."""
    errors = errors or {}
    scan = _Scan(opts)
    paths = sorted({*files, *errors}, key=_walk_order)
    charts = _chart_dirs(paths)
    custom_types = {c.meta.input_type for c in opts.custom_checks}
    results: list[Result] = []

    for rel in paths:
        forced = pattern_kind(rel, opts)
        if not (forced or _is_config_path(rel)) or any(_rendered_by_chart(rel, d) for d in charts):
            continue
        if forced:
            kind = forced
        elif is_dockerfile(rel):
            kind = "dockerfile"
        elif is_compose(rel):
            kind = "compose"
        elif _is_archive(rel):
            kind = "helm-archive"
        else:
            kind = ""
        if kind and not opts.checks("helm" if kind == "helm-archive" else kind):
            continue  # a type --misconfig-scanners left out: not read further, not parsed
        if rel in errors:
            if kind:
                log.warning("%s: skipped: %s", rel, errors[rel])
                results.append(Result(target=rel, class_="config", type=kind, error=errors[rel]))
            continue
        data = files[rel]
        if kind == "helm-archive":
            try:
                chart_files = helm.load_chart_archive(data)
            except ParseError as e:
                if rel.lower().endswith(".tgz"):  # a .tgz that is not a chart is not our business otherwise
                    log.debug("%s: not a chart archive: %s", rel, e)
                continue
            results.extend(scan.chart(rel, chart_files))
            continue
        if not kind:
            if opts.checks("kubernetes") and looks_like_k8s(data, rel):
                kind = "kubernetes"
            elif is_yaml_or_json(rel) and ({"yaml", "json"} & custom_types):
                kind = "json" if rel.lower().endswith(".json") else "yaml"
                if kind not in custom_types:
                    continue
            else:
                continue
        results.extend(scan.file(rel, kind, data))

    if opts.checks("kubernetes"):
        scan.warnings.extend(_kustomize_warnings(paths, files))
    for d in charts if opts.checks("helm") else ():
        unreadable = next((e for p, e in errors.items() if _under(p, d)), None)
        if unreadable is not None:
            results.append(Result(target=d, class_="config", type="helm", error=unreadable))
            continue
        cut = 0 if d == "." else len(d) + 1
        chart_files = {p[cut:]: files[p] for p in paths if p in files and _under(p, d)}
        results.extend(scan.chart(d, chart_files))

    return MisconfOutput(results=tuple(sorted(results, key=lambda r: (r.target, r.type))),
                         suppressed=tuple(scan.suppressed), warnings=tuple(scan.warnings))


def finalize(report: Report, severities: Iterable[str], include_non_failures: bool) -> Report:
    """Trivy's filterMisconfigurations: keep the selected severities, count successes/failures among them, and
    drop PASS entries unless --include-non-failures. Run after the ignore file has been applied."""
    sev = set(severities)
    results = []
    for res in report.results:
        if res.class_ != "config":
            results.append(res)
            continue
        if res.error:  # unparsable: no test ran, but the summary is there for readers that expect it (Trivy's)
            results.append(msgspec.structs.replace(res, misconf_summary=res.misconf_summary or MisconfSummary()))
            continue
        kept = [m for m in res.misconfigurations if m.severity in sev]
        summary = MisconfSummary(successes=sum(1 for m in kept if m.status == "PASS"),
                                 failures=sum(1 for m in kept if m.status == "FAIL"))
        if not include_non_failures:
            kept = [m for m in kept if m.status == "FAIL"]
        results.append(msgspec.structs.replace(res, misconfigurations=tuple(kept), misconf_summary=summary))
    return msgspec.structs.replace(report, results=tuple(results))


def scan_image_history(created_by: list[str], target: str = "Dockerfile") -> Result | None:
    """Image config misconfigurations (Trivy's --image-config-scanners misconfig): the history's `created_by`
    lines become a one-stage Dockerfile and the built-in DS checks run on it. `target`: the image's name in a
    report (Trivy's; the config is no file).
    Unfiltered like scan_files (the report stage's finalize() counts and drops PASS entries). None when the image
    has no history."""
    if not created_by:
        return None
    doc = from_image_history(created_by, "Dockerfile")
    lines = ["FROM scratch", *(c.replace("\n", " ") for c in created_by)]
    fscan = _FileScan(rel=target, type="dockerfile", lines=lines, docs=[doc])
    ms = _run_checks(checks_for("dockerfile"), fscan, include_deprecated=False)
    return Result(target=target, class_="config", type="dockerfile", misconfigurations=_sort(ms),
                  misconf_summary=MisconfSummary())
