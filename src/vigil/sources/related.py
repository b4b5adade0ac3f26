"""The one reader of an analyzer's "related" files (a parent pom.xml two directories up, a workspace manifest).

An analyzer names, for a file it analyses, other paths it may need; those that exist are read, and the analyzer is
asked again about each file read (breadth first: a chain of parent POMs), up to a limit. Where the bytes come from
is the caller's `lookup`: the disk under the scan root for a directory, the files kept from the same layer for an
image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase

from vigil.log import get_logger

log = get_logger(__name__)

_GLOB_CHARS = frozenset("*?[")


def is_pattern(path: str) -> bool:
    """A requested path with wildcards (`packages/*/package.json`, as yarn and npm workspaces name members)."""
    return not _GLOB_CHARS.isdisjoint(path)


def valid_pattern(pattern: str) -> list[str] | None:
    """The pattern's components, or None for one that could leave the scan root or walk it whole: absolute, `..`,
    empty components and `**` are refused (a workspace list names directories a level or two down)."""
    parts = pattern.split("/")
    if pattern.startswith("/") or any(p in ("", ".", "..") or "**" in p for p in parts):
        return None
    return parts


def match_pattern(path: str, parts: Sequence[str]) -> bool:
    """Whether `path` matches the pattern component by component (`*` never crosses a `/`, as in a shell)."""
    got = path.split("/")
    return len(got) == len(parts) and all(fnmatchcase(g, p) for g, p in zip(got, parts, strict=True))


def expand_in(paths: Iterable[str], pattern: str) -> list[str]:
    """The paths of a known set (the files kept from one layer) that match `pattern`, sorted."""
    parts = valid_pattern(pattern)
    return [] if parts is None else sorted(p for p in paths if match_pattern(p, parts))


def follow_related(path: str, data: bytes, ask: Callable[[str, bytes], Sequence[str]],
                   lookup: Callable[[str], bytes | None], limit: int,
                   expand: Callable[[str], Sequence[str]] | None = None) -> dict[str, bytes]:
    """`expand` turns a requested pattern into the existing paths it matches; without it patterns are skipped."""
    out: dict[str, bytes] = {}
    seen = {path}
    queue = [(path, data)]
    while queue and len(out) < limit:
        cur, cur_data = queue.pop(0)
        try:
            asked = list(ask(cur, cur_data))
        except Exception:  # a defect in the analyzer's request: analyse without the extra files
            log.debug("related() failed on %s", cur, exc_info=True)
            continue
        wanted: list[str] = []
        for r in asked:
            if not is_pattern(r):
                wanted.append(r)
            elif expand is not None and r not in seen:
                seen.add(r)
                wanted.extend(expand(r)[:limit])
        for r in wanted:
            if r in seen or len(out) >= limit:
                continue
            seen.add(r)
            got = lookup(r)
            if got is not None:
                out[r] = got
                queue.append((r, got))
    return out
