"""The DB as an OCI artifact: push to and pull from any OCI distribution registry.

Manifest: an OCI image manifest (`application/vnd.oci.image.manifest.v1+json`) with `artifactType`
`application/vnd.vigil.db.v1`, the empty config descriptor (`application/vnd.oci.empty.v1+json`, the 2-byte `{}`), and
one layer per artifact file, each titled with `org.opencontainers.image.title`: metadata.json
(`application/vnd.vigil.db.metadata.v1+json`), vigil.db.zst (`application/vnd.vigil.db.layer.v1.sqlite+zstd`) and any
delta (`application/vnd.vigil.db.delta.v1+zstd`).

Push: each blob is checked with HEAD and uploaded only when missing: POST to open an upload session, then one PUT with
the body (monolithic) or, for big blobs, PATCH chunks followed by a closing PUT `?digest=`; finally the manifest PUT
to the tag. Pull: manifest (by tag or digest) -> metadata layer -> the file layers, every blob's sha256 and size
verified while streaming.

Auth, TLS, scheme discovery (loopback: https then http), retries and redirects are the image registry client's
(vigil.sources.image.registry.RegistryClient). Credentials: VIGIL_USERNAME/VIGIL_PASSWORD or VIGIL_REGISTRY_TOKEN,
else docker's config.json; VIGIL_INSECURE=true allows plain http and unverified TLS; VIGIL_CACERT adds a CA bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from vigil.dbdist.artifact import (
    ARTIFACT_TYPE,
    MAX_METADATA,
    MT_EMPTY_CONFIG,
    MT_METADATA,
    ArtifactError,
    ArtifactMetadata,
    artifact_files,
    decode_metadata,
    file_sha256,
    pack,
)
from vigil.dbdist.source import CHUNK, Progress, RepoError
from vigil.log import get_logger
from vigil.settings import RegistryAuth
from vigil.sources.image import ImageError, RegistryOptions
from vigil.sources.image.reference import Reference, parse_reference
from vigil.sources.image.registry import MT_OCI_MANIFEST, RegistryClient, error_detail, read_capped

log = get_logger(__name__)

TITLE = "org.opencontainers.image.title"
EMPTY_CONFIG = b"{}"
# Blobs up to this size go up in one PUT; bigger ones in PATCH chunks of UPLOAD_CHUNK (bounded memory).
# Module-level so tests can force the chunked path.
MONOLITHIC_MAX = 32 << 20
UPLOAD_CHUNK = 16 << 20
# A repository in a fallback list gets one retry, and a Retry-After is not waited on for long.
PULL_RETRIES = 1
RETRY_AFTER_CAP = 1.0


def _truthy(v: str) -> bool:
    return v.strip().lower() in ("1", "true", "yes", "on")


def registry_options(env: Mapping[str, str] | None = None, *, progress: bool = False,
                     retries: int = PULL_RETRIES, auth: RegistryAuth | None = None) -> RegistryOptions:
    """The command's flags (`auth`) first, then VIGIL_*, then Trivy's variables of the same name."""
    e = os.environ if env is None else env
    a = auth or RegistryAuth()

    def get(name: str) -> str:  # VIGIL_*, else Trivy's variable of the same name
        return e.get("VIGIL_" + name) or e.get("TRIVY_" + name, "")

    return RegistryOptions(
        username=a.username or get("USERNAME"),
        password=a.password or get("PASSWORD"),
        registry_token=a.token or get("REGISTRY_TOKEN"),
        insecure=a.insecure or _truthy(get("INSECURE")),
        ca_file=a.cacert or get("CACERT"),
        retries=retries,
        timeout=60.0,
        progress=progress,
    )


def parse_oci_url(url: str) -> Reference:
    """oci://HOST[:PORT]/REPO[:TAG|@DIGEST] -> Reference (tag "latest" when none is given)."""
    if not url.startswith("oci://"):
        raise ArtifactError(f"{url}: an OCI repository is written oci://HOST/REPO:TAG")
    rest = url[len("oci://"):]
    try:
        ref = parse_reference(rest)
    except ImageError as e:
        raise ArtifactError(f"{url}: {e}") from e
    if "/" not in rest.split("@", 1)[0]:
        raise ArtifactError(f"{url}: name the registry host and the repository (oci://HOST/REPO:TAG)")
    return ref


def _descriptor(media_type: str, digest: str, size: int, title: str = "") -> dict[str, Any]:
    d: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": size}
    if title:
        d["annotations"] = {TITLE: title}
    return d


# --------------------------------------------------------------------------------------------- push


