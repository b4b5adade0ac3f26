"""Helm charts -> rendered Kubernetes resources, each mapped back to its template file.

Rendering uses the REAL Helm engine: Helm v4's Go SDK, bundled as a shared library in the PyPI package
`helm-python-sdk` (import name `helm_python`, called through ctypes; no `helm` binary, no cluster, `lookup`
returns nothing). The chart is handed over as an in-memory .tgz, so this module stays free of file I/O
(analyzers get bytes, never paths): `chart_files` is the chart directory's contents keyed by relative path, or the result of
`load_chart_archive()` on a packaged chart.

As in Trivy (`pkg/iac/scanners/helm/parser`): release name = chart name, client-side dry run, values from
`values.yaml` overridden by each `values_files` entry, then each `--set` expression, each `--set-string` one (values
kept as strings) and last each `--set-file` one (already read: `file_values`, see helm_file_values);
`kube_version` sets `.Capabilities.KubeVersion` and `api_versions` are added to Helm's default
`.Capabilities.APIVersions`. Findings point at lines of the rendered manifest of each template, counted per
YAML document as in the release manifest (Helm keeps no source map from rendered output to template lines).
`.Release.Namespace` renders as the placeholder `<release-namespace>`: the chart does not choose it, whoever
installs it does (`helm install -n`), so checks about the namespace (KSV-0110 "default namespace") judge only
namespaces the chart itself writes. Trivy renders it empty, with the same effect on the checks.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import tarfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.kubernetes import K8sResource, parse_kubernetes
from vigil.log import get_logger
from vigil.yaml_safe import safe_load

MAX_ARCHIVE_BYTES = 200 * 1024 * 1024  # Trivy's cap for packaged charts
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 10_000
log = get_logger(__name__)
RELEASE_NAMESPACE = "<release-namespace>"
ENGINE = "helm-python-sdk (Helm v4 Go SDK via libhelm_c)"


def _safe_name(name: str) -> str | None:
    """Normalised relative path, or None for names that would escape the archive root."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    norm = posixpath.normpath(name)
    if norm in (".", "") or norm.startswith("../") or norm == "..":
        return None
    return norm


def load_chart_archive(data: bytes) -> dict[str, bytes]:
    """Regular files of a .tgz / .tar.gz / .tar chart, in memory, keyed by their (normalised) archive path.

    Safe for hostile input: stream mode (no seeking), caps on compressed size, total unpacked size (declared
    sizes of ALL members count, so a bomb is refused before it is decompressed), file size and file count;
    absolute paths, '..' components, links and device files are dropped. Any malformed archive -> ParseError.
    """
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ParseError(f"chart archive larger than {MAX_ARCHIVE_BYTES // (1024 * 1024)} MB")
    out: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|*") as tf:
            for count, member in enumerate(tf, 1):
                if count > MAX_FILES:
                    raise ParseError(f"chart archive has more than {MAX_FILES} entries")
                total += max(member.size, 0)
                if total > MAX_UNPACKED_BYTES:
                    raise ParseError("chart archive unpacks to more than 200 MB")
                if not member.isfile():
                    continue
                name = _safe_name(member.name)
                if name is None or member.size > MAX_FILE_BYTES:
                    continue
                f = tf.extractfile(member)
                if f is None:
                    continue
                out[name] = f.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]
    except ParseError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError) as e:  # zlib/gzip/lzma errors included
        raise ParseError(f"invalid chart archive: {type(e).__name__}") from e
    except AttributeError as e:
        # Python before 3.11.5 (Debian's 3.11.2 among them) raises this from tarfile's stream reader, instead of
        # ReadError, for a gzip header whose extra field does not inflate (CPython gh-107396)
        if e.name != "exception" or type(e.obj).__name__ != "_Stream":
            raise
        raise ParseError("invalid chart archive: ReadError") from e
    if not out:
        raise ParseError("empty chart archive")
    return out


