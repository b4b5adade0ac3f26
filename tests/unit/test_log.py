"""vigil.log: Vigil's loggers hand every call to the standard library's logger of the same name, and under the CLI's
deferred set-up drop what would not be shown without importing logging, and set up the handler before the first
record that is."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from vigil import log as vlog


def _emit_through_shim() -> None:
    vlog.get_logger("vigil.test_log").warning("careful: %s", "x")


def test_without_a_deferred_setup_records_reach_logging_as_from_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="vigil.test_log"):
        _emit_through_shim()
        vlog.get_logger("vigil.test_log").debug("detail %d", 7)
        try:
            raise ValueError("boom")
        except ValueError:
            vlog.get_logger("vigil.test_log").exception("failed")
    got = [(r.name, r.levelname, r.getMessage(), r.funcName) for r in caplog.records]
    assert got[0] == ("vigil.test_log", "WARNING", "careful: x", "_emit_through_shim")  # not a vigil.log frame
    assert got[1][1:3] == ("DEBUG", "detail 7")
    assert got[2][1:3] == ("ERROR", "failed") and caplog.records[2].exc_info is not None
    assert vlog.get_logger("vigil.test_log").real() is logging.getLogger("vigil.test_log")


_CHILD = r"""
import sys
from vigil import log as vlog
calls = []
def setup():
    import logging
    calls.append(1)
    h = logging.StreamHandler(sys.stdout)
    h.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("vigil"); root.handlers[:] = [h]; root.setLevel(logging.WARNING); root.propagate = False
vlog.defer_setup(vlog.WARNING, setup)
lg = vlog.get_logger("vigil.x")
lg.debug("hidden"); lg.info("hidden too")
print("enabled debug:", lg.isEnabledFor(vlog.DEBUG))
print("logging loaded:", "logging" in sys.modules, "setups:", len(calls))
lg.warning("shown %s", 1); vlog.get_logger("vigil.y").error("shown too")
print("logging loaded:", "logging" in sys.modules, "setups:", len(calls))
"""


def test_deferred_setup_runs_once_at_the_first_record_shown() -> None:
    p = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True)
    assert p.stdout.splitlines() == [
        "enabled debug: False",
        "logging loaded: False setups: 0",  # debug and info records were dropped without importing logging
        "WARNING vigil.x shown 1",
        "ERROR vigil.y shown too",
        "logging loaded: True setups: 1",
    ]


def test_every_vigil_module_logs_through_vigil_log() -> None:
    """A module with its own logging.getLogger would write before the CLI's deferred set-up (unmasked, unformatted)."""
    from pathlib import Path

    src = Path(vlog.__file__).parent
    direct = [str(p.relative_to(src)) for p in src.rglob("*.py") if "logging.getLogger(__name__)" in p.read_text()]
    assert not direct
