"""Debian packages' licenses: `usr/share/doc/<package>/copyright`.

dpkg's status file carries no license; every Debian package ships a copyright file instead (Debian Policy 12.5).
Two forms occur:
- machine-readable (https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/): "License: <short
  names>" lines, in Files paragraphs and stand-alone License paragraphs; the short names are joined by ", ",
  " or ", " and " ("GPL-2+ or Artistic"), and "(…)" remarks or a trailing " license" sometimes follow them;
- free text that points to the full text under `/usr/share/common-licenses/<NAME>` ("… can be found in
  /usr/share/common-licenses/GPL-2").
Both are read, each name normalised to SPDX (vigil.inventory.licenses), duplicates dropped. Only the file directly
in the package's doc directory counts (examples such as `doc/ca-certificates/examples/…/debian/copyright` belong
to nobody). This is how Trivy reads them too, so both report the same licenses for an image.

Contract with the engine (as dpkg_files): the result is a partial Package(ecosystem="dpkg", name=<package>,
version="", licenses=…) that the merge joins to the installed package of that name; it never stands alone.
"""

from __future__ import annotations

import re

from vigil.analyzers.errors import ParseError
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.licenses import normalize_licenses, split_licenses
from vigil.inventory.records import Package

_COMMON_LICENSE = re.compile(r"/?usr/share/common-licenses/([0-9A-Za-z_.+-]+[0-9A-Za-z+])")


def _short_name(value: str) -> str:
    """A License: value without its remarks: "The MIT License (MIT)" -> "The MIT License"."""
    value = value.split("(", 1)[0]
    value = value.removeprefix("The main library is licensed under ").removesuffix(" license")
    return value.strip()


def parse_copyright(data: bytes) -> tuple[str, ...]:
    if b"\x00" in data[:8192]:
        raise ParseError("binary data, not a Debian copyright file")
    names: list[str] = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        if line.startswith("License:"):
            names.extend(split_licenses(_short_name(line[len("License:"):].strip())))
        elif "/usr/share/common-licenses/" in line:
            m = _COMMON_LICENSE.search(line)
            if m:
                names.append(m.group(1))
    return normalize_licenses(names)


def package_of(path: str) -> str:
    """"usr/share/doc/zlib1g/copyright" -> "zlib1g"; "" for a copyright file deeper in a doc directory."""
    parts = path.strip("/").split("/")
    if len(parts) != 5 or parts[:3] != ["usr", "share", "doc"] or parts[4] != "copyright":
        return ""
    return parts[3]


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    name = package_of(inp.path)
    if not name:
        return AnalysisResult()
    licenses = parse_copyright(inp.data)
    if not licenses:
        return AnalysisResult()
    return AnalysisResult(os_packages=(Package(ecosystem="dpkg", name=name, version="", licenses=licenses,
                                               file_path=inp.path),))


ANALYZER = Analyzer(
    name="dpkg-license",
    version=1,
    kind="os",
    path_globs=("/usr/share/doc/*/copyright",),
    analyze=_analyze,
)