def _chart_root(files: Mapping[str, bytes]) -> str:
    """"" when Chart.yaml is at the top, "mychart/" for a packaged chart's single top directory."""
    if "Chart.yaml" in files:
        return ""
    roots = sorted(
        (k[: -len("Chart.yaml")] for k in files if k.endswith("/Chart.yaml") and k.count("/") == 1),
    )
    if not roots:
        raise ParseError("not a Helm chart: no Chart.yaml")
    return roots[0]


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def helm_file_values(expr: str, read: Callable[[str], bytes]) -> dict[str, Any]:
    """A `--set-file key=path` expression as values: Helm's own parser gives the key paths (dots, list indexes,
    escapes), `read` the bytes of each file named, which become the value as text (like helm and Trivy). A
    malformed expression -> ParseError; `read` raises what it raises for a file it cannot read."""
    import helm_python as helm

    try:
        paths = helm.parse_set_string_values(expr)
    except helm.HelmError as e:
        raise ParseError(f"invalid --helm-set-file value {expr!r}: {e}") from e

    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        if isinstance(node, str):
            return read(node).decode("utf-8", "replace")
        return node

    filled: dict[str, Any] = fill(paths)
    return filled


def _values(values_files: Sequence[bytes], set_values: Sequence[str], helm: Any,
            set_strings: Sequence[str] = (), file_values: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for i, raw in enumerate(values_files):
        try:
            v = safe_load(raw.decode("utf-8-sig")) if raw.strip() else {}
        except ParseError as e:  # the loader's alias budget
            raise ParseError(f"values file #{i + 1}: {e}") from None
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError, TypeError):
            raise ParseError(f"values file #{i + 1} is not valid YAML") from None
        if v is None:
            continue
        if not isinstance(v, dict):
            raise ParseError(f"values file #{i + 1} is not a YAML mapping")
        merged = _merge(merged, v)
    for expr in set_values:
        try:
            merged = _merge(merged, helm.parse_set_string(expr))
        except helm.HelmError as e:
            raise ParseError(f"invalid --helm-set value {expr!r}: {e}") from e
    for expr in set_strings:
        try:
            merged = _merge(merged, helm.parse_set_string_values(expr))
        except helm.HelmError as e:
            raise ParseError(f"invalid --helm-set-string value {expr!r}: {e}") from e
    for fv in file_values:
        merged = _merge(merged, fv)
    return merged


def _archive(files: Mapping[str, bytes], root: str, name: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tf:
        for path, data in sorted(files.items()):
            if not path.startswith(root):
                continue
            rel = _safe_name(path[len(root):])
            if rel is None:
                continue
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size = len(data)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _chart_name(files: Mapping[str, bytes], root: str) -> str:
    try:
        meta = safe_load(files[root + "Chart.yaml"].decode("utf-8-sig"))
    except ParseError as e:  # the loader's alias budget
        raise ParseError(f"Chart.yaml: {e}") from None
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError, TypeError):
        raise ParseError("Chart.yaml is not valid YAML") from None
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name or _safe_name(name) != name or "/" in name:
        raise ParseError("Chart.yaml has no valid 'name'")
    return name


