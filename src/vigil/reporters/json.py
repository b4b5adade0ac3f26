"""JSON report: the documented, versioned schema (docs/report-schema.json), in Trivy's shape.

The Report record's own fields, plus the keys Trivy's JSON has where Vigil keeps the same fact under another name,
so that a script written against `trivy --format json` finds them (docs/trivy-differences.md lists what remains):
- a package's `Identifier` ({PURL, UID}: Trivy's place for the purl, and a stable ID of the package entry) and
  `Indirect` (true for an indirect dependency, Trivy's older flag beside `Relationship`);
- a license finding's `Confidence`, always written (Trivy writes 1 for a declared license);
- a misconfiguration code line's `Highlighted` (the line as it is: Vigil writes no terminal colours into JSON)
  and `FirstCause`/`LastCause` (the first and last lines of the cause, written when true, as Trivy does).
`vigil convert` reads such a report back: these keys are ignored by the decoder, being derived.
"""

from __future__ import annotations

import hashlib
from typing import IO, Any

import msgspec

from vigil.findings.records import Report


def render(report: Report, out: IO[str]) -> None:
    doc = trivy_shape(msgspec.to_builtins(report))
    out.write(msgspec.json.format(msgspec.json.encode(doc).decode(), indent=2))
    out.write("\n")


def trivy_shape(doc: dict[str, Any]) -> dict[str, Any]:
    """Add Trivy's names for what the report already holds (in place; returns `doc`)."""
    for res in doc.get("Results") or ():
        target = str(res.get("Target", ""))
        res["Packages"] = [_package(p, target) for p in res.get("Packages") or ()] or None
        for lic in res.get("Licenses") or ():
            lic.setdefault("Confidence", 1.0)
        for m in res.get("Misconfigurations") or ():
            lines = ((m.get("CauseMetadata") or {}).get("Code") or {}).get("Lines") or []
            _cause_marks(lines)
        if res["Packages"] is None:
            del res["Packages"]
    return doc


def _package(p: dict[str, Any], target: str) -> dict[str, Any]:
    ident: dict[str, str] = {}
    if p.get("PURL"):
        ident["PURL"] = p["PURL"]
    # Trivy's UID: 16 hex digits naming this entry of the report; here a hash of what tells two entries apart
    key = "\x00".join((target, str(p.get("FilePath", "")), str(p.get("ID", "")), str(p.get("Name", "")),
                       str(p.get("Version", "")), str(p.get("PURL", ""))))
    ident["UID"] = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    out = {**p, "Identifier": ident}
    if p.get("Relationship") == "indirect":
        out["Indirect"] = True
    return out


def _cause_marks(lines: list[dict[str, Any]]) -> None:
    for i, ln in enumerate(lines):
        ln.setdefault("Highlighted", ln.get("Content", ""))
        if not ln.get("IsCause"):
            continue
        if i == 0 or not lines[i - 1].get("IsCause"):
            ln["FirstCause"] = True
        if i == len(lines) - 1 or not lines[i + 1].get("IsCause"):
            ln["LastCause"] = True