def push(build_dir: Path, url: str, opts: RegistryOptions | None = None) -> tuple[str, ArtifactMetadata]:
    """Pack `build_dir` (if needed) and push it to `url` (oci://…). -> (manifest digest, metadata)."""
    ref = parse_oci_url(url)
    if not ref.tag:
        raise ArtifactError(f"{url}: push needs a tag (oci://HOST/REPO:TAG)")
    meta = pack(build_dir)
    try:
        reg = RegistryClient(ref, opts or registry_options(retries=3), actions="pull,push")
    except ImageError as e:  # e.g. VIGIL_CACERT naming an unreadable bundle
        raise ArtifactError(f"{url}: {e}") from e
    try:
        layers = []
        for path, mt in artifact_files(build_dir, meta):
            sha, size = file_sha256(path)
            digest = f"sha256:{sha}"
            _upload_blob(reg, path, digest, size)
            layers.append(_descriptor(mt, digest, size, path.name))
        cfg_digest = "sha256:" + hashlib.sha256(EMPTY_CONFIG).hexdigest()
        _upload_bytes(reg, EMPTY_CONFIG, cfg_digest)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MT_OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": _descriptor(MT_EMPTY_CONFIG, cfg_digest, len(EMPTY_CONFIG)),
            "layers": layers,
            "annotations": {
                "org.opencontainers.image.created": meta.built_at,
                "io.vigil.db.schema-version": str(meta.schema_version),
                "io.vigil.db.next-update": meta.next_update,
            },
        }
        raw = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
        resp = reg.request("PUT", f"/v2/{ref.repository}/manifests/{ref.tag}",
                           {"Content-Type": MT_OCI_MANIFEST}, content=raw)
        try:
            if resp.status_code not in (200, 201):
                raise ArtifactError(f"{url}: manifest upload refused: {error_detail(resp)}")
        finally:
            resp.close()
        return "sha256:" + hashlib.sha256(raw).hexdigest(), meta
    except ImageError as e:
        raise ArtifactError(str(e)) from e
    finally:
        reg.close()


def _blob_exists(reg: RegistryClient, digest: str) -> bool:
    resp = reg.request("HEAD", f"/v2/{reg.ref.repository}/blobs/{digest}")
    resp.close()
    return resp.status_code == 200


def _start_upload(reg: RegistryClient) -> str:
    resp = reg.request("POST", f"/v2/{reg.ref.repository}/blobs/uploads/", {"Content-Length": "0"}, content=b"")
    try:
        if resp.status_code != 202 or "location" not in resp.headers:
            raise ArtifactError(f"{reg.ref.registry}: cannot start a blob upload: {error_detail(resp)}")
        return _absolute(reg, str(resp.headers["location"]))
    finally:
        resp.close()


def _absolute(reg: RegistryClient, location: str) -> str:
    if "://" in location:
        return location
    return reg.base + (location if location.startswith("/") else "/" + location)


def _with_digest(location: str, digest: str) -> str:
    return location + ("&" if "?" in location else "?") + urlencode({"digest": digest})


def _finish(reg: RegistryClient, location: str, digest: str, body: bytes) -> None:
    resp = reg.request("PUT", _with_digest(location, digest),
                       {"Content-Type": "application/octet-stream"}, content=body)
    try:
        if resp.status_code not in (201, 204):
            raise ArtifactError(f"{reg.ref.registry}: blob {digest} upload refused: {error_detail(resp)}")
    finally:
        resp.close()


def _upload_bytes(reg: RegistryClient, data: bytes, digest: str) -> None:
    if not _blob_exists(reg, digest):
        _finish(reg, _start_upload(reg), digest, data)


def _upload_blob(reg: RegistryClient, path: Path, digest: str, size: int) -> None:
    if _blob_exists(reg, digest):
        log.debug("%s already in %s", digest, reg.ref.name)
        return
    location = _start_upload(reg)
    if size <= MONOLITHIC_MAX:
        _finish(reg, location, digest, path.read_bytes())
        return
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(UPLOAD_CHUNK):
            end = offset + len(chunk) - 1
            resp = reg.request("PATCH", location, {"Content-Type": "application/octet-stream",
                                                   "Content-Range": f"{offset}-{end}"}, content=chunk)
            try:
                if resp.status_code != 202 or "location" not in resp.headers:
                    raise ArtifactError(f"{reg.ref.registry}: blob {digest} chunk at {offset} refused: "
                                        f"{error_detail(resp)}")
                location = _absolute(reg, str(resp.headers["location"]))
            finally:
                resp.close()
            offset = end + 1
    _finish(reg, location, digest, b"")


# --------------------------------------------------------------------------------------------- pull


