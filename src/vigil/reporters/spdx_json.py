"""SPDX 2.3 JSON (the document is built with spdx-tools' model and written with its JSON writer; tests validate it).

One package for the scanned artifact (DESCRIBES), one per target (CONTAINS, purpose APPLICATION) and one per
library package (CONTAINS from its target; DEPENDS_ON from Package.depends_on) with its purl as an external
reference and annotations `vigil:PkgID|Target|FilePath|Type|Relationship|Location: value` so `vigil sbom` reads the same packages
back. SPDX IDs and the namespace are derived from the report; `created` is the report's created_at.
"""

from __future__ import annotations

import hashlib
from typing import IO, Any

from vigil.findings.records import Report
from vigil.reporters._common import INFO_URI, TOOL_NAME, created, report_uuid, result_packages

SPDX_VERSION = "SPDX-2.3"


def _sid(kind: str, *parts: str) -> str:
    return f"SPDXRef-{kind}-" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def namespace(report: Report) -> str:
    return f"{INFO_URI}/spdx/{report.artifact_type}/{report_uuid(report, 'spdx')}"


def build_document(report: Report) -> Any:  # spdx_tools.spdx.model.Document (lazy import)
    from spdx_tools.common.spdx_licensing import spdx_licensing  # type: ignore[import-untyped]
    from spdx_tools.spdx.model.actor import Actor, ActorType
    from spdx_tools.spdx.model.annotation import Annotation, AnnotationType
    from spdx_tools.spdx.model.document import CreationInfo, Document
    from spdx_tools.spdx.model.package import (
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Package,
        PackagePurpose,
    )
    from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
    from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

    when = created(report)
    tool = Actor(ActorType.TOOL, f"{TOOL_NAME.lower()}-{report.vigil_version or '0.0.0'}")
    info = CreationInfo(
        spdx_version=SPDX_VERSION,
        spdx_id="SPDXRef-DOCUMENT",
        name=report.artifact_name,
        document_namespace=namespace(report),
        creators=[tool, Actor(ActorType.ORGANIZATION, "Vigil")],
        created=when,
    )
    root_id = _sid("Artifact", report.artifact_name)
    packages = [Package(spdx_id=root_id, name=report.artifact_name, download_location=SpdxNoAssertion(),
                        files_analyzed=False, primary_package_purpose=PackagePurpose.SOURCE,
                        license_concluded=SpdxNoAssertion(), license_declared=SpdxNoAssertion(),
                        copyright_text=SpdxNoAssertion())]
    rels = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, root_id)]
    annotations = []

    def note(sid: str, key: str, value: str) -> None:
        annotations.append(Annotation(sid, AnnotationType.OTHER, tool, when, f"vigil:{key}: {value}"))

    for res in report.results:
        if res.error or res.class_ not in ("lang-pkgs", "os-pkgs"):
            continue  # config/secret/license results describe files, not packages
        app_id = _sid("Application", res.target, res.type)
        packages.append(Package(spdx_id=app_id, name=res.type or res.target, download_location=SpdxNoAssertion(),
                                files_analyzed=False, source_info=f"package found in: {res.target}",
                                primary_package_purpose=PackagePurpose.APPLICATION,
                                license_concluded=SpdxNoAssertion(), license_declared=SpdxNoAssertion(),
                                copyright_text=SpdxNoAssertion()))
        note(app_id, "Class", res.class_)
        note(app_id, "Type", res.type)
        note(app_id, "FilePath", res.target)
        rels.append(Relationship(root_id, RelationshipType.CONTAINS, app_id))
        pkgs = result_packages(res)
        ids = {(p.id or f"{p.name}@{p.version}"): _sid("Package", res.target, p.id or f"{p.name}@{p.version}")
               for p in pkgs}
        for p in pkgs:
            pid = p.id or f"{p.name}@{p.version}"
            sid = ids[pid]
            declared: Any = SpdxNoAssertion()
            if p.licenses:
                try:
                    declared = spdx_licensing.parse(" AND ".join(f"({x})" for x in p.licenses))
                except Exception:  # unparsable license text: keep NOASSERTION rather than fail the report
                    declared = SpdxNoAssertion()
            packages.append(Package(
                spdx_id=sid, name=p.name, version=p.version or None, download_location=SpdxNoAssertion(),
                files_analyzed=False, source_info=f"package found in: {p.file_path or res.target}",
                primary_package_purpose=PackagePurpose.LIBRARY,
                license_concluded=SpdxNoAssertion(), license_declared=declared, copyright_text=SpdxNoAssertion(),
                external_references=[ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", p.purl)]
                if p.purl else [],
            ))
            note(sid, "PkgID", pid)
            note(sid, "Target", res.target)
            if p.file_path:
                note(sid, "FilePath", p.file_path)
            note(sid, "Type", res.type)
            note(sid, "Relationship", p.relationship)
            if p.dev:
                note(sid, "Dev", "true")
            for loc in p.locations:
                note(sid, "Location", f"{loc.start_line}-{loc.end_line}")
            rels.append(Relationship(app_id, RelationshipType.CONTAINS, sid))
            for d in sorted({ids[d] for d in p.depends_on if d in ids}):
                rels.append(Relationship(sid, RelationshipType.DEPENDS_ON, d))
    return Document(creation_info=info, packages=packages, relationships=rels, annotations=annotations)


def render(report: Report, out: IO[str]) -> None:
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

    write_document_to_stream(build_document(report), out, validate=False)
    out.write("\n")
