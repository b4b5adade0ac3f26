"""packages.config (NuGet, classic .NET Framework projects) analyzer.

Format facts (https://learn.microsoft.com/nuget/reference/packages-config):
- `<packages><package id="…" version="…" targetFramework="…" developmentDependency="true|false"
  allowedVersions="…"/></packages>`; every installed package is listed (direct and transitive alike, no graph).

Semantics (as Trivy): `developmentDependency="true"` marks a dev package (excluded unless --include-dev-deps);
relationships are unknown because the file does not tell direct from transitive.
"""

from __future__ import annotations

from vigil.analyzers.lang._common import expect, package
from vigil.analyzers.lang._xml import parse_xml
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NUGET, Application, Package
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "nuget"


def parse_packages_config(data: bytes, path: str = "") -> Application:
    root = parse_xml(data)
    expect(root.tag == "packages", "packages.config: root element is not <packages>")
    found: dict[tuple[str, str], Package] = {}
    for el in root.findall("package"):
        name = el.attrib.get("id", "").strip()
        version = el.attrib.get("version", "").strip()
        if not name or not version:
            log.debug("%s: <package> on line %d lacks id or version, skipped", path, el.start_line)
            continue
        dev = el.attrib.get("developmentDependency", "").strip().lower() == "true"
        found.setdefault(
            (name.lower(), version),
            package(NUGET, name, version, file_path=path, dev=dev, lines=(el.start_line, el.end_line)),
        )
    packages = sorted(found.values(), key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_packages_config(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="nuget-config", version=1, filenames=("packages.config",), analyze=_analyze)
