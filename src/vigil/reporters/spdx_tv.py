"""SPDX 2.3 tag-value (`--format spdx`, as in Trivy): the document of vigil.reporters.spdx_json, written with
spdx-tools' tag-value writer."""

from __future__ import annotations

from typing import IO

from vigil.findings.records import Report
from vigil.reporters.spdx_json import build_document


def render(report: Report, out: IO[str]) -> None:
    from spdx_tools.spdx.writer.tagvalue.tagvalue_writer import write_document_to_stream

    write_document_to_stream(build_document(report), out, validate=False)  # type: ignore[arg-type]
