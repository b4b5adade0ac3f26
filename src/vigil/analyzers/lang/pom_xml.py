"""pom.xml (Maven project object model) analyzer.

Format facts (https://maven.apache.org/pom.html, https://maven.apache.org/ref/current/maven-model-builder/):
- `<project>` has its coordinates (`groupId`, `artifactId`, `version`; groupId and version may be inherited from
  `<parent>`), `<properties>`, `<dependencyManagement><dependencies>`, `<dependencies>` and `<modules>`.
- `<parent>` names the parent POM by coordinates; Maven looks for it at `<relativePath>` (default `../pom.xml`; a
  directory means `<dir>/pom.xml`; an empty element means "repository only") and uses the file there only if its
  coordinates match. The child inherits the parent's properties, dependencyManagement and dependencies.
- The effective model is built in Maven's order: inheritance (child values override parent values), then
  interpolation of `${…}` with the merged properties and the model itself (`${project.version}`,
  `${project.parent.version}`, legacy `${pom.*}` and `${version}`), then BOM imports (a managed dependency with
  `<type>pom</type><scope>import</scope>` contributes its own effective dependencyManagement; explicit entries win,
  then the first import), then dependencyManagement fills in missing versions and scopes.

What is resolved offline: parents and BOMs that are POMs in the scanned tree (found through `related`, see below).
Anything else (a parent or BOM from a remote repository, an undefined property, a version range) leaves the version
unknown — the package is reported with an empty version and is never matched; versions are never guessed.

Semantics (as Trivy): the project itself is the root package; its declared and inherited dependencies are direct;
when a dependency is itself a module of the scanned tree its dependencies are known and followed (indirect, with
Maven's transitivity: test, provided, system and optional dependencies are not passed on); other transitive
dependencies need POMs from a remote repository and are not reported. Scope `test` → dev (and everything reached only
through it), every other scope (compile, provided, runtime, system) production. POMs under `src/it/` or `target/it/` are integration-test inputs of
Maven plugins and are skipped, as in Trivy.

`related(path, data)` tells the source which other POMs this analysis may need: the parent's relativePath and the
`<modules>` (an in-tree BOM is usually a sibling module); the source applies it again to each file it reads, within
the scan root and a fixed budget, and hands the bytes over in AnalysisInput.related.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import expect, package
from vigil.analyzers.lang._xml import Element, parse_xml
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import MAVEN, Application
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "pom"
MAX_PARENTS = 16  # longest parent chain followed (a cycle stops earlier)
MAX_IMPORT_DEPTH = 8  # BOMs importing BOMs
MAX_INTERPOLATION = 16  # ${a} -> ${b} -> … rounds
MAX_MODULES = 256  # in-tree modules whose dependencies are followed transitively

_PROPERTY = re.compile(r"\$\{([^}]*)\}")


@dataclass(slots=True)
class Dep:
    group: str
    artifact: str
    version: str = ""
    scope: str = ""
    type: str = ""
    classifier: str = ""
    optional: str = ""
    lines: tuple[int, int] | None = None

    def key(self) -> tuple[str, str, str, str]:
        return (self.group, self.artifact, self.type or "jar", self.classifier)


@dataclass(slots=True)
class Pom:
    """One POM as written (nothing inherited or interpolated)."""

    path: str
    group: str
    artifact: str
    version: str
    parent: tuple[str, str, str] | None = None
    parent_path: str | None = None  # where the parent is looked for in the tree; None = repository only
    properties: dict[str, str] = field(default_factory=dict)
    managed: list[Dep] = field(default_factory=list)
    deps: list[Dep] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)

    @property
    def eff_group(self) -> str:
        return self.group or (self.parent[0] if self.parent else "")

    @property
    def eff_version(self) -> str:
        return self.version or (self.parent[2] if self.parent else "")


def _deps(container: Element | None) -> list[Dep]:
    if container is None:
        return []
    out = []
    for d in container.findall("dependency"):
        out.append(
            Dep(
                group=d.findtext("groupId"),
                artifact=d.findtext("artifactId"),
                version=d.findtext("version"),
                scope=d.findtext("scope"),
                type=d.findtext("type"),
                classifier=d.findtext("classifier"),
                optional=d.findtext("optional"),
                lines=(d.start_line, d.end_line),
            )
        )
    return out


def _in_dir(base_dir: str, rel: str, default_file: str = "pom.xml") -> str | None:
    """Normalised path of `rel` (a file, or a directory holding `default_file`) relative to base_dir; None when it
    leaves the scan root."""
    rel = rel.strip().replace("\\", "/")
    if not rel or rel.startswith("/"):
        return None
    if not rel.endswith(".xml"):
        rel = rel.rstrip("/") + "/" + default_file
    joined = posixpath.normpath(posixpath.join(base_dir, rel))
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


def read_pom(data: bytes, path: str = "") -> Pom:
    root = parse_xml(data)
    expect(root.tag == "project", "pom.xml: root element is not <project>")
    base = posixpath.dirname(path)
    pom = Pom(
        path=path,
        group=root.findtext("groupId"),
        artifact=root.findtext("artifactId"),
        version=root.findtext("version"),
    )
    parent = root.find("parent")
    if parent is not None:
        pom.parent = (parent.findtext("groupId"), parent.findtext("artifactId"), parent.findtext("version"))
        rp = parent.find("relativePath")
        pom.parent_path = _in_dir(base, "../pom.xml" if rp is None else rp.text) if (rp is None or rp.text) else None
    props = root.find("properties")
    if props is not None:
        pom.properties = {p.tag: p.text for p in props.children}
    dm = root.find("dependencyManagement")
    pom.managed = _deps(dm.find("dependencies") if dm is not None else None)
    pom.deps = _deps(root.find("dependencies"))
    mods = root.find("modules")
    if mods is not None:
        pom.modules = [m.text for m in mods.findall("module") if m.text]
    return pom


def related(path: str, data: bytes) -> list[str]:
    """Other POMs of the tree this one may need: its parent (relativePath) and its modules."""
    try:
        pom = read_pom(data, path)
    except ParseError:
        return []
    base = posixpath.dirname(path)
    out = [pom.parent_path] if pom.parent_path else []
    out += [p for m in pom.modules if (p := _in_dir(base, m))]
    return [p for p in out if p != path]


# --- effective model ----------------------------------------------------------------------------------------------


class _Tree:
    """The POMs available for resolution: the scanned one plus what the source provided as related."""

    def __init__(self, main: Pom, others: Mapping[str, bytes]) -> None:
        self.by_path: dict[str, Pom] = {main.path: main}
        for p, data in others.items():
            try:
                self.by_path[p] = read_pom(data, p)
            except ParseError as e:
                log.debug("related POM %s unusable: %s", p, e)
        self.by_coords: dict[tuple[str, str], list[Pom]] = {}
        for pom in self.by_path.values():
            self.by_coords.setdefault((pom.eff_group, pom.artifact), []).append(pom)

        self._models: dict[str, Model] = {}
        self._active: set[str] = set()  # models being built: a BOM import cycle stops here

    def parent_of(self, pom: Pom) -> Pom | None:
        if pom.parent is None:
            return None
        g, a, v = pom.parent
        cand = self.by_path.get(pom.parent_path) if pom.parent_path else None
        if cand is not None and (cand.eff_group, cand.artifact) == (g, a):
            return cand
        # elsewhere in the tree with the same coordinates (Maven would find it in the reactor or local repository)
        return self.find(g, a, v, exclude=pom)

    def find(self, g: str, a: str, v: str, exclude: Pom | None = None) -> Pom | None:
        for c in self.by_coords.get((g, a), []):
            if c is not exclude and _own_version(c) == v:
                return c
        return None

    def model(self, pom: Pom, depth: int = 0) -> Model | None:
        """The effective model, or None when asked again while it is being built (an import cycle)."""
        cached = self._models.get(pom.path)
        if cached is not None:
            return cached
        if pom.path in self._active:
            return None
        self._active.add(pom.path)
        try:
            m = _effective(self, pom, depth)
        finally:
            self._active.discard(pom.path)
        self._models[pom.path] = m
        return m


def _own_version(pom: Pom) -> str:
    """The POM's version interpolated with its own properties only (enough to recognise coordinates, and free of
    the recursion a full model would need)."""
    props = dict(pom.properties)
    for prefix in ("project.", "pom.", ""):
        props[prefix + "version"] = pom.eff_version
    if pom.parent is not None:
        props["project.parent.version"] = props["parent.version"] = pom.parent[2]
    return _interpolate(pom.eff_version, props)


@dataclass(slots=True)
class Model:
    group: str
    artifact: str
    version: str
    managed: dict[tuple[str, str, str, str], Dep]
    deps: list[Dep]  # direct, in declaration order (own first, then inherited)
    own_deps: int  # how many of `deps` are declared in the POM itself (they have line numbers)
    unresolved_parent: str = ""


def _interpolate(value: str, lookup: Mapping[str, str]) -> str:
    for _ in range(MAX_INTERPOLATION):
        if "${" not in value:
            return value
        new = _PROPERTY.sub(lambda m: lookup.get(m.group(1).strip(), m.group(0)), value)
        if new == value:
            break
        value = new
    return value


def _effective(tree: _Tree, pom: Pom, depth: int) -> Model:
    chain = [pom]
    seen = {pom.path}
    cur = pom
    unresolved = ""
    while cur.parent is not None and len(chain) < MAX_PARENTS:
        parent = tree.parent_of(cur)
        if parent is None or parent.path in seen:
            if parent is None:
                unresolved = ":".join(cur.parent)
            break
        seen.add(parent.path)
        chain.append(parent)
        cur = parent

    props: dict[str, str] = {}
    for p in reversed(chain):  # root-most first; a child overrides
        props.update(p.properties)
    group, version = pom.eff_group, pom.eff_version
    builtins = {"groupId": group, "artifactId": pom.artifact, "version": version}
    for prefix in ("project.", "pom.", ""):
        for k, v in builtins.items():
            props[prefix + k] = v  # the model's own values win over same-named <properties> (as in Maven)
    if pom.parent is not None:
        for k, v in zip(("groupId", "artifactId", "version"), pom.parent, strict=True):
            props[f"project.parent.{k}"] = props[f"parent.{k}"] = v
    version = _interpolate(version, props)
    if not pom.version and len(chain) > 1:
        # An inherited version is the parent's effective version: with CI-friendly versions the <parent><version>
        # element ("${revision}-${changelist}") need not spell it as the parent does ("${revision}${changelist}").
        parent_model = tree.model(chain[1], depth)
        if parent_model is not None and "${" not in parent_model.version:
            version = parent_model.version
            for prefix in ("project.", "pom.", ""):
                props[prefix + "version"] = version
    group = _interpolate(group, props)

    def interp(d: Dep) -> Dep:
        return replace(
            d,
            group=_interpolate(d.group, props),
            artifact=_interpolate(d.artifact, props),
            version=_interpolate(d.version, props),
            scope=_interpolate(d.scope, props),
            type=_interpolate(d.type, props),
            classifier=_interpolate(d.classifier, props),
        )

    managed: dict[tuple[str, str, str, str], Dep] = {}
    for p in reversed(chain):
        for d in p.managed:
            managed[interp(d).key()] = interp(d)
    deps: dict[tuple[str, str, str, str], Dep] = {}
    own = [interp(d) for d in pom.deps]
    for d in own:
        deps.setdefault(d.key(), d)
    own_count = len(deps)
    for p in chain[1:]:
        for d in p.deps:
            d = replace(interp(d), lines=None)  # declared in another file: no line numbers in this one
            deps.setdefault(d.key(), d)

    # BOM imports: explicit entries win, then the first import that manages a key
    imports = [d for d in managed.values() if d.scope == "import" and d.type == "pom"]
    for d in imports:
        del managed[d.key()]
    for d in imports:
        bom = tree.find(d.group, d.artifact, d.version) if depth < MAX_IMPORT_DEPTH else None
        if bom is None or bom.path in seen:
            log.debug("%s: BOM %s:%s:%s is not in the scanned tree", pom.path, d.group, d.artifact, d.version)
            continue
        bom_model = tree.model(bom, depth + 1)
        if bom_model is None:  # an import cycle
            continue
        for mkey, md in bom_model.managed.items():
            managed.setdefault(mkey, replace(md, lines=None))

    resolved: list[Dep] = []
    for d in deps.values():
        m = managed.get(d.key()) or managed.get((d.group, d.artifact, "jar", ""))
        dep_version = d.version or (m.version if m else "")
        scope = d.scope or (m.scope if m else "")
        resolved.append(replace(d, version=dep_version, scope=scope or "compile"))
    return Model(group, pom.artifact, version, managed, resolved, min(own_count, len(resolved)), unresolved)


def _concrete(version: str) -> str:
    """The version if it names one release; "" for unresolved properties and version ranges."""
    v = version.strip()
    if not v or "${" in v or v[0] in "[(" or "," in v:
        return ""
    return v


def parse_pom(data: bytes, path: str = "", related_files: Mapping[str, bytes] | None = None) -> Application:
    main = read_pom(data, path)
    tree = _Tree(main, related_files or {})
    model = tree.model(main)
    if model is None:  # pragma: no cover - the first model requested cannot be part of a cycle
        raise ParseError("pom.xml: inheritance cycle")
    if model.unresolved_parent:
        log.info("%s: parent %s is not in the scanned tree; inherited versions are unknown", path, model.unresolved_parent)

    # BFS from the declared dependencies into in-tree modules (their own POMs are in the tree, so their
    # dependencies are known); everything else is a leaf (its POM is remote).
    found: dict[tuple[str, str], _Found] = {}
    root_edges: list[str] = []
    queue: list[tuple[Model, bool, bool, str | None]] = [(model, False, True, None)]  # (model, dev, is_main, parent)
    expanded: set[tuple[str, str]] = set()
    while queue:
        cur, cur_dev, is_main, parent_id = queue.pop(0)
        for i, d in enumerate(cur.deps):
            if not d.group or not d.artifact or d.scope == "import" or "${" in d.group + d.artifact:
                continue
            # Maven transitivity: test, provided and optional dependencies of a dependency are not inherited
            if not is_main and (d.scope in ("test", "provided", "system") or d.optional == "true"):
                continue
            name = f"{d.group}:{d.artifact}"
            version = _concrete(d.version)
            if not version and is_main:
                log.debug("%s: version of %s is unknown offline (%r)", path, name, d.version)
            dev = cur_dev or d.scope == "test"
            entry = found.get((name, version))
            if entry is None:
                entry = found[(name, version)] = _Found(
                    name, version, dev, is_main, d.lines if is_main and i < cur.own_deps else None
                )
            else:  # reachable several ways: production if any way is, direct if declared
                entry.dev = entry.dev and dev
                entry.direct = entry.direct or is_main
            node_id = f"{name}@{version}"
            if parent_id is None:
                root_edges.append(node_id)
            else:
                found[_split_id(parent_id)].deps.add(node_id)
            module = tree.find(d.group, d.artifact, version) if version else None
            if module is not None and (name, version) not in expanded and len(expanded) < MAX_MODULES:
                expanded.add((name, version))
                sub = tree.model(module)
                if sub is not None:
                    queue.append((sub, dev, False, node_id))

    out = sorted(
        (
            package(
                MAVEN,
                f.name,
                f.version,
                file_path=path,
                dev=f.dev,
                relationship="direct" if f.direct else "indirect",
                depends_on=sorted(f.deps),
                lines=f.lines,
            )
            for f in found.values()
        ),
        key=lambda p: (p.name, p.version),
    )
    if model.group and model.artifact:
        root = package(
            MAVEN,
            f"{model.group}:{model.artifact}",
            _concrete(model.version),
            file_path=path,
            relationship="root",
            depends_on=root_edges,
        )
        out.insert(0, root)
    return Application(type=APP_TYPE, file_path=path, packages=tuple(out))


@dataclass(slots=True)
class _Found:
    name: str
    version: str
    dev: bool
    direct: bool
    lines: tuple[int, int] | None
    deps: set[str] = field(default_factory=set)


def _split_id(pkg_id: str) -> tuple[str, str]:
    name, _, version = pkg_id.rpartition("@")
    return name, version


def _skipped(path: str) -> bool:
    p = "/" + path
    return "/src/it/" in p or "/target/it/" in p


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    if _skipped(inp.path):
        return AnalysisResult()
    app = parse_pom(inp.data, inp.path, inp.related)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="pom", version=2, filenames=("pom.xml",), related=related, analyze=_analyze)
