"""imageID forms the container runtimes report, and pull secrets reduced to their registry credentials."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from vigil.sources.k8s.images import credentials_for, normalise_pull_secret, parse_image_id, resolve
from vigil.sources.k8s.model import PullSecret

D = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("image_id", "expected"), [
    (f"docker-pullable://nginx@{D}", ("nginx", D)),  # dockershim / cri-dockerd
    (f"docker.io/library/nginx@{D}", ("docker.io/library/nginx", D)),  # containerd, CRI-O
    (f"registry.example.com:5000/team/app@{D}", ("registry.example.com:5000/team/app", D)),
    (f"docker://{D}", ("", "")),  # a config ID: an image built or loaded on the node, no registry has it by this
    (D, ("", "")),
    ("", ("", "")),
    ("nginx@sha256:short", ("", "")),
])
def test_parse_image_id(image_id: str, expected: tuple[str, str]) -> None:
    assert parse_image_id(image_id) == expected


def test_resolve_prefers_the_running_digest() -> None:
    assert resolve("nginx:1.25", f"docker.io/library/nginx@{D}") == (D, f"docker.io/library/nginx@{D}")
    assert resolve("nginx:1.25", "") == ("", "nginx:1.25")  # not running yet: the spec reference
    assert resolve(f"nginx@{D}", "") == (D, f"nginx@{D}")  # a spec pinned by digest
    assert resolve("nginx:1.25", f"docker://{D}") == ("", "nginx:1.25")


def _secret(key: str, doc: object) -> dict[str, object]:
    return {"data": {key: base64.b64encode(json.dumps(doc).encode()).decode()}}


def test_pull_secrets_keep_only_auths(tmp_path: Path) -> None:
    auth = base64.b64encode(b"u:p").decode()
    hostile = {"auths": {"reg.example:5000": {"auth": auth}}, "credsStore": "evil", "credHelpers": {"x": "evil"}}
    cfg = normalise_pull_secret(_secret(".dockerconfigjson", hostile))
    assert cfg is not None and json.loads(cfg) == {"auths": {"reg.example:5000": {"auth": auth}}}
    legacy = normalise_pull_secret(_secret(".dockercfg", {"reg.example:5000": {"auth": auth}}))
    assert legacy == cfg
    assert normalise_pull_secret({"data": {"password": "eA=="}}) is None
    assert normalise_pull_secret({"data": {".dockerconfigjson": "!!not base64 json"}}) is None
    secrets = [PullSecret(namespace="a", name="other", docker_config=json.dumps(
        {"auths": {"elsewhere.example": {"auth": base64.b64encode(b"x:y").decode()}}}).encode()),
               PullSecret(namespace="a", name="s", docker_config=cfg)]
    assert credentials_for("reg.example:5000/team/app@" + D, secrets, tmp_path) == ("u", "p")
    assert credentials_for("docker.io/library/nginx:1", secrets, tmp_path) == ("", "")
