"""Regular expressions compiled from the code kept by earlier runs (vigil.shells.cli.regexcache).

Each case runs in its own interpreter: installing the table replaces `re._compile` for the rest of a process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.shells.cli.regexcache import _MAGIC as MAGIC

# (pattern, flags, subject): str and bytes patterns, named groups and back-references, lookarounds, possessive and
# atomic parts, case folding, multi-line anchors, Unicode classes
CASES: list[tuple[str | bytes, int, str | bytes]] = [
    (r"(?P<key>[A-Za-z_]+)\s*=\s*(?P<val>\"[^\"]*\"|\S+)", 0, 'a = "b c"\nkey_2=v x=1'),
    (r"(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}(?![A-Za-z0-9])", 0, "id AKIAABCDEFGHIJKLMNOP and xAKIAABCDEFGHIJKLMNOPy"),
    (r"^\s*(\w+)\.(?:name|version)\s*=\s*(['\"])(.*?)\2", re.M, "s.name = 'rack'\n  s.version = \"2.2\"\n"),
    (r"v?([0-9]{1,5})(\.[0-9]++)?(?>-beta|-rc)?", re.I, "V1.2-RC 33 v4.55-BETA"),
    (r"straße|ǅ\w+", re.I | re.U, "STRASSE straße ǆungla ǄUNGLA"),
    (rb"(__libc_init)|(GLIBC_([0-9.]+))|(libc(_\w+)?\.so(?:\.(\d[0-9.]*))?)", 0, b"x GLIBC_2.17 libc.so.6 __libc_init"),
    (rb"(?i)secret[_-]?key\s*[:=]\s*([A-Za-z0-9/+]{8,})", 0, b"SECRET_KEY = abcdEFGH1234 secret-key: short"),
    (r"(a|b)*?c(?=d)|(?P<x>e)(?P=x)", re.S | re.X, "ababcd ee abc"),
]

_RUN = """
import json, re, sys
calls = []
parse = re._parser.parse
def counting(*a, **k):
    calls.append(1)
    return parse(*a, **k)
re._parser.parse = counting
from vigil.shells.cli import regexcache
assert regexcache.install(sys.argv[1])
cases = json.loads(sys.argv[2])
out = []
for pat, flags, subject, is_bytes in cases:
    if is_bytes:
        pat, subject = pat.encode(), subject.encode()
    p = re.compile(pat, flags)
    out.append([(m.span(), [g if g is None or isinstance(g, str) else g.decode() for g in m.groups()],
                 sorted(m.groupdict().items(), key=str)) for m in p.finditer(subject)]
               + [p.groups, sorted(p.groupindex.items()), p.flags])
