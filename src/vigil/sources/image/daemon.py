"""Docker / Podman daemon source: the Engine API over a unix socket (`docker save` as a stream).

`vigil image NAME` tries a local daemon first (like Trivy's docker → podman → remote order) and falls back to the
registry when there is no daemon or it does not have the image: both cases return None. The save stream is a
docker-archive and is read by the archive source.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import quote

from vigil.log import get_logger
from vigil.sources.image import Image, ImageError, NotFound

log = get_logger(__name__)

# System-wide sockets tried after $DOCKER_HOST and the rootless podman socket (module-level so tests can replace it).
SYSTEM_SOCKETS: tuple[str, ...] = ("/var/run/docker.sock", "/run/podman/podman.sock")
_CHUNK = 1 << 20
_MAX_INSPECT = 4 << 20


def _candidates() -> list[str]:
    out = []
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        out.append(host[len("unix://") :])
    elif host:
        # tcp:// / ssh:// daemons are not supported: only a local socket is an "if present" source.
        log.debug("DOCKER_HOST=%s is not a unix socket; ignored", host)
    out.append(SYSTEM_SOCKETS[0])
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        out.append(os.path.join(xdg, "podman", "podman.sock"))
    out.extend(SYSTEM_SOCKETS[1:])
    return out


def _connects(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def daemon_socket() -> str | None:
    """First of $DOCKER_HOST (unix://), /var/run/docker.sock, $XDG_RUNTIME_DIR/podman/podman.sock,
    /run/podman/podman.sock that exists and accepts a connection."""
    for path in _candidates():
        if os.path.exists(path) and _connects(path):
            return path
    return None


def open_daemon_image(ref: str, tmp_dir: Path, socket_path: str | None = None) -> Image | None:
    """The image `ref` from the local daemon, or None when there is no daemon or it does not have the image."""
    import httpx

    sock = socket_path or daemon_socket()
    if sock is None:
        return None
    # The Engine API routes /images/{name}/json with the name's slashes unescaped ("library/python:3.12").
    name = quote(ref, safe="/:@")
    transport = httpx.HTTPTransport(uds=sock)
    save = tmp_dir / "daemon-save.tar"
    with httpx.Client(transport=transport, base_url="http://docker", timeout=httpx.Timeout(60.0)) as client:
        try:
            resp = client.get(f"/images/{name}/json")
        except httpx.HTTPError as e:
            log.debug("daemon at %s: %s", sock, e)
            return None
        if resp.status_code == 404:
            log.debug("daemon at %s does not have %s", sock, ref)
            return None
        if resp.status_code != 200:
            log.warning(
                "daemon at %s: inspecting %s: HTTP %s; trying the registry", sock, ref, resp.status_code
            )
            return None
        if len(resp.content) > _MAX_INSPECT:
            raise ImageError(f"daemon: image inspect answer for {ref} is implausibly large")
        try:
            inspect = resp.json()
        except (ValueError, RecursionError):
            raise ImageError(f"daemon at {sock}: image inspect answer for {ref} is not JSON") from None
        if not isinstance(inspect, dict):
            raise ImageError(f"daemon at {sock}: image inspect answer for {ref} is not a JSON object")
        tmp_dir.mkdir(parents=True, exist_ok=True)
        try:
            with client.stream("GET", f"/images/{name}/get") as stream:
                if stream.status_code != 200:
                    raise ImageError(f"daemon at {sock}: saving {ref} failed: HTTP {stream.status_code}")
                with open(save, "wb") as f:
                    for chunk in stream.iter_bytes(_CHUNK):
                        f.write(chunk)
        except httpx.HTTPError as e:
            save.unlink(missing_ok=True)
            raise ImageError(f"daemon at {sock}: saving {ref} failed: {type(e).__name__}: {e}") from e
        except BaseException:
            save.unlink(missing_ok=True)
            raise

    try:
        # Written alongside this module by the archive source; imported here so `vigil image` start-up stays lean.
        from vigil.sources.image.archive import open_archive

        # The daemon resolved `ref` (an image ID, a digest, a short name podman saves as "localhost/name") and the
        # stream holds that one image, whatever its RepoTags say: re-matching `ref` against them would miss it.
        try:
            img = open_archive(save, tmp_dir)
        except NotFound:
            raise
        except ImageError:  # several images in one save stream (not what the Engine API sends): pick by name
            img = open_archive(save, tmp_dir, ref)
    except BaseException:
        save.unlink(missing_ok=True)
        raise
    img.name = ref
    tags, digests = inspect.get("RepoTags"), inspect.get("RepoDigests")
    # Untagged images list "<none>:<none>" (older engines): not a tag.
    img.repo_tags = (
        [t for t in tags if isinstance(t, str) and "<none>" not in t] if isinstance(tags, list) else []
    )
    img.repo_digests = (
        [d for d in digests if isinstance(d, str) and "<none>" not in d] if isinstance(digests, list) else []
    )
    inner = img.cleanup

    def cleanup() -> None:
        if inner is not None:
            inner()
        save.unlink(missing_ok=True)

    img.cleanup = cleanup
    return img
