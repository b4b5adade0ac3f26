"""SPDX 2.3 tag-value (`--format spdx`, as in Trivy): the document of vigil.reporters.spdx_json, written with
spdx-tools' tag-value writer.

Tag-value has no escaping: a value ends at the newline, and a value that starts with `<text>` runs to the next
`</text>`. Paths and package names are data from the scanned tree, so before writing, every string of the report
is made single-line (control characters, newlines included, written as escapes: `\\n`, `\\x1b`) and `<text>` /
`</text>` inside a value are written as `&lt;text>` / `&lt;/text>`. No value can then end early, open a text
block or close one, and no crafted path can add or hide a package. Such values read back in their escaped form
(the JSON formats keep them exact).
"""

from __future__ import annotations

import re
from typing import IO

from vigil.findings.records import Report
from vigil.reporters._common import map_strings, printable
from vigil.reporters.spdx_json import build_document, namespace

_TEXT_TAG = re.compile(r"<(/?text>)", re.IGNORECASE)


def tag_value_safe(value: str) -> str:
    """`value` as one tag-value line that cannot start, end or close a `<text>` block."""
    return _TEXT_TAG.sub(r"&lt;\1", printable(value))


def render(report: Report, out: IO[str]) -> None:
    from spdx_tools.spdx.writer.tagvalue.tagvalue_writer import write_document_to_stream

    doc = build_document(map_strings(report, tag_value_safe))
    doc.creation_info.document_namespace = namespace(report)  # named after the report itself, like spdx-json
    write_document_to_stream(doc, out, validate=False)  # type: ignore[arg-type]