print(json.dumps({"parsed": len(calls), "out": out}, default=str))
"""


def _cases() -> str:
    return json.dumps([(p.decode() if isinstance(p, bytes) else p, f,
                        s.decode() if isinstance(s, bytes) else s, isinstance(p, bytes)) for p, f, s in CASES])


def _run(directory: Path, cases: str | None = None) -> dict[str, object]:
    p = subprocess.run([sys.executable, "-c", _RUN, str(directory), cases or _cases()], capture_output=True,
                       text=True, cwd=directory.parent)
    assert p.returncode == 0, p.stderr[-2000:]
    result: dict[str, object] = json.loads(p.stdout)
    return result


def _expected() -> list[object]:
    out: list[object] = []
    for pat, flags, subject in CASES:
        p = re.compile(pat, flags)
        out.append([[list(m.span()), [g if g is None or isinstance(g, str) else g.decode() for g in m.groups()],
                     [list(kv) for kv in sorted(m.groupdict().items(), key=str)]] for m in p.finditer(subject)]
                   + [p.groups, [list(kv) for kv in sorted(p.groupindex.items())], p.flags])
    return out


def _table(directory: Path) -> Path:
    (path,) = directory.iterdir()
    return path


def test_patterns_are_kept_and_made_from_their_kept_code(tmp_path: Path) -> None:
    kept = tmp_path / "regex"
    first = _run(kept)
    assert first["out"] == _expected()
    assert first["parsed"] >= len(CASES)  # compiled, and written at exit
    assert _table(kept).read_bytes().startswith(MAGIC)
    second = _run(kept)
    assert second["out"] == _expected()  # the same matches, groups and flags
    assert second["parsed"] < first["parsed"] and second["parsed"] <= int(first["parsed"]) - len(CASES)
    before = _table(kept).stat().st_mtime_ns
    _run(kept)
    assert _table(kept).stat().st_mtime_ns == before  # nothing new: not written again


@pytest.mark.parametrize("damage", [b"", b"garbage", MAGIC + b"\x00\x01\x02", MAGIC + b"N" * 3,
                                    b"vigil-regex/1\n" + b"\x00" * 64])
def test_a_damaged_table_is_compiled_around_and_rewritten(tmp_path: Path, damage: bytes) -> None:
    kept = tmp_path / "regex"
    _run(kept)
    path = _table(kept)
    path.write_bytes(damage)
    again = _run(kept)
    assert again["out"] == _expected()
    assert again["parsed"] >= len(CASES)
    assert path.read_bytes().startswith(MAGIC) and len(path.read_bytes()) > 100


def test_code_the_engine_refuses_is_compiled_again(tmp_path: Path) -> None:
    import marshal
    from array import array

    kept = tmp_path / "regex"
    _run(kept)
    path = _table(kept)
    table = marshal.loads(path.read_bytes()[len(MAGIC):])
    for i, (key, (flags, code, groups, gi, ig)) in enumerate(list(table.items())):
        if i % 3 == 0:  # not an opcode: the engine's validation refuses it
            table[key] = (flags, array("I", [99999]).tobytes() + code[4:], groups, gi, ig)
        elif i % 3 == 1:  # not an entry's shape
            table[key] = ("junk", code)
        else:  # code of another length than the engine's words
            table[key] = (flags, code[:-1], groups, gi, ig)
    path.write_bytes(MAGIC + marshal.dumps(table))
    again = _run(kept)
    assert again["out"] == _expected()
    assert again["parsed"] >= len(CASES)


def test_a_bad_pattern_raises_what_re_raises(tmp_path: Path) -> None:
    script = ("import re, sys\nfrom vigil.shells.cli import regexcache\nassert regexcache.install(sys.argv[1])\n"
              "try:\n    re.compile('(ab')\nexcept re.error as e:\n    print(e)\n")
    p = subprocess.run([sys.executable, "-c", script, str(tmp_path / "regex")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with pytest.raises(re.error) as e:
        re.compile("(ab")
    assert p.stdout.strip() == str(e.value)


def test_the_cli_keeps_its_patterns(tmp_path: Path) -> None:
    """`vigil` (the entry point) installs the table in $XDG_CACHE_HOME/vigil/regex; a second run of the same scan
    adds nothing to it."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    argv = [sys.executable, "-m", "vigil", "fs", str(empty), "--scanners", "secret", "-q", "--cache-dir",
            str(tmp_path / "cache")]
    assert subprocess.run(argv, capture_output=True, env=env, cwd=tmp_path).returncode == 0
    path = _table(tmp_path / "xdg" / "vigil" / "regex")
    size, mtime = path.stat().st_size, path.stat().st_mtime_ns
    assert size > 1000
    assert subprocess.run(argv, capture_output=True, env=env, cwd=tmp_path).returncode == 0
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (size, mtime)


def test_clean_removes_the_tables(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    kept = tmp_path / "xdg" / "vigil" / "regex"
    assert subprocess.run([sys.executable, "-m", "vigil", "fs", str(empty), "--scanners", "secret", "-q", "--cache-dir",
                           str(tmp_path / "c")],
                          capture_output=True, env=env).returncode == 0
    assert _table(kept).is_file()
    (kept / "notes.txt").write_text("not Vigil's\n")
    (kept / "other.marshal").write_bytes(b"not a table of Vigil's")
    p = subprocess.run([sys.executable, "-m", "vigil", "clean", "--scan-cache", "--cache-dir", str(tmp_path / "c")],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert "compiled regular expressions: removed 1 files" in p.stderr
    # and the clean run did not write one again
    assert sorted(f.name for f in kept.iterdir()) == ["notes.txt", "other.marshal"]
