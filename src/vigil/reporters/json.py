"""JSON report: the documented, versioned schema (docs/report-schema.json), in Trivy's shape.

The Report record's own fields, plus the keys Trivy's JSON has where Vigil keeps the same fact under another name,
so that a script written against `trivy --format json` finds them (docs/trivy-differences.md lists what remains):
- a package's `Identifier` ({PURL, UID}: Trivy's place for the purl, and a stable ID of the package entry) and
  `Indirect` (true for an indirect dependency, Trivy's older flag beside `Relationship`);
- an image's `Metadata.Reference` (its first tag);
- `ReportID` (a UUID derived from the report's content but not its time, so that `vigil convert` and a scan
  with the same result write the same one), and for an
  image `ArtifactID` (its image ID, as Trivy writes it);
- a license finding's `Confidence` and `Text`, always written (Trivy writes 1 and "" for a declared license);
- a misconfiguration code line's `Highlighted` (the line as it is: Vigil writes no terminal colours into JSON),
  `Annotation` (""), `FirstCause`/`LastCause` (the first and last lines of the cause), and `IsCause`/`Truncated`
  written when false too, as Trivy writes every line.
`vigil convert` reads such a report back: these keys are ignored by the decoder, being derived.
"""

from __future__ import annotations

import hashlib
from typing import IO, Any

import msgspec

from vigil.findings.records import Report
from vigil.reporters._common import report_uuid, write_utf8


def render(report: Report, out: IO[str]) -> None:
    # the ID of what was found, not of when: the same result (a rescan, the same scan in client mode) keeps its ID
    report_id = report_uuid(msgspec.structs.replace(report, created_at=""), "ReportID")
    doc = trivy_shape(msgspec.to_builtins(report), str(report_id))
    # formatting bytes is ~3x faster than formatting the same document as str (13 MB report: 12 ms vs 32 ms)
    write_utf8(out, msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n")


def trivy_shape(doc: dict[str, Any], report_id: str) -> dict[str, Any]:
    """Add Trivy's names for what the report already holds (in place; returns `doc`)."""
    top = dict(doc)
    doc.clear()
    for k, v in top.items():
        if k == "CreatedAt":
            doc["ReportID"] = report_id
        if k == "ArtifactName" and (top.get("Metadata") or {}).get("ImageID"):
            doc["ArtifactID"] = top["Metadata"]["ImageID"]
        doc[k] = v
    meta = doc.get("Metadata") or {}
    if meta.get("RepoTags") and "Reference" not in meta:  # Trivy's name for the image as it was named
        meta["Reference"] = meta["RepoTags"][0]
    for res in doc.get("Results") or ():
        # an OS result's target names the artifact ("app.tar (debian 12.15)"): the same image pulled from a
        # registry or read from an archive must give its packages the same UIDs
        target = "" if res.get("Class") == "os-pkgs" else str(res.get("Target", ""))
        res["Packages"] = [_package(p, target) for p in res.get("Packages") or ()] or None
        for lic in res.get("Licenses") or ():
            lic.setdefault("Text", "")
            lic.setdefault("Confidence", 1.0)
        for m in res.get("Misconfigurations") or ():
            lines = ((m.get("CauseMetadata") or {}).get("Code") or {}).get("Lines") or []
            _cause_marks(lines)
        if res["Packages"] is None:
            del res["Packages"]
    return doc


def _package(p: dict[str, Any], target: str) -> dict[str, Any]:
    """Trivy's keys added to one package of `to_builtins` output, in place (the dict is the encoder's own copy)."""
    purl = p.get("PURL")
    ident: dict[str, str] = {"PURL": purl} if purl else {}
    # Trivy's UID: 16 hex digits naming this entry of the report; here a hash of what tells two entries apart
    layer = p.get("Layer")
    key = "\x00".join((target, str(p.get("FilePath", "")), str(p.get("ID", "")), str(p.get("Name", "")),
                       str(p.get("Version", "")), str(p.get("PURL", "")), str(layer.get("DiffID", "")) if layer else ""))
    ident["UID"] = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    p["Identifier"] = ident
    if p.get("Relationship") == "indirect":
        p["Indirect"] = True
    return p


def _cause_marks(lines: list[dict[str, Any]]) -> None:
    """Every key of Trivy's code line, on every line (Trivy writes false and "" too)."""
    for i, ln in enumerate(lines):
        cause = bool(ln.get("IsCause"))
        ln["IsCause"] = cause
        ln.setdefault("Annotation", "")
        ln["Truncated"] = bool(ln.get("Truncated"))
        ln.setdefault("Highlighted", ln.get("Content", ""))
        ln["FirstCause"] = cause and (i == 0 or not lines[i - 1].get("IsCause"))
        ln["LastCause"] = cause and (i == len(lines) - 1 or not lines[i + 1].get("IsCause"))
