"""The analysis of one image layer (or one directory): what the cache stores and the server receives. One schema
for disk, cache and wire, so no hand-written conversion can drop a field.

A BlobInfo holds everything the analyzers found in the files *of that layer only*, keyed by file path, plus the
layer's whiteouts. The pipeline merges the BlobInfos bottom-up (a later layer's file replaces an earlier one's;
a whiteout or opaque dir removes earlier layers' entries below it), so nothing from deleted or hidden files is
reported. Bump BLOB_SCHEMA_VERSION on any change here: it is part of every cache key, and a server refuses blobs
of another version instead of silently dropping what it does not know.
"""

# No `from __future__ import annotations`: msgspec builds a decoder from these classes' annotations, and
# strings would each be compiled then (~10 ms for BlobInfo's tree on every warm scan); evaluated here they cost
# next to nothing.

from typing import Any, Literal

import msgspec

from vigil.findings.records import LayerInfo, Result, SecretFinding, SuppressedFinding
from vigil.inventory.records import Application, OSInfo, Record, Unknown

# 2: misconfiguration results travel in the blob (ConfigFindings)
# 3: dpkg/rpm packages carry Version, Release and Epoch apart (a server that knows only 2 would read the upstream
#    version alone)
BLOB_SCHEMA_VERSION = 3


class OSRelease(Record, frozen=True, kw_only=True):
    """One OS release file the layer contains (etc/os-release, etc/debian_version, etc/alpine-release, …)."""

    file_path: str
    os: OSInfo


class SecretsInFile(Record, frozen=True, kw_only=True):
    file_path: str
    secrets: tuple[SecretFinding, ...]


class ConfigFindings(Record, frozen=True, kw_only=True):
    """The misconfiguration scan of a tree's config files (Dockerfiles, compose files, Kubernetes manifests, Helm
    charts): one class "config" Result per file or rendered template, unfiltered (PASS entries kept; severity,
    ignore-file and PASS filtering happen where the user's filters are applied), plus the findings inline
    `# vigil:ignore:ID` comments suppressed and the files that could not be scanned."""

    results: tuple[Result, ...] = ()
    suppressed: tuple[SuppressedFinding, ...] = ()
    warnings: tuple[str, ...] = ()


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
    config: ConfigFindings = ConfigFindings()
    whiteouts: tuple[str, ...] = ()  # paths this layer deletes (".wh.<name>" entries), without leading "/"
    opaque_dirs: tuple[str, ...] = ()  # directories whose lower-layer contents this layer hides
    # directories this layer writes: a lower layer's *file* at such a path is gone (a lower directory merges)
    replaced_by_dirs: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # refused entries (path traversal, oversized files), one line each
    files: int = 0  # regular files in the layer


class ArtifactInfo(Record, frozen=True, kw_only=True):
    """What was scanned, apart from its blobs (Trivy's ArtifactInfo): for an image, the metadata the report
    carries; the blobs are its layers in order. A client sends it with the blob keys; the server detects."""

    schema_version: int = BLOB_SCHEMA_VERSION
    name: str
    type: Literal["container_image", "filesystem", "sbom", "repository"] = "container_image"
    image_id: str = msgspec.field(default="", name="ImageID")
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    image_config: dict[str, Any] = msgspec.field(default_factory=dict)
    layers: tuple[LayerInfo, ...] = ()


def content_key(blob: BlobInfo) -> str:
    """sha256 of the blob's encoding without its DiffID: the key a directory's or an SBOM's analysis is stored
    under (its bytes are not known before the analysis), and what a server checks an upload against."""
    import hashlib

    raw = msgspec.msgpack.encode(msgspec.structs.replace(blob, diff_id=""))
    return "sha256:" + hashlib.sha256(raw).hexdigest()
