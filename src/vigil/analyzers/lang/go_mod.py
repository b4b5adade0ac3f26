"""go.mod analyzer (with go.sum as companion).

Format facts (https://go.dev/ref/mod#go-mod-file):
- Line-oriented: `verb args…`, or a block `verb (` … `)` with one argument list per line; `//` starts a comment;
  arguments may be "quoted" or `raw` strings.
- Directives: module, go, toolchain, require, exclude, replace, retract, godebug, tool, ignore.
- `require path version` — a `// indirect` comment marks a module not imported by the main module's packages.
  From go 1.17 on go.mod lists every module providing a package of the build (module graph pruning); before,
  indirect ones were often missing and only go.sum named them.
- `replace old [oldver] => new [newver]`: with a version, another module is used instead (applies to every
  version of `old` when `oldver` is omitted, otherwise to that version only); without one, `new` is a directory on
  disk (the module's code is the project's own: nothing to match against advisories, so it is dropped).
- `toolchain goX.Y.Z` names the toolchain that builds the module: its standard library is reported as the package
  `stdlib` (as Trivy does). The `go` line is only a minimum, so alone it adds no stdlib, except with
  `--detection-priority comprehensive` (as in Trivy): then a `go 1.21` line or later (`toolchain` exists from 1.21)
  gives stdlib at that version (`1.22` as v1.22.0), the oldest toolchain that may build the module.

go.sum (https://go.dev/ref/mod#go-sum-files): `path version[/go.mod] hash` lines, sorted by path and version. When
the go directive is older than 1.17 (or absent, which means 1.16), modules that go.sum has content hashes for
(lines without "/go.mod": their code was downloaded) and go.mod does not list are added as indirect, using the
highest version recorded. Lines that only hash a go.mod belong to modules whose code was never needed.

The main module itself is reported as Trivy reports it: relationship "root", no version, depending on the direct
requirements. Versions keep their leading "v".
"""

from __future__ import annotations

import re

import msgspec

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import decode
from vigil.analyzers.lang._graph import PackageSet
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import GO, Application
from vigil.jsonload import loads

APP_TYPE = "gomod"

_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|`[^`]*`|//.*|[()]|=>|[^\s()"`]+')
_TOOLCHAIN = re.compile(r"go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?(?:[-+].*)?$")
_GO_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")


class _Require(msgspec.Struct, frozen=True):
    path: str
    version: str
    indirect: bool
    line: int


class _Replace(msgspec.Struct, frozen=True):
    old_path: str
    old_version: str | None
    new_path: str
    new_version: str | None  # None: a directory on disk


class GoMod(msgspec.Struct):
    module: str = ""
    go: str = ""
    toolchain: str = ""
    requires: list[_Require] = msgspec.field(default_factory=list)
    replaces: list[_Replace] = msgspec.field(default_factory=list)


def _unquote(tok: str) -> str:
    if tok.startswith("`"):
        return tok[1:-1]
    if tok.startswith('"'):
        try:
            val = loads(tok)  # a Go string literal's escapes are JSON's
        except ValueError:
            return tok[1:-1]
        return val if isinstance(val, str) else tok[1:-1]
    return tok


def _line_tokens(line: str) -> tuple[list[str], str | None]:
    """(arguments, comment text or None)."""
    toks: list[str] = []
    for m in _TOKEN.finditer(line):
        t = m.group()
        if t.startswith("//"):
            return toks, t[2:].strip()
        toks.append(t)
    return toks, None


def _is_indirect(comment: str | None) -> bool:
    if comment is None:
        return False
    return comment == "indirect" or comment.startswith("indirect;")


def parse_go_mod_text(text: str) -> GoMod:
    mod = GoMod()
    block: str | None = None
    block_start = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        toks, comment = _line_tokens(line)
        if not toks:
            continue
        if block is not None:
            if toks == [")"]:
                block = None
                continue
            args = toks
            verb = block
        else:
            verb, args = toks[0], toks[1:]
            if args[:1] == ["("]:
                if args[-1:] == [")"] and len(args) >= 2:  # `require ( )` on one line
                    args = args[1:-1]
                    if not args:
                        continue
                else:
                    if len(args) > 1:
                        raise ParseError(f"go.mod line {lineno}: unexpected tokens after '('")
                    block, block_start = verb, lineno
                    continue
        args = [_unquote(a) for a in args]
        if verb == "module":
            if args:
                mod.module = args[0]
        elif verb == "go":
            if args:
                mod.go = args[0]
        elif verb == "toolchain":
            if args:
                mod.toolchain = args[0]
        elif verb == "require":
            if len(args) != 2:
                raise ParseError(f"go.mod line {lineno}: require needs a module path and a version")
            mod.requires.append(_Require(args[0], args[1], _is_indirect(comment), lineno))
        elif verb == "replace":
            mod.replaces.append(_parse_replace(args, lineno))
        elif verb in ("(", ")", "=>"):
            raise ParseError(f"go.mod line {lineno}: unexpected '{verb}'")
        # exclude, retract, godebug, tool, ignore and unknown directives carry no packages
    if block is not None:
        raise ParseError(f"go.mod line {block_start}: '{block} (' block is never closed")
    return mod


