"""CycloneDX 1.6 XML: the same BOM as the JSON format (vigil.reporters.cyclonedx), serialised as XML."""

from __future__ import annotations

import warnings
from typing import IO

from vigil.findings.records import Report
from vigil.reporters.cyclonedx import build_bom


def render(report: Report, out: IO[str]) -> None:
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = make_outputter(build_bom(report), OutputFormat.XML, SchemaVersion.V1_6).output_as_string(indent=2)
    out.write(text)
    out.write("\n")
