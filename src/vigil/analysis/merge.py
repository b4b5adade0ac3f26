"""The layer merge: squash per-layer analyses (BlobInfos) bottom-up into what the image really contains.

A file written again in a later layer replaces the earlier analysis of that path; a whiteout removes the path (and
its subtree) from the layers below; an opaque dir hides everything below it. So nothing from deleted or hidden
files is reported. Each package keeps the first layer in which it appeared with that version (Trivy attributes the
same way). The OS is chosen from the release files that survive. A directory is one blob: merging it changes
nothing but the order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec

from vigil.findings.analysis import BlobInfo, OSRelease, SecretsInFile
from vigil.findings.records import Result, SuppressedFinding
from vigil.inventory.purl import os_purl
from vigil.inventory.records import OS_FAMILIES, Application, LayerRef, OSInfo, Package, Unknown


class _Layer(Protocol):
    @property
    def digest(self) -> str: ...
    @property
    def diff_id(self) -> str: ...
    @property
    def created_by(self) -> str: ...


class Merged(msgspec.Struct):
    os: OSInfo | None = None
    os_packages: list[Package] = msgspec.field(default_factory=list)
    applications: list[Application] = msgspec.field(default_factory=list)
    unknowns: list[Unknown] = msgspec.field(default_factory=list)
    secrets: list[SecretsInFile] = msgspec.field(default_factory=list)
    config: list[Result] = msgspec.field(default_factory=list)  # misconfiguration results, one per config file
    suppressed: list[SuppressedFinding] = msgspec.field(default_factory=list)  # inline-comment suppressions
    warnings: list[str] = msgspec.field(default_factory=list)


def _nested_under(key: str, pre: str) -> bool:
    # Application paths of nested archives ("opt/app.jar!/BOOT-INF/lib/x.jar") belong to their outer file.
    i = key.find("!/")
    return i >= 0 and (key[:i] + "/").startswith(pre)


# Which release file names the OS most precisely, per family (os-release says only "12" for Debian 12.15).
_PRECISE = {
    "debian": ("etc/debian_version",),
    "alpine": ("etc/alpine-release",),
    "redhat": ("etc/redhat-release",),
    "centos": ("etc/centos-release", "etc/redhat-release"),
    "rocky": ("etc/rocky-release", "etc/redhat-release"),
    "alma": ("etc/almalinux-release", "etc/redhat-release"),
}


def detect_os(releases: dict[str, OSInfo]) -> OSInfo | None:
    """The OS from the surviving release files: os-release names the family, the family's own release file
    the precise version (when it agrees with the family); without os-release, any recognised file."""
    base = releases.get("etc/os-release") or releases.get("usr/lib/os-release")
    if base is None:
        for p in sorted(releases):
            if releases[p].family in OS_FAMILIES:
                base = releases[p]
                break
        if base is None:
            return None
    for p in _PRECISE.get(base.family, ()):
        r = releases.get(p)
        if r is not None and r.family == base.family and r.name and r.name[0].isdigit():
            return OSInfo(family=base.family, name=r.name)
    return OSInfo(family=base.family, name=base.name)


def _layer_ref(layer: _Layer) -> LayerRef:
    return LayerRef(digest=layer.digest, diff_id=layer.diff_id, created_by=layer.created_by)


def merge(layers: Sequence[_Layer], blobs: list[BlobInfo]) -> Merged:
    """Squash per-layer analyses bottom-up. A file written again in a later layer replaces the earlier analysis;
    a whiteout removes the path (and its subtree) from the layers below; an opaque dir hides everything below it.
    Each package keeps the first layer in which it appeared with that version (Trivy attributes the same way)."""
    rel_files: dict[str, OSRelease] = {}
    dbs: dict[str, tuple[Application, int]] = {}
    apps: dict[tuple[str, str], tuple[Application, int]] = {}
    unknowns: dict[tuple[str, str], Unknown] = {}
    first_os: dict[tuple[str, str, str], int] = {}  # (name, version, arch) -> layer index
    first_lang: dict[tuple[str, str, str], int] = {}  # (file_path, name, version) -> layer index
    secrets: list[SecretsInFile] = []
    config: dict[tuple[str, str], Result] = {}
    suppressed: dict[tuple[str, int], SuppressedFinding] = {}  # (target, arrival): order kept
    warnings: list[str] = []
    for i, blob in enumerate(blobs):
        gone = frozenset(blob.whiteouts)
        now_dirs = frozenset(blob.replaced_by_dirs)
        for tables in (rel_files, dbs, apps, unknowns, config, suppressed):
            for d in blob.opaque_dirs:
                _hide_keys(tables, d, opaque=True)
            if gone:
                _hide_paths(tables, gone)
            if now_dirs:
                _hide_files(tables, now_dirs)
        for r in blob.os_releases:
            rel_files[r.file_path] = r
        for db in blob.package_dbs:
            dbs[db.file_path] = (db, i)
            for p in db.packages:
                first_os.setdefault((p.name, p.full_version, p.arch), i)
        for app in blob.applications:
            apps[(app.file_path, app.type)] = (app, i)
            if layers:  # which layer a package came from: nothing to say without layers (a directory)
                for p in app.packages:
                    first_lang.setdefault((app.file_path, p.name, p.version), i)
        for u in blob.unknowns:
            unknowns[(u.file_path, u.analyzer)] = u
        refs = _layer_ref(layers[i]) if i < len(layers) else None
        for s in blob.secrets:
            secrets.append(SecretsInFile(file_path=s.file_path, secrets=tuple(
                msgspec.structs.replace(f, layer=refs) for f in s.secrets)))
        warnings.extend(blob.warnings)
        warnings.extend(blob.config.warnings)
        for res in blob.config.results:
            config[(res.target, res.type)] = res
        for sf in blob.config.suppressed:
            suppressed[(sf.target, len(suppressed))] = sf
    out = Merged(warnings=warnings, secrets=secrets, unknowns=[unknowns[k] for k in sorted(unknowns)],
                 config=[config[k] for k in sorted(config)], suppressed=list(suppressed.values()))
    out.os = detect_os({p: r.os for p, r in rel_files.items()})
    refs_by_idx = [_layer_ref(la) for la in layers]

    def ref(i: int) -> LayerRef | None:
        return refs_by_idx[i] if 0 <= i < len(refs_by_idx) else None

    out.os_packages = _os_packages(dbs, first_os, out.os, ref)
    for k in sorted(apps):
        app, idx = apps[k]
        if not layers and all(p.layer is None for p in app.packages):
            out.applications.append(app)  # no layer to attribute: the records stand as they are, not rebuilt
            continue
        out.applications.append(msgspec.structs.replace(app, packages=tuple(
            msgspec.structs.replace(p, layer=ref(first_lang.get((app.file_path, p.name, p.version), idx)))
            for p in app.packages)))
    return out


def _os_packages(dbs: dict[str, tuple[Application, int]], first_os: dict[tuple[str, str, str], int],
                 os_: OSInfo | None, ref: Callable[[int], LayerRef | None]) -> list[Package]:
    """The merged OS packages, one per (name, version, arch), each with the layer that first installed it and the
    file lists and licences that package DBs record in separate entries (joined by package name)."""
    files_by_pkg: dict[str, tuple[str, ...]] = {}
    licenses_by_pkg: dict[str, tuple[str, ...]] = {}
    pkgs: dict[tuple[str, str, str], Package] = {}
    for path in sorted(dbs):
        db, idx = dbs[path]
        for p in db.packages:
            if not p.version:  # a file list (dpkg info/<pkg>.list) or the licenses of a Debian copyright file:
                # joined to the package by name below
                files_by_pkg[p.name] = files_by_pkg.get(p.name, ()) + p.installed_files
                if p.licenses:
                    licenses_by_pkg[p.name] = licenses_by_pkg.get(p.name, ()) + p.licenses
                continue
            key = (p.name, p.full_version, p.arch)
            pkgs[key] = msgspec.structs.replace(p, layer=ref(first_os.get(key, idx)))
    family = os_.family if os_ is not None else ""
    out: list[Package] = []
    for key in sorted(pkgs):
        p = pkgs[key]
        extra = files_by_pkg.get(p.name) or files_by_pkg.get(f"{p.name}:{p.arch}") or ()
        p = msgspec.structs.replace(
            p, ecosystem=family or p.ecosystem,
            installed_files=p.installed_files or extra,
            licenses=p.licenses or tuple(dict.fromkeys(licenses_by_pkg.get(p.name, ()))),
            id=p.id or f"{p.name}@{p.full_version}",
        )
        if os_ is not None and not p.purl:
            p = msgspec.structs.replace(p, purl=os_purl(os_, p))
        out.append(p)
    return out


def _hide_keys(table: dict[Any, Any], path: str, *, opaque: bool) -> None:
    """Apply one whiteout/opaque entry to a table keyed by file path (or (file path, type))."""
    pre = path.rstrip("/") + "/" if path else ""
    doomed = []
    for k in table:
        fp = k[0] if isinstance(k, tuple) else k
        if (not opaque and fp == path) or fp.startswith(pre) or _nested_under(fp, pre):
            doomed.append(k)
    for k in doomed:
        del table[k]


def _under_any(path: str, gone: frozenset[str]) -> bool:
    while True:
        if path in gone:
            return True
        i = path.rfind("/")
        if i < 0:
            return False
        path = path[:i]


def _hide_paths(table: dict[Any, Any], gone: frozenset[str]) -> None:
    """Apply a layer's whiteouts at once: drop keys at or below any path in `gone` (nested archive entries
    "outer.jar!/inner" with their outer file). One set lookup per ancestor instead of one scan per whiteout."""
    doomed = []
    for k in table:
        fp = k[0] if isinstance(k, tuple) else k
        i = fp.find("!/")
        if _under_any(fp, gone) or (i >= 0 and _under_any(fp[:i], gone)):
            doomed.append(k)
    for k in doomed:
        del table[k]


def _hide_files(table: dict[Any, Any], dirs: frozenset[str]) -> None:
    """A directory written over a lower file: drop keys at exactly such a path (with the entries nested in it,
    "outer.jar!/inner"); keys below it belong to a lower directory there, which the new one merges with."""
    doomed = []
    for k in table:
        fp = k[0] if isinstance(k, tuple) else k
        i = fp.find("!/")
        if fp in dirs or (i >= 0 and fp[:i] in dirs):
            doomed.append(k)
    for k in doomed:
        del table[k]
