"""requirements.txt (pip) analyzer.

Format facts (https://pip.pypa.io/en/stable/reference/requirements-file-format/):
- One requirement per line; a line ending in '\\' continues on the next one (a full-line comment ends the
  continuation, as in pip-compile output where "# via x" follows the last --hash line).
- Comments start at '#' at the beginning of a line or after whitespace.
- `-r FILE` / `--requirement FILE` include another requirements file, `-c FILE` / `--constraint FILE` a constraints
  file (it pins versions of packages that are required elsewhere but adds none); both paths are relative to the
  including file. Other options (`-i`, `--extra-index-url`, `-f`, `--pre`, …) are not requirements. `-e`/`--editable`
  installs a local path or VCS checkout.
- A requirement is PEP 508: `name[extra1,extra2] (specifiers) ; markers`, optionally followed by per-requirement
  options (`--hash=…`). `name @ URL`, bare URLs, paths and archives are not registry releases.

What becomes a package: a requirement pinned to exactly one version (`==1.2.3` or `===1.2.3`; extras are kept — the
package is the base distribution). Everything else is not a package: it is recorded as a `Skipped` line with the
reason (never a failure of the whole file). An unpinned requirement (`flask`, `flask>=2`) does become a package when a
constraints file included with `-c` pins it. Every package is direct: a requirements file has no graph.

With `--detection-priority comprehensive` (`min_version`), as in Trivy, a requirement with no single pin is reported
at the lowest version it allows: the version of its `~=` clause, else of its `>=` clause, and `==1.2.*` as `1.2.0`.
That version may not be the one installed: more advisories match, some of them false positives.

The analyzer sees only this file and the siblings the source passes in `AnalysisInput.siblings` (keyed by base
name), so includes are resolved when they name a file in the same directory; others are reported as skipped.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import msgspec

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import decode, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import PYPI, Application, Package
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "pip"

# Reasons a line yields no package. The first group are requirements that are not pinned to one release.
UNPINNED = "not pinned to a single version"
WILDCARD = "wildcard version"
URL_OR_PATH = "URL, path or VCS requirement"
EDITABLE = "editable install"
INVALID_REQUIREMENT = "invalid requirement"
INVALID_VERSION = "invalid version"
OPTION = "pip option"
INCLUDE_UNAVAILABLE = "included file not available"
INCLUDE_UNREADABLE = "included file is not text"
INCLUDE_CYCLE = "include cycle"
INCLUDE_TOO_DEEP = "includes nested too deeply"
REQUIREMENT_REASONS = frozenset(
    {UNPINNED, WILDCARD, URL_OR_PATH, EDITABLE, INVALID_REQUIREMENT, INVALID_VERSION}
)

MAX_INCLUDE_DEPTH = 16

ReadInclude = Callable[[str], bytes | None]


class Skipped(NamedTuple):
    """A line that produced no package. `text` has URL credentials masked; `file_path` is the file it is in."""

    line: int
    text: str
    reason: str
    file_path: str = ""


_NAME = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*")
_CLAUSE = re.compile(r"^\s*(===|==|!=|~=|<=|>=|<|>)\s*(\S*)\s*$")
_COMMENT = re.compile(r"(^|\s)#.*$")
_PER_REQUIREMENT_OPTION = re.compile(r"\s--?[A-Za-z]")
_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")


def _normalize(name: str) -> str:
    """PEP 503 name normalisation, used only for matching names across files."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _mask(text: str) -> str:
    return _CREDENTIALS.sub(r"\1***@", text.strip())


def _decode(data: bytes) -> str:
    # pip honours a UTF-16 BOM (Windows editors write one); everything else must be UTF-8.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ParseError("invalid UTF-16 text") from None
    return decode(data)


def _logical_lines(text: str) -> Iterator[tuple[int, int, str]]:
    """(first line, last content line, joined text) per logical line."""
    parts: list[str] = []
    first = last = 0
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        is_comment = line.lstrip().startswith("#")
        if line.endswith("\\") and not is_comment:
            if not parts:
                first = n
            parts.append(line[:-1])
            last = n
            continue
        if parts:
            if not is_comment:
                parts.append(line)
                last = n
            yield first, last, "".join(parts)
            parts = []
        else:
            yield n, n, line
    if parts:
        yield first, last, "".join(parts)


def _strip_comment(line: str) -> str:
    if "://" in line:
        return _COMMENT.sub("", line)
    # Without a URL on the line a '#' can only start a comment; pip wants whitespace before it, but
    # "Jinja2==3.0.0#comment" is common enough to accept.
    return line.split("#", 1)[0]


