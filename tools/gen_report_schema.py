"""Regenerate docs/report-schema.json from vigil.findings.records.Report (run after changing a record;
tests/unit/core/test_records.py checks it is current). Descriptions are normalised (vigil.findings.schema_text),
so every supported Python writes the same bytes."""

import json
from pathlib import Path

import msgspec

from vigil.findings.records import Report
from vigil.findings.schema_text import clean_schema_text

OUT = Path(__file__).resolve().parent.parent / "docs" / "report-schema.json"


def render() -> str:
    return json.dumps(clean_schema_text(msgspec.json.schema(Report)), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
