"""yarn.lock analyzer: yarn classic (v1) and yarn berry (v2+).

Format facts:
- Classic (https://classic.yarnpkg.com/lang/en/docs/yarn-lock/): a YAML-like text. An entry starts with an
  unindented header listing the requested patterns it satisfies (`"a@^1.0.0", a@~1.2.0:`), followed by indented
  fields (`version "1.2.3"`, `resolved "…"`, `integrity …`) and blocks (`dependencies:`,
  `optionalDependencies:`) whose lines are `name "range"`. Keys and values may be quoted (npm writes
  `"version" "1.2.3"`). A pattern is `name@range`; the range may carry a protocol (`npm:real@1` for aliases,
  `file:`, `link:`, `git+https:`, `github:` or a `user/repo` shorthand).
- Berry (https://yarnpkg.com/configuration/yarnrc, lockfile is YAML): a `__metadata` entry, then entries keyed
  by comma-joined descriptors (`"a@npm:^1.0.0, a@npm:^1.1.0"`) with `version`, `resolution` ("a@npm:1.2.3" —
  the real name even for aliases), `dependencies` (name -> range; the `npm:` protocol is implied when a range has
  none), `peerDependencies`, `languageName`, `linkType`. Workspaces resolve to `name@workspace:<path>` with the
  placeholder version 0.0.0-use.local; `patch:` entries carry the patched package's real version.

What is reported: registry packages (no protocol or `npm:`, and http(s) tarballs), patched packages under the
version they patch (merged with the unpatched entry), and berry workspaces with relationship "workspace".
Local (`file:`, `link:`, `portal:`), git and `exec:` entries are skipped as in Trivy: their versions say nothing
about published releases.

Relationships and dev: with package.json beside the lockfile, its dependencies/devDependencies/
optionalDependencies/peerDependencies resolved through the lockfile's patterns are direct, a package reachable
only from devDependencies is dev (Trivy's rule), every other package reachable from them is indirect, and
what nothing reaches is "unknown" (it may belong to a workspace whose manifest we cannot see). Dependencies of
berry workspaces are direct too. Without package.json, classic lockfiles carry no such information ("unknown").
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from vigil.analyzers.lang._common import (
    decode,
    expect,
    in_node_modules,
    load_lock_yaml,
    load_package_json,
    str_dict,
)
from vigil.analyzers.lang._graph import PackageSet, package_id, reachable
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NPM, Application, Relationship

APP_TYPE = "yarn"

_PROTOCOL = re.compile(r"([a-z][a-z0-9+.-]*):")
_QUOTED = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"')
_QUOTED_OR_COMMA = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|,')
# The first two tokens of a field line (`version "1.2.3"`, `"@a/b" "^1"`): a double-quoted string or a run of
# non-blanks each. Atomic groups: each token is what a scan token by token would take (the first cannot give back
# characters for the second to match).
_TOKEN = r'(?>"([^"\\]*(?:\\.[^"\\]*)*)"|(\S+))'
_TWO_TOKENS = re.compile(rf"{_TOKEN}(?:\s*{_TOKEN})?")
_KEEP_PROTOCOLS = frozenset({"", "npm", "http", "https"})
_PLACEHOLDER_VERSION = "0.0.0-use.local"


@dataclass(slots=True)
class _Entry:
    patterns: list[str]
    name: str
    version: str
    workspace: bool
    deps: dict[str, str] = field(default_factory=dict)
    lines: tuple[int, int] | None = None
    # Local, git and exec entries are not reported but stay in the graph, so that what they pull in is still
    # classified (a git dependency's own dependencies are indirect ones).
    report: bool = True
    # For a berry `patch:` entry: the descriptor of the package it patches. Dependents name that descriptor, so the
    # graph gets an edge from it to the patch entry (which is what is installed).
    patches: tuple[str, ...] = ()


def split_pattern(pattern: str) -> tuple[str, str]:
    """`name@range` -> (name, range); the name may be scoped (`@scope/name@^1`)."""
    at = pattern.find("@", 1)
    if at < 0:
        return pattern, ""
    return pattern[:at], pattern[at + 1 :]


def _protocol(rng: str) -> str:
    m = _PROTOCOL.match(rng)
    if m:
        return m.group(1)
    if "/" in rng and not rng.startswith("@"):  # "user/repo" GitHub shorthand
        return "github"
    return ""


def _unquote(raw: str) -> str:
    if "\\" not in raw:
        return raw
    try:
        val = json.loads(f'"{raw}"')
    except ValueError:
        return raw
    return val if isinstance(val, str) else raw


def _split_header(header: str) -> list[str]:
    """`"a@^1", a@~1.2` -> ["a@^1", "a@~1.2"] (commas inside quotes do not split)."""
    out: list[str] = []
    for part in _split_outside_quotes(header):
        part = part.strip()
        if len(part) >= 2 and part[0] == '"' and part[-1] == '"':
            part = _unquote(part[1:-1])
        if part:
            out.append(part)
    return out


def _split_outside_quotes(s: str) -> list[str]:
    """`s` split at the commas outside complete double-quoted strings (an unterminated quote is an ordinary
    character). The scan runs in the regex engine: at each position a quoted string, else a comma, else move on."""
    if '"' not in s:
        return s.split(",")
    parts: list[str] = []
    start = 0
    for m in _QUOTED_OR_COMMA.finditer(s):
        if s[m.start()] == ",":
            parts.append(s[start : m.start()])
            start = m.end()
    parts.append(s[start:])
    return parts


def _two_tokens(line: str) -> tuple[str, str | None]:
    """The first token of a stripped, non-blank line and the second (None if there is none), unquoted."""
    m = _TWO_TOKENS.match(line)
    assert m is not None  # the line has a non-blank character
    q1, bare1, q2, bare2 = m.groups()
    first = _unquote(q1) if q1 is not None else bare1
    return first, (_unquote(q2) if q2 is not None else bare2)


def _is_berry(text: str) -> bool:
    """Whether a yarn.lock is berry's YAML: it has a `__metadata:` line. (Two substring tests: a regex `^` under re.M
    is tried at every character of a classic lockfile, which has no such line.)"""
    return text.startswith("__metadata:") or "\n__metadata:" in text


# --- classic ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _RawEntry:
    patterns: list[str]
    start: int
    end: int
    fields: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, dict[str, str]] = field(default_factory=dict)


def _parse_classic_text(text: str) -> list[_RawEntry]:
    entries: list[_RawEntry] = []
    cur: _RawEntry | None = None
    block: dict[str, str] | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        rest = line.lstrip()
        if not rest or rest[0] == "#":
            continue
        indent = len(line) - len(rest)
        stripped = rest.rstrip()
        if indent == 0:
            expect(stripped.endswith(":"), f"yarn.lock line {lineno}: expected an entry header ending in ':'")
            cur = _RawEntry(_split_header(stripped[:-1]), lineno, lineno)
            entries.append(cur)
            block = None
            continue
        expect(cur is not None, f"yarn.lock line {lineno}: indented line outside an entry")
        assert cur is not None
        cur.end = lineno
        if indent <= 2:
            if stripped.endswith(":"):
                key = stripped[:-1].strip()
                if len(key) >= 2 and key[0] == '"' and key[-1] == '"':
                    key = _unquote(key[1:-1])
                block = cur.blocks.setdefault(key, {})
            else:
                block = None
                name, value = _two_tokens(stripped)
                cur.fields[name] = value if value is not None else ""
        elif block is not None:
            name, value = _two_tokens(stripped)
            if value is not None:
                block[name] = value
    return entries


def _classic_entries(text: str) -> list[_Entry]:
    out: list[_Entry] = []
    for raw in _parse_classic_text(text):
        version = raw.fields.get("version", "")
        if not raw.patterns or not version:
            continue
        name, rng = split_pattern(raw.patterns[0])
        proto = _protocol(rng)
        report = proto in _KEEP_PROTOCOLS and not raw.fields.get("resolved", "").startswith(
            ("file:", "link:")
        )
        if proto == "npm":  # alias: name@npm:real@range
            real, _ = split_pattern(rng[4:])
            if real:
                name = real
        deps = dict(raw.blocks.get("optionalDependencies", {}))
        deps.update(raw.blocks.get("dependencies", {}))
        out.append(_Entry(raw.patterns, name, version, False, deps, (raw.start, raw.end), report))
    return out


# --- berry --------------------------------------------------------------------------------------------------------


def _top_level_spans(text: str) -> dict[str, tuple[int, int]]:
    """Line range of every top-level YAML key (unindented `key:` line through its last non-blank line)."""
    spans: dict[str, tuple[int, int]] = {}
    key: str | None = None
    start = end = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] not in " \t" and line.rstrip().endswith(":"):
            if key is not None:
                spans[key] = (start, end)
            raw = line.rstrip()[:-1].strip()
            if len(raw) >= 2 and raw[0] == raw[-1] == '"':
                raw = _unquote(raw[1:-1])
            elif len(raw) >= 2 and raw[0] == raw[-1] == "'":
                raw = raw[1:-1].replace("''", "'")
            key, start, end = raw, lineno, lineno
        else:
            end = lineno
    if key is not None:
        spans[key] = (start, end)
    return spans


def _berry_entries(text: str) -> list[_Entry]:
    doc = load_lock_yaml(text)
    expect(isinstance(doc, dict), "yarn.lock: top level is not a mapping")
    spans = _top_level_spans(text)
    out: list[_Entry] = []
    for key, val in doc.items():
        if not isinstance(key, str) or key == "__metadata" or not isinstance(val, dict):
            continue
        patterns = _split_header(key)
        if not patterns:
            continue
        resolution = val.get("resolution")
        if not isinstance(resolution, str) or not resolution:
            resolution = patterns[0]
        name, rng = split_pattern(resolution)
        proto = _protocol(rng)
        version = val.get("version")
        version = version if isinstance(version, str) else ""
        workspace = proto == "workspace"
        if workspace and version == _PLACEHOLDER_VERSION:
            version = ""
        elif not version:
            continue
        report = workspace or proto in _KEEP_PROTOCOLS or proto == "patch"
        deps = str_dict(val.get("optionalDependencies"))
        deps.update(str_dict(val.get("dependencies")))
        entry = _Entry(patterns, name, version, workspace, deps, spans.get(key), report)
        if proto == "patch":
            # "name@patch:name@npm%3A^1.0.0#…" patches the descriptor "name@npm:^1.0.0" (or "name@^1.0.0")
            ranges = (split_pattern(p)[1] for p in patterns)
            entry.patches = tuple(unquote(r[6:].split("#", 1)[0]) for r in ranges if r.startswith("patch:"))
        out.append(entry)
    return out


# --- shared -------------------------------------------------------------------------------------------------------


def _norm_ws(p: str) -> str:
    return posixpath.normpath(p.strip("/")) if p.strip("/") else "."


def parse_yarn_lock(
    data: bytes,
    path: str = "",
    package_json: bytes | None = None,
    workspace_manifests: Mapping[str, bytes] | None = None,
) -> Application:
    """`workspace_manifests`: the package.json of member workspaces, keyed by the workspace's directory relative to
    the lockfile's. A member's lockfile entry lists its dependencies and devDependencies as one map; its manifest
    tells them apart, so a package only a member's devDependencies reach is dev, as for the root (Trivy reads the
    members' manifests the same way)."""
    text = decode(data)
    berry = _is_berry(text)
    entries = _berry_entries(text) if berry else _classic_entries(text)
    manifest = load_package_json(package_json)

    by_pattern: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        for p in e.patterns:
            by_pattern.setdefault(p, i)
        by_name.setdefault(split_pattern(e.patterns[0])[0], []).append(i)

    def lookup(name: str, rng: str) -> int | None:
        for cand in (f"{name}@{rng}", f"{name}@npm:{rng}"):
            i = by_pattern.get(cand)
            if i is not None:
                return i
        same = by_name.get(name, [])
        return same[0] if len(same) == 1 else None

    keys = [str(i) for i in range(len(entries))]
    edges: dict[str, list[str]] = {}
    for i, e in enumerate(entries):
        targets = (lookup(n, r) for n, r in e.deps.items())
        edges[keys[i]] = [keys[j] for j in targets if j is not None and j != i]
    for i, e in enumerate(entries):
        for inner in e.patches:
            j = lookup(*split_pattern(inner))
            if j is not None and j != i:
                edges[keys[j]].append(keys[i])

    ws_docs: dict[str, dict[str, object]] = {}
    for ws_path, raw in (workspace_manifests or {}).items():
        doc = load_package_json(raw)
        if doc is not None:
            ws_docs[_norm_ws(ws_path)] = doc
    workspaces = [i for i, e in enumerate(entries) if e.workspace]
    direct: set[str] = set()
    prod_roots: list[str] = []
    dev_roots: list[str] = []

    def add_manifest_roots(doc: dict[str, object]) -> None:
        for fld in ("dependencies", "optionalDependencies", "peerDependencies", "devDependencies"):
            for n, r in str_dict(doc.get(fld)).items():
                j = lookup(n, r)
                if j is None:
                    continue
                direct.add(keys[j])
                (dev_roots if fld == "devDependencies" else prod_roots).append(keys[j])

    for i in workspaces:
        ws_path = _norm_ws(split_pattern(entries[i].patterns[0])[1].removeprefix("workspace:"))
        if ws_path == "." and manifest is not None:
            continue  # the root workspace's list mixes dev and prod dependencies: package.json tells them apart
        if ws_path in ws_docs:
            continue  # so does a member workspace's list: its own package.json is read below
        direct.update(edges[keys[i]])
        prod_roots.extend(edges[keys[i]])
    if manifest is not None:
        add_manifest_roots(manifest)
    for ws_path, doc in ws_docs.items():
        if ws_path != ".":
            add_manifest_roots(doc)
    dev_set = reachable(dev_roots, edges) - reachable(prod_roots, edges) if dev_roots else set()
    seen = reachable([*prod_roots, *dev_roots, *(keys[i] for i in workspaces)], edges)

    pset = PackageSet(NPM)
    for i, e in enumerate(entries):
        if not e.report:
            continue
        k = keys[i]
        rel: Relationship
        if e.workspace:
            rel = "workspace"
        elif k in direct:
            rel = "direct"
        elif k in seen:
            rel = "indirect"
        else:
            rel = "unknown"
        pset.add(
            e.name,
            e.version,
            dev=k in dev_set,
            relationship=rel,
            depends_on=[
                package_id(entries[int(j)].name, entries[int(j)].version)
                for j in edges[k]
                if entries[int(j)].report
            ],
            lines=e.lines,
        )
    if not berry:
        # a classic lockfile has no entry for a member workspace (yarn links it): its package.json names it, and
        # it is listed as berry's members are (relationship "workspace", depending on what its manifest names)
        for ws_path, doc in sorted(ws_docs.items()):
            name, version = doc.get("name"), doc.get("version")
            if ws_path == "." or not isinstance(name, str) or not name:
                continue
            deps = []
            for fld in ("dependencies", "optionalDependencies", "peerDependencies", "devDependencies"):
                for n, r in str_dict(doc.get(fld)).items():
                    j = lookup(n, r)
                    if j is not None and entries[j].report:
                        deps.append(package_id(entries[j].name, entries[j].version))
            pset.add(name, version if isinstance(version, str) else "", relationship="workspace",
                     depends_on=dict.fromkeys(deps))
    return Application(type=APP_TYPE, file_path=path, packages=pset.build())


