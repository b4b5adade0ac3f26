"""The analysis of one image layer (or one filesystem): what the cache stores and the server receives
(one schema for disk, cache and wire, so nothing is translated, and no field can get lost, between them).

A BlobInfo holds everything the analyzers found in the files *of that layer only*, keyed by file path, plus the
layer's whiteouts. The image engine merges the BlobInfos bottom-up (a later layer's file replaces an earlier one's;
a whiteout or opaque dir removes earlier layers' entries below it), so nothing from deleted or hidden files is
reported. Bump BLOB_SCHEMA_VERSION on any change here: it is part of every cache key.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from vigil.findings.records import LayerInfo, SecretFinding
from vigil.inventory.records import Application, OSInfo, Record, Unknown

BLOB_SCHEMA_VERSION = 1


class OSRelease(Record, frozen=True, kw_only=True):
    """One OS release file the layer contains (etc/os-release, etc/debian_version, etc/alpine-release, …)."""

    file_path: str
    os: OSInfo


class SecretsInFile(Record, frozen=True, kw_only=True):
    file_path: str
    secrets: tuple[SecretFinding, ...]


class BlobInfo(Record, frozen=True, kw_only=True):
    schema_version: int = BLOB_SCHEMA_VERSION
    diff_id: str = msgspec.field(name="DiffID")
    digest: str = ""
    os_releases: tuple[OSRelease, ...] = ()
    # OS package databases (var/lib/dpkg/status, var/lib/dpkg/status.d/*, lib/apk/db/installed,
    # var/lib/rpm/{rpmdb.sqlite,Packages,Packages.db}): type = "dpkg" | "apk" | "rpm", packages with
    # installed_files
    package_dbs: tuple[Application, ...] = ()
    applications: tuple[Application, ...] = ()  # language packages (lockfiles, installed metadata, binaries)
    unknowns: tuple[Unknown, ...] = ()
    secrets: tuple[SecretsInFile, ...] = ()
    whiteouts: tuple[str, ...] = ()  # paths this layer deletes (".wh.<name>" entries), without leading "/"
    opaque_dirs: tuple[str, ...] = ()  # directories whose lower-layer contents this layer hides
    warnings: tuple[str, ...] = ()  # refused entries (path traversal, oversized files), one line each
    files: int = 0  # regular files in the layer


class ArtifactInfo(Record, frozen=True, kw_only=True):
    """What was scanned, apart from its blobs (Trivy's ArtifactInfo): for an image, the metadata the report
    carries; the blobs are its layers in order. A client sends it with the blob keys; the server detects."""

    schema_version: int = BLOB_SCHEMA_VERSION
    name: str
    type: Literal["container_image", "filesystem", "sbom"] = "container_image"
    image_id: str = msgspec.field(default="", name="ImageID")
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    image_config: dict[str, Any] = msgspec.field(default_factory=dict)
    layers: tuple[LayerInfo, ...] = ()
