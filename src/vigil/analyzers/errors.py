"""The analyzers' exception: bad input in one file. The dispatcher's guard (registry.run_guarded) turns it into an
Unknown in the report and the scan goes on, so it never reaches a shell; a file the user named directly (a custom
check's data, an SBOM) is wrapped in a UserError by the stage that read it."""

from __future__ import annotations

from vigil.errors import VigilError


class ParseError(VigilError):
    """Input is not a valid instance of the format. The message is shown to users: keep it short and factual,
    e.g. "invalid JSON at line 3: unexpected end of data" — never include file contents that may be secret."""
