"""The analyzers' exception: bad input in one file (vigil.errors.ParseError, re-exported here where the analyzers
have always found it). The dispatcher's guard (registry.run_guarded) turns it into an Unknown in the report and the
scan goes on."""

from __future__ import annotations

import sys

from vigil.errors import ParseError

__all__ = ["ParseError", "number_too_large"]


def number_too_large(e: ValueError) -> str:
    """The message for Python's limit on the digits of an integer read from text (sys.get_int_max_str_digits):
    the JSON, TOML and YAML parsers raise it as a bare ValueError, which reads like a bug. "" for any other
    ValueError."""
    if "integer string conversion" not in str(e):
        return ""
    return f"number too large (more than {sys.get_int_max_str_digits()} digits)"
