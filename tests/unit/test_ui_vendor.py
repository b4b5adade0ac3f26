"""The vendored chart library is the npm release its SOURCE.md names (sha256 of every file), with its licence."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "src" / "vigil" / "shells" / "server" / "static" / "vendor" / "uplot"


def test_vendored_files_match_their_recorded_checksums() -> None:
    source = (VENDOR / "SOURCE.md").read_text(encoding="utf-8")
    sums = dict(re.findall(r"^\| (\S+) \| ([0-9a-f]{64}) \|$", source, re.M))
    assert set(sums) == {"uPlot.iife.min.js", "uPlot.min.css"}
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "MIT License" in (VENDOR / "LICENSE").read_text(encoding="utf-8")


def test_the_ui_serves_only_listed_static_files() -> None:
    from vigil.shells.server.ui import STATIC, STATIC_FILES

    for name in STATIC_FILES:
        assert (STATIC / name).is_file(), name
