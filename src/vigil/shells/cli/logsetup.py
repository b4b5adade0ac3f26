"""The CLI's log handler: `LEVEL<tab>message` on stderr, secrets masked, control characters escaped.

Imported only when a record is to be shown (vigil.log defers the set-up), or by a process that sets up logging
at once (`vigil server`'s tests, for instance).
"""

from __future__ import annotations

import logging
import sys

from vigil.log import cli_level
from vigil.shells.cli.common import printable


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """`LEVEL<tab>message`, then the traceback of a record that has one (log.exception: the server's internal
    errors; --debug: the chain of causes), masked like the message: exception texts can quote input. Messages
    carry file names from the scanned tree: control characters in them (ESC, a newline) are shown escaped, so a file
    name can neither drive the terminal nor forge log lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname}\t{printable(record.getMessage())}"
        if not record.exc_info:
            return line
        from vigil.analyzers.secrets.mask import mask_text

        return line + "\n" + mask_text(logging.Formatter().formatException(record.exc_info))


class SecretMaskFilter(logging.Filter):
    """Masks anything a built-in secret rule matches in a log record (a secret never reaches a log).
    On the handler, so it sees records from every `vigil.*` logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        from vigil.analyzers.secrets.mask import mask_text

        msg = record.getMessage()
        masked = mask_text(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


def setup_logging(quiet: bool, debug: bool) -> None:
    root = logging.getLogger("vigil")
    handler = _Handler(sys.stderr)
    handler.addFilter(SecretMaskFilter())
    root.handlers[:] = [handler]
    root.setLevel(cli_level(quiet, debug))  # the level vigil.log drops records below, before this runs
    root.propagate = False
