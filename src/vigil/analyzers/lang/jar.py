"""Java archives: `*.jar`, `*.war`, `*.ear`, `*.par` (and nested jars inside them).

Identification order (Trivy's, minus its SHA-1 lookup in the Java DB which needs a download):
1. every `pom.properties` (groupId, artifactId, version), wherever it is: Maven writes it under
   `META-INF/maven/<groupId>/<artifactId>/`, but shaded copies and hand-built jars put it elsewhere
   (`META-INF/<name>/pom.properties`) — a shaded/fat jar carries one per bundled artifact;
2. else `META-INF/MANIFEST.MF`, in Trivy's order: groupId from Implementation-Vendor-Id, Bundle-SymbolicName
   without its last segment, Implementation-Vendor, Specification-Vendor; artifactId from Implementation-Title,
   Specification-Title, Bundle-Name (then the symbolic name's last segment); version from Implementation-Version,
   Specification-Version, Bundle-Version. A title is kept as written even with spaces ("org.springframework:Spring
   Framework"): such a name matches no Maven advisory, but the jar is in the inventory;
3. else the file name "name-1.2.3.jar".
Nested archives (WEB-INF/lib, BOOT-INF/lib, lib/ in EARs) are read recursively from memory up to MAX_DEPTH.

Safety: entries are read from bytes in memory, never extracted, so hostile names ("../../etc/passwd") are inert.
Zip bombs: every read is capped (MAX_ENTRY for an entry, MAX_TOTAL for the whole tree of archives, counted on the
bytes actually decompressed, not on the sizes the archive claims); exceeding one raises ParseError.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import MAVEN, Application, Package
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "jar"
MAX_DEPTH = 3
MAX_META = 1024 * 1024  # pom.properties / MANIFEST.MF
MAX_ENTRY = 64 * 1024 * 1024  # a nested archive
MAX_TOTAL = 512 * 1024 * 1024  # everything decompressed for one top-level archive
MAX_ENTRIES = 100_000
ARCHIVE_EXTS = (".jar", ".war", ".ear", ".par")

_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, zlib.error, EOFError,
               OSError, ValueError, KeyError, IndexError, OverflowError, UnicodeDecodeError)
_FILENAME = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+?)-(?P<version>\d[\w.\-+]*?)(?:\.(?:jar|war|ear|par))$", re.I)


class _Budget:
    def __init__(self) -> None:
        self.used = 0

    def read(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
        if info.file_size > cap:
            raise ParseError(f"archive entry {info.filename[:100]!r} declares {info.file_size} bytes "
                             f"(limit {cap})")
        with zf.open(info) as f:
            data = f.read(cap + 1)
        if len(data) > cap:
            raise ParseError(f"archive entry {info.filename[:100]!r} expands beyond {cap} bytes (zip bomb?)")
        self.used += len(data)
        if self.used > MAX_TOTAL:
            raise ParseError(f"archive expands beyond {MAX_TOTAL} bytes in total (zip bomb?)")
        return data


def _properties(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        m = re.match(r"([^=:\s]+)\s*[=:]\s*(.*)", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _manifest(text: str) -> dict[str, str]:
    """Main section of a MANIFEST.MF (continuation lines start with one space; sections end at a blank line)."""
    out: dict[str, str] = {}
    last = ""
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw:
            if out:
                break
            continue
        if raw.startswith(" ") and last:
            out[last] += raw[1:]
            continue
        k, sep, v = raw.partition(":")
        if sep:
            last = k.strip()
            out[last] = v.strip()
    return out


def _from_manifest(mf: dict[str, str]) -> tuple[str, str, str] | None:
    """(groupId, artifactId, version) from manifest attributes, or None."""
    bsn = mf.get("Bundle-SymbolicName", "").split(";", 1)[0].strip()
    # OSGi symbolic names are usually groupId.artifactId
    head, _, tail = bsn.rpartition(".")
    group = (mf.get("Implementation-Vendor-Id") or head or bsn or mf.get("Implementation-Vendor")
             or mf.get("Specification-Vendor") or "")
    artifact = (mf.get("Implementation-Title") or mf.get("Specification-Title") or mf.get("Bundle-Name")
                or tail or "")
    version = (mf.get("Implementation-Version") or mf.get("Specification-Version") or mf.get("Bundle-Version")
               or "")
    if not artifact.strip() or not version.strip():
        return None
    return group.strip(), artifact.strip(), version.strip()


def _name(group: str, artifact: str) -> str:
    return f"{group}:{artifact}" if group else artifact


def _parse(data: bytes, path: str, depth: int, budget: _Budget, out: list[Package]) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as e:
        raise ParseError(f"not a readable zip archive: {type(e).__name__}") from e
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ParseError(f"archive has more than {MAX_ENTRIES} entries")
        found: list[Package] = []
        manifest: dict[str, str] = {}
        nested: list[zipfile.ZipInfo] = []
        for info in infos:
            n = info.filename
            if n.rsplit("/", 1)[-1] == "pom.properties":
                props = _properties(budget.read(zf, info, MAX_META).decode("utf-8", "replace"))
                g, a, v = props.get("groupId", ""), props.get("artifactId", ""), props.get("version", "")
                if a and v:
                    found.append(package(MAVEN, _name(g, a), v, file_path=path))
            elif n.upper() == "META-INF/MANIFEST.MF":
                manifest = _manifest(budget.read(zf, info, MAX_META).decode("utf-8", "replace"))
            elif n.lower().endswith(ARCHIVE_EXTS) and not info.is_dir():
                nested.append(info)
        if not found:
            gav = _from_manifest(manifest) if manifest else None
            if gav is None:
                m = _FILENAME.match(path.rsplit("/", 1)[-1])
                if m:
                    gav = ("", m.group("name"), m.group("version"))
            if gav is not None:
                found.append(package(MAVEN, _name(*gav[:2]), gav[2], file_path=path))
        out.extend(found)
        if depth >= MAX_DEPTH:
            if nested:
                log.debug("%s: nested archives deeper than %d not read", path, MAX_DEPTH)
            return
        for info in nested:
            inner = budget.read(zf, info, MAX_ENTRY)
            inner_path = f"{path}/{info.filename}"
            try:
                _parse(inner, inner_path, depth + 1, budget, out)
            except ParseError as e:
                if "zip bomb" in str(e) or "limit" in str(e):
                    raise
                log.debug("%s: nested archive skipped: %s", inner_path, e)


def parse_jar(data: bytes, path: str = "") -> Application:
    out: list[Package] = []
    try:
        _parse(data, path, 0, _Budget(), out)
    except ParseError:
        raise
    except _ZIP_ERRORS as e:
        raise ParseError(f"corrupt archive: {type(e).__name__}") from e
    seen: set[tuple[str, str, str]] = set()
    pkgs = []
    for p in out:
        k = (p.name, p.version, p.file_path)
        if k not in seen:
            seen.add(k)
            pkgs.append(p)
    return Application(type=APP_TYPE, file_path=path, packages=tuple(pkgs))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_jar(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="jar",
    version=2,
    kind="installed",
    globs=tuple(f"*{e}" for e in ARCHIVE_EXTS),
    analyze=_analyze,
)
