"""Installed Python packages: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `EGG-INFO/PKG-INFO`.

Format facts (core metadata, https://packaging.python.org/en/latest/specifications/core-metadata/): RFC 822 style
headers; `Name` and `Version` are required; licenses come from `License-Expression` (metadata 2.4, an SPDX
expression), else `License` (free text, sometimes the whole license body — only a short one-line value is used,
like Trivy), else the `Classifier: License :: ...` trove classifiers (the last segment names the license).
"""

from __future__ import annotations

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


def parse_metadata(data: bytes, path: str = "") -> Application:
    text = _text(data)
    # headers end at the first blank line; the body (long description) is ignored
    head = text.split("\n\n", 1)[0]
    # imported here: every analyzer module is imported for every vulnerability scan, and the email package was a
    # tenth of the start-up of one that finds no installed Python package
    from email.parser import HeaderParser
    from email.policy import compat32

    msg = HeaderParser(policy=compat32).parsestr(head)
    name = str(msg.get("Name") or "").strip()
    version = str(msg.get("Version") or "").strip()
    if not name or not version:
        raise ParseError("package metadata without Name or Version")
    if len(name) > 200 or len(version) > 100:
        raise ParseError("package metadata Name or Version is implausibly long")
    lic = licenses_from(
        str(msg.get("License-Expression") or ""),
        str(msg.get("License") or ""),
        [str(c) for c in msg.get_all("Classifier") or []],
    )
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
