"""The analyzers' exception: bad input in one file. The dispatcher's guard (registry.run_guarded) turns it into an
Unknown in the report and the scan goes on, so it never reaches a shell; a file the user named directly (a custom
check's data, an SBOM) is wrapped in a UserError by the stage that read it."""

from __future__ import annotations

import sys

from vigil.errors import VigilError


class ParseError(VigilError):
    """Input is not a valid instance of the format. The message is shown to users: keep it short and factual,
    e.g. "invalid JSON at line 3: unexpected end of data" — never include file contents that may be secret."""


def number_too_large(e: ValueError) -> str:
    """The message for Python's limit on the digits of an integer read from text (sys.get_int_max_str_digits):
    the JSON, TOML and YAML parsers raise it as a bare ValueError, which reads like a bug. "" for any other
    ValueError."""
    if "integer string conversion" not in str(e):
        return ""
    return f"number too large (more than {sys.get_int_max_str_digits()} digits)"
