"""Helpers shared by the report formats: reproducible IDs and timestamps, severity scores, flattened findings.

Every output is a pure function of the Report: timestamps come from Report.created_at and UUIDs/serial numbers
are derived from a hash of the report, so the same report renders byte-identically (golden files, `vigil
convert`).
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import hashlib
import os
import re
import uuid
from collections.abc import Callable
from typing import IO, Any, NamedTuple

import msgspec

from vigil.findings.records import Report, Result, Vulnerability
from vigil.inventory.records import Package

INFO_URI = "https://github.com/vigil-scanner/vigil"
TOOL_NAME = "Vigil"

# SARIF security-severity for a severity without a CVSS score (Trivy's mapping).
SEVERITY_SCORE = {"CRITICAL": 9.5, "HIGH": 8.0, "MEDIUM": 5.5, "LOW": 2.0, "UNKNOWN": 0.0}


# Characters a terminal acts on instead of showing (C0 including newline and tab, DEL, C1 such as the 8-bit CSI
# \x9b), line and paragraph separators, bidirectional overrides (text shown in another order than it is stored) and
# lone surrogates (undecodable bytes of a file name). File names, package names and advisory text are data: written
# as such they could clear the screen, recolour it or forge lines of the report.
# Compiled on first use (a millisecond each, for these character classes; a run printing nothing needs neither).
@functools.cache
def _control() -> re.Pattern[str]:
    return re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(m: re.Match[str]) -> str:
    c = m.group()
    if c in _NAMED:
        return _NAMED[c]
    n = ord(c)
    return f"\\x{n:02x}" if n <= 0xFF else f"\\u{n:04x}"


def printable(text: str, *, tabs: bool = False) -> str:
    """`text` with every control character written as a Python-style escape (`\\n`, `\\x1b`, `\\u202e`), for
    output a human reads on a terminal. `tabs`: keep tabs (code lines of a finding)."""
    if tabs:
        return _control().sub(lambda m: m.group() if m.group() == "\t" else _escape_char(m), text)
    return _control().sub(_escape_char, text)


# XML 1.0 cannot represent these at all, not even as character references: a document holding one is not
# well-formed (parsers stop at it).
@functools.cache
def _xml_invalid() -> re.Pattern[str]:
    return re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """`text` with the characters XML 1.0 cannot carry written as escapes (see printable); others unchanged."""
    return _xml_invalid().sub(_escape_char, text)


def map_strings(report: Report, fn: Callable[[str], str]) -> Report:
    """A copy of the report with `fn` applied to every string in it (keys included), for the formats that cannot
    carry some characters. The report itself is returned when nothing changes, so its hash-derived IDs stay."""

    changed = False

    def walk(o: Any) -> Any:
        nonlocal changed
        if isinstance(o, str):
            out = fn(o)
            changed = changed or out != o
            return out
        if isinstance(o, dict):
            return {walk(k): walk(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v) for v in o]
        return o

    mapped = walk(msgspec.to_builtins(report))
    return msgspec.convert(mapped, Report) if changed else report


def report_digest(report: Report) -> str:
    return hashlib.sha256(msgspec.json.encode(report)).hexdigest()


def report_uuid(report: Report, salt: str = "") -> uuid.UUID:
    """A UUID derived from the report's content (same report -> same UUID)."""
    return report_uuids(report)(salt)


def report_uuids(report: Report) -> Callable[[str], uuid.UUID]:
    """report_uuid for many salts: the report is encoded and hashed once (for a large report that costs as much as
    writing the whole SBOM, so once per target would make the output quadratic)."""
    digest = report_digest(report)

    def make(salt: str = "") -> uuid.UUID:
        return uuid.UUID(bytes=hashlib.sha256((digest + salt).encode()).digest()[:16], version=4)

    return make


def indented_json(obj: Any, indent: int = 2) -> str:
    """`json.dumps(obj, indent=indent)`, byte for byte, in a fraction of the time: the standard library's indenting
    encoder is pure Python (~40 % of writing a large SBOM), so the compact C encoder writes the text and msgspec
    indents it, copying strings and numbers verbatim. A lone surrogate escape (from an undecodable file name),
    which msgspec refuses, takes the slow path."""
    import json  # here, not at the top: only this and the slow paths need it, and most reports take neither

    try:
        return msgspec.json.format(json.dumps(obj), indent=indent)
    except msgspec.DecodeError:
        return json.dumps(obj, indent=indent)


def _u_escapes(err: UnicodeError) -> tuple[str, int]:
    """A codec error handler: the characters ASCII cannot hold, as json.dumps escapes them (\\uXXXX, a surrogate
    pair above the BMP). The codec scans in C and calls this once per run of such characters."""
    assert isinstance(err, UnicodeEncodeError)
    out = []
    for ch in err.object[err.start : err.end]:
        c = ord(ch)
        if c < 0x10000:
            out.append(f"\\u{c:04x}")
        else:
            c -= 0x10000
            out.append(f"\\u{0xD800 | (c >> 10):04x}\\u{0xDC00 | (c & 0x3FF):04x}")
    return "".join(out), err.end


