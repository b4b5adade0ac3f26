"""Regenerate src/vigil/analyzers/secrets/builtin-rules.json from builtin-rules.yaml (run after editing the YAML;
tests/unit/secrets/test_config.py checks it is current). The YAML is the file people edit; the engine reads the JSON
twin because parsing 33 KB of YAML (and importing the YAML parser) was a fifth of the start-up of a small scan. The
twin is the rule set as vigil.analyzers.secrets.rules reads the YAML (defaults filled in, severities upper-cased,
repeated secret groups renamed), field for field, so that a scan decodes it straight into the records in one
msgspec call instead of building each rule in Python."""

from pathlib import Path

import msgspec
import yaml

DIR = Path(__file__).resolve().parent.parent / "src" / "vigil" / "analyzers" / "secrets"
SRC = DIR / "builtin-rules.yaml"
OUT = DIR / "builtin-rules.json"
DIGEST = DIR / "builtin-rules.sha256"  # the rule set's digest, for cache keys made without loading the rules


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
    print(f"wrote {OUT} and {DIGEST}")
