"""Regenerate src/vigil/analyzers/secrets/builtin-rules.json from builtin-rules.yaml (run after editing the YAML;
tests/unit/secrets/test_config.py checks it is current). The YAML is the file people edit; the engine reads the JSON
twin because parsing 33 KB of YAML (and importing the YAML parser) was a fifth of the start-up of a small scan."""

import json
from pathlib import Path

import yaml

DIR = Path(__file__).resolve().parent.parent / "src" / "vigil" / "analyzers" / "secrets"
SRC = DIR / "builtin-rules.yaml"
OUT = DIR / "builtin-rules.json"


def render() -> str:
    doc = yaml.safe_load(SRC.read_text(encoding="utf-8"))
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
