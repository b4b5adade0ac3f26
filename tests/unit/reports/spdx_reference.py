"""SPDX 2.3 JSON as spdx-tools' model and JSON writer make it: the reference the direct writer is compared with.

The stock converter filters the document's whole annotation list for every package (quadratic); the indexed
converter below gives each package the same annotations in the same order, so the reference stays usable on a few
thousand packages."""

from __future__ import annotations

import functools
import io
from collections import defaultdict
from typing import Any

from vigil.findings.records import Report
from vigil.reporters._common import TOOL_NAME, created, map_strings, result_packages
from vigil.reporters.spdx_json import SPDX_VERSION, _sid, namespace


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
        ids = {(p.id or f"{p.name}@{p.full_version}"): _sid("Package", res.target, p.id or f"{p.name}@{p.full_version}")
               for p in pkgs}
        for p in pkgs:
            pid = p.id or f"{p.name}@{p.full_version}"
            sid = ids[pid]
            declared: Any = SpdxNoAssertion()
            if p.licenses:
                try:
                    declared = spdx_licensing.parse(" AND ".join(f"({x})" for x in p.licenses))
                except Exception:  # unparsable license text: keep NOASSERTION rather than fail the report
                    declared = SpdxNoAssertion()
            packages.append(Package(
                spdx_id=sid, name=p.name, version=p.full_version or None, download_location=SpdxNoAssertion(),
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
            if p.src_name:  # OS packages: advisories name the source package (read back by `vigil sbom`)
                note(sid, "SrcName", p.src_name)
                note(sid, "SrcVersion", p.src_full_version)
            note(sid, "Relationship", p.relationship)
            if p.dev:
                note(sid, "Dev", "true")
            for loc in p.locations:
                note(sid, "Location", f"{loc.start_line}-{loc.end_line}")
            rels.append(Relationship(app_id, RelationshipType.CONTAINS, sid))
            for d in sorted({ids[d] for d in p.depends_on if d in ids}):
                rels.append(Relationship(sid, RelationshipType.DEPENDS_ON, d))
    return Document(creation_info=info, packages=packages, relationships=rels, annotations=annotations)




@functools.cache
def _indexed_converter_class() -> Any:
    """spdx-tools' DocumentConverter with the annotations of packages and of the document found by index and set.

    The stock converter filters the document's whole annotation list for every package: packages times annotations
    (each package carries ~5 annotations here), 29 million calls and 16 s for 1,000 packages, hours for a large
    tree; the document's own annotations are picked with a list membership test per annotation, quadratic as well.
    The index gives each package the same annotations in the same order, so the output is unchanged."""
    from spdx_tools.spdx.document_utils import get_contained_spdx_element_ids
    from spdx_tools.spdx.jsonschema.document_converter import DocumentConverter
    from spdx_tools.spdx.jsonschema.document_properties import DocumentProperty
    from spdx_tools.spdx.jsonschema.package_converter import PackageConverter
    from spdx_tools.spdx.jsonschema.package_properties import PackageProperty

    class IndexedPackageConverter(PackageConverter):  # type: ignore[misc]  # spdx-tools is untyped
        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self._indexed: Any = None  # the document the index was built from (the writer's deduplicated copy)
            self._index: dict[str, list[Any]] = {}

        def _get_property_value(self, package: Any, package_property: Any, document: Any = None) -> Any:
            if package_property != PackageProperty.ANNOTATIONS:
                return super()._get_property_value(package, package_property, document)
            if self._indexed is not document:
                self._index = defaultdict(list)
                for a in document.annotations:
                    self._index[a.spdx_id].append(a)
                self._indexed = document
            return [self.annotation_converter.convert(a, document) for a in self._index.get(package.spdx_id, ())] or None

    class IndexedDocumentConverter(DocumentConverter):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self.package_converter = IndexedPackageConverter()

        # The parameter names of DocumentConverter, which differ from its own base's: mypy flags either spelling.
        def _get_property_value(  # type: ignore[override]
            self, document: Any, document_property: Any, _document: Any = None
        ) -> Any:
            if document_property != DocumentProperty.ANNOTATIONS:
                return super()._get_property_value(document, document_property, _document)
            # The document's own annotations: those of no package, file or snippet (which carry theirs). The stock
            # converter tests membership in a list of every element's ID, once per annotation.
            elements = set(get_contained_spdx_element_ids(document))
            return [self.annotation_converter.convert(a) for a in document.annotations
                    if a.spdx_id not in elements] or None

    return IndexedDocumentConverter


def library_spdx_json(report: Report) -> str:
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

    out = io.StringIO()
    write_document_to_stream(build_document(report), out, validate=False, converter=_indexed_converter_class()())
    out.write("\n")
    return out.getvalue()


def library_spdx_tag_value(report: Report) -> str:
    from spdx_tools.spdx.writer.tagvalue.tagvalue_writer import write_document_to_stream

    from vigil.reporters.spdx_tv import tag_value_safe

    doc = build_document(map_strings(report, tag_value_safe))
    doc.creation_info.document_namespace = namespace(report)
    out = io.StringIO()
    write_document_to_stream(doc, out, validate=False)
    return out.getvalue()
