"""Dockerfile checks on instruction arguments and counts: DS-0004, DS-0005, DS-0007, DS-0008, DS-0009, DS-0011,
DS-0016, DS-0023, DS-0030."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator

from vigil.analyzers.misconf.checks._dockerfile_common import ds, fail, where
from vigil.analyzers.misconf.checks.base import Failure
from vigil.analyzers.misconf.dockerfile import DockerfileDoc

DOCS = "https://docs.docker.com/reference/dockerfile/"
_ARCHIVE = re.compile(r"\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|gz|bz2|xz)$", re.IGNORECASE)
_URL = re.compile(r"^(https?|git)://|^git@|\.git(#.*)?$", re.IGNORECASE)
SYSTEM_DIRS = ("/proc", "/boot", "/dev", "/initrd", "/lost+found")


def _ports(value: tuple[str, ...]) -> Iterator[tuple[str, int, int]]:
    for v in value:
        spec = v.split("/", 1)[0]
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", spec)
        if m:
            lo = int(m.group(1))
            yield v, lo, int(m.group(2)) if m.group(2) else lo


def _port22(doc: DockerfileDoc) -> Iterator[Failure]:
    for s in doc.stages:
        for i in s.all("expose"):
            for raw, lo, hi in _ports(i.value):
                if lo <= 22 <= hi and not raw.lower().endswith("/udp"):
                    yield fail(i, s, f"Port 22 should not be exposed in Dockerfile ({where(s)}: EXPOSE {raw})")


def _port_range(doc: DockerfileDoc) -> Iterator[Failure]:
    for s in doc.stages:
        for i in s.all("expose"):
            for raw, lo, hi in _ports(i.value):
                if not (0 <= lo <= 65535 and 0 <= hi <= 65535):
                    yield fail(i, s, f"'EXPOSE' contains port which is out of range [0, 65535]: {raw} ({where(s)})")


def _add_not_copy(doc: DockerfileDoc) -> Iterator[Failure]:
    for s in doc.stages:
        for i in s.all("add"):
            if i.heredocs:
                continue
            srcs = list(i.value[:-1])
            if srcs and all(not _ARCHIVE.search(x) and not _URL.search(x) for x in srcs):
                yield fail(i, s, f"Consider using 'COPY {' '.join(i.value)}' command instead of "
                                 f"'ADD {' '.join(i.value)}' ({where(s)})")


def _multiple(cmd: str, label: str) -> Callable[[DockerfileDoc], Iterator[Failure]]:
    def run(doc: DockerfileDoc) -> Iterator[Failure]:
        if doc.from_history:  # an image inherits CMD/ENTRYPOINT from its base: several in history are normal
            return
        for s in doc.stages:
            found = s.all(cmd)
            for i in found[1:]:
                yield fail(i, s, f"There are {len(found)} duplicate {label} instructions in {where(s)}; "
                                 f"only the last one takes effect")
    return run


def _multiple_healthcheck(doc: DockerfileDoc) -> Iterator[Failure]:
    for s in doc.stages:
        found = s.all("healthcheck")
        for i in found[1:]:
            yield fail(i, s, f"There are {len(found)} duplicate HEALTHCHECK instructions in {where(s)}")


def _workdir_relative(doc: DockerfileDoc) -> Iterator[Failure]:
    for s in doc.stages:
        for i in s.all("workdir"):
            path = " ".join(i.value)
            if not path or path.startswith(("/", "$")) or re.match(r"^[A-Za-z]:[\\/]", path):
                continue
            yield fail(i, s, f"WORKDIR path '{path}' should be absolute ({where(s)})")


def _workdir_system(doc: DockerfileDoc) -> Iterator[Failure]:
    for s in doc.stages:
        for i in s.all("workdir"):
            path = " ".join(i.value)
            if not path.startswith("/"):
                continue
            norm = posixpath.normpath(path)
            if any(norm == d or norm.startswith(d + "/") for d in SYSTEM_DIRS):
                yield fail(i, s, f"WORKDIR should not be mounted on system dirs: '{path}' ({where(s)})")


def _copy_dest_slash(doc: DockerfileDoc) -> Iterator[Failure]:
    for s in doc.stages:
        for i in s.all("copy"):
            if i.heredocs:
                continue
            if len(i.value) > 2 and not i.value[-1].endswith("/"):
                yield fail(i, s, f"Slash is expected at the end of COPY destination '{i.value[-1]}' with "
                                 f"{len(i.value) - 1} sources ({where(s)})")


CHECKS = (
    ds(4, "Port 22 exposed", "MEDIUM",
       "Exposing SSH (port 22) suggests a container that is logged into and managed like a VM, and widens the "
       "attack surface.",
       "Remove 'EXPOSE 22'; use 'docker exec' or 'kubectl exec' to get a shell.", (DOCS + "#expose",), _port22),
    ds(5, "ADD instead of COPY", "LOW",
       "ADD also fetches URLs and unpacks archives; for plain local files that magic is a surprise waiting to "
       "happen. COPY does only what it says.",
       "Use COPY for local files and directories; keep ADD for local tar archives (or remote URLs).",
       (DOCS + "#add",), _add_not_copy),
    ds(7, "Multiple ENTRYPOINT instructions listed", "CRITICAL",
       "Only the last ENTRYPOINT of a stage takes effect; earlier ones are dead code that misleads readers.",
       "Keep one ENTRYPOINT per stage.", (DOCS + "#entrypoint",), _multiple("entrypoint", "ENTRYPOINT")),
    ds(8, "Exposed port out of range", "CRITICAL",
       "UNIX ports range from 0 to 65535; anything else is a typo that breaks the image's contract.",
       "Use a port number between 0 and 65535.", (DOCS + "#expose",), _port_range),
    ds(9, "WORKDIR path not absolute", "HIGH",
       "A relative WORKDIR depends on the previous WORKDIR, which is easy to break when instructions move.",
       "Use an absolute path in WORKDIR.", (DOCS + "#workdir",), _workdir_relative),
    ds(11, "COPY with more than two arguments not ending with slash", "CRITICAL",
       "When COPY has several sources the destination must be a directory, written with a trailing slash.",
       "Add a trailing '/' to the COPY destination.", (DOCS + "#copy",), _copy_dest_slash),
    ds(16, "Multiple CMD instructions listed", "HIGH",
       "Only the last CMD of a stage takes effect; earlier ones are dead code that misleads readers.",
       "Keep one CMD per stage.", (DOCS + "#cmd",), _multiple("cmd", "CMD")),
    ds(23, "Multiple HEALTHCHECK defined", "MEDIUM",
       "Only the last HEALTHCHECK of a stage takes effect.", "Keep one HEALTHCHECK per stage.",
       (DOCS + "#healthcheck",), _multiple_healthcheck),
    ds(30, "WORKDIR should not be mounted on system dirs", "HIGH",
       "Working in /proc, /boot, /dev, /initrd or /lost+found can damage or expose the host's system files "
       "when those paths are mounted.",
       "Use an application directory such as /app as WORKDIR.", (DOCS + "#workdir",), _workdir_system),
)
