"""bun.lock analyzer (bun's text lockfile, bun >= 1.1.39; not the binary bun.lockb).

Format facts (https://bun.sh/docs/install/lockfile):
- JSONC: JSON that allows comments and trailing commas.
- `workspaces` maps each workspace directory ("" is the root) to its manifest: name, version, dependencies,
  devDependencies, optionalDependencies, peerDependencies.
- `packages` maps an install key to an array whose first item is the resolved "name@version". The key is the
  dependency name, nested as "parent/child" (scoped names keep their slash: "@a/b/@c/d") when a package needs a
  different version than the hoisted one. Lookup from a package walks up its key like Node's node_modules lookup.
  The first object in the array holds the package's own dependencies/optionalDependencies/peerDependencies.
- Non-registry resolutions carry a protocol: "a@workspace:packages/a", "a@github:user/repo#sha", "a@git+…",
  "a@file:…", "a@link:…", "a@https://…tgz".

Registry packages are reported; workspace packages with relationship "workspace"; git, local and tarball
resolutions are skipped (their versions say nothing about published releases) but stay in the dependency graph.
Direct = declared by a workspace; dev = reachable only from devDependencies (Trivy's rule).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import decode, expect, in_node_modules, str_dict
from vigil.analyzers.lang._graph import PackageSet, package_id, reachable
from vigil.analyzers.lang._jsonlines import json_container_spans
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NPM, Application, Relationship

APP_TYPE = "bun"

_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_COMMENT_OR_STRING = re.compile(rf"{_STRING}|//[^\n]*|/\*.*?(?:\*/|\Z)", re.S)
_STRING_OR_TRAILING_COMMA = re.compile(rf"({_STRING})|,(\s*[\]}}])")
_PROTOCOL = re.compile(r"([a-z][a-z0-9+.-]*):")
_NOT_NEWLINE = re.compile(r"[^\n]")
_DEP_FIELDS = ("dependencies", "optionalDependencies", "peerDependencies")


def strip_jsonc(text: str) -> str:
    """JSONC -> JSON: comments become spaces (newlines kept, so error line numbers stay right) and trailing commas
    before `]`/`}` are dropped; string contents are never touched."""
    if "/" in text:
        text = _COMMENT_OR_STRING.sub(
            lambda m: m.group() if m.group()[0] == '"' else _NOT_NEWLINE.sub(" ", m.group()), text
        )
    if "," in text:
        text = _STRING_OR_TRAILING_COMMA.sub(lambda m: m.group(1) or " " + m.group(2), text)
    return text


def load_jsonc(text: str) -> Any:
    try:
        return json.loads(strip_jsonc(text))
    except json.JSONDecodeError as e:
        raise ParseError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from e
    except RecursionError:
        raise ParseError("JSON nested too deeply") from None


def _key_parts(key: str) -> list[str]:
    """ "@a/b/c/@d/e" -> ["@a/b", "c", "@d/e"]."""
    parts: list[str] = []
    pending = ""
    for seg in key.split("/"):
        if pending:
            parts.append(f"{pending}/{seg}")
            pending = ""
        elif seg.startswith("@"):
            pending = seg
        else:
            parts.append(seg)
    if pending:
        parts.append(pending)
    return parts


@dataclass(slots=True)
class _Entry:
    name: str
    version: str
    protocol: str
    ref: str
    deps: dict[str, str] = field(default_factory=dict)


def _want(p: list[str | None]) -> bool:
    return len(p) == 2 and p[0] == "packages"


def parse_bun_lock(data: bytes, path: str = "") -> Application:
    text = decode(data)
    doc = load_jsonc(text)
    expect(isinstance(doc, dict), "bun.lock: top level is not a JSON object")
    raw_packages = doc.get("packages", {})
    expect(isinstance(raw_packages, dict), "bun.lock: `packages` is not an object")
    raw_ws = doc.get("workspaces", {})
    workspaces: dict[str, dict[str, Any]] = (
        {k: v for k, v in raw_ws.items() if isinstance(k, str) and isinstance(v, dict)}
        if isinstance(raw_ws, dict)
        else {}
    )

    entries: dict[str, _Entry] = {}
    for key, val in raw_packages.items():
        if not isinstance(key, str) or not isinstance(val, list) or not val or not isinstance(val[0], str):
            continue
        ident: str = val[0]
        at = ident.find("@", 1)
        if at < 0:
            continue
        name, ref = ident[:at], ident[at + 1 :]
        m = _PROTOCOL.match(ref)
        protocol = m.group(1) if m else ""
        if protocol == "npm":
            protocol, ref = "", ref[4:]
        meta = next((x for x in val[1:] if isinstance(x, dict)), {})
        deps: dict[str, str] = {}
        for f in _DEP_FIELDS:
            deps.update(str_dict(meta.get(f)))
        target = ref[m.end() :] if m else ref
        version = ref
        if protocol == "workspace":
            ws_version = workspaces.get(target, {}).get("version")
            version = ws_version if isinstance(ws_version, str) else ""
        entries[key] = _Entry(name, version, protocol, target, deps)

    def resolve(parts: list[str], dep: str) -> str | None:
        parts = list(parts)
        while True:
            cand = "/".join([*parts, dep])
            if cand in entries:
                return cand
            if not parts:
                return None
            parts.pop()

    edges: dict[str, list[str]] = {}
    for key, e in entries.items():
        parts = _key_parts(key)
        targets = (resolve(parts, d) for d in e.deps)
        edges[key] = [t for t in targets if t is not None and t != key]

    ws_key = {e.ref: key for key, e in entries.items() if e.protocol == "workspace"}
    prod_roots: list[str] = []
    dev_roots: list[str] = []
    for ws_path, manifest in workspaces.items():
        own = ws_key.get(ws_path)
        base = _key_parts(own) if own is not None else []
        for f in (*_DEP_FIELDS, "devDependencies"):
            for dep in str_dict(manifest.get(f)):
                t = resolve(base, dep)
                if t is not None:
                    (dev_roots if f == "devDependencies" else prod_roots).append(t)
    direct = set(prod_roots) | set(dev_roots)
    prod_reach = reachable(prod_roots, edges)
    dev_set = reachable(dev_roots, edges) - prod_reach

    def reported(e: _Entry) -> bool:
        return e.protocol == "workspace" or (e.protocol == "" and bool(e.version))

    spans = json_container_spans(text, _want)
    pset = PackageSet(NPM)
    for key, e in entries.items():
        if not reported(e):
            continue
        rel: Relationship
        if e.protocol == "workspace":
            rel = "workspace"
        elif not direct:
            rel = "unknown"
        else:
            rel = "direct" if key in direct else "indirect"
        pset.add(
            e.name,
            e.version,
            dev=key in dev_set and rel != "workspace",
            relationship=rel,
            depends_on=[
                package_id(entries[t].name, entries[t].version) for t in edges[key] if reported(entries[t])
            ],
            lines=spans.get(("packages", key)),
        )
    return Application(type=APP_TYPE, file_path=path, packages=pset.build())


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    if in_node_modules(inp.path):
        return AnalysisResult()
    app = parse_bun_lock(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="bun",
    version=1,
    filenames=("bun.lock",),
    analyze=_analyze,
)
