"""The `vigil` command's entry point (`vigil` and `python -m vigil`): the cyclic garbage collector is paused while
the CLI and the chosen command's modules load, then their objects are frozen out of its collections.

Start-up allocates the objects of a few hundred modules (functions, classes, dicts) that live until exit. With the
collector on, each young collection during those imports walks the young ones and the older collections walk all of
them, and every later full collection of the scan walks them again, for nothing: about 4 % of the instructions of
a small scan. `run` turns the collector off before the CLI is imported; `resume` (called once the command's module
is loaded, before any option is acted on) freezes what is alive then, so that no collection ever looks at it again,
and turns the collector back on for the command's own work. A process that imports the CLI without `run` (a test,
an embedding program) keeps its collector as it was.

`run` also has regular expressions compiled from the code kept by earlier runs (vigil.shells.cli.regexcache).
"""

from __future__ import annotations

import gc

_paused = False


def run() -> None:
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True
    from vigil.shells.cli import regexcache

    regexcache.install()  # before the CLI's imports, whose modules compile patterns too
    from vigil.shells.cli.main import main

    main()


def resume() -> None:
    """Freeze the objects loaded so far and turn the collector back on, if `run` turned it off (else nothing)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
