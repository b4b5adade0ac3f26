"""composer.lock (PHP Composer) analyzer.

Format facts (https://getcomposer.org/doc/01-basic-usage.md#composer-lock-the-lock-file):
- `packages` are the production packages, `packages-dev` those only installed for development (`require-dev`).
- Each entry has `name` (vendor/name, lowercase), `version` (as tagged: "v1.2.3", "1.2.3", "dev-main" …), `require`
  (name → constraint), optional `replace`/`provide` (names this package stands in for) and `license` (array of SPDX
  ids; very old locks have a bare string).
- `require` keys without a vendor prefix ("php", "php-64bit", "hhvm", "ext-json", "lib-icu", "composer-plugin-api",
  "composer-runtime-api", "composer") are platform requirements, not packages: every real package name contains '/'.
- composer.json beside the lock says which packages are direct (`require` and `require-dev` keys).

Versions are kept exactly as locked (a leading "v" included); normalising them is the version comparator's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang._common import LineIndex, decode, expect, load_json, package
from vigil.analyzers.lang._jsonlines import json_value_spans
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import COMPOSER, Application, Package, Relationship
from vigil.log import get_logger

log = get_logger(__name__)

APP_TYPE = "composer"

# --- composer.lock ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    name: str
    version: str
    dev: bool
    requires: list[str]
    licenses: tuple[str, ...]
    lines: tuple[int, int] | None


def _licenses(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str) and v)
    return ()


def _names(value: Any) -> list[str]:
    """Keys of a name → constraint object (require, replace, provide); anything else counts as empty."""
    if isinstance(value, dict):
        return [k for k in value if isinstance(k, str)]
    return []


def _is_platform(name: str) -> bool:
    return "/" not in name


def _direct_names(composer_json: bytes | None) -> set[str] | None:
    """Lower-cased package names in composer.json require/require-dev, or None when unknown."""
    if composer_json is None:
        return None
    try:
        doc = load_json(composer_json)
    except ParseError as e:
        log.warning("composer.json beside composer.lock is unusable, direct dependencies unknown: %s", e)
        return None
    if not isinstance(doc, dict):
        log.warning("composer.json beside composer.lock is not an object, direct dependencies unknown")
        return None
    out: set[str] = set()
    for section in ("require", "require-dev"):
        out.update(n.lower() for n in _names(doc.get(section)) if not _is_platform(n))
    return out


def parse_composer_lock(data: bytes, path: str = "", composer_json: bytes | None = None) -> Application:
    """Parse composer.lock bytes; `composer_json` (the sibling composer.json, if any) decides direct/indirect."""
    doc = load_json(data)
    expect(isinstance(doc, dict), "composer.lock: top level is not a JSON object")
    text = decode(data)
    spans = json_value_spans(text, max_depth=2)
    index = LineIndex(text)

    entries: list[_Entry] = []
    seen: set[tuple[str, str]] = set()
    for section, dev in (("packages", False), ("packages-dev", True)):
        items = doc.get(section)
        if items is None:
            continue
        expect(isinstance(items, list), f'composer.lock: "{section}" is not an array')
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                log.debug("%s: %s[%d] is not an object, skipped", path, section, i)
                continue
            name, version = item.get("name"), item.get("version")
            if not (isinstance(name, str) and name and isinstance(version, str) and version):
                log.debug("%s: %s[%d] lacks a name or version, skipped", path, section, i)
                continue
            key = (name.lower(), version)
            if key in seen:  # the same package in both sections: the production entry (seen first) wins
                continue
            seen.add(key)
            span = spans.get((section, i))
            lines = (index.line_of(span[0]), index.line_of(span[1] - 1)) if span else None
            requires = [r for r in _names(item.get("require")) if not _is_platform(r)]
            entries.append(_Entry(name, version, dev, requires, _licenses(item.get("license")), lines))

    # Resolve `require` names to locked packages; a name nobody locks may be satisfied by a package that
    # replaces or provides it (e.g. laravel/framework replaces illuminate/*).
    by_name: dict[str, _Entry] = {}
    for e in entries:
        by_name.setdefault(e.name.lower(), e)
    stand_ins: dict[str, _Entry] = {}
    for section in ("packages", "packages-dev"):
        items = doc.get(section)
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            owner = by_name.get(item["name"].lower())
            if owner is None:
                continue
            for field in ("replace", "provide"):
                for n in _names(item.get(field)):
                    stand_ins.setdefault(n.lower(), owner)

    direct = _direct_names(composer_json)
    if direct is not None:
        # a requirement met by a package that replaces or provides it makes that package direct
        direct |= {stand_ins[n].name.lower() for n in direct if n not in by_name and n in stand_ins}
    packages: list[Package] = []
    for e in entries:
        deps: list[str] = []
        for r in e.requires:
            target = by_name.get(r.lower()) or stand_ins.get(r.lower())
            if target is not None and target is not e:
                deps.append(f"{target.name}@{target.version}")
        relationship: Relationship = "unknown"
        if direct is not None:
            relationship = "direct" if e.name.lower() in direct else "indirect"
        packages.append(
            package(
                COMPOSER,
                e.name,
                e.version,
                file_path=path,
                dev=e.dev,
                relationship=relationship,
                depends_on=deps,
                lines=e.lines,
                licenses=e.licenses,
            )
        )
    packages.sort(key=lambda p: (p.name, p.version))
    return Application(type=APP_TYPE, file_path=path, packages=tuple(packages))


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    app = parse_composer_lock(inp.data, inp.path, inp.siblings.get("composer.json"))
    return AnalysisResult(applications=(app,) if app.packages else ())


ANALYZER = Analyzer(
    name="composer",
    version=1,
    filenames=("composer.lock",),
    companions=("composer.json",),
    analyze=_analyze,
)
