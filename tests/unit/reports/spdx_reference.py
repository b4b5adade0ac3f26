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
from vigil.reporters.spdx_json import build_document


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