class OCIRepository:
    """A Repository (vigil.dbdist.source) over an OCI artifact. Registry errors become RepoErrors."""

    def __init__(self, url: str, opts: RegistryOptions | None = None) -> None:
        self.url = url
        self.ref = parse_oci_url(url)
        if not self.ref.identifier:
            self.ref = Reference(self.ref.registry, self.ref.repository, tag="latest")
        try:
            self.reg = RegistryClient(self.ref, opts or registry_options(), retry_after_cap=RETRY_AFTER_CAP)
        except ImageError as e:  # e.g. VIGIL_CACERT naming an unreadable bundle: this repository fails
            raise RepoError(f"{url}: {e}") from e
        self._layers: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.reg.close()

    def fetch_metadata(self, etag: str) -> tuple[ArtifactMetadata | None, str]:
        try:
            return self._fetch_metadata(etag)
        except ImageError as e:
            raise RepoError(f"{self.url}: {e}") from e

    def _fetch_metadata(self, etag: str) -> tuple[ArtifactMetadata | None, str]:
        resp = self.reg.get(f"/v2/{self.ref.repository}/manifests/{self.ref.identifier}", accept=MT_OCI_MANIFEST)
        try:
            if resp.status_code != 200:
                raise RepoError(f"{self.url}: manifest: {error_detail(resp)}")
            raw = read_capped(resp, MAX_METADATA, "manifest")
        finally:
            resp.close()
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if self.ref.digest and digest != self.ref.digest:
            raise RepoError(f"{self.url}: manifest digest mismatch (got {digest})")
        try:
            doc = json.loads(raw)
        except ValueError:
            raise RepoError(f"{self.url}: manifest is not JSON") from None
        if not isinstance(doc, dict):
            raise RepoError(f"{self.url}: manifest is not a JSON object")
        cfg = doc.get("config")
        kind = doc.get("artifactType") or (cfg.get("mediaType") if isinstance(cfg, dict) else "")
        if kind != ARTIFACT_TYPE:
            raise RepoError(f"{self.url}: not a Vigil DB artifact (artifactType {kind!r})")
        layers = doc.get("layers")
        if not isinstance(layers, list):
            raise RepoError(f"{self.url}: manifest without layers")
        self._layers = {}
        for ld in layers:
            ann = ld.get("annotations") if isinstance(ld, dict) else None
            title = ann.get(TITLE) if isinstance(ann, dict) else None
            if isinstance(title, str) and isinstance(ld.get("digest"), str) and isinstance(ld.get("size"), int):
                self._layers[title] = ld
        if etag and etag == digest:
            return None, digest
        meta_desc = next((ld for ld in self._layers.values() if ld.get("mediaType") == MT_METADATA), None)
        if meta_desc is None:
            raise RepoError(f"{self.url}: artifact without a metadata layer")
        dest = bytearray()
        self._stream(meta_desc, lambda b: dest.extend(b), Progress(False), MAX_METADATA)
        return decode_metadata(bytes(dest), f"{self.url} metadata.json"), digest

    def download(self, name: str, dest: Path, sha256: str, size: int, progress: Progress) -> None:
        desc = self._layers.get(name)
        if desc is None:
            raise RepoError(f"{self.url}: the artifact has no layer {name!r}")
        if desc["digest"] != f"sha256:{sha256}" or desc["size"] != size:
            raise RepoError(f"{self.url}: layer {name} does not match metadata.json (digest or size)")
        try:
            with open(dest, "wb") as f:
                self._stream(desc, f.write, progress, size)
        except ImageError as e:
            raise RepoError(f"{self.url}: {e}") from e

    def _stream(self, desc: dict[str, Any], sink: Any, progress: Progress, cap: int) -> None:
        import httpx

        digest, size = str(desc["digest"]), int(desc["size"])
        if size > cap:
            raise RepoError(f"{self.url}: blob {digest} is {size} bytes, more than expected")
        resp = self.reg.get(f"/v2/{self.ref.repository}/blobs/{digest}")
        h = hashlib.sha256()
        n = 0
        progress.start(str((desc.get("annotations") or {}).get(TITLE, digest[:19])), size)
        try:
            if resp.status_code != 200:
                raise RepoError(f"{self.url}: blob {digest}: {error_detail(resp)}")
            for chunk in resp.iter_bytes(CHUNK):
                n += len(chunk)
                if n > size:
                    raise RepoError(f"{self.url}: blob {digest} larger than its {size} bytes")
                h.update(chunk)
                sink(chunk)
                progress.advance(len(chunk))
        except httpx.HTTPError as e:
            raise RepoError(f"{self.url}: blob {digest}: {type(e).__name__}: {' '.join(str(e).split())}") from e
        finally:
            resp.close()
            progress.stop()
        if n != size:
            raise RepoError(f"{self.url}: blob {digest}: got {n} bytes, the manifest declares {size}")
        if "sha256:" + h.hexdigest() != digest:
            raise RepoError(f"{self.url}: blob {digest}: sha256 mismatch (got sha256:{h.hexdigest()})")
