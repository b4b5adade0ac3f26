"""Pipfile.lock (Pipenv) analyzer.

Format facts (https://pipenv.pypa.io/en/latest/pipfile.html): a JSON object with `_meta`, `default` (production
packages) and `develop` (development packages), each mapping a package name to an object whose `version` is a pin
"==1.2.3" (or "===…"). Entries installed from a path, VCS or URL (`editable`, `path`, `git`, `file`) carry no version
and are not registry packages, so they are left out. The lock has no dependency graph. A name in both `default` and
`develop` is a production package. The sibling Pipfile (TOML) lists what the user asked for in `[packages]` and
`[dev-packages]`: those are direct, everything else in the lock indirect; without a Pipfile that is unknown.
"""

from __future__ import annotations

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import (
    LineIndex,
    app_result,
    decode,
    expect,
    load_json,
    load_toml,
    package,
    pep503_name,
    sorted_application,
)
from vigil.analyzers.lang._jsonlines import json_value_spans
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import PYPI, Application, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "pipenv"


def _direct_names(pipfile: bytes | None) -> set[str] | None:
    if pipfile is None:
        return None
    try:
        doc = load_toml(pipfile)
    except ParseError as e:
        log.warning("Pipfile beside Pipfile.lock is unusable, direct dependencies unknown: %s", e)
        return None
    out: set[str] = set()
    for section in ("packages", "dev-packages"):
        table = doc.get(section)
        if isinstance(table, dict):
            out.update(pep503_name(k) for k in table)
    return out


def _pinned_version(entry: object) -> str | None:
    if not isinstance(entry, dict):
        return None
    spec = entry.get("version")
    if not isinstance(spec, str):
        return None
    spec = spec.strip()
    if not spec.startswith("=="):
        return None
    version = spec.lstrip("=").strip()
    return version or None


def parse_pipenv_lock(data: bytes, path: str = "", pipfile: bytes | None = None) -> Application:
    """Parse Pipfile.lock bytes; `pipfile` (the sibling Pipfile, if any) decides direct/indirect."""
    doc = load_json(data)
    expect(isinstance(doc, dict), "Pipfile.lock: top level is not a JSON object")
    text = decode(data)
    spans = json_value_spans(text, max_depth=2)
    index = LineIndex(text)
    direct = _direct_names(pipfile)

    seen: set[str] = set()
    packages: list[Package] = []
    for section, dev in (("default", False), ("develop", True)):
        table = doc.get(section)
        if table is None:
            continue
        expect(isinstance(table, dict), f'Pipfile.lock: "{section}" is not an object')
        for name, entry in table.items():
            version = _pinned_version(entry)
            if version is None:
                log.debug(
                    "%s: %s/%s has no pinned version (path, VCS or URL install), skipped", path, section, name
                )
                continue
            key = pep503_name(name)
            if key in seen:  # listed in default and develop: the production entry (seen first) wins
                continue
            seen.add(key)
            span = spans.get((section, name))
            lines = (index.line_of(span[0]), index.line_of(span[1] - 1)) if span else None
            relationship: Relationship = "unknown"
            if direct is not None:
                relationship = "direct" if key in direct else "indirect"
            packages.append(
                package(PYPI, name, version, file_path=path, dev=dev, relationship=relationship, lines=lines)
            )
    return sorted_application(APP_TYPE, path, packages)


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return app_result(parse_pipenv_lock(inp.data, inp.path, inp.siblings.get("Pipfile")))


ANALYZER = Analyzer(
    name="pipenv",
    version=1,
    filenames=("Pipfile.lock",),
    companions=("Pipfile",),
    analyze=_analyze,
)
