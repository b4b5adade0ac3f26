"""Re-matching a stored report's packages against a new DB, without the image.

A scan Job's report (as published to the store) lists every package it found (`Packages`, on by default) with the
OS it detected: that is the image's SBOM. `sbom_blob` turns it back into the analysis the server detects over (one
content-addressed blob: the OS, the OS packages, one application per lockfile or installed-package file, the
files that could not be read), so the server can match it again with whatever DB it now has: no image pull, no
layer analysis, no Job. `rematched` puts the fresh vulnerability results back into the old report: the secrets
(which do not depend on the DB), the image metadata and the layer each package came from stay as they were.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from vigil.findings.analysis import ArtifactInfo, BlobInfo, OSRelease, content_key
from vigil.findings.records import Report, Result
from vigil.findings.wire import DetectionOptions, ScanRequest
from vigil.inventory.records import Application, LayerRef, Package, Unknown
from vigil.pipeline.detect import AGGREGATED, aggregate

_PKG_CLASSES = ("os-pkgs", "lang-pkgs")


def has_packages(report: Report) -> bool:
    """Whether the report lists its packages (published without them, it cannot be re-matched)."""
    return any(r.packages for r in report.results if r.class_ in _PKG_CLASSES)


def sbom_blob(report: Report) -> BlobInfo:
    """The analysis blob of the report's packages, keyed by its content (as a `vigil sbom` blob is)."""
    releases: tuple[OSRelease, ...] = ()
    if report.metadata.os is not None:
        os_info = msgspec.structs.replace(report.metadata.os, eosl=False)  # the detector decides again
        releases = (OSRelease(file_path="etc/os-release", os=os_info),)
    dbs: list[Application] = []
    apps: list[Application] = []
    unknowns: list[Unknown] = []
    for i, r in enumerate(report.results):
        if r.class_ not in _PKG_CLASSES:
            continue
        if r.error:
            unknowns.append(Unknown(file_path=r.target, analyzer=r.type, reason=r.error))
            continue
        pkgs = tuple(msgspec.structs.replace(p, layer=None) for p in r.packages)
        if r.class_ == "os-pkgs":
            dbs.append(Application(type=r.type, file_path=f"os-packages/{i}", packages=pkgs))
        elif r.type in AGGREGATED:  # one result per language in an image report: one application per file again
            by_file: dict[str, list[Package]] = {}
            for p in pkgs:
                by_file.setdefault(p.file_path or r.target, []).append(p)
            for fp, group in by_file.items():
                apps.append(Application(type=r.type, file_path=fp, packages=tuple(group)))
        else:
            apps.append(Application(type=r.type, file_path=r.target, packages=pkgs))
    blob = BlobInfo(diff_id="", os_releases=releases, package_dbs=tuple(dbs), applications=tuple(apps),
                    unknowns=tuple(unknowns))
    key = content_key(blob)
    return msgspec.structs.replace(blob, diff_id=key)


def scan_request(report: Report, blob: BlobInfo) -> ScanRequest:
    return ScanRequest(artifact=ArtifactInfo(name=report.artifact_name, type="sbom"), blob_keys=(blob.diff_id,),
                       options=DetectionOptions(scanners=("vuln",), list_all_pkgs=True))


def rematched(old: Report, fresh: Report, now: dt.datetime | None = None) -> Report:
    """`old` with its package results (and their vulnerabilities) from `fresh`, the server's answer for
    `sbom_blob(old)`; every other result and the image metadata kept."""
    layers: dict[tuple[str, str], LayerRef] = {}
    for r in old.results:
        for p in r.packages:
            if p.layer is not None:
                layers.setdefault((p.name, p.full_version), p.layer)  # what a vulnerability names
                layers.setdefault((p.name, p.version), p.layer)
    pkg_results: list[Result] = []
    lang: list[Result] = []
    for r in fresh.results:
        if r.class_ not in _PKG_CLASSES:
            continue
        if r.vulnerabilities:
            r = msgspec.structs.replace(r, vulnerabilities=tuple(
                msgspec.structs.replace(v, layer=layers.get((v.pkg_name, v.installed_version))) for v in
                r.vulnerabilities))
        if r.packages:
            r = msgspec.structs.replace(r, packages=tuple(
                msgspec.structs.replace(p, layer=layers.get((p.name, p.full_version))) for p in r.packages))
        (lang if r.class_ == "lang-pkgs" else pkg_results).append(r)
    pkg_results.extend(aggregate(lang))
    rest = [r for r in old.results if r.class_ not in _PKG_CLASSES]
    fm = fresh.metadata
    meta = msgspec.structs.replace(old.metadata, db_built_at=fm.db_built_at, db_next_update=fm.db_next_update,
                                   db_schema_version=fm.db_schema_version, os=fm.os or old.metadata.os)
    when = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return msgspec.structs.replace(old, created_at=when, vigil_version=fresh.vigil_version or old.vigil_version,
                                   metadata=meta, results=(*pkg_results, *rest))
