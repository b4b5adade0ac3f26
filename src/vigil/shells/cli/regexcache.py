"""Compiled regular expressions kept between runs of the CLI, as the interpreter keeps compiled byte code.

`re` compiles a pattern in Python (parsing it, then generating the code its C engine runs) and cannot keep the
result across processes. A small scan compiles 50 to 80 patterns: Vigil's analyzer paths, version schemes and
secret rules, and, at import, click's, gettext's, platform's and packaging's. On `vigil rootfs` of a small tree
that was 12-16 % of the run's instructions.

`install` wraps `re._compile`, the function behind `re.compile`, `re.match` and the others. A pattern found in the
table kept for this interpreter build is made from its kept code by `_sre.compile`, the call `re` itself ends with;
any other is compiled as `re` compiles it (the same steps, so its code is at hand) and added to the table, written
at exit. The table is keyed by the pattern's exact text and flags, so an entry only ever stands for the pattern it
was compiled from (the file is the user's own, as trusted as the byte-code caches); a table from another build is
another file; the C engine validates the code it is given, and
an entry it refuses, a damaged file or an unwritable directory only mean compiling as before. Patterns a scan's
input brings (custom secret rules) are kept like the others, up to _MAX_ENTRIES and _MAX_PATTERN characters each.

Only the CLI installs it (`vigil.shells.cli.launch.run`), and only where `re`'s internals are the ones this was
written against (CPython 3.11): an embedding program's `re` is left alone.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_MAGIC = b"vigil-regex/2\n"
_SUFFIX = ".marshal"
_MAX_ENTRIES = 4096
_MAX_PATTERN = 4096  # characters: a longer pattern is compiled each time

# (pattern, flags) -> (flags, code, groups, groupindex, indexgroup): the arguments of _sre.compile after the
# pattern, the code as the bytes of an array of code words. Kept as bytes, the table loads in a fraction of the time
# a list of ints per pattern took (~0.1 ms against ~0.9 ms for 300 patterns), and an entry is only unpacked (and
# checked, by the engine) when its pattern is compiled.
_table: dict[Any, Any] = {}
_added = 0
_path = ""


def install(directory: str | None = None) -> bool:
    """Serve `re`'s compilations from the table kept in `directory` (default: $XDG_CACHE_HOME/vigil/regex) for the
    rest of this process, and write what it adds at exit. False (nothing done) where `re` is not as expected."""
    global _path
    import re

    try:
        # re's internal modules, loaded with it (typeshed does not describe them)
        _sre: Any = sys.modules["_sre"]
        _compiler: Any = sys.modules["re._compiler"]
        _parser: Any = sys.modules["re._parser"]
        orig = re._compile  # type: ignore[attr-defined]
        cache: dict[Any, Any] = re._cache  # type: ignore[attr-defined]
        maxcache: int = re._MAXCACHE  # type: ignore[attr-defined]
        code_of = _compiler._code  # type: ignore[attr-defined]
        parse = _parser.parse
        make = _sre.compile
        uncached = int(re.DEBUG | re.TEMPLATE)  # type: ignore[attr-defined]
        magic = _sre.MAGIC
        from array import array

        words = "I" if array("I").itemsize == _sre.CODESIZE else "L" if array("L").itemsize == _sre.CODESIZE else ""
    except (KeyError, AttributeError):
        return False
    if not words:
        return False
    if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11) or getattr(orig, "_vigil", False):
        return False
    _path = os.path.join(directory or default_directory(),
                         f"{sys.implementation.cache_tag}-{sys.hexversion:x}-{magic}{_SUFFIX}")
    _load()

    def compile_kept(pattern: Any, flags: Any) -> Any:
        global _added
        if isinstance(flags, re.RegexFlag):
            flags = flags.value
        kind = type(pattern)
        if (kind is not str and kind is not bytes) or flags & uncached:
            return orig(pattern, flags)  # a compiled pattern, a wrong type, a debug or template flag: as re does
        key = (kind, pattern, flags)
        p = cache.get(key)
        if p is not None:
            return p
        entry = _table.get((pattern, flags))
        p = None
        if entry is not None:
            try:
                kept_flags, code, groups, groupindex, indexgroup = entry
                p = make(pattern, kept_flags, array(words, code).tolist(), groups, groupindex, indexgroup)
            except Exception:  # not an entry this module wrote, or code the engine refuses: compiled below
                _table.pop((pattern, flags), None)
        if p is None:
            # re._compiler.compile's steps, which leave the code at hand; any failure (a bad pattern) goes to re,
            # which raises its own error
            try:
                tree = parse(pattern, flags)
                words_of = [int(op) for op in code_of(tree, flags)]
                names = dict(tree.state.groupdict)
                by_index: list[str | None] = [None] * tree.state.groups
                for name, i in names.items():
                    by_index[i] = name
                head = (flags | tree.state.flags, tree.state.groups - 1, names, tuple(by_index))
                p = make(pattern, head[0], words_of, *head[1:])
                entry = (head[0], array(words, words_of).tobytes(), *head[1:])
            except Exception:
                return orig(pattern, flags)
            if len(_table) < _MAX_ENTRIES and len(pattern) <= _MAX_PATTERN:
                _table[pattern, flags] = entry
                _added += 1
        if len(cache) >= maxcache:  # re's own eviction: the oldest entry goes
            try:
                del cache[next(iter(cache))]
            except (StopIteration, RuntimeError, KeyError):
                pass
        cache[key] = p
        return p

    compile_kept._vigil = True  # type: ignore[attr-defined]
    re._compile = compile_kept  # type: ignore[attr-defined]
    import atexit

    atexit.register(_save)
    return True


def default_directory() -> str:
    """$XDG_CACHE_HOME/vigil/regex (~/.cache/vigil/regex): the user's, like the interpreter's byte-code caches,
    not a scan's --cache-dir (the table is read before the command line is)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "vigil", "regex")


def clear(directory: str | None = None) -> int:
    """Remove the tables (and a writer's leftovers) from `directory`; the number of files removed. This process
    then writes none at exit."""
    global _path
    _path = ""
    directory = directory or default_directory()
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    n = 0
    for name in names:
        path = os.path.join(directory, name)
        if name.endswith(_SUFFIX):  # a table: only one that starts as this module writes them
            try:
                with open(path, "rb") as f:
                    if f.read(len(_MAGIC)) != _MAGIC:
                        continue
            except OSError:
                continue
        elif not (_SUFFIX + "." in name and name.endswith(".tmp") and name.split(".")[-2].isdigit()):
            continue  # not a writer's leftover (<table>.<pid>.tmp) either
        try:
            os.unlink(path)
            n += 1
        except OSError:
            pass
    return n


def _load() -> None:
    import marshal

    try:
        with open(_path, "rb") as f:
            raw = f.read()
        if not raw.startswith(_MAGIC):
            return
        table = marshal.loads(raw[len(_MAGIC):])
    except (OSError, ValueError, EOFError, TypeError):
        return
    if isinstance(table, dict):
        _table.update(table)  # an entry is checked when used: anything else is compiled as before


def _save() -> None:
    """Write the table if this run added to it: merged with what another run wrote meanwhile, to a temporary file
    renamed over the old one, so that a reader never sees half a table."""
    if not _added or not _path:
        return
    import marshal

    mine = dict(_table)
    _table.clear()
    _load()
    for key, entry in mine.items():
        if key in _table or len(_table) < _MAX_ENTRIES:
            _table[key] = entry
    tmp = f"{_path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(_path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(_MAGIC + marshal.dumps(_table))
        os.replace(tmp, _path)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
