"""gradle.lockfile (Gradle dependency locking) analyzer.

Format facts (https://docs.gradle.org/current/userguide/dependency_locking.html): one line per locked module,
`group:artifact:version=configuration1,configuration2`, `#` comments, and a final `empty=<configurations>` line listing
the configurations that resolved nothing. Per-project locks are `gradle.lockfile`; older Gradle wrote one file per
configuration under `gradle/dependency-locks/<configuration>.lockfile` (same line format, no `=` suffix), and
buildscript locks are `buildscript-gradle.lockfile`.

Semantics (as Trivy): a module is dev when every configuration it is locked for starts with "test"
(testCompileClasspath, testRuntimeClasspath …); the file has no graph and does not tell direct from transitive.
"""

from __future__ import annotations

from vigil.analyzers.lang._common import decode, package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import MAVEN, Application, Package
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "gradle"


def parse_gradle_lockfile(data: bytes, path: str = "") -> Application:
    text = decode(data)
    found: dict[tuple[str, str], Package] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        coords, _, confs = line.partition("=")
        parts = coords.strip().split(":")
        if len(parts) != 3 or not all(parts):  # the `empty=` line, or not a module line
            continue
        group, artifact, version = parts
        configurations = [c.strip() for c in confs.split(",") if c.strip()]
        dev = bool(configurations) and all(c.startswith("test") for c in configurations)
        name = f"{group}:{artifact}"
        key = (name, version)
        if key in found:
            continue
        found[key] = package(MAVEN, name, version, file_path=path, dev=dev, lines=(lineno, lineno))
    packages = sorted(found.values(), key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_gradle_lockfile(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(name="gradle-lockfile", version=1, globs=("*gradle.lockfile",), analyze=_analyze)
