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

Helpers shared with the other JavaScript/Go/Cargo lockfile analyzers live in _graph (`PackageSet`: merge duplicates
by ID; `reachable`: graph closure), _jsonlines (`json_container_spans`: line ranges of JSON values) and _common
(package.json loading, the lockfile YAML loader).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vigil.analyzers.lang._common import (
    LineIndex,
    decode,
    expect,
    in_node_modules,
    load_json,
    load_package_json,
)
from vigil.analyzers.lang._graph import PackageSet, package_id
from vigil.analyzers.lang._jsonlines import JsonKeyPath, json_container_spans, json_string
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NPM, Application, Relationship

APP_TYPE = "npm"

# ---------------------------------------------------------------------------------------------------------------
# package.json


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


def _descend_v2(p: list[str | None]) -> bool:
    """Whether a container may hold a `_want_v2` one: only the root's `packages` does."""
    return len(p) == 1 and p[0] == "packages"


# npm writes lockfiles with JSON.stringify(…, 2) (other tools use 4 spaces or tabs): each `packages` member starts
# on a line `<indent*2>"key": {` and ends on a line `<indent*2>}`. Finding those with two regex scans is several
# times faster than tokenizing the whole text; any other layout falls back to json_container_spans.
#
# Each line pattern starts with the line break before the line rather than `^` under re.M: a pattern with a literal
# prefix is searched for by that prefix, one `^` is tried at every character (8x slower on a 1 MB lockfile). The
# text starts with `{` (_FIRST_INDENT), so no line that matters is the first, and a line starts one character after
# its match does.
_FIRST_INDENT = re.compile(r'\{\r?\n([ \t]+)"')


def _indented_regexes(
    indent: str,
) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    i1, i2 = re.escape(indent), re.escape(indent * 2)
    return (
        re.compile(rf'\n{i1}"packages": \{{\r?\n'),
        re.compile(rf"\n{i1}\}}"),
        re.compile(rf'\n{i2}("[^"\\\n]*(?:\\.[^"\\\n]*)*"): \{{(\}}?)'),
        re.compile(rf"\n{i2}\}}"),
    )


def _v2_spans(text: str, entries: Mapping[str, object]) -> dict[JsonKeyPath, tuple[int, int]]:
    fast = _indented_v2_spans(text, entries)
    return fast if fast is not None else json_container_spans(text, _want_v2, _descend_v2)


def _indented_v2_spans(text: str, entries: Mapping[str, object]) -> dict[JsonKeyPath, tuple[int, int]] | None:
    first = _FIRST_INDENT.match(text)
    if first is None:
        return None
    packages_open, section_close, member_open, member_close = _indented_regexes(first.group(1))
    m = packages_open.search(text)
    if m is None:
        return None
    # the section's lines: from the one after `"packages": {` (whose match ends with its line break) to the one
    # holding its `}`, exclusive; a line in that range matches from the line break before it
    end = section_close.search(text, m.end() - 1)
    if end is None:
        return None
    lo, hi = m.end(), end.start() + 1
    closes = iter(c.start() + 1 for c in member_close.finditer(text, lo - 1, hi))
    raw: dict[JsonKeyPath, tuple[int, int]] = {}
    prev_close = lo - 1
    for o in member_open.finditer(text, lo - 1, hi):
        start = o.start() + 1
        close = start if o.group(2) else next(closes, None)
        # each member must close after it opens and before the next one opens, with a key json.loads saw
        if close is None or close < start or start < prev_close:
            return None
        key = json_string(o.group(1))
        if key not in entries:
            return None
        raw[("packages", key)] = (start, close)
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
            e = entries.get(cand)
            if e is not None:  # most are packages, not links: what follow() would return at once
                return cand if e.get("link") is not True else follow(cand)
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
            declared = e.get(f)  # what _names() lists, without a list per field of every package
            if not declared or not isinstance(declared, dict):
                continue
            for dep in declared:
                if isinstance(dep, str):
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
