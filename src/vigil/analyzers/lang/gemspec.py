"""Installed Ruby gems: `specifications/*.gemspec` (the Ruby files RubyGems writes when installing a gem).

They are Ruby code, never evaluated: like Trivy, the `s.name = "x"`, `s.version = "1.2"` and `s.license(s) = ...`
assignments are read with regular expressions. Versions may be written `"1.2.3".freeze` or
`Gem::Version.new("1.2.3")`.
"""

from __future__ import annotations

import re

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import decode, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import RUBYGEMS, Application

APP_TYPE = "gemspec"

_STR = r"""["']([^"'\n]{1,200})["']"""
_NAME = re.compile(r"^\s*\w+\.name\s*=\s*" + _STR, re.M)
_VERSION = re.compile(r"^\s*\w+\.version\s*=\s*(?:Gem::Version\.new\(\s*)?" + _STR, re.M)
_LICENSES = re.compile(r"^\s*\w+\.licenses?\s*=\s*(\[[^\]\n]{0,1000}\]|" + _STR + ")", re.M)
_QUOTED = re.compile(_STR)


def parse_gemspec(data: bytes, path: str = "") -> Application:
    text = decode(data)
    name_m, ver_m = _NAME.search(text), _VERSION.search(text)
    if not name_m or not ver_m:
        raise ParseError("gemspec: no name or version assignment")
    lic: tuple[str, ...] = ()
    lm = _LICENSES.search(text)
    if lm:
        lic = tuple(dict.fromkeys(m.group(1).strip() for m in _QUOTED.finditer(lm.group(1)) if m.group(1).strip()))
    pkg = package(RUBYGEMS, name_m.group(1).strip(), ver_m.group(1).strip(), file_path=path, licenses=lic)
    return Application(type=APP_TYPE, file_path=path, packages=(pkg,))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return AnalysisResult(applications=(parse_gemspec(inp.data, inp.path),))


ANALYZER = Analyzer(
    name="gemspec",
    version=1,
    kind="installed",
    path_globs=("*/specifications/*.gemspec",),
    analyze=_analyze,
)
