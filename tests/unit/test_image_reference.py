"""Image reference grammar (docker's distribution/reference rules): normalisation table and refusals."""

from __future__ import annotations

import pytest

from vigil.sources.image import ImageError
from vigil.sources.image.reference import Reference, parse_reference

D = "sha256:" + "ab" * 32

# ref -> (registry, repository, tag, digest, str())
VALID = {
    "python": ("index.docker.io", "library/python", "latest", "", "index.docker.io/library/python:latest"),
    "python:3.12-slim": (
        "index.docker.io",
        "library/python",
        "3.12-slim",
        "",
        "index.docker.io/library/python:3.12-slim",
    ),
    "bitnami/redis:7": ("index.docker.io", "bitnami/redis", "7", "", "index.docker.io/bitnami/redis:7"),
    "docker.io/library/alpine:3.19": (
        "index.docker.io",
        "library/alpine",
        "3.19",
        "",
        "index.docker.io/library/alpine:3.19",
    ),
    "docker.io/alpine": (
        "index.docker.io",
        "library/alpine",
        "latest",
        "",
        "index.docker.io/library/alpine:latest",
    ),
    "index.docker.io/team/app": (
        "index.docker.io",
        "team/app",
        "latest",
        "",
        "index.docker.io/team/app:latest",
    ),
    "localhost:5000/a/b": ("localhost:5000", "a/b", "latest", "", "localhost:5000/a/b:latest"),
    "localhost/app": ("localhost", "app", "latest", "", "localhost/app:latest"),
    "127.0.0.1:5055/fixture/debian-vuln:1": (
        "127.0.0.1:5055",
        "fixture/debian-vuln",
        "1",
        "",
        "127.0.0.1:5055/fixture/debian-vuln:1",
    ),
    "ghcr.io/org/team/app:v1.2.3": ("ghcr.io", "org/team/app", "v1.2.3", "", "ghcr.io/org/team/app:v1.2.3"),
    f"a/b@{D}": ("index.docker.io", "a/b", "", D, f"index.docker.io/a/b@{D}"),
    f"ghcr.io/x/y:1.0@{D}": ("ghcr.io", "x/y", "1.0", D, f"ghcr.io/x/y:1.0@{D}"),
    "registry.example.com/team/app:1.4": (
        "registry.example.com",
        "team/app",
        "1.4",
        "",
        "registry.example.com/team/app:1.4",
    ),
    "my-registry:8443/ns/img_name__x.y-z:TAG_1.0-rc": (
        "my-registry:8443",
        "ns/img_name__x.y-z",
        "TAG_1.0-rc",
        "",
        "my-registry:8443/ns/img_name__x.y-z:TAG_1.0-rc",
    ),
    "a---b/c": ("index.docker.io", "a---b/c", "latest", "", "index.docker.io/a---b/c:latest"),
    "[::1]:5000/app:v": ("[::1]:5000", "app", "v", "", "[::1]:5000/app:v"),
}

INVALID = {
    "": "empty",
    " python": "white space",
    "Python": "lower-case",
    "library/Python:3": "lower-case",
    "python:": "malformed tag",
    "python:-bad": "malformed tag",
    "python:" + "x" * 129: "malformed tag",
    "a/b@sha256:abc": "malformed digest",
    "a/b@sha256:" + "a" * 40: "64 lower-case hex",
    "a/b@sha256:" + "AB" * 32: "64 lower-case hex",
    "a/b@md5": "malformed digest",
    "a//b": "malformed repository path component ''",
    "a/b/": "malformed repository path component ''",
    "_a/b": "malformed repository path component '_a'",
    "a/b_": "malformed repository path component 'b_'",
    "a/b..c": "malformed repository path component 'b..c'",
    "a/b___c": "malformed repository path component 'b___c'",
    "ex ample.com/a": "malformed registry host",
    "-bad.com/a": "malformed registry host",
    "localhost:5000/": "malformed repository path component ''",
    ":tag": "missing repository name",
    "a/" + "b" * 260: "longer than 255",
}


@pytest.mark.parametrize("ref", sorted(VALID))
def test_valid_references(ref: str) -> None:
    registry, repository, tag, digest, text = VALID[ref]
    r = parse_reference(ref)
    assert r == Reference(registry=registry, repository=repository, tag=tag, digest=digest)
    assert str(r) == text
    # The canonical form parses back to the same reference.
    assert parse_reference(str(r)) == r


@pytest.mark.parametrize("ref", sorted(INVALID))
def test_invalid_references(ref: str) -> None:
    with pytest.raises(ImageError) as ei:
        parse_reference(ref)
    msg = str(ei.value)
    assert msg.startswith("invalid reference ")
    assert INVALID[ref] in msg
    assert "\n" not in msg


def test_identifier_prefers_digest() -> None:
    assert parse_reference(f"x/y:1@{D}").identifier == D
    assert parse_reference("x/y:1").identifier == "1"
    assert parse_reference("x/y:1").name == "index.docker.io/x/y"
