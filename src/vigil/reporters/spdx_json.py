"""SPDX 2.3 JSON, written directly (build_json) as the document spdx-tools' model and JSON writer produced (the
model's per-field type checks and the writer's deep copy cost ~0.5 ms a package); the tag-value format
(vigil.reporters.spdx_tv) writes the same document. Tests compare both with spdx-tools' output and validate them.

One package for the scanned artifact (DESCRIBES), one per target (CONTAINS, purpose APPLICATION) and one per
library package (CONTAINS from its target; DEPENDS_ON from Package.depends_on) with its purl as an external
reference and annotations `vigil:PkgID|Target|FilePath|Type|Relationship|Location: value` so `vigil sbom` reads the same packages
back. SPDX IDs and the namespace are derived from the report; `created` is the report's created_at.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from typing import IO, Any

from vigil.findings.records import Report
from vigil.reporters._common import (
    INFO_URI,
    TOOL_NAME,
    ascii_indented_json,
    created_iso,
    report_uuid,
    result_packages,
)

SPDX_VERSION = "SPDX-2.3"


def _sid(kind: str, *parts: str) -> str:
    return f"SPDXRef-{kind}-" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def namespace(report: Report) -> str:
    return f"{INFO_URI}/spdx/{report.artifact_type}/{report_uuid(report, 'spdx')}"


@functools.lru_cache(maxsize=4096)
def _declared(licenses: tuple[str, ...]) -> str:
    """The declared licence expression as spdx-tools writes it (licences repeat across packages: parsed once)."""
    if not licenses:
        return "NOASSERTION"
    from spdx_tools.common.spdx_licensing import spdx_licensing  # type: ignore[import-untyped]

    try:
        return str(spdx_licensing.parse(" AND ".join(f"({x})" for x in licenses)))
    except Exception:  # unparsable license text: keep NOASSERTION rather than fail the report
        return "NOASSERTION"


def build_json(report: Report) -> dict[str, Any]:
    """The SPDX 2.3 JSON document of the report as plain dicts, in one pass (keys in spdx-tools' order, each
    package with the annotations of its SPDX ID, empty lists left out)."""
    return build(report)[0]


def build(report: Report) -> tuple[dict[str, Any], list[tuple[str, dict[str, str]]]]:
    """The JSON document and its annotations in document order with the SPDX ID each annotates (tag-value lists them
    apart from the packages)."""
    when = created_iso(report)
    annotator = f"Tool: {TOOL_NAME.lower()}-{report.vigil_version or '0.0.0'}"
    notes: dict[str, list[dict[str, str]]] = defaultdict(list)
    in_order: list[tuple[str, dict[str, str]]] = []

    def note(sid: str, key: str, value: str) -> None:
        a = {"annotationDate": when, "annotationType": "OTHER", "annotator": annotator,
             "comment": f"vigil:{key}: {value}"}
        notes[sid].append(a)
        in_order.append((sid, a))

    def package(sid: str, name: str, purpose: str, *, source_info: str | None = None, version: str | None = None,
                declared: str = "NOASSERTION", purl: str = "") -> dict[str, Any]:
        p: dict[str, Any] = {"SPDXID": sid, "annotations": None, "copyrightText": "NOASSERTION",
                             "downloadLocation": "NOASSERTION"}
        if purl:
            p["externalRefs"] = [{"referenceCategory": "PACKAGE_MANAGER", "referenceLocator": purl,
                                  "referenceType": "purl"}]
        p.update(filesAnalyzed=False, licenseConcluded="NOASSERTION", licenseDeclared=declared, name=name,
                 primaryPackagePurpose=purpose)
        if source_info is not None:
            p["sourceInfo"] = source_info
        if version:
            p["versionInfo"] = version
        return p

    root_id = _sid("Artifact", report.artifact_name)
    packages = [package(root_id, report.artifact_name, "SOURCE")]
    rels = [("SPDXRef-DOCUMENT", root_id, "DESCRIBES")]
    for res in report.results:
        if res.error or res.class_ not in ("lang-pkgs", "os-pkgs"):
            continue  # config/secret/license results describe files, not packages
        app_id = _sid("Application", res.target, res.type)
        packages.append(package(app_id, res.type or res.target, "APPLICATION",
                                source_info=f"package found in: {res.target}"))
        note(app_id, "Class", res.class_)
        note(app_id, "Type", res.type)
        note(app_id, "FilePath", res.target)
        rels.append((root_id, app_id, "CONTAINS"))
        pkgs = result_packages(res)
        ids = {(p.id or f"{p.name}@{p.full_version}"): _sid("Package", res.target, p.id or f"{p.name}@{p.full_version}")
               for p in pkgs}
        for p in pkgs:
            pid = p.id or f"{p.name}@{p.full_version}"
            sid = ids[pid]
            packages.append(package(sid, p.name, "LIBRARY", source_info=f"package found in: {p.file_path or res.target}",
                                    version=p.full_version, declared=_declared(tuple(p.licenses)), purl=p.purl))
            note(sid, "PkgID", pid)
            note(sid, "Target", res.target)
            if p.file_path:
                note(sid, "FilePath", p.file_path)
            note(sid, "Type", res.type)
            if p.src_name:  # OS packages: advisories name the source package (read back by `vigil sbom`)
                note(sid, "SrcName", p.src_name)
                note(sid, "SrcVersion", p.src_full_version)
            note(sid, "Relationship", p.relationship)
            if p.dev:
                note(sid, "Dev", "true")
            for loc in p.locations:
                note(sid, "Location", f"{loc.start_line}-{loc.end_line}")
            rels.append((app_id, sid, "CONTAINS"))
            rels.extend((sid, d, "DEPENDS_ON") for d in sorted({ids[d] for d in p.depends_on if d in ids}))
    for entry in packages:
        if entry["SPDXID"] in notes:
            entry["annotations"] = notes[entry["SPDXID"]]
        else:
            del entry["annotations"]
    return {
        "SPDXID": "SPDXRef-DOCUMENT",
        "creationInfo": {"created": when, "creators": [annotator, "Organization: Vigil"]},
        "dataLicense": "CC0-1.0",
        "name": report.artifact_name,
        "spdxVersion": SPDX_VERSION,
        "documentNamespace": namespace(report),
        "packages": packages,
        "relationships": [{"spdxElementId": a, "relatedSpdxElement": b, "relationshipType": t} for a, b, t in rels],
    }, in_order


def render(report: Report, out: IO[str]) -> None:
    out.write(ascii_indented_json(build_json(report), indent=4))
    out.write("\n")
