"""Rust binaries built with cargo-auditable (https://github.com/rust-secure-code/cargo-auditable).

The dependency list is embedded in a linker section (`.dep-v0` in ELF and PE files, `__DATA,.dep-v0` in Mach-O) as
zlib-compressed JSON:
{"packages": [{"name", "version", "source": "crates.io"|"local"|"git"|..., "kind": "build"|"runtime",
"dependencies": [indices], "root": bool}]}. Like Trivy, build-only dependencies are not part of the shipped
binary and are skipped; the root package (the binary's own crate) gets relationship "root"; indices become
depends_on edges.
"""

from __future__ import annotations

import zlib
from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._binfmt import is_elf, is_macho, is_pe, section_bytes, sections
from vigil.analyzers.lang._common import package
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import CARGO, Application, Package, Relationship

APP_TYPE = "rustbinary"
SECTION = ".dep-v0"
MAX_JSON = 8 * 1024 * 1024


def decode_dep_v0(blob: bytes) -> list[dict[str, Any]]:
    d = zlib.decompressobj()
    try:
        raw = d.decompress(blob, MAX_JSON + 1)
    except zlib.error as e:
        raise ParseError(f"cargo-auditable data is not zlib: {e}") from e
    if len(raw) > MAX_JSON:
        raise ParseError(f"cargo-auditable data expands beyond {MAX_JSON} bytes")
    import json  # a Rust binary built with cargo-auditable only

    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ParseError(f"cargo-auditable data is not JSON: {type(e).__name__}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("packages"), list):
        raise ParseError('cargo-auditable data has no "packages" array')
    return [p if isinstance(p, dict) else {} for p in doc["packages"]]


def packages_from_dep_v0(items: list[dict[str, Any]], path: str) -> list[Package]:
    def ok(p: dict[str, Any]) -> bool:
        return isinstance(p.get("name"), str) and bool(p["name"]) and isinstance(p.get("version"), str) \
            and bool(p["version"]) and p.get("kind", "runtime") != "build"

    ids = {i: f"{p['name']}@{p['version']}" for i, p in enumerate(items) if ok(p)}
    out: list[Package] = []
    for i, p in enumerate(items):
        if i not in ids:
            continue
        deps = p.get("dependencies")
        dep_ids = [ids[j] for j in deps if isinstance(j, int) and j in ids and j != i] if isinstance(
            deps, list) else []
        rel: Relationship = "root" if p.get("root") is True else "unknown"
        out.append(package(CARGO, p["name"], p["version"], file_path=path, relationship=rel, depends_on=dep_ids))
    out.sort(key=lambda p: (p.name, p.version))
    return out


def parse_rustbinary(data: bytes, path: str = "") -> Application | None:
    if not (is_elf(data) or is_pe(data) or is_macho(data)):
        return None
    for s in sections(data):
        if s.name == SECTION or s.name.endswith("," + SECTION):
            pkgs = packages_from_dep_v0(decode_dep_v0(section_bytes(data, s)), path)
            return Application(type=APP_TYPE, file_path=path, packages=tuple(pkgs))
    return None


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_rustbinary(inp.data, inp.path)
    return AnalysisResult(applications=(app,) if app is not None and app.packages else ())


ANALYZER = Analyzer(
    name="rustbinary",
    version=2,
    kind="installed",
    executables=True,
    analyze=_analyze,
)
