"""`vigil` CLI entry point. Only parsing and printing live in shells/cli; the work happens in vigil.pipeline
(one Source → Analyze → Detect → Report pipeline for every command). Subcommands live one per module and are imported only when invoked (keeps `vigil --version` fast).

Exit codes: 0 ok; the --exit-code value when findings remain after filtering; 2 usage or input errors
(bad flag, missing target or DB, malformed config/ignore file); 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import gc
import importlib
import sys

import click

from vigil import __version__
from vigil.errors import UserError

# subcommand -> "module:attribute" (add one line per command module)
COMMANDS: dict[str, str] = {
    "fs": "vigil.shells.cli.cmd_fs:fs_cmd",
    "rootfs": "vigil.shells.cli.cmd_rootfs:rootfs_cmd",
    "repo": "vigil.shells.cli.cmd_repo:repo_cmd",
    "db": "vigil.shells.cli.cmd_db:db_group",
    "config": "vigil.shells.cli.cmd_config:config_cmd",
    "sbom": "vigil.shells.cli.cmd_sbom:sbom_cmd",
    "convert": "vigil.shells.cli.cmd_convert:convert_cmd",
    "image": "vigil.shells.cli.cmd_image:image_cmd",
    "clean": "vigil.shells.cli.cmd_clean:clean_cmd",
    "server": "vigil.shells.cli.cmd_server:server_cmd",
    "k8s": "vigil.shells.cli.cmd_k8s:k8s_cmd",
    "operator": "vigil.shells.cli.cmd_operator:operator_cmd",
}


# Trivy's global flags, which Trivy also takes before the command name (`trivy --cache-dir DIR -q image …`): given
# there, they are moved after it, where every command declares them.
GLOBAL_VALUED = frozenset({"--cacert", "--cache-dir", "-c", "--config", "--timeout"})
GLOBAL_SWITCHES = frozenset({"-d", "--debug", "-q", "--quiet", "--insecure", "--generate-default-config"})


def global_flags_after_command(args: list[str]) -> list[str]:
    moved: list[str] = []
    i = 0
    while i < len(args):
        name, eq, _ = args[i].partition("=")
        if name in GLOBAL_VALUED:
            step = 1 if eq else 2
        elif name in GLOBAL_SWITCHES:
            step = 1
        else:
            break
        moved += args[i:i + step]
        i += step
    if moved and i < len(args) and args[i] in COMMANDS:
        return [args[i], *moved, *args[i + 1:]]
    return args


class LazyGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, global_flags_after_command(args))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        mod, attr = target.split(":")
        cmd: click.Command = getattr(importlib.import_module(mod), attr)
        from vigil.shells.cli.launch import resume

        resume()  # start-up is over: the command's own work runs with the collector on (see launch)
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-v", "--version", prog_name="vigil", message="%(prog)s %(version)s")
def cli() -> None:
    """Vigil: find vulnerabilities, secrets and misconfigurations."""


def main() -> None:
    try:
        _main()
    finally:
        # The interpreter's collections at exit walk every object still alive: each module, class and function the
        # run loaded, ~8 % of the instructions of a small scan. Frozen, they are skipped. Reference counting still
        # releases them, so a file is still closed and flushed at exit; only an object kept alive by a reference
        # cycle is left to the OS, which Python never promised to finalise at exit anyway.
        gc.freeze()


def _main() -> None:
    try:
        cli.main(prog_name="vigil", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except BaseException as e:  # sorted here: the CLI helpers (settings, reporters) are imported only for an error
        from vigil.shells.cli.common import EXIT_INTERNAL, EXIT_USAGE, ScanTimeout, printable

        if isinstance(e, ScanTimeout):  # --timeout: what was running is abandoned (temporary files removed)
            click.echo(f"Error: the scan did not finish within --timeout {e} (give a longer --timeout)", err=True)
            sys.exit(EXIT_USAGE)
        if isinstance(e, UserError):  # bad input: one line, exit 2; the chain of causes with --debug
            from vigil.log import get_logger

            get_logger("vigil").debug("error", exc_info=True)
            click.echo(f"Error: {printable(str(e))}", err=True)
            sys.exit(e.exit_code)
        if not isinstance(e, Exception):
            raise
        # a bug: one line for the user, the traceback with --debug
        from vigil.log import DEBUG, get_logger

        if get_logger("vigil").isEnabledFor(DEBUG):
            raise
        click.echo(f"Internal error: {type(e).__name__}: {printable(str(e))} (rerun with --debug for details)",
                   err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
