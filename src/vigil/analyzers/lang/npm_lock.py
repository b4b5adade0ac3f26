"""package-lock.json (npm) analyzer.

Format facts (https://docs.npmjs.com/cli/configuring-npm/package-lock-json):
- lockfileVersion 1 (npm 5/6): a `dependencies` tree. Each entry (keyed by package name) has `version`, optional
  `dev`/`optional`/`bundled`, `requires` (name -> range) and its own nested `dependencies` (what is installed in
  its node_modules). A requirement resolves to the nearest entry of that name: the entry's own nested
  dependencies first, then each enclosing level up to the top (Node's module resolution). An aliased entry has
  version "npm:<real-name>@<version>"; local directory, git and tarball dependencies have their location as
  version ("file:../x", "github:user/repo#sha", "https://…tgz") and are skipped: no release to match.
- lockfileVersion 2 (npm 7/8, also keeps the v1 tree) and 3 (npm 9+): a flat `packages` map keyed by install
  path ("node_modules/a", "node_modules/a/node_modules/b", "packages/x/node_modules/c"). The "" entry is the
  root project (its dependencies/devDependencies/optionalDependencies/peerDependencies are the direct ones).
  `name` is present only when it differs from the folder name (aliases). `link: true` entries point (`resolved`)
  at another entry: a workspace or a `file:` directory dependency, whose own entry carries name and version.
  `dev: true` marks packages only needed for development; `devOptional` ones are needed by an optional
  production dependency too, so they are not dev (Trivy does the same).

Relationships: v2/v3 use the root entry (or package.json when the root entry is missing); dependencies declared
by workspace packages are direct too, since they are the project's own code. v1 has no such information in the
lockfile: with package.json beside it, top-level entries listed there are direct and all others indirect;
without it every package is "unknown" (as in Trivy).

The module also holds small helpers shared by the other JavaScript/Go/Cargo lockfile analyzers: `PackageSet`
(merge duplicates by ID), `reachable` (graph closure) and `json_container_spans` (line ranges of JSON values).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import yaml

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import LineIndex, decode, expect, load_json, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NPM, Application, Location, Package, Relationship

APP_TYPE = "npm"

# ---------------------------------------------------------------------------------------------------------------
# Shared helpers (also imported by yarn_lock, pnpm_lock, bun_lock, go_mod and cargo_lock).

# When the same package (name@version) appears several times, the merged record keeps the strongest relationship;
# a known relationship beats "unknown" (e.g. a yarn berry `patch:` entry nothing refers to, merged with the
# reachable entry of the version it patches).
_REL_RANK: dict[str, int] = {"unknown": 0, "indirect": 1, "direct": 2, "workspace": 3, "root": 4}


@dataclass(slots=True)
class _Pending:
    name: str
    version: str
    dev: bool
    relationship: Relationship
    depends_on: set[str] = field(default_factory=set)
    lines: set[tuple[int, int]] = field(default_factory=set)


def package_id(name: str, version: str) -> str:
    """Trivy's package ID: name@version; a versionless (workspace) package is identified by its name alone."""
    return f"{name}@{version}" if version else name


class PackageSet:
    """Collects packages by ID, merging duplicates: dev only if every occurrence is dev, the strongest
    relationship, the union of dependencies and of line ranges. `build` returns them sorted by name and version."""

    def __init__(self, ecosystem: str) -> None:
        self.ecosystem = ecosystem
        self._items: dict[str, _Pending] = {}

    def __contains__(self, pkg_id: object) -> bool:
        return pkg_id in self._items

    def add(
        self,
        name: str,
        version: str,
        *,
        dev: bool = False,
        relationship: Relationship = "unknown",
        depends_on: Iterable[str] = (),
        lines: tuple[int, int] | None = None,
    ) -> str:
        pid = package_id(name, version)
        cur = self._items.get(pid)
        if cur is None:
            cur = self._items[pid] = _Pending(name, version, dev, relationship)
        else:
            cur.dev = cur.dev and dev
            if _REL_RANK[relationship] > _REL_RANK[cur.relationship]:
                cur.relationship = relationship
        cur.depends_on.update(depends_on)
        if lines is not None:
            cur.lines.add(lines)
        return pid

    def build(self) -> tuple[Package, ...]:
        out: list[Package] = []
        for pid, p in self._items.items():
            deps = sorted(d for d in p.depends_on if d != pid and d in self._items)
            pkg = package(
                self.ecosystem, p.name, p.version, dev=p.dev, relationship=p.relationship, depends_on=deps
            )
            changes: dict[str, Any] = {}
            if pkg.id != pid:
                changes["id"] = pid
            if p.lines:
                changes["locations"] = tuple(Location(start_line=s, end_line=e) for s, e in sorted(p.lines))
            if changes:
                pkg = msgspec.structs.replace(pkg, **changes)
            out.append(pkg)
        out.sort(key=lambda q: (q.name, q.version))
        return tuple(out)


