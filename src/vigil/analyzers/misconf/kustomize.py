"""Kustomize directories: scan the manifests a kustomization references, WITHOUT rendering.

No usable kustomize engine is installable here: no PyPI/npm package ships it, `pykustomize` has no distribution
for this platform, and Debian 12's `kubernetes-client` is kubectl 1.20 whose embedded kustomize (v2.0.3) predates
`components` and inline `patches`; re-implementing kustomize's merge semantics would not be "real". So, like
Trivy (which scans kustomize base files only), we follow `kustomization.yaml` -> `resources` / `bases` /
`components` (files, and directories holding their own kustomization, recursively) and `patches` /
`patchesStrategicMerge` / `patchesJson6902` files, and scan each referenced manifest as it is written. Remote
resources (URLs, git refs) are reported as skipped. For overlay-accurate results scan `kustomize build` output.

Pure: `scan_kustomize(files, root)` gets the directory's files (relative path -> bytes) from the sources layer.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.kubernetes import K8sResource, parse_kubernetes
from vigil.yaml_safe import safe_load

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MAX_DEPTH = 20


@dataclass
class KustomizeScan:
    results: list[tuple[str, list[K8sResource]]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reference, reason)


def _refs(doc: dict[str, object]) -> list[str]:
    out: list[str] = []
    for key in ("resources", "bases", "components", "patchesStrategicMerge", "crds"):
        v = doc.get(key)
        if isinstance(v, list):
            out.extend(x for x in v if isinstance(x, str))
    for key in ("patches", "patchesJson6902"):
        v = doc.get(key)
        if isinstance(v, list):
            out.extend(p["path"] for p in v if isinstance(p, dict) and isinstance(p.get("path"), str))
    return out


def _kustomization_in(files: Mapping[str, bytes], d: str) -> str | None:
    for n in KUSTOMIZATION_NAMES:
        p = posixpath.join(d, n) if d else n
        if p in files:
            return p
    return None


def scan_kustomize(files: Mapping[str, bytes], root: str = "") -> KustomizeScan:
    """Parse every manifest reachable from `root`'s kustomization. ParseError if there is none or it is invalid;
    an unparsable referenced manifest is reported in `skipped` and the scan goes on."""
    scan = KustomizeScan()
    start = _kustomization_in(files, root)
    if start is None:
        raise ParseError("no kustomization.yaml")
    seen: set[str] = set()

    def visit(kpath: str, depth: int) -> None:
        if kpath in seen:
            return
        seen.add(kpath)
        if depth > MAX_DEPTH:
            scan.skipped.append((kpath, "kustomization nesting too deep"))
            return
        try:
            doc = safe_load(files[kpath].decode("utf-8-sig"))
        except ParseError as e:  # the loader's alias budget
            raise ParseError(f"{kpath}: {e}") from None
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError, TypeError):
            raise ParseError(f"{kpath}: invalid YAML") from None
        if not isinstance(doc, dict):
            raise ParseError(f"{kpath}: not a kustomization")
        base = posixpath.dirname(kpath)
        for ref in _refs(doc):
            if "://" in ref or ref.startswith(("git@", "github.com/")):
                scan.skipped.append((ref, "remote resource (not fetched)"))
                continue
            target = posixpath.normpath(posixpath.join(base, ref))
            if target.startswith("../") or target == "..":
                scan.skipped.append((ref, "outside the scanned directory (not scanned)"))
                continue
            target = "" if target == "." else target
            if target in files:
                if target in seen:
                    continue
                seen.add(target)
                try:
                    scan.results.append((target, parse_kubernetes(files[target], target)))
                except ParseError as e:
                    scan.skipped.append((target, str(e)))
                continue
            sub = _kustomization_in(files, target)
            if sub is not None:
                visit(sub, depth + 1)
            else:
                scan.skipped.append((ref, "not found in the scanned directory"))

    visit(start, 0)
    return scan
