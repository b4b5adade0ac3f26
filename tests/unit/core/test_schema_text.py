"""Generated schema text is the same whatever the interpreter did to the docstrings: Python 3.11 keeps their
indentation in `__doc__`, 3.13's compiler strips it (both forms are fed here by hand)."""

from __future__ import annotations

import json

import msgspec

from vigil.findings.schema_text import clean_schema_text

# One docstring as Python 3.11 stores it, and as Python 3.13 stores it.
AS_311 = "What was scanned: for an image, the metadata\n    the report carries.\n\n    - one\n        nested\n    "
AS_313 = "What was scanned: for an image, the metadata\nthe report carries.\n\n- one\n    nested\n"


def _record(doc: str) -> type[msgspec.Struct]:
    class Rec(msgspec.Struct):
        """Replaced below."""

        x: int = 0

    Rec.__doc__ = doc
    return Rec


def _render(doc: str) -> str:
    return json.dumps(clean_schema_text(msgspec.json.schema(_record(doc))), indent=2, sort_keys=True)


def test_indented_and_stripped_docstrings_render_the_same() -> None:
    assert _render(AS_311) == _render(AS_313)
    desc = json.loads(_render(AS_311))["$defs"]["Rec"]["description"]
    assert desc == "What was scanned: for an image, the metadata\nthe report carries.\n\n- one\n    nested"


def test_every_description_and_title_is_cleaned_and_nothing_else() -> None:
    doc = {"title": "  T\n    u ", "properties": {"description": {"type": "string", "description": "a\n    b"}},
           "allOf": [{"description": "\n    c\n      d\n"}], "pattern": "  x\n    y"}
    assert clean_schema_text(doc) == {
        "title": "T\nu ", "properties": {"description": {"type": "string", "description": "a\nb"}},
        "allOf": [{"description": "c\n  d"}], "pattern": "  x\n    y"}