def _split_option(line: str) -> tuple[str, str]:
    """('-r', 'base.txt') from '-r base.txt', '-rbase.txt', '--requirement=base.txt', …"""
    if line.startswith("--"):
        m = re.match(r"(--[A-Za-z0-9-]*)\s*=?\s*(.*)$", line, re.S)
        opt, arg = (m.group(1), m.group(2)) if m else (line, "")
    else:
        opt, arg = line[:2], line[2:].lstrip(" \t=")
    return opt, arg.strip().strip("'\"")


@dataclass(slots=True)
class _Requirement:
    name: str
    version: str | None  # None: not pinned (reason says why)
    reason: str


def _parse_requirement(line: str, min_version: bool = False) -> _Requirement:
    line = _PER_REQUIREMENT_OPTION.split(line, maxsplit=1)[0]
    lowered = line.lower()
    if "://" in line or lowered.endswith(_ARCHIVE_SUFFIXES) or line.startswith((".", "/", "~")):
        return _Requirement("", None, URL_OR_PATH)
    spec_part = line.split(";", 1)[0].strip()
    m = _NAME.match(spec_part)
    if m is None:
        return _Requirement("", None, INVALID_REQUIREMENT)
    name, rest = m.group(1), spec_part[m.end() :].strip()
    if rest.startswith("@"):
        return _Requirement(name, None, URL_OR_PATH)
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1].strip()
    if not rest:
        return _Requirement(name, None, UNPINNED)
    pins: list[tuple[str, str]] = []
    wildcard = False
    for clause in rest.split(","):
        c = _CLAUSE.match(clause)
        if c is None or not c.group(2):
            return _Requirement(name, None, INVALID_REQUIREMENT)
        op, version = c.group(1), c.group(2)
        if op == "==" and "*" in version:
            wildcard = True
        elif op in ("==", "==="):
            pins.append((op, version))
    if len(pins) != 1 and min_version and not pins:
        pins = _lowest(rest)
    if len(pins) != 1:
        return _Requirement(name, None, WILDCARD if wildcard and not pins else UNPINNED)
    op, version = pins[0]
    if op == "==":
        # imported here: every analyzer module is imported for every vulnerability scan, most find no requirements
        from packaging.version import InvalidVersion, Version

        try:
            Version(version)
        except InvalidVersion:
            return _Requirement(name, None, INVALID_VERSION)
    return _Requirement(name, version, "")


def _lowest(spec: str) -> list[tuple[str, str]]:
    """The lowest version a requirement allows, as Trivy's comprehensive mode reads it: the `~=` clause's version,
    else the `>=` clause's, else a `==X.Y.*` wildcard as X.Y.0; [] when none (an upper bound alone says nothing)."""
    clauses = [c.groups() for c in map(_CLAUSE.match, spec.split(",")) if c is not None]
    for want in ("~=", ">="):
        for op, version in clauses:
            if op == want:
                return [("==", version)]
    for op, version in clauses:
        if op == "==" and version.endswith(".*") and "*" not in version[:-2]:
            return [("==", version[:-1] + "0")]
    return []


@dataclass(slots=True)
class _Unpinned:
    """An unpinned requirement that a constraints file may still pin."""

    skipped: Skipped
    name: str
    lines: tuple[int, int]


