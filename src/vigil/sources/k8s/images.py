"""What a container runs, from the kubelet's report, and with which credentials it is pulled.

`status.containerStatuses[].imageID` names the image the runtime pulled. Its forms:
`docker-pullable://repo@sha256:…` (dockershim, cri-dockerd), `repo@sha256:…` (containerd, CRI-O: the manifest or
index digest), and `docker://sha256:…` / `sha256:…` (the image config ID of an image built or loaded on the node,
which no registry serves by that name). With a repository and a digest the scan pulls exactly that digest; with a
config ID only, it pulls the spec reference and keeps the ID.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from vigil.sources.k8s.model import PullSecret

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def parse_image_id(image_id: str) -> tuple[str, str]:
    """(repository, digest) of an imageID; ("", "") when it names no pullable digest."""
    text = image_id.strip()
    for prefix in ("docker-pullable://", "docker://", "containerd://", "cri-o://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    repo, sep, digest = text.rpartition("@")
    if sep and repo and _DIGEST.match(digest):
        return repo, digest
    return "", ""


def _repository(spec_image: str) -> str:
    """The repository of a spec reference (tag and digest removed)."""
    ref = spec_image.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    return ref[:colon] if colon > slash else ref


def resolve(spec_image: str, image_id: str) -> tuple[str, str]:
    """(digest, pull reference) for a container: the running digest when the kubelet reported one."""
    repo, digest = parse_image_id(image_id)
    if digest:
        return digest, f"{repo}@{digest}"
    if "@sha256:" in spec_image:  # the spec pins a digest
        _, _, d = spec_image.rpartition("@")
        if _DIGEST.match(d):
            return d, spec_image
    return "", spec_image


def normalise_pull_secret(secret: dict[str, object]) -> bytes | None:
    """A pull secret's docker config.json ({"auths": …}) from a dockerconfigjson or legacy dockercfg secret."""
    import base64

    data = secret.get("data")
    if not isinstance(data, dict):
        return None
    for key, wrap in ((".dockerconfigjson", False), (".dockercfg", True)):
        raw = data.get(key)
        if not isinstance(raw, str):
            continue
        try:
            doc = json.loads(base64.b64decode(raw))
        except ValueError:
            return None
        auths = doc if wrap else (doc.get("auths") if isinstance(doc, dict) else None)
        if not isinstance(auths, dict):
            return None
        # auths only: credHelpers/credsStore in a cluster's secret would make us run a program it names
        return json.dumps({"auths": auths}).encode()
    return None


def credentials_for(pull_ref: str, secrets: Sequence[PullSecret], tmp_dir: Path) -> tuple[str, str]:
    """(username, password) from the first pull secret with an entry for the image's registry, as the kubelet
    tries them in order; ("", "") to fall back to the local docker config (then anonymous)."""
    from vigil.sources.image import RegistryOptions
    from vigil.sources.image.reference import parse_reference
    from vigil.sources.image.registry import docker_config_credentials

    try:
        registry = parse_reference(pull_ref).registry
    except Exception:
        return "", ""
    for s in secrets:
        # named by content and moved into place whole: image scans run in parallel threads and share tmp_dir
        path = tmp_dir / f"pull-secret-{hashlib.sha256(s.docker_config).hexdigest()[:32]}.json"
        if not path.exists():
            fd, part = tempfile.mkstemp(dir=tmp_dir, prefix=".pull-secret-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(s.docker_config)
            os.replace(part, path)
        creds = docker_config_credentials(registry, RegistryOptions(docker_config=str(path)))
        if creds.username or creds.password:
            return creds.username, creds.password
    return "", ""
