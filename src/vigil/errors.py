"""One exception hierarchy for every layer.

`UserError` is a problem with what the user gave us (a missing target, a malformed ignore file, an unreachable
registry, a corrupt DB): the shells print its message on one line and exit 2. `InternalError` is a defect of ours
(exit 3). Each layer subclasses one of these instead of growing its own root, so a shell catches `UserError` once
instead of translating a dozen unrelated types, and errors are chained with `raise … from e` so `--debug` shows the
whole cause.
"""

from __future__ import annotations


class VigilError(Exception):
    """The root of every error Vigil raises on purpose."""


class UserError(VigilError):
    """Bad input or environment: shown to the user as one line, exit code 2."""

    exit_code = 2


class InternalError(VigilError):
    """A defect in Vigil: shown as an internal error, exit code 3."""

    exit_code = 3


class ParseError(VigilError):
    """Input is not a valid instance of its format. The message is shown to users: keep it short and factual,
    e.g. "invalid JSON at line 3: unexpected end of data" — never include file contents that may be secret.
    Analyzers raise it for one bad file, which the dispatcher's guard turns into an Unknown in the report (the scan
    goes on); a stage that reads a file the user named wraps it in a UserError."""
