"""JSON report: the documented, versioned schema (docs/report-schema.json)."""

from __future__ import annotations

from typing import IO

import msgspec

from vigil.findings.records import Report


def render(report: Report, out: IO[str]) -> None:
    out.write(msgspec.json.format(msgspec.json.encode(report).decode(), indent=2))
    out.write("\n")
