"""Cargo.lock analyzer (lockfile versions 1-4, with Cargo.toml as companion).

Format facts (https://doc.rust-lang.org/cargo/guide/cargo-toml-vs-cargo-lock.html; the format is cargo's
`EncodableResolve`):
- TOML: a `[[package]]` table per locked crate with `name`, `version`, `source` ("registry+…", "sparse+…",
  "git+…#rev"; absent for crates of the local workspace and path dependencies), `checksum`, `dependencies`.
- A dependency entry is "name", "name version" (when several versions are locked) or, in v1 lockfiles, always
  "name version (source)". v1 keeps checksums in a `[metadata]` table; v3+ has a top-level `version = N`.
- The lockfile does not say which dependencies are dev/build-only: Cargo.toml does. `[dependencies]`,
  `[build-dependencies]` and `[target.'cfg(…)'.*]` variants are production, `[dev-dependencies]` development.
  A dependency key may be renamed (`alias = { package = "real" }`).

Reported: every locked crate. Source-less crates are the project's own code: relationship "root" for the one
Cargo.toml's `[package]` names, "workspace" for the others. Crates a local crate depends on are direct, all
others indirect. With Cargo.toml, a crate reachable only through the root package's dev-dependencies is dev
(Trivy's rule); the dependencies of other local crates count as production (their manifests are not available).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import decode, expect, load_toml
from vigil.analyzers.lang._graph import PackageSet, package_id, reachable
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import CARGO, Application, Relationship

APP_TYPE = "cargo"

_PACKAGE_HEADER = re.compile(r"\s*\[\[\s*package\s*\]\]\s*(?:#.*)?$")
_TABLE_HEADER = re.compile(r"""\s*\[\[?\s*[\w."' -]+\s*\]\]?\s*(?:#.*)?$""")


@dataclass(slots=True)
class _Crate:
    name: str
    version: str
    source: str
    dep_specs: list[str]
    lines: tuple[int, int] | None
    deps: list[int] = field(default_factory=list)


def _package_spans(text: str) -> list[tuple[int, int]]:
    """Line range of each [[package]] table, in file order: the header through the last line holding a value
    (trailing blank and comment lines excluded)."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if _PACKAGE_HEADER.match(line):
            if start is not None:
                spans.append((start, end))
            start = end = lineno
        elif _TABLE_HEADER.match(line):
            if start is not None:
                spans.append((start, end))
            start = None
        elif start is not None and stripped and not stripped.startswith("#"):
            end = lineno
    if start is not None:
        spans.append((start, end))
    return spans


def _manifest_deps(manifest: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(production, development) crate names declared by Cargo.toml's package (renames resolved)."""
    prod: set[str] = set()
    dev: set[str] = set()
    tables: list[dict[str, Any]] = [manifest]
    target = manifest.get("target")
    if isinstance(target, dict):
        tables.extend(v for v in target.values() if isinstance(v, dict))
    for t in tables:
        for section, into in (
            ("dependencies", prod),
            ("build-dependencies", prod),
            ("build_dependencies", prod),
            ("dev-dependencies", dev),
            ("dev_dependencies", dev),
        ):
            deps = t.get(section)
            if not isinstance(deps, dict):
                continue
            for key, spec in deps.items():
                real = spec.get("package") if isinstance(spec, dict) else None
                into.add(real if isinstance(real, str) and real else key)
    return prod, dev


def _load_manifest(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        return load_toml(data)
    except ParseError:
        return None  # a broken companion must not make the lockfile unreadable


def parse_cargo_lock(data: bytes, path: str = "", cargo_toml: bytes | None = None) -> Application:
    text = decode(data)
    doc = load_toml(data)
    raw = doc.get("package", [])
    expect(isinstance(raw, list), "Cargo.lock: `package` is not an array of tables")
    spans = _package_spans(text)
    use_spans = len(spans) == len(raw)

    crates: list[_Crate] = []
    for i, p in enumerate(raw):
        if not isinstance(p, dict):
            continue
        name, version, source = p.get("name"), p.get("version"), p.get("source", "")
        if not isinstance(name, str) or not name or not isinstance(version, str) or not version:
            raise ParseError(f"Cargo.lock: [[package]] #{i + 1} lacks a name or version")
        deps = p.get("dependencies", [])
        specs = [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
        crates.append(
            _Crate(
                name,
                version,
                source if isinstance(source, str) else "",
                specs,
                spans[i] if use_spans else None,
            )
        )

    by_name: dict[str, list[int]] = {}
    for i, c in enumerate(crates):
        by_name.setdefault(c.name, []).append(i)

    def resolve(spec: str) -> int | None:
        parts = spec.split(" ", 2)
        cands = by_name.get(parts[0], [])
        if len(parts) >= 2:
            cands = [i for i in cands if crates[i].version == parts[1]]
        if len(parts) == 3:
            src = parts[2].strip("()")
            exact = [i for i in cands if crates[i].source == src]
            cands = exact or cands
        return cands[0] if cands else None

    keys = [str(i) for i in range(len(crates))]
    edges: dict[str, list[str]] = {}
    for i, c in enumerate(crates):
        targets = (resolve(s) for s in c.dep_specs)
        c.deps = [j for j in targets if j is not None and j != i]
        edges[keys[i]] = [keys[j] for j in c.deps]

    manifest = _load_manifest(cargo_toml)
    pkg_table = manifest.get("package") if manifest is not None else None
    root_name = pkg_table.get("name") if isinstance(pkg_table, dict) else None
    root_version = pkg_table.get("version") if isinstance(pkg_table, dict) else None

    local = [i for i, c in enumerate(crates) if not c.source]
    root: int | None = None
    for i in local:
        if crates[i].name == root_name and (
            not isinstance(root_version, str) or crates[i].version == root_version
        ):
            root = i
            break

    prod_roots: list[str] = []
    dev_roots: list[str] = []
    direct: set[int] = set()
    for i in local:
        direct.update(crates[i].deps)
        if i == root and manifest is not None:
            prod_names, dev_names = _manifest_deps(manifest)
            for j in crates[i].deps:
                name = crates[j].name
                if name in dev_names and name not in prod_names:
                    dev_roots.append(keys[j])
                else:
                    prod_roots.append(keys[j])
        else:
            prod_roots.append(keys[i])
    # The root's own node must not carry its dev-dependencies into the production closure.
    prod_edges = dict(edges)
    if root is not None:
        prod_edges[keys[root]] = []
    dev_set = reachable(dev_roots, prod_edges) - reachable(prod_roots, prod_edges)

    pset = PackageSet(CARGO)
    for i, c in enumerate(crates):
        rel: Relationship
        if not c.source:
            rel = "root" if i == root else "workspace"
        elif i in direct:
            rel = "direct"
        else:
            rel = "indirect"
        pset.add(
            c.name,
            c.version,
            dev=keys[i] in dev_set and c.source != "",
            relationship=rel,
            depends_on=[package_id(crates[j].name, crates[j].version) for j in c.deps],
            lines=c.lines,
        )
    return Application(type=APP_TYPE, file_path=path, packages=pset.build())


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_cargo_lock(inp.data, inp.path, cargo_toml=inp.siblings.get("Cargo.toml"))
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="cargo",
    version=1,
    filenames=("Cargo.lock",),
    companions=("Cargo.toml",),
    analyze=_analyze,
)
