"""Helpers shared by the CLI command modules: option decorators built from vigil.settings, errors.

Exit codes: 0 ok; the --exit-code value when findings remain after filtering; 2 usage or input errors
(bad flag, missing target or DB, malformed config/ignore file); 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from vigil.log import cli_level, defer_setup, get_logger
from vigil.settings import OPTIONS, Option, SettingsError, options_for, resolve

EXIT_USAGE = 2
EXIT_INTERNAL = 3


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


class ScanCommand(click.Command):
    """A command that parses flags the way Trivy's users write them: a boolean flag also takes a value
    (`--list-all-pkgs=false`, `--skip-db-update=true`, as Go's flag parsers allow), and `-v/--version` works after
    the command name too. Every command built from vigil.settings uses it (`cls=ScanCommand`), so a command added
    later (e.g. `vigil k8s`) gets the same parsing with its `add_options` flags."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = long_forms(self, bool_values(self, args))
        if "--generate-default-config" in args[: args.index("--") if "--" in args else None]:
            write_default_config(Path("vigil-default.yaml"))  # as in Trivy, no target needed
            ctx.exit(0)
        return super().parse_args(ctx, args)


def bool_values(cmd: click.Command, args: list[str]) -> list[str]:
    """`--flag=true` -> `--flag`, `--flag=false` -> `--no-flag` for the command's boolean flags (and the same for
    any value _parse accepts as a boolean); anything else is left for click (and its errors)."""
    flags: dict[str, click.Option] = {}
    for param in cmd.params:
        if isinstance(param, click.Option) and param.is_flag:
            flags.update({name: param for name in param.opts})
    out: list[str] = []
    for i, a in enumerate(args):
        if a == "--":
            return out + args[i:]
        name, eq, val = a.partition("=")
        flag = flags.get(name) if eq and name.startswith("--") else None
        if flag is None:
            out.append(a)
            continue
        truth = val.strip().lower()
        if truth in ("1", "true", "yes", "on", "t"):
            out.append(name)
        elif truth in ("0", "false", "no", "off", "f", "") and flag.secondary_opts:
            out.append(flag.secondary_opts[0])
        elif truth in ("0", "false", "no", "off", "f", ""):
            continue  # a plain switch set to false: not given
        else:
            raise click.BadParameter(f"{val!r} is not a boolean (true or false)", param_hint=name)
    return out


def long_forms(cmd: click.Command, args: list[str]) -> list[str]:
    """`-o FILE` -> `--output FILE`, `-q` -> `--quiet`: the same options, but click tries every argument as a long
    option first, and for a short one that failed try builds an error that imports difflib and ranks every option
    name of the command as a suggestion (~1.5 ms of a scan's start-up). An option's value is left as it is, and so is
    an option that takes a value but has none after it (click's error then names the option as it was written)."""
    options = args[: args.index("--")] if "--" in args else args
    if not any(len(a) == 2 and a[0] == "-" and a[1] != "-" for a in options):
        return args  # no short option: nothing to look up (the table below costs more than the check)
    longs: dict[str, str] = {}
    nargs: dict[str, int] = {}  # the options that take values: how many
    for param in cmd.params:
        if not isinstance(param, click.Option):
            continue
        long = next((o for o in param.opts if o.startswith("--")), None)
        for name in param.opts:
            if long is not None and len(name) == 2 and name[0] == "-" and name[1] != "-":
                longs[name] = long
            if not (param.is_flag or param.count):
                nargs[name] = param.nargs
    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            return out + args[i:]
        n = nargs.get(a, 0)
        if n and i + n >= len(args):
            return out + args[i:]
        out.append(longs.get(a, a))
        out.extend(args[i + 1:i + 1 + n])
        i += 1 + n
    return out


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from vigil import __version__

        click.echo(f"vigil {__version__}")
        ctx.exit(0)


def scan_command(name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A scan command with every flag declared for it in vigil.settings (and those of the command it shares flags
    with, settings.SHARES_FLAGS_OF), parsed as Trivy's users write them:

        @scan_command("k8s")
        @click.argument("context", required=False)
        def k8s_cmd(context: str | None, **kwargs: Any) -> None:
            values = resolve_or_exit("k8s", kwargs)
    """

    def deco(f: Callable[..., Any]) -> click.Command:
        return click.command(name, cls=ScanCommand, context_settings={"show_default": False}, **kwargs)(
            add_options(name)(f))

    return deco


def add_options(command: str) -> Callable[[F], F]:
    """Decorate a click command with every Option declared for it (flags are built from vigil.settings), and
    `-v/--version` (Trivy takes it after any command name). Use with `cls=ScanCommand`."""

    def deco(f: F) -> F:
        for o in reversed(options_for(command)):
            f = _click_option(o)(f)
        return click.option("-v", "--version", is_flag=True, expose_value=False, is_eager=True,
                            callback=_print_version, help="print the version and exit")(f)

    return deco


def _click_option(o: Option) -> Callable[[F], F]:
    names = [o.flag] + ([o.short] if o.short else [])
    env_help = f" [env: {o.env}; config: {o.key}]"
    if o.trivy_env:
        env_help = f" [env: {o.env} or {o.trivy_env}; config: {o.key}" + (
            f" or {o.trivy_key}]" if o.trivy_key != o.key else "]")
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


class ScanTimeout(BaseException):
    """--timeout ran out. A BaseException: the analyzers' guards catch Exception (a failing parser becomes an
    Unknown in the report), and the deadline must not be caught by them."""


def start_deadline(values: dict[str, Any]) -> None:
    """--timeout: bound the whole run (DB update, scan, report), as Trivy's does. SIGALRM in this process; forked
    analysis workers do not inherit the timer and are stopped when it fires."""
    text = str(values.get("timeout") or "").strip()
    if not text:
        return
    from vigil.settings import SettingsError, parse_duration

    try:
        seconds = parse_duration(text)
    except SettingsError as e:
        fail(f"--timeout: {e}")
    if seconds <= 0:
        return
    import signal

    def expired(_sig: int, _frame: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if "multiprocessing" in sys.modules:  # workers busy on a layer would hold the pool's shutdown
            import multiprocessing

            for child in multiprocessing.active_children():
                child.terminate()
        raise ScanTimeout(text)

    signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _setup_logging(quiet: bool, debug: bool) -> None:
    from vigil.shells.cli.logsetup import setup_logging

    setup_logging(quiet, debug)


def resolve_or_exit(command: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Merge flags/env/config for `command`, exit 2 with one line on a user error, and set up logging (then
    print what a config file found in the working directory was not allowed to set)."""
    warnings: list[str] = []
    try:
        values = resolve(command, given(kwargs), warnings=warnings)
    except SettingsError as e:
        fail(str(e))
    quiet, debug = bool(values.get("quiet")), bool(values.get("debug"))
    # The handler is installed when the first record to show is logged: most scans log none, and then never
    # import logging at all (see vigil.log).
    defer_setup(cli_level(quiet, debug), lambda: _setup_logging(quiet, debug))
    for w in warnings:
        get_logger("vigil.settings").warning("%s", w)
    if values.get("generate_default_config"):
        write_default_config(Path("vigil-default.yaml"))
        sys.exit(0)
    if values.get("password_stdin"):
        if values.get("password"):
            fail("give the registry password once: --password or --password-stdin, not both")
        # the whole of stdin, less the line end a shell's echo or a here-string adds (Trivy does the same)
        values["password"] = sys.stdin.read().rstrip("\r\n")
        if not values["password"]:
            fail("--password-stdin: standard input is empty")
    if command != "server":  # a server runs until stopped; its --timeout is accepted, not applied
        start_deadline(values)
    return values


def write_default_config(path: Path) -> None:
    """Trivy's --generate-default-config: every option's key with its default, as a vigil.yaml to start from."""
    import yaml

    from vigil.settings import GLOBAL

    tree: dict[str, Any] = {}
    for o in OPTIONS:
        if o.ignored or o.name in ("generate_default_config", "config", "trust_config") or not set(o.commands) & set(
                GLOBAL):
            continue
        d: Any = o.default
        node = tree
        *parents, leaf = o.key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = list(d) if isinstance(d, tuple) else d
    try:
        path.write_text(yaml.safe_dump(tree, sort_keys=True), encoding="utf-8")
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror or e}")
    click.echo(f"wrote the default config to {path}", err=True)


def show_progress(values: dict[str, Any]) -> bool:
    """Progress bars: on a terminal, unless --quiet or --no-progress."""
    return not values.get("quiet") and not values.get("no_progress") and sys.stderr.isatty()


def cache_backend_url(values: dict[str, Any]) -> str:
    """--cache-backend, with Trivy's --redis-tls/--redis-ca/--redis-cert/--redis-key folded into a Redis URL
    (rediss://…?ssl_ca_certs=…&ssl_certfile=…&ssl_keyfile=…, which the Redis client reads)."""
    backend = str(values.get("cache_backend") or "fs")
    if not backend.startswith(("redis://", "rediss://")):
        return backend
    files = {"ssl_ca_certs": values.get("redis_ca"), "ssl_certfile": values.get("redis_cert"),
             "ssl_keyfile": values.get("redis_key")}
    if backend.startswith("redis://") and (values.get("redis_tls") or any(files.values())):
        backend = "rediss://" + backend[len("redis://"):]
    query = {k: str(v) for k, v in files.items() if v}
    if not query:
        return backend
    from urllib.parse import urlencode

    return backend + ("&" if "?" in backend else "?") + urlencode(query)
