"""Image references ("python:3.12-slim", "ghcr.io/org/app@sha256:…") parsed with Docker's reference grammar.

Grammar (distribution/reference, facts only):
    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] component ( "/" component )*
    domain     := host [ ":" port ]   -- the first "/"-separated part is a domain only when it contains "." or ":"
                                         or is "localhost" (or has upper-case letters, which a path never may)
    component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest     := algorithm ":" hex   (sha256 -> exactly 64 lower-case hex digits)
Names without a domain are Docker Hub names: the registry is "index.docker.io" (what Trivy prints) and a single
component gets the "library/" namespace. The tag defaults to "latest" unless a digest is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vigil.sources.image import ImageError

DOCKER_HUB = "index.docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_HOST_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DOMAIN = re.compile(rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?\Z")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}\Z")
_MAX_NAME = 255


@dataclass(frozen=True)
class Reference:
    registry: str  # "index.docker.io" for Docker Hub names, "127.0.0.1:5055", "ghcr.io"
    repository: str  # "library/python", "team/app"
    tag: str = ""  # "" when a digest is given and no tag
    digest: str = ""  # "sha256:…"

    @property
    def name(self) -> str:
        """registry/repository, the prefix of repo tags and repo digests."""
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """What goes after /manifests/: the digest when there is one (it pins the content), else the tag."""
        return self.digest or self.tag

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def _bad(ref: str, why: str) -> ImageError:
    return ImageError(f"invalid reference {ref!r}: {why}")


def parse_reference(ref: str) -> Reference:
    """Parse `ref` with Docker's grammar; ImageError("invalid reference …") on anything else."""
    if not ref or ref != ref.strip():
        raise _bad(ref, "empty or surrounded by white space")
    rest, digest = ref, ""
    if "@" in rest:
        rest, _, digest = rest.partition("@")
        if not _DIGEST.match(digest):
            raise _bad(ref, "malformed digest (want algorithm:hex, e.g. sha256:<64 hex digits>)")
        algo, _, hexpart = digest.partition(":")
        if algo == "sha256" and (len(hexpart) != 64 or hexpart != hexpart.lower()):
            raise _bad(ref, "a sha256 digest has exactly 64 lower-case hex digits")
    tag = ""
    # A ":" after the last "/" starts the tag; one before it belongs to a registry port.
    slash, colon = rest.rfind("/"), rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.match(tag):
            raise _bad(ref, f"malformed tag {tag!r}")
    if not rest:
        raise _bad(ref, "missing repository name")
    if len(rest) > _MAX_NAME:
        raise _bad(ref, f"repository name longer than {_MAX_NAME} characters")

    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry, path = first, remainder
        if not _DOMAIN.match(registry):
            raise _bad(ref, f"malformed registry host {registry!r}")
    else:
        registry, path = DOCKER_HUB, rest
    if registry.lower() in _HUB_ALIASES:
        registry = DOCKER_HUB
    parts = path.split("/")
    for part in parts:
        if not _COMPONENT.match(part):
            if part.lower() != part:
                raise _bad(ref, "repository name must be lower-case")
            raise _bad(ref, f"malformed repository path component {part!r}")
    if registry == DOCKER_HUB and len(parts) == 1:
        path = f"library/{path}"
    if not tag and not digest:
        tag = "latest"
    return Reference(registry=registry, repository=path, tag=tag, digest=digest)