def reachable(roots: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    """Every node reachable from `roots` (roots included), iteratively (graphs may be deep or cyclic)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))
    return seen


# One token per JSON string (unrolled loop: linear, no backtracking blow-up), structural character, or JSONC
# comment. Numbers and literals produce no token: they do not affect structure.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:]|//[^\n]*|/\*.*?\*/', re.S)

JsonKeyPath = tuple[str | None, ...]


def json_container_spans(
    text: str, want: Callable[[list[str | None]], bool]
) -> dict[JsonKeyPath, tuple[int, int]]:
    """Line ranges (1-based, inclusive) of JSON objects and arrays, keyed by their key path from the root (array
    elements have key None; the root itself is not part of the path). `want(path)` selects which containers to
    record. One linear pass; `text` should be JSON (or JSONC) that already parsed — on anything else the result
    is merely incomplete, never an exception. Duplicate keys: the last one wins, as in json.loads."""
    keys: list[str | None] = []  # key of each open container; keys[0] is the root's (None)
    starts: list[int] = []
    raw: dict[JsonKeyPath, tuple[int, int]] = {}
    key: str | None = None
    last_string = ""
    after_colon = False
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group()
        c = tok[0]
        if c == '"':
            if after_colon:  # a string value: the pending key is consumed
                key = None
                after_colon = False
            last_string = tok
        elif c == ":":
            key = _json_string(last_string)
            after_colon = True
        elif c in "{[":
            keys.append(key)
            starts.append(m.start())
            key = None
            after_colon = False
        elif c in "}]":
            if starts:
                path = keys[1:]
                if want(path):
                    raw[tuple(path)] = (starts[-1], m.start())
                keys.pop()
                starts.pop()
            key = None
            after_colon = False
        # comments ("/" tokens) change nothing
    if not raw:
        return {}
    idx = LineIndex(text)
    return {k: (idx.line_of(s), idx.line_of(e)) for k, (s, e) in raw.items()}


def _json_string(tok: str) -> str:
    if "\\" not in tok:
        return tok[1:-1]
    try:
        val = json.loads(tok)
    except ValueError:
        return tok[1:-1]
    return val if isinstance(val, str) else tok[1:-1]


# YAML lockfiles (pnpm, yarn berry) hold versions and ranges as plain scalars: with YAML 1.1 implicit typing
# "1.10" would become the float 1.1 and "1" the int 1. This loader keeps every plain scalar a string except
# null and booleans (pnpm's `dev: true`); lockfileVersion 5.4 thus arrives as "5.4".
try:
    _BaseLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


class _LockfileYamlLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    pass


_LockfileYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_lock_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_LockfileYamlLoader)  # a safe loader (no arbitrary tags)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParseError(f"invalid YAML{where}: {getattr(e, 'problem', None) or e}") from None
    except RecursionError:
        raise ParseError("YAML nested too deeply") from None


def str_dict(value: object) -> dict[str, str]:
    """The string-to-string members of a JSON/YAML object (anything else in it, or a non-object, is ignored)."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def manifest_deps(manifest: Mapping[str, Any] | None) -> tuple[set[str], set[str]]:
    """(production, development) dependency names declared by a package.json-like object."""
    if manifest is None:
        return set(), set()
    prod: set[str] = set()
    for k in ("dependencies", "optionalDependencies", "peerDependencies"):
        prod.update(_names(manifest.get(k)))
    return prod, set(_names(manifest.get("devDependencies")))


def _names(value: object) -> list[str]:
    if not isinstance(value, dict) or not value:
        return []
    return [k for k in value if isinstance(k, str)]


def load_package_json(data: bytes | None) -> dict[str, Any] | None:
    """The companion package.json as an object, or None when absent or unusable: a broken manifest must not
    make the lockfile itself unreadable."""
    if data is None:
        return None
    try:
        doc = load_json(data)
    except ParseError:
        return None
    return doc if isinstance(doc, dict) else None


def in_node_modules(path: str) -> bool:
    """Lockfiles of installed dependencies are not applications of the project (Trivy issue #4948)."""
    return "node_modules" in path.replace("\\", "/").split("/")


# ---------------------------------------------------------------------------------------------------------------
# package-lock.json

_DEP_FIELDS = ("dependencies", "optionalDependencies", "peerDependencies")
_ROOT_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_MAX_LINK_HOPS = 16


def parse_npm_lock(data: bytes, path: str = "", package_json: bytes | None = None) -> Application:
    doc = load_json(data)
    expect(isinstance(doc, dict), "package-lock.json: top level is not a JSON object")
    text = decode(data)
    manifest = load_package_json(package_json)
    version = doc.get("lockfileVersion")
    packages = doc.get("packages")
    pset = PackageSet(NPM)
    if isinstance(packages, dict) and not (
        isinstance(version, int) and not isinstance(version, bool) and version < 2
    ):
        _parse_v2(packages, text, manifest, pset)
    else:
        deps = doc.get("dependencies")
        if deps is not None:
            expect(isinstance(deps, dict), "package-lock.json: `dependencies` is not an object")
            _parse_v1(deps, text, manifest, pset)
    return Application(type=APP_TYPE, file_path=path, packages=pset.build())


def _name_from_path(pkg_path: str) -> str:
    i = pkg_path.rfind("node_modules/")
    return pkg_path[i + len("node_modules/") :] if i >= 0 else pkg_path.rsplit("/", 1)[-1]


def _want_v2(p: list[str | None]) -> bool:
    return len(p) == 2 and p[0] == "packages"


# npm writes lockfiles with JSON.stringify(…, 2) (other tools use 4 spaces or tabs): each `packages` member starts
# on a line `<indent*2>"key": {` and ends on a line `<indent*2>}`. Finding those with two regex scans is several
# times faster than tokenizing the whole text; any other layout falls back to json_container_spans.
_FIRST_INDENT = re.compile(r'\{\r?\n([ \t]+)"')


def _indented_regexes(
    indent: str,
) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    i1, i2 = re.escape(indent), re.escape(indent * 2)
    return (
        re.compile(rf'^{i1}"packages": \{{\r?\n', re.M),
        re.compile(rf"^{i1}\}}", re.M),
        re.compile(rf'^{i2}("[^"\\\n]*(?:\\.[^"\\\n]*)*"): \{{(\}}?)', re.M),
        re.compile(rf"^{i2}\}}", re.M),
    )


def _v2_spans(text: str, entries: Mapping[str, object]) -> dict[JsonKeyPath, tuple[int, int]]:
    fast = _indented_v2_spans(text, entries)
    return fast if fast is not None else json_container_spans(text, _want_v2)


def _indented_v2_spans(text: str, entries: Mapping[str, object]) -> dict[JsonKeyPath, tuple[int, int]] | None:
    first = _FIRST_INDENT.match(text)
    if first is None:
        return None
    packages_open, section_close, member_open, member_close = _indented_regexes(first.group(1))
    m = packages_open.search(text)
    if m is None:
        return None
    end = section_close.search(text, m.end())
    if end is None:
        return None
    lo, hi = m.end(), end.start()
    closes = iter(c.start() for c in member_close.finditer(text, lo, hi))
    raw: dict[JsonKeyPath, tuple[int, int]] = {}
    prev_close = lo - 1
    for o in member_open.finditer(text, lo, hi):
        close = o.start() if o.group(2) else next(closes, None)
        # each member must close after it opens and before the next one opens, with a key json.loads saw
        if close is None or close < o.start() or o.start() < prev_close:
            return None
        key = _json_string(o.group(1))
        if key not in entries:
            return None
        raw[("packages", key)] = (o.start(), close)
        prev_close = close
    if next(closes, None) is not None or len(raw) != len(entries):
        return None
    idx = LineIndex(text)
    return {k: (idx.line_of(a), idx.line_of(b)) for k, (a, b) in raw.items()}


def _parse_v2(raw: dict[Any, Any], text: str, manifest: dict[str, Any] | None, pset: PackageSet) -> None:
    entries: dict[str, dict[str, Any]] = {
        k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, dict)
    }
    spans = _v2_spans(text, raw)

    def follow(p: str) -> str | None:
        """The entry a path stands for once links are followed, or None for a broken link."""
        for _ in range(_MAX_LINK_HOPS):
            e = entries.get(p)
            if e is None:
                return None
            if e.get("link") is not True:
                return p
            target = e.get("resolved")
            if not isinstance(target, str) or not target:
                return None
            p = target
        return None

    def resolve(from_path: str, dep: str) -> str | None:
        """Node's lookup: <dir>/node_modules/<dep> for the package's dir and each ancestor dir."""
        d = from_path
        while True:
            cand = f"{d}/node_modules/{dep}" if d else f"node_modules/{dep}"
            if cand in entries:
                return follow(cand)
            if not d:
                return None
            d = d.rsplit("/", 1)[0] if "/" in d else ""

    # Link targets: workspaces and `file:` directory dependencies (the project's own code).
    local_names: dict[str, str] = {}
    for p, e in entries.items():
        if p and e.get("link") is True:
            target = follow(p)
            if target is not None and target not in local_names:
                local_names[target] = _name_from_path(p)

    ids: dict[str, str] = {}
    idents: dict[str, tuple[str, str]] = {}
    for p, e in entries.items():
        if not p or e.get("link") is True:
            continue
        local = p in local_names
        if not local and not (p.startswith("node_modules/") or "/node_modules/" in p):
            continue  # a directory entry nothing links to
        name = e.get("name")
        if not isinstance(name, str) or not name:
            name = local_names[p] if local else _name_from_path(p)
        version = e.get("version")
        version = version if isinstance(version, str) else ""
        if not version and not local:
            continue
        ids[p] = package_id(name, version)
        idents[p] = (name, version)

    direct: set[str] = set()
    root = entries.get("")
    root_decl: dict[str, Any] = root if root is not None else (manifest or {})
    for f in _ROOT_FIELDS:
        for dep in _names(root_decl.get(f)):
            target = resolve("", dep)
            if target is not None:
                direct.add(target)
    for ws in local_names:
        for f in _ROOT_FIELDS:
            for dep in _names(entries[ws].get(f)) if ws in entries else []:
                target = resolve(ws, dep)
                if target is not None:
                    direct.add(target)

    for p in ids:
        e = entries[p]
        depends: list[str] = []
        for f in _DEP_FIELDS:
            for dep in _names(e.get(f)):
                target = resolve(p, dep)
                if target is not None and target in ids:
                    depends.append(ids[target])
        rel: Relationship = "workspace" if p in local_names else ("direct" if p in direct else "indirect")
        pset.add(
            *idents[p],
            dev=e.get("dev") is True and rel != "workspace",
            relationship=rel,
            depends_on=depends,
            lines=spans.get(("packages", p)),
        )


