"""The client/server wire format: the records a client sends to `vigil server` and gets back.

One schema for disk, cache and wire, so no conversion layer can drop a field: blobs travel as the very BlobInfo
records the analysis cache stores (msgpack, PUT /v1/blobs/{key}), a scan request carries the ArtifactInfo plus the
blob keys, and the answer is the Report record the JSON reporter writes. Only the envelopes below are specific
to the wire.

Versioning: WIRE_SCHEMA_VERSION bumps on any breaking change to these envelopes; BLOB_SCHEMA_VERSION (blob.py)
on a change to the blob records. A server refuses requests of another version with a one-line error, so an old
client against a new server fails clearly instead of silently dropping fields.

Detection options travel; filters do not: the server detects unfiltered (every severity, no ignore file, no VEX)
and the client applies its own severity/ignore/VEX filters (as Trivy's client does), so ignore files and VEX
documents never leave the client.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from vigil.findings.analysis import ArtifactInfo
from vigil.inventory.records import Record, Relationship

WIRE_SCHEMA_VERSION = 1
# What a blob key looks like: a sha256 digest (fs/sbom blobs: the blob's DiffID; image layers: the analysis-cache
# key over DiffID + analyzer versions + options, vigil.cache.blob_key). msgspec checks a pattern with re.search, and
# Python's "$" also matches before a final newline, so "$(?!\n)" ends the string in Python and in the ECMA dialect
# JSON Schema and OpenAPI readers use (where the look-ahead is always true at the end).
BLOB_KEY_PATTERN = "^sha256:[0-9a-f]{64}$(?!\\n)"
MAX_KEYS = 4096  # far above any real image's layer count; bounds the work one request can ask for

BlobKey = Annotated[str, msgspec.Meta(pattern=BLOB_KEY_PATTERN)]
Scanner = Literal["vuln", "license", "secret", "misconfig"]
PkgType = Literal["os", "library"]
ALL_RELATIONSHIPS: tuple[Relationship, ...] = ("unknown", "root", "workspace", "direct", "indirect")


class DetectionOptions(Record, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The options that change what detection reports (the rest of ScanOptions stays on the client)."""

    scanners: tuple[Scanner, ...] = ("vuln",)
    pkg_types: tuple[PkgType, ...] = ("os", "library")
    pkg_relationships: tuple[Relationship, ...] = ALL_RELATIONSHIPS
    include_dev_deps: bool = False
    list_all_pkgs: bool = False
    dependency_tree: bool = False
    ignored_licenses: tuple[str, ...] = ()
    license_categories: dict[str, tuple[str, ...]] = {}
    # --distro FAMILY/VERSION: the OS packages are matched as this release's, whatever was detected
    distro: Annotated[str, msgspec.Meta(max_length=200)] = ""
    # --detection-priority: "comprehensive" also reports the language packages an OS package installed (Trivy's
    # comprehensive mode turns its system-file filter off); left out of the request when "precise"
    detection_priority: Literal["precise", "comprehensive"] = "precise"


class ScanRequest(Record, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """POST /v1/scan: detect over blobs the server already holds. `blob_keys`: one key for a filesystem or SBOM
    artifact; one per layer, in layer order, for a container image."""

    schema_version: int = WIRE_SCHEMA_VERSION
    artifact: ArtifactInfo
    blob_keys: Annotated[tuple[BlobKey, ...], msgspec.Meta(min_length=1, max_length=MAX_KEYS)]
    options: DetectionOptions = DetectionOptions()


class MissingBlobsRequest(Record, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """POST /v1/blobs/missing: which of these blobs must the client upload?"""

    schema_version: int = WIRE_SCHEMA_VERSION
    blob_keys: Annotated[tuple[BlobKey, ...], msgspec.Meta(max_length=MAX_KEYS)]


class MissingBlobsResponse(Record, frozen=True, kw_only=True, omit_defaults=False):
    missing_blob_keys: tuple[str, ...] = ()


class ErrorBody(Record, frozen=True, kw_only=True, omit_defaults=False):
    """Every non-2xx answer: one line for the user."""

    error: str


class DBInfo(Record, frozen=True, kw_only=True, omit_defaults=False):
    """The metadata of the DB the server detects with (GET /version)."""

    schema_version: int
    built_at: str
    next_update: str
    vigil_version: str = ""
    age_seconds: float = 0.0


class VersionInfo(Record, frozen=True, kw_only=True, omit_defaults=False):
    version: str
    wire_schema_version: int = WIRE_SCHEMA_VERSION
    blob_schema_version: int
    db: DBInfo | None = msgspec.field(default=None, name="DB")


class Health(Record, frozen=True, kw_only=True, omit_defaults=False):
    status: Literal["ok"] = "ok"


WIRE_TYPES: tuple[type[msgspec.Struct], ...] = (
    DetectionOptions, ScanRequest, MissingBlobsRequest, MissingBlobsResponse, ErrorBody, DBInfo, VersionInfo, Health,
)
