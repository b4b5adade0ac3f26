"""cosign-vuln: the report as a cosign vulnerability attestation predicate (Trivy's `--format cosign-vuln`, for
`cosign attest --type vuln`; the predicate is sigstore's COSIGN_VULN_ATTESTATION_SPEC): the JSON report under
scanner.result, the scanner named as Vigil, and the scan's time as both start and finish (the report keeps one)."""

from __future__ import annotations

import io
import json
from typing import IO

from vigil.findings.records import Report
from vigil.reporters import json as json_report


def render(report: Report, out: IO[str]) -> None:
    buf = io.StringIO()
    json_report.render(report, buf)
    version = report.vigil_version or "unknown"
    predicate = {
        "invocation": {"parameters": None, "uri": "", "event_id": "", "builder.id": ""},
        "scanner": {
            "uri": f"pkg:generic/vigil@{version}",
            "version": version,
            "db": {"uri": "", "version": report.metadata.db_built_at},
            "result": json.loads(buf.getvalue()),
        },
        "metadata": {"scanStartedOn": report.created_at, "scanFinishedOn": report.created_at},
    }
    out.write(json.dumps(predicate, indent=2, ensure_ascii=False))
    out.write("\n")
