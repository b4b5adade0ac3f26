"""CycloneDX 1.6 XML: the same BOM as the JSON format (vigil.reporters.cyclonedx), serialised as XML.

XML 1.0 cannot carry most control characters (a file name may hold any): they are written as escapes (`\x1b`,
reporters._common.xml_safe) so the document stays well-formed."""

from __future__ import annotations

import warnings
from typing import IO

from vigil.findings.records import Report
from vigil.reporters._common import map_strings, xml_safe
from vigil.reporters.cyclonedx import build_bom


def render(report: Report, out: IO[str]) -> None:
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    bom = build_bom(map_strings(report, xml_safe))
    # The outputter calls Bom.validate(), whose dependency registration scans every dependency for every component
    # (quadratic in the packages). build_bom already gives every component its dependency entry, so validate()
    # has nothing to add; tests validate the output against the CycloneDX 1.6 XSD instead.
    setattr(bom, "validate", lambda: True)  # noqa: B010 (a method cannot be assigned to directly under mypy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = make_outputter(bom, OutputFormat.XML, SchemaVersion.V1_6).output_as_string(indent=2)
    out.write(text)
    out.write("\n")
