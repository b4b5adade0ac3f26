"""Installed Python packages: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `EGG-INFO/PKG-INFO`.

Format facts (core metadata, https://packaging.python.org/en/latest/specifications/core-metadata/): RFC 822 style
headers; `Name` and `Version` are required; licenses come from `License-Expression` (metadata 2.4, an SPDX
expression), else `License` (free text, sometimes the whole license body — only a short one-line value is used,
like Trivy), else the `Classifier: License :: ...` trove classifiers (the last segment names the license).
"""

from __future__ import annotations

import re

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import PYPI, Application

APP_TYPE = "python-pkg"

# Classifier last segments that are not license names.
_VAGUE = {"OSI Approved", "Other/Proprietary License", "Public Domain", "Freely Distributable", "Freeware"}


def _text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise ParseError("binary data, not package metadata")
    return data.decode("utf-8", errors="replace")


def licenses_from(expression: str, license_field: str, classifiers: list[str]) -> tuple[str, ...]:
    if expression.strip():
        return (expression.strip(),)
    lic = license_field.strip()
    if lic and "\n" not in lic and len(lic) <= 100 and lic.upper() not in ("UNKNOWN", "NONE"):
        return (lic,)
    out: list[str] = []
    for c in classifiers:
        parts = [p.strip() for p in c.split("::")]
        if len(parts) >= 2 and parts[0] == "License":
            last = parts[-1]
            if last not in _VAGUE or len(parts) == 2:
                out.append(last)
    return tuple(dict.fromkeys(out))


# What email.feedparser takes for a header line (or a continuation, or a "From " line), and its line breaks.
_HEADER_LINE = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])")
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


def read_headers(head: str) -> dict[str, list[str]]:
    """The headers of a METADATA/PKG-INFO file, by lower-cased name, values in order: what
    email.parser.HeaderParser(policy=compat32) gives for them (continuation lines kept, value stripped of the
    leading blanks and the final line break), including its handling of malformed lines (a "From " line, a line
    starting with ":" or with a blank before any header, the first line that is not a header ending the headers).
    Written out because importing the email package cost more CPU than the rest of a small image's analysis; a
    test compares the two on generated input."""
    parts = _LINE_BREAK.split(head)
    lines = [parts[i] + (parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]
    if lines and lines[-1] == "":
        lines.pop()
    taken: list[str] = []
    for line in lines:
        if not _HEADER_LINE.match(line):
            break  # a blank line ends the headers; any other line too (the feedparser notes a defect)
        taken.append(line)
    out: dict[str, list[str]] = {}
    name, value = "", list[str]()  # the header being read

    def close() -> None:
        first, rest = value[0].split(":", 1)[1], value[1:]
        out.setdefault(name.lower(), []).append((first.lstrip(" \t") + "".join(rest)).rstrip("\r\n"))

    for i, line in enumerate(taken):
        if line[0] in " \t":
            if name:
                value.append(line)
            continue  # a continuation before any header is dropped
        if name:
            close()
            name, value = "", []
        if line.startswith("From "):
            if i == len(taken) - 1:
                break  # the feedparser hands a last "From " line to the body
            continue  # the envelope line (first) or a misplaced one: not a header
        colon = line.find(":")
        if colon == 0:
            continue  # no name: dropped
        name, value = line[:colon], [line]
    if name:
        close()
    return out


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def parse_metadata(data: bytes, path: str = "") -> Application:
    text = _text(data)
    # headers end at the first blank line; the body (long description) is ignored
    head = text.split("\n\n", 1)[0]
    msg = read_headers(head)
    name = _first(msg, "name").strip()
    version = _first(msg, "version").strip()
    if not name or not version:
        raise ParseError("package metadata without Name or Version")
    if len(name) > 200 or len(version) > 100:
        raise ParseError("package metadata Name or Version is implausibly long")
    lic = licenses_from(_first(msg, "license-expression"), _first(msg, "license"), msg.get("classifier", []))
    pkg = package(PYPI, name, version, file_path=path, licenses=lic)
    return Application(type=APP_TYPE, file_path=path, packages=(pkg,))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return AnalysisResult(applications=(parse_metadata(inp.data, inp.path),))


ANALYZER = Analyzer(
    name="python-pkg",
    version=1,
    kind="installed",
    path_globs=("*.dist-info/METADATA", "*.egg-info/PKG-INFO", "*/EGG-INFO/PKG-INFO"),
    analyze=_analyze,
)