_BERRY_WORKSPACE = re.compile(r"@workspace:([^\"',\s]+)")


def _workspace_dirs(doc: object) -> list[str]:
    """The workspace directories a package.json names (`workspaces` is a list or {packages: [...]}), patterns
    such as `packages/*` included: the source expands those within the scan root. Negations (`!`), brace sets and
    `**` are left out (yarn classic's globbing has them; a monorepo's workspace list seldom does)."""
    if not isinstance(doc, dict):
        return []
    ws = doc.get("workspaces")
    if isinstance(ws, dict):
        ws = ws.get("packages")
    if not isinstance(ws, list):
        return []
    return [w for w in ws if isinstance(w, str) and w and not any(c in w for c in "{!") and "**" not in w]


def related(path: str, data: bytes) -> list[str]:
    """The member workspaces' package.json files: for a berry lockfile the `name@workspace:dir` entries name them;
    for a classic one the root package.json's `workspaces` do (it is asked for first, then asked about); a
    pattern there (`packages/*`) is returned as a pattern (`packages/*/package.json`) for the source to expand."""
    if in_node_modules(path):
        return []
    base_dir = posixpath.dirname(path)
    if posixpath.basename(path) == "package.json":
        dirs = _workspace_dirs(load_package_json(data))
    else:
        text = data.decode("utf-8", "replace")
        dirs = [m.group(1) for m in _BERRY_WORKSPACE.finditer(text)] if _is_berry(text) else []
        out = [posixpath.join(base_dir, "package.json")] if not dirs else []
        dirs = [d for d in dirs if _norm_ws(d) != "."]
        return out + _under(base_dir, dirs)
    return _under(base_dir, dirs)


def _under(base_dir: str, dirs: list[str]) -> list[str]:
    out = []
    for d in dict.fromkeys(_norm_ws(d) for d in dirs):
        if d == "." or d.startswith("..") or d.startswith("/"):
            continue
        out.append(posixpath.normpath(posixpath.join(base_dir, d, "package.json")))
    return out


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    if in_node_modules(inp.path):
        return AnalysisResult()
    base_dir = posixpath.dirname(inp.path)
    members: dict[str, bytes] = {}
    for rel, raw in inp.related.items():
        ws_dir = posixpath.relpath(posixpath.dirname(rel) or ".", base_dir or ".")
        if ws_dir != "." and not ws_dir.startswith(".."):
            members[ws_dir] = raw
    app = parse_yarn_lock(inp.data, inp.path, package_json=inp.siblings.get("package.json"),
                          workspace_manifests=members)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="yarn",
    version=2,
    filenames=("yarn.lock",),
    companions=("package.json",),
    related=related,
    analyze=_analyze,
)
