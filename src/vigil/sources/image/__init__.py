"""Container image sources: the only code that reads image archives, OCI layouts, registries and
container daemons.

Every source returns an `Image`: the config (parsed JSON, digest = ImageID), the layers in order (bottom first) with
their compressed digest, diff_id (uncompressed digest from the config's rootfs.diff_ids), media type, size and the
`created_by` of the matching non-empty history entry, and a way to open each layer's *compressed* blob as a stream.
Opening is lazy: a registry source downloads a blob only when the engine asks for it (so layers already in the
analysis cache are never fetched). `vigil.sources.image.layers.iter_layer()` turns one opened blob into file
entries, safely.

Errors: `ImageError` (and subclasses) carry a one-line message for the user (exit 2), e.g. "image not found",
"unauthorized", "not a docker archive or OCI layout".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

import msgspec

from vigil.errors import UserError


class ImageError(UserError):
    """The image cannot be read (missing, malformed, unauthorized, refused as hostile). One-line message."""


class AuthError(ImageError):
    """The registry refused our credentials (or wants some)."""


class NotFound(ImageError):
    """No such image (archive path, tag, digest, or daemon image)."""


# More layers than any builder makes: Docker's overlay2 stacks at most 128 lower layers, and the OCI spec sets no
# limit. Each layer costs a blob, a cache lookup and a merge step, so a manifest that lists one tiny layer tens of
# thousands of times would turn a small archive into minutes of work.
MAX_LAYERS = 1000


def check_layer_count(n: int, what: str) -> None:
    if n > MAX_LAYERS:
        raise ImageError(f"{what}: {n} layers, more than the {MAX_LAYERS} an image may have (refused)")


class LayerBlob(msgspec.Struct, frozen=True):
    digest: str  # compressed blob digest as the manifest names it ("sha256:…"); for docker-archive, the diff_id
    diff_id: str  # uncompressed digest (config rootfs.diff_ids[i]); the analysis cache key
    media_type: str  # e.g. application/vnd.oci.image.layer.v1.tar+gzip, …+zstd, docker …tar.gzip, plain tar
    size: int  # compressed size in bytes (0 if unknown)
    created_by: str  # history[].created_by of the non-empty-layer history entry matching this layer
    open: Callable[[], BinaryIO]  # a fresh stream of the (compressed) blob; caller closes it


class Image(msgspec.Struct):
    name: str  # what the user asked for (reference or archive path)
    config_digest: str  # "sha256:…" of the config blob: Trivy's ImageID
    config: dict[str, object]  # the OCI/docker image config JSON
    layers: list[LayerBlob]
    repo_tags: list[str] = msgspec.field(default_factory=list)
    repo_digests: list[str] = msgspec.field(default_factory=list)  # "repo@sha256:<manifest digest>" for registry pulls
    manifest_digest: str = ""
    cleanup: Callable[[], None] | None = None  # removes temp files (downloaded blobs, daemon save stream)

    def close(self) -> None:
        if self.cleanup is not None:
            self.cleanup()
            self.cleanup = None


class RegistryOptions(msgspec.Struct, frozen=True):
    """How to talk to registries (flags --username/--password/--insecure/--platform, docker config.json)."""

    username: str = ""
    password: str = ""
    registry_token: str = ""  # a bearer token given directly
    insecure: bool = False  # allow plain HTTP and unverified TLS
    platform: str = ""  # "os/arch[/variant]" for image indexes; default linux/amd64 (this machine's arch)
    docker_config: str = ""  # path of config.json; default $DOCKER_CONFIG/config.json or ~/.docker/config.json
    timeout: float = 60.0
    retries: int = 4  # on 429/5xx/connection errors, exponential backoff (honours Retry-After)
    ca_file: str = ""  # extra CA bundle for TLS registries
    progress: bool = False  # draw a progress bar on stderr for blob downloads
