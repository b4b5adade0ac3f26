"""The same bytes for a generated JSON Schema or OpenAPI document whatever interpreter and library made it.

Descriptions come from class docstrings, and how much indentation a docstring keeps depends on the interpreter
(Python 3.13's compiler strips the common leading whitespace of `__doc__`; 3.11 and 3.12 keep it) and on the
library that reads it (msgspec and pydantic each clean it in their own way, which has changed between their
versions). Every "description" and "title" string is therefore passed through `inspect.cleandoc`, which removes
whatever common indentation the interpreter or the library left. The published documents (docs/report-schema.json,
docs/openapi.json) then come out the same on every supported Python, and the tests that check they are current
do not fail on another interpreter.
"""

from __future__ import annotations

from inspect import cleandoc
from typing import Any

TEXT_KEYS = frozenset({"description", "title"})


def clean_schema_text(node: Any) -> Any:
    """A copy of `node` (a decoded JSON document) with every "description"/"title" string passed through
    `inspect.cleandoc`; other keys and values are kept as they are."""
    if isinstance(node, dict):
        return {k: cleandoc(v) if k in TEXT_KEYS and isinstance(v, str) else clean_schema_text(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [clean_schema_text(v) for v in node]
    return node