def _split_id(pid: str) -> tuple[str, str, str]:
    i = pid.find("@", 1)
    return (pid, "", "") if i < 0 else (pid[:i], "@", pid[i + 1 :])


_URL_VERSION = re.compile(r"[a-z][a-z0-9+.-]*:")


def _v1_identity(name: str, version: str) -> tuple[str, str] | None:
    """(name, version) an entry is installed as, or None when its version is a location rather than a release:
    "file:…"/"link:…" (local directories), "github:…", "git+https://…#sha", tarball URLs."""
    if version.startswith("npm:"):  # alias: "npm:real-name@1.2.3"
        real, sep, ver = _split_id(version[4:])
        return (real, ver) if sep and real and ver else None
    if _URL_VERSION.match(version):
        return None
    return name, version


def _want_v1(p: list[str | None]) -> bool:
    n = len(p)
    if n < 2 or n % 2:
        return False
    return all(p[i] == "dependencies" for i in range(0, n, 2))


@dataclass(slots=True)
class _Scope:
    level: dict[str, Any]
    parent: _Scope | None


def _parse_v1(top: dict[Any, Any], text: str, manifest: dict[str, Any] | None, pset: PackageSet) -> None:
    spans = json_container_spans(text, _want_v1)
    declared: set[str] | None = None
    if manifest is not None:
        prod, dev = manifest_deps(manifest)
        declared = prod | dev

    def ident(name: str, entry: object) -> str | None:
        if not isinstance(entry, dict):
            return None
        version = entry.get("version")
        if not isinstance(version, str) or not version:
            return None
        nv = _v1_identity(name, version)
        return None if nv is None else package_id(*nv)

    # Explicit stack: nesting depth is input-controlled.
    work: list[tuple[dict[Any, Any], _Scope | None, tuple[str, ...]]] = [(top, None, ("dependencies",))]
    while work:
        level, parent, keypath = work.pop()
        scope = _Scope(level, parent)
        for name, entry in level.items():
            if not isinstance(name, str) or not isinstance(entry, dict):
                continue
            version = entry.get("version")
            if not isinstance(version, str) or not version:
                continue
            nv = _v1_identity(name, version)
            children = entry.get("dependencies")
            if not isinstance(children, dict):
                children = None
            if nv is not None:
                depends: list[str] = []
                for req in _names(entry.get("requires")):
                    dep_id = (
                        ident(req, children.get(req)) if children is not None and req in children else None
                    )
                    s: _Scope | None = scope
                    while dep_id is None and s is not None:
                        if req in s.level:
                            dep_id = ident(req, s.level[req])
                            break
                        s = s.parent
                    if dep_id is not None:
                        depends.append(dep_id)
                rel: Relationship
                if declared is None:
                    rel = "unknown"
                else:
                    rel = "direct" if parent is None and name in declared else "indirect"
                pset.add(
                    nv[0],
                    nv[1],
                    dev=entry.get("dev") is True,
                    relationship=rel,
                    depends_on=depends,
                    lines=spans.get((*keypath, name)),
                )
            if children:
                work.append((children, scope, (*keypath, name, "dependencies")))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    if in_node_modules(inp.path):
        return AnalysisResult()
    app = parse_npm_lock(inp.data, inp.path, package_json=inp.siblings.get("package.json"))
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="npm",
    version=1,
    filenames=("package-lock.json",),
    companions=("package.json",),
    analyze=_analyze,
)
