"""Masking text for log output (the shells' log handler masks secrets with it).

Everything a built-in rule matches is replaced by `*****`. A rule is tried on a text only when one of its required
literals is in it (builtin-rules.literals.json, written by tools/gen_secret_rules.py: texts one of which every match
of the rule's regex contains, compared case-folded; null for a rule with none, which is always tried). The rules a
text calls for are combined into one `re`, cached per set of rules: compiling all 127 rules' regexes cost ~30 ms,
paid by every scan that logged a single line ("no advisories for this OS release"), while an ordinary log line
names the literals of none or a few of them.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MASK = "*****"
_NAMED = re.compile(r"\(\?P<\w+>")
LITERALS_FILE = Path(__file__).parent / "builtin-rules.literals.json"


def _scoped(rx: str) -> str:
    # a leading global flag group like (?i) is only legal at the very start of the combined pattern: scope it
    m = re.match(r"\(\?([aiLmsux]+)\)", rx)
    body = _NAMED.sub("(?:", rx)
    if m:
        return f"(?{m.group(1)}:{body[m.end():]})"
    return f"(?:{body})"


@cache
def _rules() -> tuple[tuple[tuple[str, ...] | None, str], ...]:
    """(required literals or None, regex) of each built-in rule, in rule order. A rule the literals file does not
    name (it is regenerated with the rules; a test keeps it current) is always tried."""
    import msgspec

    from vigil.analyzers.secrets.rules import builtin

    literals = msgspec.json.decode(LITERALS_FILE.read_bytes(), type=dict[str, tuple[str, ...] | None])
    return tuple((literals.get(r.id), r.regex) for r in builtin().rules)


@cache
def _combined(chosen: tuple[int, ...]) -> re.Pattern[str]:
    rules = _rules()
    return re.compile("|".join(_scoped(rules[i][1]) for i in chosen), re.MULTILINE)


def chosen_rules(text: str) -> tuple[int, ...]:
    """The built-in rules (by index) worth trying on `text`: those whose required literals it holds, and those
    without any."""
    folded = text.casefold()
    return tuple(i for i, (lits, _) in enumerate(_rules()) if lits is None or any(t in folded for t in lits))


def mask_text(text: str) -> str:
    if not text:
        return text
    chosen = chosen_rules(text)
    return _combined(chosen).sub(MASK, text) if chosen else text
