"""apk's database of installed packages: `lib/apk/db/installed` (and `usr/lib/apk/db/installed`, apk-tools 3).

Format facts (apk's "installed" database, one "X:value" line each, packages separated by blank lines):
P name, V version ("1.2.3-r0"), A arch, o origin (the source package, in aports terms), m maintainer, L license
(space-separated names, SPDX or not: "MIT BSD GPL2+", "MPL 2.0 GPL2+"; split into SPDX names as Trivy does, see
vigil.inventory.licenses.lax_split_licenses), F a directory and R a file in the last F directory (paths are relative to
the root already). Other letters (checksums, dependencies, provides, ACLs) are not needed here.
"""

from __future__ import annotations

from vigil.analyzers.errors import ParseError
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.licenses import lax_split_licenses
from vigil.inventory.records import Package

ECOSYSTEM = "apk"


def _package(fields: dict[str, str], files: list[str], path: str) -> Package | None:
    name, version = fields.get("P", ""), fields.get("V", "")
    if not name or not version:
        return None
    licenses = tuple(dict.fromkeys(lax_split_licenses(fields.get("L", ""))))
    return Package(
        ecosystem=ECOSYSTEM,
        name=name,
        version=version,
        id=f"{name}@{version}",
        arch=fields.get("A", ""),
        src_name=fields.get("o", "") or name,
        src_version=version,
        maintainer=fields.get("m", ""),
        licenses=licenses,
        installed_files=tuple(files),
        file_path=path,
    )


def parse_apk_installed(data: bytes, path: str = "") -> tuple[Package, ...]:
    if b"\x00" in data[:8192]:
        raise ParseError("binary data, not an apk installed database")
    out: list[Package] = []
    fields: dict[str, str] = {}
    files: list[str] = []
    directory = ""
    for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            pkg = _package(fields, files, path)
            if pkg:
                out.append(pkg)
            fields, files, directory = {}, [], ""
            continue
        if len(line) < 2 or line[1] != ":":
            raise ParseError(f"line {n}: not an apk database line (expected 'X:value')")
        key, value = line[0], line[2:]
        if key == "F":
            directory = value.strip("/")
        elif key == "R":
            files.append(f"{directory}/{value}" if directory else value)
        elif key in "PVAomL":
            fields[key] = value
    pkg = _package(fields, files, path)
    if pkg:
        out.append(pkg)
    return tuple(out)


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return AnalysisResult(os_packages=parse_apk_installed(inp.data, inp.path))


ANALYZER = Analyzer(
    name="apk",
    version=2,
    kind="os",
    path_globs=("/lib/apk/db/installed", "/usr/lib/apk/db/installed"),
    analyze=_analyze,
)
