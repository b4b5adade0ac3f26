"""Regenerate docs/report-schema.json from vigil.findings.records.Report (run after changing a record;
tests/unit/core/test_records.py checks it is current). Descriptions are normalised (vigil.findings.schema_text),
so every supported Python writes the same bytes."""

import json
from pathlib import Path

import msgspec

from vigil.findings.records import Report
from vigil.findings.schema_text import clean_schema_text

OUT = Path(__file__).resolve().parent.parent / "docs" / "report-schema.json"


# Keys the JSON reporter derives for Trivy's readers (vigil.reporters.json.trivy_shape): part of the published
# shape, not of the records.
DERIVED: dict[str, dict[str, dict[str, object]]] = {
    "Package": {
        "Identifier": {"type": "object", "properties": {"PURL": {"type": "string"}, "UID": {"type": "string"}},
                       "description": "Trivy's place for the purl, and a stable 16-hex ID of this package entry"},
        "Indirect": {"type": "boolean", "description": "true for an indirect dependency (Trivy's older flag)"},
    },
    "LicenseFinding": {"Confidence": {"type": "number", "description": "always written (1 for a declared license)"},
                       "Text": {"type": "string", "description": "always written (empty for a declared license)"}},
    "Metadata": {"Reference": {"type": "string", "description": "images: the first of RepoTags"}},
    "Report": {"ReportID": {"type": "string", "description": "a UUID derived from the report's content"},
               "ArtifactID": {"type": "string", "description": "images: the image ID (as Trivy writes it)"}},
    "CodeLine": {
        "Highlighted": {"type": "string", "description": "the line as it is (no terminal colours in JSON)"},
        "FirstCause": {"type": "boolean", "description": "first line of the cause"},
        "LastCause": {"type": "boolean", "description": "last line of the cause"},
        "Annotation": {"type": "string", "description": "always empty (Trivy's annotation of a line)"},
    },
}


def render() -> str:
    schema = msgspec.json.schema(Report)
    for name, props in DERIVED.items():
        schema["$defs"][name]["properties"].update(props)
    return json.dumps(clean_schema_text(schema), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