def _parse_replace(args: list[str], lineno: int) -> _Replace:
    if "=>" not in args:
        raise ParseError(f"go.mod line {lineno}: replace without '=>'")
    i = args.index("=>")
    old, new = args[:i], args[i + 1 :]
    if len(old) not in (1, 2) or len(new) not in (1, 2):
        raise ParseError(f"go.mod line {lineno}: malformed replace")
    return _Replace(old[0], old[1] if len(old) == 2 else None, new[0], new[1] if len(new) == 2 else None)


def stdlib_version(toolchain: str) -> str | None:
    """ "go1.22.5" -> "v1.22.5"; "go1.21rc2" -> "v1.21.0-rc.2"; None for "default" or anything unrecognised."""
    m = _TOOLCHAIN.match(toolchain)
    if not m:
        return None
    major, minor, patch, pre, pre_n = m.groups()
    ver = f"v{major}.{minor}.{patch or 0}"
    return f"{ver}-{pre}.{pre_n}" if pre else ver


def _before_go117(go: str) -> bool:
    if not go:
        return True  # no go directive means go 1.16 semantics
    m = _GO_VERSION.match(go)
    if not m:
        return False
    return (int(m.group(1)), int(m.group(2) or 0)) < (1, 17)


def parse_go_sum(data: bytes) -> dict[str, str]:
    """module path -> highest version whose content go.sum records (go.sum is sorted: the last one wins)."""
    out: dict[str, str] = {}
    for line in decode(data).splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[1].endswith("/go.mod"):
            continue
        out[fields[0]] = fields[1]
    return out


def parse_go_mod(data: bytes, path: str = "", go_sum: bytes | None = None, min_version: bool = False) -> Application:
    mod = parse_go_mod_text(decode(data))
    requires, replaces = mod.requires, mod.replaces
    exact = {(r.old_path, r.old_version): r for r in replaces if r.old_version is not None}
    wildcard = {r.old_path: r for r in replaces if r.old_version is None}

    pset = PackageSet(GO)
    seen_paths: set[str] = {mod.module}
    for req in requires:
        seen_paths.add(req.path)
        rep = exact.get((req.path, req.version)) or wildcard.get(req.path)
        name, version = req.path, req.version
        if rep is not None:
            if rep.new_version is None:
                continue  # replaced by a local directory
            name, version = rep.new_path, rep.new_version
            seen_paths.add(name)
        pset.add(
            name,
            version,
            relationship="indirect" if req.indirect else "direct",
            lines=(req.line, req.line),
        )

    if go_sum is not None and _before_go117(mod.go):
        try:
            sums = parse_go_sum(go_sum)
        except ParseError:
            sums = {}  # a broken companion must not make go.mod unreadable
        for mod_path, version in sums.items():
            if mod_path not in seen_paths and mod_path not in wildcard:
                pset.add(mod_path, version, relationship="indirect")

    std = stdlib_version(mod.toolchain) if mod.toolchain else None
    if std is None and not mod.toolchain and min_version and mod.go:
        m = _GO_VERSION.match(mod.go)
        if m and (int(m.group(1)), int(m.group(2) or 0)) >= (1, 21):
            std = stdlib_version("go" + mod.go)
    if std is not None:
        pset.add("stdlib", std, relationship="direct")
    direct_ids = [p.id for p in pset.build() if p.relationship == "direct"]
    if mod.module:
        # the module itself, as Trivy lists it: the root of the graph, with no version (a module's version is a
        # tag of its repository, which go.mod does not record), so no advisory can match it
        pset.add(mod.module, "", relationship="root", depends_on=direct_ids)
    return Application(type=APP_TYPE, file_path=path, packages=pset.build())


def _analyze(inp: AnalysisInput, min_version: bool = False) -> AnalysisResult:
    app = parse_go_mod(inp.data, inp.path, go_sum=inp.siblings.get("go.sum"), min_version=min_version)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="gomod",
    version=2,
    filenames=("go.mod",),
    companions=("go.sum",),
    analyze=_analyze,
)
# --detection-priority comprehensive: stdlib from the `go` line too
COMPREHENSIVE = msgspec.structs.replace(ANALYZER, analyze=lambda inp: _analyze(inp, min_version=True),
                                    variant="comprehensive")
