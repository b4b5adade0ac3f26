"""Helpers shared by the CLI command modules: logging setup, option decorators built from vigil.settings, errors.

Exit codes: 0 ok; the --exit-code value when findings remain after filtering; 2 usage or input errors
(bad flag, missing target or DB, malformed config/ignore file); 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from vigil.settings import OPTIONS, Option, SettingsError, resolve

EXIT_USAGE = 2
EXIT_INTERNAL = 3


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
    root.setLevel(logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING)
    root.propagate = False


def read_tokens(path: Path) -> tuple[str, ...]:
    """The tokens clients may send, one per line (blank lines skipped). Each token is a tenant of its own: the
    image layer analyses a client uploads are served only to clients sending the same token."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read token file {path}: {getattr(e, 'strerror', None) or e}") from e
    tokens = tuple(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not tokens:
        raise ValueError(f"token file {path} is empty")
    if not all(t.isprintable() and t.isascii() for t in tokens):
        # HTTP header values are ASCII: a token outside it could never be sent by a client
        raise ValueError(f"token file {path} must hold tokens of printable ASCII characters, one per line")
    return tokens


def client_token(values: dict[str, Any]) -> str:
    """The token client mode sends: --token / VIGIL_TOKEN, or the one line of --token-file (a file keeps the token
    out of the process list and the shell history)."""
    token, path = str(values.get("token") or ""), values.get("token_file")
    if not path:
        return token
    if token:
        fail("give the token once: --token (or VIGIL_TOKEN) or --token-file, not both")
    try:
        tokens = read_tokens(Path(path))
    except ValueError as e:
        fail(str(e))
    if len(tokens) != 1:  # a client sends one token; never quote the file, it may not be a token file at all
        fail(f"token file {path} must hold one token on one line")
    return tokens[0]


F = TypeVar("F", bound=Callable[..., Any])


def add_options(command: str) -> Callable[[F], F]:
    """Decorate a click command with every Option declared for it (flags are built from vigil.settings)."""

    def deco(f: F) -> F:
        for o in reversed([o for o in OPTIONS if command in o.commands]):
            f = _click_option(o)(f)
        return f

    return deco


def _click_option(o: Option) -> Callable[[F], F]:
    names = [o.flag] + ([o.short] if o.short else [])
    env_help = f" [env: {o.env}; config: {o.key}]"
    dflt = "" if o.default in (None, (), False) else f" (default: {','.join(o.default) if isinstance(o.default, tuple) else o.default})"
    help_ = o.help + dflt + env_help
    if o.kind == "bool":
        return click.option(o.flag + "/--no-" + o.flag[2:], *([o.short] if o.short else []), o.name,
                            default=None, help=help_)
    if o.kind == "int":
        return click.option(*names, o.name, type=int, default=None, help=help_, metavar="INT")
    if o.kind == "list":  # repeatable and comma-separated: --vex a.json --vex b.json == --vex a.json,b.json
        return click.option(*names, o.name, type=str, default=None, multiple=True, help=help_,
                            metavar=o.metavar or "A,B,…")
    return click.option(*names, o.name, type=str, default=None, help=help_,
                        metavar=o.metavar or ("PATH" if o.kind == "path" else "TEXT"))


def given(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: (",".join(v) if isinstance(v, tuple) else v) for k, v in kwargs.items() if v is not None and v != ()}


def printable(text: str) -> str:
    """Text for the terminal: control characters escaped (vigil.reporters' rule for every human-facing output)."""
    from vigil.reporters._common import printable as escape

    return escape(text)


def fail(msg: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"Error: {printable(msg)}", err=True)
    sys.exit(code)


def resolve_or_exit(command: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Merge flags/env/config for `command`, exit 2 with one line on a user error, and set up logging (then
    print what a config file found in the working directory was not allowed to set)."""
    warnings: list[str] = []
    try:
        values = resolve(command, given(kwargs), warnings=warnings)
    except SettingsError as e:
        fail(str(e))
    setup_logging(bool(values.get("quiet")), bool(values.get("debug")))
    for w in warnings:
        logging.getLogger("vigil.settings").warning("%s", w)
    return values
