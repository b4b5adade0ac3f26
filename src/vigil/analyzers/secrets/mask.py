"""Masking text for log output (the shells' log handler masks secrets with it).

One combined `re` of every built-in rule, compiled on first use (a log line is rare; a scan never pays for it
unless it logs). Each match is replaced by `*****`.
"""

from __future__ import annotations

import re
from functools import cache

from vigil.analyzers.secrets.rules import builtin

MASK = "*****"
_NAMED = re.compile(r"\(\?P<\w+>")


def _scoped(rx: str) -> str:
    # a leading global flag group like (?i) is only legal at the very start of the combined pattern: scope it
    m = re.match(r"\(\?([aiLmsux]+)\)", rx)
    body = _NAMED.sub("(?:", rx)
    if m:
        return f"(?{m.group(1)}:{body[m.end():]})"
    return f"(?:{body})"


@cache
def _combined() -> re.Pattern[str]:
    return re.compile("|".join(_scoped(r.regex) for r in builtin().rules), re.MULTILINE)


def mask_text(text: str) -> str:
    if not text:
        return text
    return _combined().sub(MASK, text)