def render_chart(
    chart_files: Mapping[str, bytes],
    *,
    values_files: Sequence[bytes] = (),
    set_values: Sequence[str] = (),
    kube_version: str = "",
    set_strings: Sequence[str] = (),
    file_values: Sequence[Mapping[str, Any]] = (),
    api_versions: Sequence[str] = (),
) -> dict[str, str]:
    """Render the chart with Helm: {template path relative to the chart root: rendered text}, e.g.
    "templates/deployment.yaml", "charts/redis/templates/master.yaml". Every template is included (NOTES.txt
    and templates rendering to nothing too). Any chart, values or template error -> ParseError."""
    try:
        import helm_python as helm
        from helm_python import _native
    except ImportError:  # pragma: no cover - the package is a declared dependency
        raise ParseError("Helm engine missing: pip install helm-python-sdk") from None

    root = _chart_root(chart_files)
    name = _chart_name(chart_files, root)
    values = _values(values_files, set_values, helm, set_strings, file_values)
    archive = _archive(chart_files, root, name)
    opts: dict[str, Any] = {"name": name, "namespace": RELEASE_NAMESPACE, "is_install": True}
    if kube_version:
        opts["kube_version"] = kube_version if kube_version.startswith("v") else "v" + kube_version
    if api_versions:  # added to Helm's default set, as `helm template --api-versions` does
        opts["api_versions"] = list(api_versions)
    try:
        with helm.Chart.load_archive(archive) as chart:
            # Chart.render() has no kube_version parameter; the native call takes the option as JSON.
            rendered = json.loads(
                _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(opts))
            )
    except helm.HelmError as e:
        raise ParseError(f"helm: {str(e).splitlines()[0][:300] if str(e) else type(e).__name__}") from e
    if not isinstance(rendered, dict):
        raise ParseError("helm returned no manifests")
    out: dict[str, str] = {}
    for tpl_path, text in rendered.items():
        if isinstance(tpl_path, str) and isinstance(text, str):
            out[tpl_path.split("/", 1)[1] if "/" in tpl_path else tpl_path] = text
    return out


# Helm's own document separator (releaseutil.SplitManifests): "---" at a line start, with surrounding whitespace.
_DOC_SEP = re.compile(r"(?:^|\s*\n)---\s*")
HOOK_ANNOTATION = "helm.sh/hook"


def split_documents(text: str) -> list[str]:
    """The YAML documents of one rendered template as Helm splits a manifest: trimmed, empty ones dropped."""
    return [d for d in (part.strip() for part in _DOC_SEP.split(text.strip())) if d]


def is_hook(res: K8sResource) -> bool:
    """A Helm hook or test (annotation helm.sh/hook): run by `helm install/upgrade/test`, not part of the release
    manifest."""
    meta = res.obj.get("metadata")
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    return isinstance(ann, dict) and HOOK_ANNOTATION in ann


def scan_chart(
    chart_files: Mapping[str, bytes],
    *,
    values_files: Sequence[bytes] = (),
    set_values: Sequence[str] = (),
    kube_version: str = "",
    skip_hooks: bool = False,
    set_strings: Sequence[str] = (),
    file_values: Sequence[Mapping[str, Any]] = (),
    api_versions: Sequence[str] = (),
) -> list[tuple[str, list[tuple[K8sResource, list[str]]]]]:
    """Render the chart with Helm and parse each rendered template: [(template path, [(resource, its document's
    lines)])], template paths relative to the chart root (e.g. "templates/deployment.yaml",
    "charts/redis/templates/master.yaml"). Templates rendering to nothing (or to non-Kubernetes YAML, NOTES.txt)
    are omitted.

    Each YAML document is numbered on its own, as it appears in the release manifest Helm builds (and Trivy
    reports): line 1 is the `# Source: <chart>/<template>` comment, the document follows. Findings therefore carry
    line numbers and code snippets of the rendered document. Hooks and tests are kept unless `skip_hooks` (they
    run in the cluster too)."""
    rendered = render_chart(chart_files, values_files=values_files, set_values=set_values, kube_version=kube_version,
                            set_strings=set_strings, file_values=file_values, api_versions=api_versions)
    name = _chart_name(chart_files, _chart_root(chart_files))
    out: list[tuple[str, list[tuple[K8sResource, list[str]]]]] = []
    for rel in sorted(rendered):
        text = rendered[rel]
        if not rel.endswith((".yaml", ".yml", ".json")) or not text.strip():
            continue
        docs: list[tuple[K8sResource, list[str]]] = []
        for doc in split_documents(text):
            source = f"# Source: {name}/{rel}\n{doc}\n"
            try:
                resources = parse_kubernetes(source.encode("utf-8"), rel)
            except ParseError as e:  # one broken document must not hide the others' findings
                log.warning("helm template %s rendered to invalid YAML: %s", rel, e)
                continue
            lines = source.splitlines()
            docs.extend((r, lines) for r in resources if not (skip_hooks and is_hook(r)))
        if docs:
            out.append((rel, docs))
    return out
