"""SPDX 2.3 tag-value (`--format spdx`, as in Trivy): the document of vigil.reporters.spdx_json, written line by line
as spdx-tools' tag-value writer wrote it (tests compare the two).

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
from vigil.reporters.spdx_json import build, namespace

_TEXT_TAG = re.compile(r"<(/?text>)", re.IGNORECASE)


def tag_value_safe(value: str) -> str:
    """`value` as one tag-value line that cannot start, end or close a `<text>` block."""
    return _TEXT_TAG.sub(r"&lt;\1", printable(value))


def render(report: Report, out: IO[str]) -> None:
    doc, annotations = build(map_strings(report, tag_value_safe))
    info = doc["creationInfo"]
    w: list[str] = [
        "## Document Information\n",
        f"SPDXVersion: {doc['spdxVersion']}\n",
        f"DataLicense: {doc['dataLicense']}\n",
        f"SPDXID: {doc['SPDXID']}\n",
        f"DocumentName: {doc['name']}\n",
        f"DocumentNamespace: {namespace(report)}\n",  # named after the report itself, like spdx-json
        "\n## Creation Information\n",
        *(f"Creator: {c}\n" for c in info["creators"]),
        f"Created: {info['created']}\n\n",
    ]
    for p in doc["packages"]:
        w.append(f"## Package Information\nPackageName: {p['name']}\nSPDXID: {p['SPDXID']}\n")
        if "versionInfo" in p:
            w.append(f"PackageVersion: {p['versionInfo']}\n")
        w.append(f"PackageDownloadLocation: {p['downloadLocation']}\nFilesAnalyzed: false\n")
        if "sourceInfo" in p:
            w.append(f"PackageSourceInfo: {p['sourceInfo']}\n")
        w.append(f"PackageLicenseConcluded: {p['licenseConcluded']}\nPackageLicenseDeclared: {p['licenseDeclared']}\n"
                 f"PackageCopyrightText: {p['copyrightText']}\n")
        for ref in p.get("externalRefs", ()):
            w.append(f"ExternalRef: {ref['referenceCategory'].replace('_', '-')} {ref['referenceType']} "
                     f"{ref['referenceLocator']}\n")
        w.append(f"PrimaryPackagePurpose: {p['primaryPackagePurpose']}\n\n")
    if doc["relationships"]:
        w.append("## Relationships\n")
        w.extend(f"Relationship: {r['spdxElementId']} {r['relationshipType']} {r['relatedSpdxElement']}\n"
                 for r in doc["relationships"])
    w.append("\n")
    if annotations:
        w.append("## Annotations\n")
        w.extend(f"Annotator: {a['annotator']}\nAnnotationDate: {a['annotationDate']}\nAnnotationType: "
                 f"{a['annotationType']}\nSPDXREF: {sid}\nAnnotationComment: {a['comment']}\n\n"
                 for sid, a in annotations)
    out.write("".join(w))
