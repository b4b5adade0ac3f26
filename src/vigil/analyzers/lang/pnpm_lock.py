"""pnpm-lock.yaml analyzer (lockfileVersion 5.x, 6.x, 9.x).

Format facts (https://github.com/pnpm/spec/tree/master/lockfile):
- 5.x: `packages` keyed "/name/1.2.3" ("/@scope/name/1.2.3"), a peer-resolved variant appends "_peer@1.0.0+other@2"
  (or a hash). Root dependencies are top-level `dependencies`/`devDependencies`/`optionalDependencies`
  (name -> version reference) or, in a workspace, the same under `importers["<dir>"]`.
- 6.x: keys "/name@1.2.3", peers as "(peer@1.0.0)" suffixes; importer dependencies are {specifier, version}.
- 9.x: `packages` keyed "name@1.2.3" (no slash, no peers: metadata only), `snapshots` keyed with the peer suffix
  hold the dependency edges; importers as in 6.x.
- A version reference is usually the version (with the peer suffix), but may be a full key ("/alias/1.0.0",
  "real@1.0.0" for aliases), a tarball/git key ("@github.com/…", "https://…") whose entry then carries `name` and
  `version`, or "link:<dir>" (a workspace: not a package).
- 5.x/6.x entries say `dev: true|false` (absent when a package is needed both ways). 9.x drops the flag: dev is
  computed as Trivy does — reachable from some importer's devDependencies and from no production dependency.
- Since pnpm 10 a file may hold two YAML documents: the "env lockfile" (pnpm itself and config dependencies)
  first, then the project's lockfile; only the last document describes the project.

Peer suffixes are stripped from versions (the same release installed for several peer sets is one package).
Dependencies of every importer (the root and each workspace) are direct. Entries resolved from a local directory
(`resolution: {type: directory}`) are the project's own code: relationship "workspace".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from vigil.analyzers.lang._common import decode, expect, in_node_modules, load_lock_yaml, str_dict
from vigil.analyzers.lang._graph import PackageSet, package_id, reachable
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NPM, Application, Relationship

APP_TYPE = "pnpm"

# A `---` line, matched from the line break before it: a pattern with a literal prefix is searched for by that
# prefix, `^` under re.M is tried at every character (10x slower on a large lockfile). _documents puts a line break
# before the text, so that a first line is preceded by one too.
_DOC_SEPARATOR = re.compile(r"\n---[ \t]*$", re.M)
_VERSION_START = re.compile(r"\d")


@dataclass(slots=True)
class _Node:
    name: str
    version: str
    report: bool
    local: bool
    dev_flag: bool | None
    lines: tuple[int, int] | None
    deps: dict[str, str] = field(default_factory=dict)


def strip_peers(ref: str) -> str:
    """Remove the peer-dependency suffix of a 6.x/9.x key or version: "1.2.3(react@18.0.0)" -> "1.2.3"."""
    i = ref.find("(")
    return ref[:i] if i > 0 else ref


def parse_key(key: str, v5: bool, registry_prefix: bool = True) -> tuple[str, str]:
    """(name, version) encoded in a `packages`/`snapshots` key, version without peer suffix. The 5.x form
    ("/name/1.2.3_peer") is tried first for 5.x files, the 6.x+ form ("/name@1.2.3(peer)") otherwise; the other is
    the fallback, since hand-edited files mix them. Tarball/git keys give no usable version: their entries carry
    `name` and `version` fields.

    Before 9.0 a package from a registry other than the lockfile's default is keyed with the registry's host and no
    leading slash ("registry.npmjs.org/lodash/4.17.10", "private.example.org/@babel/core@7.1.0"); the host is no
    part of the package's name (pnpm's dependency-path spec; Trivy's parser drops it too), and left in, the name
    matches no advisory. `registry_prefix` is False for 9.x files, whose keys carry no host."""
    if registry_prefix and not key.startswith("/"):
        host, sep, rest = key.partition("/")
        if sep and rest and "." in host and not host.startswith("@") and "@" not in host:
            key = rest
    k = key[1:] if key.startswith("/") else key
    v5_form, v6_form = _v5_key(k), _v6_key(k)
    v5_ok = bool(v5_form[0]) and _VERSION_START.match(v5_form[1]) is not None
    name6 = v6_form[0]
    v6_ok = bool(name6 and v6_form[1]) and ("/" not in name6 or (name6[0] == "@" and name6.count("/") == 1))
    if v5:
        return v5_form if v5_ok or not v6_ok else v6_form
    return v6_form if v6_ok or not v5_ok else v5_form


def _v5_key(k: str) -> tuple[str, str]:
    i = k.rfind("/")
    if i <= 0:
        return "", ""
    return k[:i], k[i + 1 :].split("_", 1)[0]


def _v6_key(k: str) -> tuple[str, str]:
    k = strip_peers(k)
    at = k.find("@", 1)
    if at < 0:
        return k, ""
    return k[:at], k[at + 1 :]


def _documents(text: str) -> list[tuple[str, int]]:
    """Split a multi-document file into (text, first line number) pieces."""
    out: list[tuple[str, int]] = []
    pos = 0
    line = 1
    # in "\n" + text, a separator's line break is at the offset its line starts at in `text`, and its end one past
    # its end in `text`
    for m in _DOC_SEPARATOR.finditer("\n" + text):
        start, end = m.start(), m.end() - 1
        out.append((text[pos:start], line))
        line += text.count("\n", pos, end) + 1
        pos = end + 1
    out.append((text[pos:], line))
    return out


def _section_spans(text: str, section: str, first_line: int) -> dict[str, tuple[int, int]]:
    """Line ranges of the entries (keys indented once) of a top-level mapping `section`."""
    spans: dict[str, tuple[int, int]] = {}
    inside = False
    indent = -1
    key: str | None = None
    start = end = 0
    for n, line in enumerate(text.splitlines(), first_line):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        ind = len(line) - len(line.lstrip())
        if ind == 0:
            if key is not None:
                spans[key] = (start, end)
                key = None
            inside = stripped == f"{section}:"
            indent = -1
            continue
        if not inside:
            continue
        if indent < 0:
            indent = ind
        if ind == indent:
            if key is not None:
                spans[key] = (start, end)
            key, start, end = _yaml_key(stripped), n, n
        elif key is not None:
            end = n
    if key is not None:
        spans[key] = (start, end)
    return spans


def _yaml_key(line: str) -> str:
    """The key of a `key: value` / `key:` line as written by pnpm (plain, 'single' or "double" quoted)."""
    if line[0] in "'\"":
        q = line[0]
        i = 1
        while i < len(line):
            if line[i] == q:
                if q == "'" and line[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                break
            i += 2 if q == '"' and line[i] == "\\" else 1
        body = line[1:i]
        return body.replace("''", "'") if q == "'" else body.replace('\\"', '"').replace("\\\\", "\\")
    i = line.find(": ")
    if i < 0:
        return line[:-1] if line.endswith(":") else line
    return line[:i]


def _refs(section: object) -> dict[str, str]:
    """name -> version reference of an importer's dependency map (5.x: plain strings; 6.x+: {specifier, version})."""
    if not isinstance(section, dict):
        return {}
    out: dict[str, str] = {}
    for name, val in section.items():
        if not isinstance(name, str):
            continue
        if isinstance(val, dict):
            val = val.get("version")
        if isinstance(val, str):
            out[name] = val
    return out


