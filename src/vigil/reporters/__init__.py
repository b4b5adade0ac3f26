"""Reporters: render(report, out). One module per format; FORMATS maps --format values to modules."""

from __future__ import annotations

import importlib
from typing import IO, Protocol

from vigil.findings.records import Report

FORMATS = {
    "table": "vigil.reporters.table",
    "json": "vigil.reporters.json",
}


class Reporter(Protocol):
    def __call__(self, report: Report, out: IO[str]) -> None: ...


def get(fmt: str) -> Reporter:
    mod = importlib.import_module(FORMATS[fmt])
    render: Reporter = mod.render
    return render
