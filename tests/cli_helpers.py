"""Run the real CLI in a subprocess (what users run), with VIGIL_* and TRIVY_* variables from the outer environment removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "TRIVY_"))}
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "vigil", *args], capture_output=True, text=True,
                          cwd=cwd, env=e, timeout=timeout, input=input)


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """Stop a process a test started (a server, an operator, Prometheus): SIGTERM, then SIGKILL after 20 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
