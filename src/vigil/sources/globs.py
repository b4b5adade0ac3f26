"""Doublestar globs for --skip-dirs/--skip-files (Trivy semantics, plus: a pattern without '/' matches a path
component at any depth, so `--skip-dirs node_modules` does what users expect; cf. Trivy issue #4853)."""

from __future__ import annotations

import re
from functools import cache


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    p = pattern.strip().replace("\\", "/")
    if p.startswith("./"):
        p = p[2:]
    p = p.rstrip("/")
    anywhere = "/" not in p
    out = []
    i = 0
    while i < len(p):
        c = p[i]
        if p.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if p.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = p.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = p[i + 1 : j].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    body = "".join(out)
    if anywhere:
        return re.compile(f"(?:.*/)?{body}")
    return re.compile(body)


def glob_match(pattern: str, rel_path: str) -> bool:
    return _compile(pattern).fullmatch(rel_path) is not None


def any_match(patterns: tuple[str, ...], rel_path: str) -> bool:
    """Whether any of the patterns matches: one regex for all of them (a walk asks this of every entry)."""
    if not patterns:
        return False
    return _compile_any(patterns).fullmatch(rel_path) is not None


@cache
def _compile_any(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{_compile(p).pattern})" for p in patterns))
