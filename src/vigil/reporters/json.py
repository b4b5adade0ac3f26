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
from vigil.inventory.records import Package
from vigil.reporters._common import report_uuid, write_utf8


def render(report: Report, out: IO[str]) -> None:
    # the ID of what was found, not of when: the same result (a rescan, the same scan in client mode) keeps its ID
    report_id = report_uuid(msgspec.structs.replace(report, created_at=""), "ReportID")
    # Packages and vulnerabilities are encoded from their records (packages one by one, Trivy's keys appended to
    # each one's bytes), not made into dicts first: with a dict per record (to_builtins, then trivy_shape walking
    # them) the lockfile corpus's report (10,685 packages, 2,245 vulnerabilities) took ~225 ms, now ~75 ms. Each
    # result keeps a one-item stand-in for them, so that their keys stay in their places.
    packages = [r.packages for r in report.results]
    vulns = [r.vulnerabilities for r in report.results]
    light = msgspec.structs.replace(report, results=tuple(
        msgspec.structs.replace(r, packages=(_STAND_IN,) if r.packages else (),
                                vulnerabilities=(_STAND_IN,) if r.vulnerabilities else ())
        for r in report.results))
    doc = trivy_shape(msgspec.to_builtins(light), str(report_id), packages)
    for res, vs in zip(doc.get("Results") or (), vulns, strict=True):
        if vs:
            res["Vulnerabilities"] = msgspec.Raw(_encode(vs))
    # formatting bytes is ~3x faster than formatting the same document as str (13 MB report: 12 ms vs 32 ms)
    write_utf8(out, msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n")


_STAND_IN: Any = ""
_encode = msgspec.json.encode


def trivy_shape(doc: dict[str, Any], report_id: str, packages: list[tuple[Package, ...]]) -> dict[str, Any]:
    """Add Trivy's names for what the report already holds (in place; returns `doc`). `packages`: each result's
    packages, in the order of doc["Results"]."""
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
    for res, pkgs in zip(doc.get("Results") or (), packages, strict=True):
        # an OS result's target names the artifact ("app.tar (debian 12.15)"): the same image pulled from a
        # registry or read from an archive must give its packages the same UIDs
        target = "" if res.get("Class") == "os-pkgs" else str(res.get("Target", ""))
        res["Packages"] = [_package(p, target) for p in pkgs] or None
        for lic in res.get("Licenses") or ():
            lic.setdefault("Text", "")
            lic.setdefault("Confidence", 1.0)
        for m in res.get("Misconfigurations") or ():
            lines = ((m.get("CauseMetadata") or {}).get("Code") or {}).get("Lines") or []
            _cause_marks(lines)
        if res["Packages"] is None:
            del res["Packages"]
    return doc


def _package(p: Package, target: str) -> msgspec.Raw:
    """One package as JSON: its record's keys, then Trivy's `Identifier` and `Indirect`."""
    purl = p.purl
    # Trivy's UID: 16 hex digits naming this entry of the report; here a hash of what tells two entries apart
    key = "\x00".join((target, p.file_path, p.id, p.name, p.version, purl, p.layer.diff_id if p.layer else ""))
    uid = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    ident = b'{"PURL":%s,"UID":"%s"}' % (_encode(purl), uid.encode()) if purl else b'{"UID":"%s"}' % uid.encode()
    raw = _encode(p)  # never b"{}": Name and Version have no default, so they are always written
    tail = b',"Identifier":%s,"Indirect":true}' if p.relationship == "indirect" else b',"Identifier":%s}'
    return msgspec.Raw(raw[:-1] + tail % ident)


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
