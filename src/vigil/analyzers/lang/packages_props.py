"""Directory.Packages.props / Packages.props (NuGet central package management) analyzer.

Format facts (https://learn.microsoft.com/nuget/consume-packages/central-package-management): an MSBuild file,
`<Project><ItemGroup><PackageVersion Include="Id" Version="1.2.3" /></ItemGroup></Project>`; also
`<GlobalPackageReference>` and, in the older Packages.props convention (Microsoft.Build.CentralPackageVersions),
`<PackageReference Update="Id" Version="…"/>`. The version may be an attribute or a child element.

Semantics (as Trivy's packages-props parser): each pinned id/version is a package with unknown relationship; a name or
version using an MSBuild property (`$(…)`) cannot be evaluated offline and is skipped rather than guessed; version
ranges ("[1.0,2.0)") pin nothing and are skipped too.
"""

from __future__ import annotations

from vigil.analyzers.lang._common import expect, package
from vigil.analyzers.lang._xml import Element, parse_xml
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import NUGET, Application, Package
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "packages-props"

_ITEMS = ("PackageVersion", "PackageReference", "GlobalPackageReference")


def _walk(el: Element) -> list[Element]:
    out: list[Element] = []
    stack = [el]
    while stack:
        cur = stack.pop()
        if cur.tag in _ITEMS:
            out.append(cur)
        stack.extend(reversed(cur.children))
    return out


def parse_packages_props(data: bytes, path: str = "") -> Application:
    root = parse_xml(data)
    expect(root.tag == "Project", "packages.props: root element is not <Project>")
    found: dict[tuple[str, str], Package] = {}
    for el in _walk(root):
        name = (el.attrib.get("Include") or el.attrib.get("Update") or "").strip()
        version = (el.attrib.get("Version") or el.findtext("Version")).strip()
        if not name or not version or "$(" in name + version or version[0] in "[(" or "*" in version:
            log.debug("%s: %s on line %d has no literal id/version, skipped", path, el.tag, el.start_line)
            continue
        found.setdefault(
            (name.lower(), version),
            package(NUGET, name, version, file_path=path, lines=(el.start_line, el.end_line)),
        )
    packages = sorted(found.values(), key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_packages_props(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="packages-props",
    version=1,
    filenames=("Directory.Packages.props", "Packages.props", "directory.packages.props"),
    analyze=_analyze,
)
