"""conan.lock (Conan C/C++ package manager) analyzer.

Format facts:
- Conan 1 (lock "version" 0.4): `graph_lock.nodes` maps node ids to `{ref, requires: [ids], build_requires: [ids],
  context: "host"|"build", path?}`; node "0" is the consumer (conanfile, no `ref`). A ref is
  `name/version[@user/channel][#recipe_revision]`.
- Conan 2 (lock "version" 0.5): flat lists `requires`, `build_requires`, `python_requires` of refs
  `name/version[@user/channel][#rrev[%timestamp]]`; no graph.

Semantics: the root's requires are direct, other host nodes indirect (Conan 1; as Trivy's graph); build-context
nodes and `build_requires` are build tools → dev; Conan 2 `requires` are production with unknown relationships,
`build_requires`/`python_requires` dev. Conan packages are inventoried only: there is no Conan advisory feed in the
DB (Trivy uses GitLab's GLAD), so they are not matched.
"""

from __future__ import annotations

from typing import Any

from vigil.analyzers.lang._common import LineIndex, decode, expect, load_json, package
from vigil.analyzers.lang._jsonlines import json_value_spans
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import CONAN, Application, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "conan"


def parse_ref(ref: str) -> tuple[str, str] | None:
    """("name", "version") from `name/version[@user/channel][#rrev[%ts]]`, None if not a reference."""
    base = ref.split("#", 1)[0].split("@", 1)[0].strip()
    name, sep, version = base.partition("/")
    if not sep or not name or not version or "/" in version:
        return None
    return name, version


def parse_conan_lock(data: bytes, path: str = "") -> Application:
    doc = load_json(data)
    expect(isinstance(doc, dict), "conan.lock: top level is not a JSON object")
    graph = doc.get("graph_lock")
    if graph is not None:
        expect(isinstance(graph, dict), "conan.lock: `graph_lock` is not an object")
        return _v1(graph, data, path)
    return _v2(doc, path)


def _v1(graph: dict[str, Any], data: bytes, path: str) -> Application:
    nodes: Any = graph.get("nodes")
    expect(isinstance(nodes, dict), "conan.lock: `graph_lock.nodes` is not an object")
    text = decode(data)
    spans = json_value_spans(text, max_depth=3)
    index = LineIndex(text)
    refs: dict[str, tuple[str, str]] = {}
    for nid, node in nodes.items():
        if isinstance(node, dict) and isinstance(node.get("ref"), str):
            nv = parse_ref(node["ref"])
            if nv is not None:
                refs[nid] = nv

    def ids(node: dict[str, Any], key: str) -> list[str]:
        v = node.get(key)
        return [str(x) for x in v if isinstance(x, (str, int))] if isinstance(v, list) else []

    root = nodes.get("0")
    direct: set[str] | None = None
    if isinstance(root, dict) and "ref" not in root:
        direct = set(ids(root, "requires"))
    packages: list[Package] = []
    seen: set[tuple[str, str]] = set()
    for nid, (name, version) in refs.items():
        node = nodes[nid]
        if (name, version) in seen:
            continue
        seen.add((name, version))
        relationship: Relationship = "unknown"
        if direct is not None:
            relationship = "direct" if nid in direct else "indirect"
        deps = [f"{refs[d][0]}@{refs[d][1]}" for d in ids(node, "requires") if d in refs]
        span = spans.get(("graph_lock", "nodes", nid))
        lines = (index.line_of(span[0]), index.line_of(span[1] - 1)) if span else None
        packages.append(
            package(
                CONAN,
                name,
                version,
                file_path=path,
                dev=node.get("context") == "build",
                relationship=relationship,
                depends_on=deps,
                lines=lines,
            )
        )
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _v2(doc: dict[str, Any], path: str) -> Application:
    found: dict[tuple[str, str], Package] = {}
    for key, dev in (("requires", False), ("build_requires", True), ("python_requires", True)):
        refs = doc.get(key)
        if refs is None:
            continue
        expect(isinstance(refs, list), f"conan.lock: `{key}` is not an array")
        for ref in refs:
            nv = parse_ref(ref) if isinstance(ref, str) else None
            if nv is None or nv in found:
                continue
            found[nv] = package(CONAN, nv[0], nv[1], file_path=path, dev=dev)
    packages = sorted(found.values(), key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_conan_lock(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="conan-lock", version=1, filenames=("conan.lock",), analyze=_analyze)