def parse_pnpm_lock(data: bytes, path: str = "") -> Application:
    text = decode(data)
    docs = _documents(text)
    doc: Any = None
    doc_text, first_line = text, 1
    for piece, line in reversed(docs):
        loaded = load_lock_yaml(piece)
        if loaded is not None:
            doc, doc_text, first_line = loaded, piece, line
            break
    pset = PackageSet(NPM)
    if doc is None:
        return Application(type=APP_TYPE, file_path=path)
    expect(isinstance(doc, dict), "pnpm-lock.yaml: top level is not a mapping")
    lockver = doc.get("lockfileVersion")
    expect(
        isinstance(lockver, str | int | float) and not isinstance(lockver, bool),
        "pnpm-lock.yaml: no lockfileVersion",
    )
    m = re.match(r"\s*'?(\d+)", str(lockver))
    expect(m is not None, "pnpm-lock.yaml: unrecognised lockfileVersion")
    assert m is not None
    major = int(m.group(1))
    v5 = major <= 5

    packages = doc.get("packages")
    packages = packages if isinstance(packages, dict) else {}
    snapshots = doc.get("snapshots")
    use_snapshots = major >= 9 and isinstance(snapshots, dict)
    spans = _section_spans(doc_text, "packages", first_line)

    nodes: dict[str, _Node] = {}
    source: dict[Any, Any] = snapshots if use_snapshots and isinstance(snapshots, dict) else packages
    for key, raw in source.items():
        if not isinstance(key, str):
            continue
        entry = raw if isinstance(raw, dict) else {}
        pkg_key = strip_peers(key) if use_snapshots else key
        meta_raw = packages.get(pkg_key) if use_snapshots else entry
        meta: dict[Any, Any] = meta_raw if isinstance(meta_raw, dict) else {}
        name, version = parse_key(key, v5, registry_prefix=major < 9)
        explicit = False
        if isinstance(meta.get("name"), str) and meta["name"]:
            name = meta["name"]
        if isinstance(meta.get("version"), str) and meta["version"]:
            version = meta["version"]
            explicit = True
        resolution = meta.get("resolution")
        local = isinstance(resolution, dict) and resolution.get("type") == "directory"
        if local and not explicit:
            version = ""  # "file:dir" is no version
        report = bool(name) and (
            local or (bool(version) and (explicit or _VERSION_START.match(version) is not None))
        )
        dev_flag = entry.get("dev") if isinstance(entry.get("dev"), bool) else None
        deps = str_dict(entry.get("optionalDependencies"))
        deps.update(str_dict(entry.get("dependencies")))
        nodes[key] = _Node(name, version, report, local, dev_flag, spans.get(pkg_key), deps)

    def resolve(name: str, ref: str) -> str | None:
        if ref.startswith("link:"):
            return None
        for cand in (f"{name}@{ref}", f"/{name}@{ref}", f"/{name}/{ref}", ref, f"/{ref}"):
            if cand in nodes:
                return cand
        return None

    edges: dict[str, list[str]] = {}
    for key, node in nodes.items():
        targets = (resolve(n, r) for n, r in node.deps.items())
        edges[key] = [t for t in targets if t is not None and t != key]

    importers = doc.get("importers")
    importer_list: list[dict[Any, Any]] = []
    if isinstance(importers, dict):
        importer_list = [v for v in importers.values() if isinstance(v, dict)]
    if not importer_list:
        importer_list = [doc]  # single-project 5.x/6.x: dependency maps at the top level
    prod_roots: list[str] = []
    dev_roots: list[str] = []
    for imp in importer_list:
        for fld in ("dependencies", "optionalDependencies", "devDependencies"):
            for n, r in _refs(imp.get(fld)).items():
                t = resolve(n, r)
                if t is not None:
                    (dev_roots if fld == "devDependencies" else prod_roots).append(t)
    direct = set(prod_roots) | set(dev_roots)
    prod_reach = reachable(prod_roots, edges)
    dev_reach = reachable(dev_roots, edges) - prod_reach
    has_roots = bool(direct)

    for key, node in nodes.items():
        if not node.report:
            continue
        rel: Relationship
        if node.local:
            rel = "workspace"
        elif not has_roots:
            rel = "unknown"
        else:
            rel = "direct" if key in direct else "indirect"
        dev = node.dev_flag if node.dev_flag is not None else key in dev_reach
        depends = [package_id(nodes[t].name, nodes[t].version) for t in edges[key] if nodes[t].report]
        pset.add(
            node.name,
            node.version,
            dev=dev and not node.local,
            relationship=rel,
            depends_on=depends,
            lines=node.lines,
        )
    return Application(type=APP_TYPE, file_path=path, packages=pset.build())


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    if in_node_modules(inp.path):
        return AnalysisResult()
    app = parse_pnpm_lock(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="pnpm",
    version=2,
    filenames=("pnpm-lock.yaml",),
    analyze=_analyze,
)