@dataclass
class _Parser:
    path: str
    read_include: ReadInclude | None
    min_version: bool = False
    packages: list[Package] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)
    skipped: list[Skipped] = field(default_factory=list)
    unpinned: list[_Unpinned] = field(default_factory=list)
    constraints: dict[str, str] = field(default_factory=dict)
    active: list[str] = field(default_factory=list)  # include stack, for cycle detection
    done: set[str] = field(default_factory=set)

    def file_path_of(self, rel: str) -> str:
        root_dir = posixpath.dirname(self.path)
        return posixpath.normpath(posixpath.join(root_dir, rel)) if root_dir else rel

    def parse_file(self, text: str, rel: str, file_path: str, constraint: bool) -> None:
        self.active.append(rel)
        try:
            for first, last, raw in _logical_lines(text):
                line = _strip_comment(raw).strip()
                if not line:
                    continue
                if line.startswith("-"):
                    self.option(line, first, rel, file_path, constraint)
                    continue
                req = _parse_requirement(line, self.min_version)
                if constraint:
                    if req.version is not None:
                        self.constraints.setdefault(_normalize(req.name), req.version)
                    continue
                if req.version is None:
                    skip = Skipped(first, _mask(line), req.reason, file_path)
                    log.debug("%s:%d: requirement skipped: %s", file_path, first, req.reason)
                    self.skipped.append(skip)
                    if req.name and req.reason in (UNPINNED, WILDCARD):
                        self.unpinned.append(_Unpinned(skip, req.name, (first, last)))
                    continue
                self.add(req.name, req.version, file_path, (first, last))
        finally:
            self.active.pop()
            self.done.add(rel)

    def add(self, name: str, version: str, file_path: str, lines: tuple[int, int]) -> None:
        key = (_normalize(name), version)
        if key in self.seen:
            return
        self.seen.add(key)
        self.packages.append(
            package(PYPI, name, version, file_path=file_path, relationship="direct", lines=lines)
        )

    def option(self, line: str, lineno: int, rel: str, file_path: str, constraint: bool) -> None:
        opt, arg = _split_option(line)
        if opt in ("-r", "--requirement", "-c", "--constraint"):
            self.include(arg, lineno, rel, file_path, constraint or opt in ("-c", "--constraint"))
        elif opt in ("-e", "--editable"):
            self.skip(lineno, f"{opt} {arg}", EDITABLE, file_path)
        else:
            self.skip(lineno, opt, OPTION, file_path)  # the argument may be a URL with a token: not kept

    def skip(self, lineno: int, text: str, reason: str, file_path: str) -> None:
        log.debug("%s:%d: line skipped: %s", file_path, lineno, reason)
        self.skipped.append(Skipped(lineno, _mask(text), reason, file_path))

    def include(self, arg: str, lineno: int, rel: str, file_path: str, constraint: bool) -> None:
        text = f"{'-c' if constraint else '-r'} {arg}"
        if not arg or "://" in arg:
            self.skip(lineno, text, INCLUDE_UNAVAILABLE, file_path)
            return
        target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), arg))
        if target in self.active:
            self.skip(lineno, text, INCLUDE_CYCLE, file_path)
            return
        if target in self.done:  # already read through another include: its packages are in
            return
        if len(self.active) > MAX_INCLUDE_DEPTH:
            self.skip(lineno, text, INCLUDE_TOO_DEEP, file_path)
            return
        data = self.read_include(target) if self.read_include is not None else None
        if data is None:
            self.skip(lineno, text, INCLUDE_UNAVAILABLE, file_path)
            return
        try:
            included = _decode(data)
        except ParseError:
            self.skip(lineno, text, INCLUDE_UNREADABLE, file_path)
            return
        self.parse_file(included, target, self.file_path_of(target), constraint)


def parse_requirements(
    data: bytes, path: str = "", read_include: ReadInclude | None = None, min_version: bool = False
) -> tuple[Application, list[Skipped]]:
    """Parse a requirements file. `read_include(rel)` returns the bytes of an included file — `rel` is normalised
    and relative to this file's directory, e.g. "base.txt" or "../common/base.txt" — or None when unavailable.
    Returns the application (pinned requirements, all direct) and the lines that produced no package."""
    parser = _Parser(path=path, read_include=read_include, min_version=min_version)
    root = posixpath.basename(path) or "requirements.txt"
    parser.parse_file(_decode(data), root, path, constraint=False)
    if parser.constraints:
        resolved: set[Skipped] = set()
        for u in parser.unpinned:
            version = parser.constraints.get(_normalize(u.name))
            if version is not None:
                parser.add(u.name, version, u.skipped.file_path, u.lines)
                resolved.add(u.skipped)
        parser.skipped = [s for s in parser.skipped if s not in resolved]
    packages = sorted(parser.packages, key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages)), parser.skipped


def _analyze(inp: AnalysisInput, min_version: bool = False) -> AnalysisResult:
    def read_include(rel: str) -> bytes | None:
        if "/" in rel:  # only files in the same directory are passed to us
            return None
        return inp.siblings.get(rel)

    app, skipped = parse_requirements(inp.data, inp.path, read_include, min_version)
    unpinned = sum(1 for s in skipped if s.reason in REQUIREMENT_REASONS)
    if unpinned:
        log.info(
            "%s: %d requirement(s) not pinned with == were skipped (no version to match)", inp.path, unpinned
        )
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="pip",
    version=1,
    globs=("requirements*.txt",),
    # Includes (-r/-c) can name any file; the source should pass the .txt files beside a requirements file
    # (lazily, if it can), keyed by base name. Entries are fnmatch globs on sibling base names.
    companions=("*.txt",),
    analyze=_analyze,
)
# --detection-priority comprehensive: unpinned requirements at their lowest allowed version
COMPREHENSIVE = msgspec.structs.replace(ANALYZER, analyze=lambda inp: _analyze(inp, min_version=True),
                                    variant="comprehensive")
