"""Client mode (`--server URL` on fs, rootfs, sbom and image; issue 8 §5, Trivy's client/server split).

Analysis stays here (packages, OS package DBs, secrets: the files never leave the machine, only their analysis),
only the blobs the server lacks are uploaded, detection runs on the server with its DB, and this side applies the
user's filters (severity, --ignore-unfixed, ignore file, VEX) and the remediation annotations, exactly as the local
pipeline does after detection (engine._finish / image_engine._report). Same inputs -> the same report as local mode.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from vigil import engine
from vigil.findings.blob import ArtifactInfo
from vigil.findings.records import Report
from vigil.findings.wire import DetectionOptions, ScanRequest
from vigil.remote import RemoteClient, RemoteError, ServerOptions
from vigil.settings import ScanOptions

log = logging.getLogger(__name__)


def server_options(values: Mapping[str, Any]) -> ServerOptions:
    """The client options from resolved CLI values (--server, --token, --token-header). The server's TLS
    certificate is verified against the system store or SSL_CERT_FILE; `server_cacert` / `server_insecure` are
    read once settings.py declares them for the scan commands."""
    ca = values.get("server_cacert")
    return ServerOptions(url=str(values["server"]), token=str(values.get("token") or ""),
                         token_header=str(values.get("token_header") or "Vigil-Token"),
                         ca_file=str(ca) if ca else "", insecure=bool(values.get("server_insecure")))


def detection_options(opts: ScanOptions) -> DetectionOptions:
    try:
        return msgspec.convert({
            "Scanners": list(opts.scanners), "PkgTypes": list(opts.pkg_types),
            "PkgRelationships": list(opts.pkg_relationships), "IncludeDevDeps": opts.include_dev_deps,
            "ListAllPkgs": opts.list_all_pkgs, "DependencyTree": opts.dependency_tree,
            "IgnoredLicenses": list(opts.ignored_licenses),
            "LicenseCategories": {k: list(v) for k, v in opts.license_categories.items()},
        }, DetectionOptions)
    except msgspec.ValidationError as e:
        raise engine.ScanError(f"option not supported in client mode: {e}") from None


def apply_local_filters(opts: ScanOptions, report: Report) -> Report:
    """What the local pipeline does after detection: ignore-file warnings first in Metadata.Warnings, then the
    severity/unfixed/ignore/VEX filters, then remediation over what is left."""
    from vigil.detectors import remediation
    from vigil.findings import suppress

    ignores, warnings = engine.load_ignores(opts)
    for w in warnings:
        log.warning("%s", w)
    vex = engine.load_vex(opts)
    meta = msgspec.structs.replace(report.metadata, warnings=(*warnings, *report.metadata.warnings))
    report = msgspec.structs.replace(report, metadata=meta)
    report = suppress.apply(report, suppress.Filters(severities=opts.severities, ignore_unfixed=opts.ignore_unfixed,
                                                     ignores=ignores, vex=vex))
    return remediation.annotate(report)


def _client(opts: ScanOptions, server: ServerOptions | None) -> RemoteClient:
    so = server if server is not None else opts.extra.get("server")
    if not isinstance(so, ServerOptions):
        raise engine.ScanError("client mode needs a server (--server URL)")
    try:
        return RemoteClient(so)
    except RemoteError as e:
        raise engine.ScanError(str(e)) from None


def scan_fs_via_server(opts: ScanOptions, kind: Literal["filesystem", "sbom"],
                       server: ServerOptions | None = None) -> Report:
    """`vigil fs|rootfs|sbom --server URL`: analyse here into one content-addressed blob, upload it unless the
    server has it, detect there, filter here."""
    blob = engine.analyze_sbom(opts) if kind == "sbom" else engine.analyze_fs(opts)
    req = ScanRequest(artifact=ArtifactInfo(name=opts.artifact_name or str(opts.target), type=kind),
                      blob_keys=(blob.diff_id,), options=detection_options(opts))
    with _client(opts, server) as client:
        try:
            if client.missing([blob.diff_id]):
                client.put(blob.diff_id, blob)
            report = client.scan(req)
        except RemoteError as e:
            raise engine.ScanError(str(e)) from None
    return apply_local_filters(opts, report)


def scan_image_via_server(opts: ScanOptions, io: Any, server: ServerOptions | None = None) -> Report:
    """`vigil image --server URL`: layer keys as the local cache computes them; the server says which layers it
    lacks; only those are analysed here and uploaded (a second scan of the image uploads nothing)."""
    from vigil.image_engine import (
        ImageOptions,
        analyze_missing,
        artifact_info,
        layer_keys,
        make_context,
        open_image,
    )
    from vigil.sources.image import ImageError
    from vigil.sources.image.layers import LayerError

    assert isinstance(io, ImageOptions)
    engine.load_ignores(opts)  # fail fast on a malformed ignore file / VEX document, before any download
    engine.load_vex(opts)
    detection = detection_options(opts)
    ctx = make_context(opts)
    artifact = str(io.input) if io.input is not None else io.reference
    with _client(opts, server) as client, tempfile.TemporaryDirectory(prefix="vigil-image-") as tmp:
        try:
            image = open_image(io, Path(tmp))
        except ImageError as e:
            raise engine.ScanError(str(e)) from None
        try:
            keys = layer_keys(image, opts, ctx)
            missing = set(client.missing(list(dict.fromkeys(keys))))
            todo: list[int] = []
            for i, k in enumerate(keys):  # a layer repeated in an image is analysed and uploaded once
                if k in missing and k not in {keys[j] for j in todo}:
                    todo.append(i)
            blobs = analyze_missing(image, ctx, todo, io.workers or opts.parallel)
            for i in todo:
                client.put(keys[i], blobs[i])
            art = msgspec.structs.replace(artifact_info(image), name=artifact)
            report = client.scan(ScanRequest(artifact=art, blob_keys=tuple(keys), options=detection))
        except (LayerError, ImageError) as e:
            raise engine.ScanError(str(e)) from None
        except RemoteError as e:
            raise engine.ScanError(str(e)) from None
        finally:
            image.close()
    if opts.artifact_name and opts.artifact_name != report.artifact_name:
        report = msgspec.structs.replace(report, artifact_name=opts.artifact_name)
    return apply_local_filters(opts, report)
