"""The one reader of an analyzer's "related" files (a parent pom.xml two directories up, a workspace manifest).

An analyzer names, for a file it analyses, other paths it may need; those that exist are read, and the analyzer is
asked again about each file read (breadth first: a chain of parent POMs), up to a limit. Where the bytes come from
is the caller's `lookup`: the disk under the scan root for a directory, the files kept from the same layer for an
image.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)


def follow_related(path: str, data: bytes, ask: Callable[[str, bytes], Sequence[str]],
                   lookup: Callable[[str], bytes | None], limit: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    seen = {path}
    queue = [(path, data)]
    while queue and len(out) < limit:
        cur, cur_data = queue.pop(0)
        try:
            wanted = list(ask(cur, cur_data))
        except Exception:  # a defect in the analyzer's request: analyse without the extra files
            log.debug("related() failed on %s", cur, exc_info=True)
            continue
        for r in wanted:
            if r in seen or len(out) >= limit:
                continue
            seen.add(r)
            got = lookup(r)
            if got is not None:
                out[r] = got
                queue.append((r, got))
    return out
