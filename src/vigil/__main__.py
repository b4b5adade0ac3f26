"""`python -m vigil`: the `vigil` command."""

from vigil.shells.cli.launch import run

run()
