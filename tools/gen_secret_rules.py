"""Regenerate src/vigil/analyzers/secrets/builtin-rules.json from builtin-rules.yaml (run after editing the YAML;
tests/unit/secrets/test_config.py checks it is current). The YAML is the file people edit; the engine reads the JSON
twin because parsing 33 KB of YAML (and importing the YAML parser) was a fifth of the start-up of a small scan. The
twin is the rule set as vigil.analyzers.secrets.rules reads the YAML (defaults filled in, severities upper-cased,
repeated secret groups renamed), field for field, so that a scan decodes it straight into the records in one
msgspec call instead of building each rule in Python.

Also written: builtin-rules.literals.json, for each packaged rule the literal texts one of which every match of its
regex contains (compared case-insensitively), or null when no such text can be named. The log mask
(vigil/analyzers/secrets/mask.py) tries a rule on a log line only when one of them is in it: compiling every rule's
regex was ~30 ms of any scan that logged a line. They are found from the regex's parse tree (Python's own regex
parser), which only this tool and the tests load."""

import json
from pathlib import Path
from typing import Any

import msgspec
import yaml

DIR = Path(__file__).resolve().parent.parent / "src" / "vigil" / "analyzers" / "secrets"
SRC = DIR / "builtin-rules.yaml"
OUT = DIR / "builtin-rules.json"
DIGEST = DIR / "builtin-rules.sha256"  # the rule set's digest, for cache keys made without loading the rules
LITERALS = DIR / "builtin-rules.literals.json"


def render() -> str:
    from vigil.analyzers.secrets.rules import from_document

    ruleset = from_document(yaml.safe_load(SRC.read_text(encoding="utf-8")))
    return msgspec.json.format(msgspec.json.encode(_lean(ruleset)), indent=1).decode("utf-8") + "\n"


def _lean(o: object) -> object:
    """A record as a dict without the fields that hold their default (decoding fills those in again)."""
    if isinstance(o, msgspec.Struct):
        return {f.encode_name: _lean(getattr(o, f.name)) for f in msgspec.structs.fields(o)
                if f.default is msgspec.NODEFAULT or getattr(o, f.name) != f.default}
    if isinstance(o, tuple | list):
        return [_lean(x) for x in o]
    return o


def required_literals(regex: str) -> list[str] | None:
    """Case-folded texts one of which every match of `regex` contains (sorted), or None when none can be named.

    Sound by construction over the parse tree: a run of literal characters in a sequence is in every match; so is
    what a group, a repeat of at least once, or a lookaround (whose text lies in the line too) requires; a branch
    requires one of what its alternatives require, if each requires something. Anything else (character classes,
    optional parts, negative lookarounds, back references) requires nothing. Of a sequence's requirements the one
    with the longest shortest text is kept: each alone is sound, and a longer text rules a line out more often."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser as p  # type: ignore[attr-defined]

    def seq(items: Any) -> set[str] | None:
        found: list[set[str]] = []
        run: list[str] = []
        for op, av in [*items, (None, None)]:  # a sentinel ends the last run of literals
            if op is c.LITERAL:
                run.append(chr(av))
                continue
            if run:
                found.append({"".join(run).casefold()})
                run = []
            r: set[str] | None = None
            if op is c.SUBPATTERN:
                r = seq(av[3])
            elif op is c.ATOMIC_GROUP:
                r = seq(av)
            elif op is c.BRANCH:
                alts = [seq(b) for b in av[1]]
                r = set().union(*alts) if all(a is not None for a in alts) else None
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                r = seq(av[2]) if av[0] >= 1 else None
            elif op is c.ASSERT:
                r = seq(av[1])
            if r:
                found.append(r)
        return max(found, key=lambda s: (min(map(len, s)), -len(s))) if found else None

    req = seq(p.parse(regex))
    return sorted(req) if req is not None and all(req) else None


def render_literals() -> str:
    doc = yaml.safe_load(SRC.read_text(encoding="utf-8"))
    return json.dumps({r["id"]: required_literals(r["regex"]) for r in doc["rules"]}, indent=1,
                      ensure_ascii=False) + "\n"


def digest() -> str:
    """RuleSet.digest() of the packaged rules as builtin() reads them from the JSON twin (in a fresh process, so that
    a JSON twin just written is the one read)."""
    import subprocess
    import sys

    code = "from vigil.analyzers.secrets.rules import builtin; print(builtin().digest())"
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    DIGEST.write_text(digest(), encoding="ascii")
    LITERALS.write_text(render_literals(), encoding="utf-8")
    print(f"wrote {OUT}, {DIGEST} and {LITERALS}")
