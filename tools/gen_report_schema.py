"""Regenerate docs/report-schema.json from vigil.findings.records.Report (run after changing a record)."""

import json
from pathlib import Path

import msgspec

from vigil.findings.records import Report

OUT = Path(__file__).resolve().parent.parent / "docs" / "report-schema.json"

if __name__ == "__main__":
    OUT.write_text(json.dumps(msgspec.json.schema(Report), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
