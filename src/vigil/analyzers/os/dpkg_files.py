"""dpkg's per-package file lists `var/lib/dpkg/info/<package>[:<arch>].list`: which paths a package installed.
Distroless images have no info/ directory: there the list is `var/lib/dpkg/status.d/<package>.md5sums` ("<md5>
<two spaces> <path without the leading '/'>" per line, files only), which Trivy reads for the same purpose.

Contract with the engine: the result is one Package(ecosystem="dpkg", name=<package>, version="",
arch=<the ":arch" suffix of the file name, "" when absent>, installed_files=..., file_path=<the .list path>) — a
partial record that the engine merges into the package of the same name (and arch, when both have one) read from
`var/lib/dpkg/status`; it never stands alone as a package. It is a separate analyzer because the engine hands an
analyzer only its own file and fixed-name siblings, and these lists have one name per package.

The list holds every path the package created, directories included ("/.", "/usr", ...): the root "/." is
dropped, the rest is kept without the leading "/" (a directory entry cannot be told from a file here, and owning
a directory does not hide anything below it in engine.drop_os_owned, which compares exact paths).
"""

from __future__ import annotations

from vigil.analyzers.errors import ParseError
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import Package


def package_from_list_name(path: str) -> tuple[str, str]:
    base = path.rsplit("/", 1)[-1].removesuffix(".list").removesuffix(".md5sums")
    name, _, arch = base.partition(":")
    return name, arch


def parse_dpkg_list(data: bytes, path: str) -> Package:
    if b"\x00" in data[:8192]:
        raise ParseError("binary data, not a dpkg file list")
    name, arch = package_from_list_name(path)
    if not name:
        raise ParseError("dpkg file list without a package name")
    files = []
    md5sums = path.endswith(".md5sums")
    for line in data.decode("utf-8", errors="replace").splitlines():
        if md5sums:  # "<md5>  <path>": the path may contain spaces, the checksum does not
            line = line.strip().partition(" ")[2].strip()
            if line:
                files.append(line.lstrip("/"))
            continue
        line = line.strip()
        if line.startswith("/") and line != "/.":
            files.append(line.lstrip("/"))
    return Package(ecosystem="dpkg", name=name, version="", arch=arch, installed_files=tuple(files),
                   file_path=path)


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return AnalysisResult(os_packages=(parse_dpkg_list(inp.data, inp.path),))


ANALYZER = Analyzer(
    name="dpkg-files",
    version=2,
    kind="os",
    path_globs=("/var/lib/dpkg/info/*.list", "/var/lib/dpkg/status.d/*.md5sums"),
    analyze=_analyze,
)