codecs.register_error("vigil-json-ascii", _u_escapes)


def write_utf8(out: IO[str], data: bytes) -> None:
    """Write UTF-8 encoded text to a text stream. A file or stdout that encodes UTF-8 gets the bytes as they are,
    on its binary buffer: decoding a 13 MB report holding non-ASCII text into a str, for the stream to encode it
    again, cost ~60 ms. Any other stream (StringIO, another encoding) is written the text."""
    buf = getattr(out, "buffer", None)
    if buf is not None and os.linesep == "\n" and _is_utf8(getattr(out, "encoding", None)):
        out.flush()  # what was written as text before comes first
        buf.write(data)
    else:
        out.write(data.decode())


def _is_utf8(encoding: str | None) -> bool:
    if not encoding:
        return False
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def ascii_escaped(data: bytes, step: int = 8192) -> bytes:
    """UTF-8 JSON text with every non-ASCII character written as json.dumps writes it (\\uXXXX, surrogate pairs
    above U+FFFF). Only the stretches that hold one are decoded: a BOM of 15 MB held 50 of them, and decoding it
    whole into a str and encoding that back cost ~30 ms, checking it `step` bytes at a time ~5 ms."""
    out: list[bytes] = []
    n = len(data)
    start = p = 0
    while p < n:
        q = min(p + step, n)
        if data[p:q].isascii():
            p = q
            continue
        # widened to ASCII bytes on both sides, so that no UTF-8 sequence is cut (its bytes are all >= 0x80)
        s, e = p, q
        while s > start and data[s - 1] >= 0x80:
            s -= 1
        while e < n and data[e] >= 0x80:
            e += 1
        out += (data[start:s], data[s:e].decode().encode("ascii", "vigil-json-ascii"))
        start = p = e
    out.append(data[start:])
    return b"".join(out)


def ascii_indented_json(obj: Any, indent: int) -> str:
    """`json.dumps(obj, indent=indent)` (ensure_ascii, as spdx-tools writes), byte for byte, for documents without
    floats (msgspec writes 1e-07 as 1e-7; SPDX documents hold none): msgspec encodes (about
    5x the standard library's C encoder on dicts of strings), non-ASCII characters, which can only stand inside
    strings, become the same \\u escapes (by the ASCII codec with an error handler: a regex substitution over
    the whole text cost more than the encoding), DEL too (json.dumps escapes it), and msgspec indents the bytes
    (three times faster than indenting the same text as str). Lone surrogates take the slow path."""
    try:
        data = msgspec.json.encode(obj)
        if not data.isascii():
            data = ascii_escaped(data)
    except (msgspec.EncodeError, UnicodeEncodeError):
        import json

        return json.dumps(obj, indent=indent)
    if b"\x7f" in data:
        data = data.replace(b"\x7f", b"\\u007f")
    return msgspec.json.format(data, indent=indent).decode("ascii")


def created(report: Report) -> dt.datetime:
    try:
        return dt.datetime.strptime(report.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def created_iso(report: Report) -> str:
    return created(report).strftime("%Y-%m-%dT%H:%M:%SZ")


def cvss_score(v: Vulnerability) -> float | None:
    """Highest CVSS score of the finding across sources (v4.0, then v3, then v2 per source), or None."""
    best: float | None = None
    for c in v.cvss.values():
        s = c.v40_score or c.v3_score or c.v2_score
        if s and (best is None or s > best):
            best = s
    return best


def security_severity(v: Vulnerability) -> float:
    s = cvss_score(v)
    return s if s is not None else SEVERITY_SCORE[v.severity]


class Line(NamedTuple):
    start: int
    end: int


def vuln_line(res: Result, v: Vulnerability) -> Line | None:
    """The package's first location in the lockfile, when the analyzer recorded one."""
    for p in res.packages:
        if (p.id and p.id == v.pkg_id) or (not v.pkg_id and p.name == v.pkg_name and p.full_version == v.installed_version):
            if p.locations:
                return Line(p.locations[0].start_line, p.locations[0].end_line)
            return None
    return None




def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


def vuln_title(v: Vulnerability) -> str:
    return v.title or first_line(v.description) or v.vulnerability_id


def result_packages(res: Result) -> list[Package]:
    """The result's packages; when the report lists none (no --list-all-pkgs), the vulnerable ones."""
    if res.packages:
        return list(res.packages)
    seen: dict[str, Package] = {}
    for v in res.vulnerabilities:
        key = v.pkg_id or f"{v.pkg_name}@{v.installed_version}"
        if key not in seen:
            eco = v.purl[4:].split("/", 1)[0] if v.purl.startswith("pkg:") else ""
            seen[key] = Package(ecosystem=eco, name=v.pkg_name, version=v.installed_version, id=key, purl=v.purl)
    return list(seen.values())
