"""Dockerfile checks about images, stages and users: DS-0001, DS-0002, DS-0006, DS-0012, DS-0022, DS-0026."""

from __future__ import annotations

from collections.abc import Iterator

from vigil.analyzers.misconf.checks._dockerfile_common import ds, fail, where
from vigil.analyzers.misconf.checks.base import Failure
from vigil.analyzers.misconf.dockerfile import DockerfileDoc, Stage

DOCS = "https://docs.docker.com/reference/dockerfile/"


def _tag(image: str) -> tuple[str, bool]:
    """(tag, has_digest) of an image reference; tag "" when none."""
    if "@" in image:
        return "", True
    last = image.rsplit("/", 1)[-1]
    return (last.rsplit(":", 1)[1] if ":" in last else ""), False


def _latest(doc: DockerfileDoc) -> Iterator[Failure]:
    aliases: set[str] = set()
    for s in doc.stages:
        img = s.image
        if img and img.lower() != "scratch" and img.lower() not in aliases and "$" not in img:
            tag, digest = _tag(img)
            if not digest and tag in ("", "latest"):
                what = "':latest' tag used" if tag else "no tag specified"
                yield fail(s.instructions[0], s, f"Specify a tag in the 'FROM' statement for image '{img}' "
                                                 f"({where(s)}: {what})")
        if s.alias:
            aliases.add(s.alias)


def _is_root(user: str) -> bool:
    name = user.split(":", 1)[0].strip().strip("'\"")
    return name in ("root", "0")


def _last_user(doc: DockerfileDoc, stage: Stage, depth: int = 0) -> tuple[str, Stage] | None:
    users = stage.all("user")
    if users:
        return " ".join(users[-1].value), stage
    base = doc.stage_by_alias(stage.image) if stage.image else None
    if base is not None and base.index < stage.index and depth < 64:
        return _last_user(doc, base, depth + 1)  # FROM <earlier stage> inherits its USER
    return None


def _root_user(doc: DockerfileDoc) -> Iterator[Failure]:
    # Only the final stage decides who the image runs as: a `USER root` in a builder stage is not a finding
    # (Trivy issue #3966 was exactly that false positive).
    final = doc.stages[-1]
    found = _last_user(doc, final)
    if found is None:
        yield Failure(message=f"Specify at least 1 USER command in Dockerfile with non-root user as argument "
                              f"(final {where(final)} has none)",
                      start_line=final.start_line, end_line=final.start_line, resource=where(final))
        return
    user, owner = found
    if _is_root(user):
        ins = owner.all("user")[-1]
        yield fail(ins, owner, f"Last USER command in Dockerfile should not be 'root' ({where(owner)}: USER {user})")


def _copy_from_self(doc: DockerfileDoc) -> Iterator[Failure]:
    for s in doc.stages:
        for i in s.all("copy"):
            src = i.flag("from")
            if src and s.alias and src.lower() == s.alias:
                yield fail(i, s, f"'COPY --from' should not mention the current FROM alias '{src}' ({where(s)})")


def _dup_alias(doc: DockerfileDoc) -> Iterator[Failure]:
    seen: dict[str, Stage] = {}
    for s in doc.stages:
        if not s.alias:
            continue
        if s.alias in seen:
            yield fail(s.instructions[0], s, f"Duplicate aliases '{s.alias}' are found in different FROMs "
                                             f"(stages {seen[s.alias].index} and {s.index})")
        else:
            seen[s.alias] = s


def _maintainer(doc: DockerfileDoc) -> Iterator[Failure]:
    for s in doc.stages:
        for i in s.all("maintainer"):
            yield fail(i, s, f"MAINTAINER should not be used: 'MAINTAINER {' '.join(i.value)}' ({where(s)})")


def _no_healthcheck(doc: DockerfileDoc) -> Iterator[Failure]:
    if not any(i.cmd == "healthcheck" for i in doc.instructions()):
        final = doc.stages[-1]
        yield Failure(message="Add HEALTHCHECK instruction in your Dockerfile", start_line=final.start_line,
                      end_line=final.start_line, resource=where(final))


CHECKS = (
    ds(1, "':latest' tag used", "MEDIUM",
       "An image without a tag, or with ':latest', changes under you: builds are not reproducible and a "
       "compromised or broken upstream image is pulled silently.",
       "Pin the base image to a specific version tag or digest (FROM image:1.2.3 or FROM image@sha256:...).",
       (DOCS + "#from",), _latest),
    ds(2, "Image user should not be 'root'", "HIGH",
       "A container running as root turns any container escape or mounted-volume mistake into root on the "
       "host. The user that matters is the last USER of the final stage (or the stage it builds FROM).",
       "Add 'USER <non-root user>' to the final stage, after the steps that need root.",
       (DOCS + "#user",), _root_user),
    ds(6, "COPY '--from' referring to the current image", "CRITICAL",
       "'COPY --from' must name an earlier stage or an image; naming the stage being built is an error.",
       "Change the '--from' value to an earlier stage alias or an external image.",
       (DOCS + "#copy---from",), _copy_from_self),
    ds(12, "Duplicate aliases defined in different FROMs", "CRITICAL",
       "Two stages with the same 'AS' name make 'COPY --from' and '--target' ambiguous.",
       "Give every stage a unique alias.", (DOCS + "#from",), _dup_alias),
    ds(22, "Deprecated MAINTAINER used", "HIGH",
       "MAINTAINER is deprecated since Docker 1.13.",
       "Use 'LABEL org.opencontainers.image.authors=\"...\"' (or 'LABEL maintainer=...') instead.",
       (DOCS + "#maintainer-deprecated",), _maintainer),
    ds(26, "No HEALTHCHECK defined", "LOW",
       "Without a HEALTHCHECK the container runtime cannot tell a hung service from a healthy one.",
       "Add a HEALTHCHECK instruction (e.g. HEALTHCHECK CMD curl -f http://localhost/ || exit 1).",
       (DOCS + "#healthcheck",), _no_healthcheck),
)
