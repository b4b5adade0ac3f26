"""The analyzers' one exception root (ARCHITECTURE.md §11)."""

from __future__ import annotations


class ParseError(Exception):
    """Input is not a valid instance of the format. The message is shown to users: keep it short and factual,
    e.g. "invalid JSON at line 3: unexpected end of data" — never include file contents that may be secret."""
