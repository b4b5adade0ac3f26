"""Helpers shared by lockfile parsers: decoding (JSON, TOML, YAML incl. the lockfile YAML loader), line lookup,
package construction, package.json loading, PEP 503 names and TOML `[[table]]` line ranges."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.registry import AnalysisResult
from vigil.inventory.purl import make_purl
from vigil.inventory.records import Application, Location, Package, Relationship
from vigil.jsonload import loads


def decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise ParseError("binary data, not a text lockfile")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(f"not UTF-8 text (byte {e.start})") from e


def load_json(data: bytes) -> Any:
    text = decode(data)
    try:
        return loads(text)
    except RecursionError:
        raise ParseError("JSON nested too deeply") from None
    except ValueError as e:
        from json import JSONDecodeError  # loaded: only json.loads raises one

        if not isinstance(e, JSONDecodeError):
            raise  # a number too large to convert: run_guarded says so
        raise ParseError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from e


def load_toml(data: bytes) -> dict[str, Any]:
    # tomli is tomllib compiled by mypyc (see pyproject.toml); imported here, like the YAML parser: every analyzer
    # module is imported for every vulnerability scan
    import tomli

    text = decode(data)
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as e:
        raise ParseError(f"invalid TOML: {e}") from e
    except RecursionError:
        raise ParseError("TOML nested too deeply") from None


@cache
def _yaml_loaders() -> tuple[Any, Any]:
    """The YAML loaders, built on first use: every analyzer module is imported for every vulnerability scan, and
    the YAML parser's import was a tenth of the start-up of a scan with no YAML lockfile in it.

    The first is CSafeLoader (C when libyaml is there, ~10x faster; budgets alias expansion). The second is for
    YAML lockfiles (pnpm, yarn berry), which hold versions and ranges as plain scalars: with YAML 1.1 implicit
    typing "1.10" would become the float 1.1 and "1" the int 1. It keeps every plain scalar a string except null
    and booleans (pnpm's `dev: true`); lockfileVersion 5.4 thus arrives as "5.4"."""
    import yaml

    from vigil.yaml_safe import CSafeLoader

    implicit = {
        first: [(tag, rx) for tag, rx in resolvers if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    # The composer asks the resolver about every node, through three Python calls (~80,000 of each on the lockfile
    # corpus). With no path resolvers and no wildcard implicit resolver (checked here, else PyYAML's own methods
    # stay), most answers need no regex: BaseResolver.resolve tries only the resolvers registered for a plain
    # scalar's first character, and answers the default tag for the rest (and for every quoted scalar).
    direct = not yaml.SafeLoader.yaml_path_resolvers and None not in implicit
    typed_first = frozenset(first for first, resolvers in implicit.items() if resolvers)
    scalar_node = yaml.ScalarNode
    collection_tags = {yaml.SequenceNode: _SEQ, yaml.MappingNode: _MAP}  # BaseResolver's defaults for them

    class _LockfileYamlLoader(CSafeLoader):  # type: ignore[misc, valid-type]
        def construct_document(self, node: Any) -> Any:
            try:
                return _plain_construct(node, self.bool_values)
            except (_NotPlain, RecursionError):
                return super().construct_document(node)

        if direct:
            def resolve(self, kind: Any, value: Any, implicit: tuple[bool, bool]) -> Any:
                if kind is scalar_node:
                    if not implicit[0] or (value and value[0] not in typed_first):
                        return _STR  # what BaseResolver.resolve returns for them, without its lookups
                    return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                return collection_tags.get(kind) or super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]

            # Without path resolvers, descending and ascending track nothing (BaseResolver's return at once). C
            # builtins taking the same arguments cost the composer no Python frame per node.
            descend_resolver = staticmethod(slice)  # type: ignore[assignment]  # (parent, index)
            ascend_resolver = staticmethod(tuple)  # type: ignore[assignment]  # ()

    _LockfileYamlLoader.yaml_implicit_resolvers = implicit
    return CSafeLoader, _LockfileYamlLoader


class _NotPlain(Exception):
    """A node _plain_construct leaves to PyYAML's constructor."""


_STR, _NULL, _BOOL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool"
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


def _plain_construct(root: Any, bool_values: dict[str, bool]) -> Any:
    """What SafeConstructor.construct_document builds from a document of plain mappings, sequences and
    str/null/bool scalars — the whole of a pnpm or yarn berry lockfile under the lockfile resolver — without its
    per-node dispatch and generators (that was half the cost of loading a large pnpm lockfile). An aliased node is
    built once and shared, as PyYAML does. Any other tag (explicit `!!int`, `!!set`, a merge key, a custom tag) or
    a collection as a mapping key raises _NotPlain and the caller lets PyYAML construct the whole document."""
    import yaml

    scalar_node, mapping_node = yaml.ScalarNode, yaml.MappingNode
    built: dict[int, Any] = {}

    def build(node: Any) -> Any:
        if type(node) is scalar_node:
            tag = node.tag
            if tag == _STR:
                return node.value
            if tag == _NULL:
                return None
            if tag == _BOOL and node.value.lower() in bool_values:
                return bool_values[node.value.lower()]
            raise _NotPlain
        done = built.get(id(node))
        if done is not None:
            return done
        if type(node) is mapping_node and node.tag == _MAP:
            out: dict[Any, Any] = {}
            built[id(node)] = out
            for k, v in node.value:
                if type(k) is not scalar_node:
                    raise _NotPlain  # unhashable key: PyYAML's constructor says so
                # plain strings (most keys and values) inline: what build() returns for them, without a call each
                out[k.value if k.tag == _STR else build(k)] = (
                    v.value if type(v) is scalar_node and v.tag == _STR else build(v)
                )
            return out
        if node.tag == _SEQ and type(node) is yaml.SequenceNode:
            seq: list[Any] = []
            built[id(node)] = seq
            seq.extend(build(c) for c in node.value)
            return seq
        raise _NotPlain

    return build(root)


def warm_parsers() -> None:
    """Import the parsers the lockfile analyzers load on first use (YAML with its loaders, TOML, PEP 440
    versions), for a process about to fork analysis workers: each worker would otherwise import them again, which
    cost a two-worker scan of the lockfile corpus ~0.1 s of CPU."""
    import packaging.version  # noqa: F401
    import tomli  # noqa: F401

    _yaml_loaders()


def load_yaml(data: bytes) -> Any:
    return _yaml_load(decode(data), _yaml_loaders()[0])


def load_lock_yaml(text: str) -> Any:
    return _yaml_load(text, _yaml_loaders()[1])


def _yaml_load(text: str, loader: Any) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=loader)  # a Safe loader: no arbitrary Python objects
    except ParseError:  # the loader's alias budget, whose message says it all
        raise
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParseError(f"invalid YAML{where}: {getattr(e, 'problem', None) or e}") from e
    except RecursionError:
        raise ParseError("YAML nested too deeply") from None


def str_dict(value: object) -> dict[str, str]:
    """The string-to-string members of a JSON/YAML object (anything else in it, or a non-object, is ignored)."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


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


_PEP503_SEPARATORS = re.compile(r"[-_.]+")


def pep503_name(name: str) -> str:
    """PEP 503 normalised Python package name, used only for matching names across files and entries. Unlike
    vigil.vulndb.names.normalize it does not strip surrounding white space (kept as the parsers always did)."""
    return _PEP503_SEPARATORS.sub("-", name).lower()


def expect(cond: bool, reason: str) -> None:
    if not cond:
        raise ParseError(reason)


class LineIndex:
    """Finds 1-based line numbers of offsets in a text (1 + the line breaks before the offset).

    Parsers ask in document order: each answer then counts the line breaks since the previous one (str.count, in
    C), so a lockfile of 30,000 lines costs no object per line. Asked about an earlier offset, the index lists
    every line start once and bisects from then on."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None
        self._at = 0  # the last offset answered in order, and its line
        self._line = 1

    def line_of(self, offset: int) -> int:
        if self._starts is None:
            if offset >= self._at:
                self._line += self.text.count("\n", self._at, offset)
                self._at = offset
                return self._line
            self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        import bisect

        return bisect.bisect_right(self._starts, offset)


def package(
    ecosystem: str,
    name: str,
    version: str,
    *,
    file_path: str = "",
    dev: bool = False,
    relationship: Relationship = "unknown",
    depends_on: tuple[str, ...] | list[str] = (),
    lines: tuple[int, int] | None = None,
    licenses: tuple[str, ...] = (),
) -> Package:
    return Package(
        ecosystem=ecosystem,
        name=name,
        version=version,
        id=f"{name}@{version}",
        purl=make_purl(ecosystem, name, version),
        dev=dev,
        relationship=relationship,
        depends_on=tuple(sorted(set(depends_on))),
        locations=(Location(start_line=lines[0], end_line=lines[1]),) if lines else (),
        file_path=file_path,
        licenses=licenses,
    )


# --- line ranges of [[table]] blocks -----------------------------------------------------------------------------
# Used by poetry_lock, uv_lock, pdm_lock and pylock_toml. tomli gives no positions; one pass over the lines finds
# each `[[name]]` header and the last content line before the next header that is not one of its sub-tables
# (`[name.x]`, `[[name.x]]`).

_HEADER = re.compile(r"^[ \t]*\[(\[)?[ \t]*([^\[\]#]*?)[ \t]*\](\])?[ \t]*(?:#.*)?$")


def array_table_lines(text: str, table: str) -> list[tuple[int, int]]:
    """1-based (first, last) line of each `[[table]]` block, in file order."""
    blocks: list[tuple[int, int]] = []
    start = 0  # 0 = not inside a block
    last = 0
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            m = _HEADER.match(raw.rstrip("\r"))
            if m is not None:
                key = re.sub(r"[ \t]", "", m.group(2)).replace('"', "")
                is_array = m.group(1) is not None and m.group(3) is not None
                if is_array and key == table:
                    if start:
                        blocks.append((start, last))
                    start = last = lineno
                    continue
                if not key.startswith(table + "."):
                    if start:
                        blocks.append((start, last))
                    start = 0
                    continue
        if start:
            last = lineno
    if start:
        blocks.append((start, last))
    return blocks


def toml_array_tables(
    data: bytes, table: str, what: str
) -> tuple[dict[str, Any], list[Any], list[tuple[int, int]]]:
    """(document, entries of its `[[table]]` array, line range of each entry) for a TOML lockfile. The line ranges
    are empty when the blocks found in the text do not pair one-to-one with the entries (written unusually, e.g.
    as an inline array): no line numbers rather than wrong ones."""
    doc = load_toml(data)
    items = doc.get(table, [])
    expect(isinstance(items, list), f"{what}: `{table}` is not an array of tables")
    blocks = array_table_lines(decode(data), table)
    if len(blocks) != len(items):
        blocks = []
    return doc, items, blocks


def sorted_application(app_type: str, path: str, packages: list[Package]) -> Application:
    """The application of a lockfile, its packages sorted by name and version (in place)."""
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=app_type, file_path=path, packages=tuple(packages))


def app_result(app: Application) -> AnalysisResult:
    """The analysis result of one lockfile: its application, or nothing when it locks no packages."""
    return AnalysisResult(applications=(app,) if app.packages else ())
