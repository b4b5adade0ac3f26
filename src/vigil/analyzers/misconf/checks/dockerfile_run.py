"""Dockerfile checks on RUN commands: DS-0010, DS-0013, DS-0014, DS-0015, DS-0017, DS-0019, DS-0020, DS-0021,
DS-0024, DS-0025, DS-0027, DS-0029."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from vigil.analyzers.misconf.checks._dockerfile_common import (
    ds,
    fail,
    is_tool,
    runs,
    shell_commands,
    subcommand,
    where,
)
from vigil.analyzers.misconf.checks.base import Failure
from vigil.analyzers.misconf.dockerfile import DockerfileDoc, Instruction, Stage

BP = "https://docs.docker.com/build/building/best-practices/"
_AND = re.compile(r"&&")
Run = Callable[[DockerfileDoc], Iterator[Failure]]


def _sudo(doc: DockerfileDoc) -> Iterator[Failure]:
    for s, i in runs(doc):
        if any("sudo" in words[:1] or (words and words[0].endswith("/sudo")) for words in shell_commands(i)):
            yield fail(i, s, f"Using 'sudo' in Dockerfile should be avoided ({where(s)})")


_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")


def _top_level_cd(ins: Instruction) -> bool:
    """A `cd` that starts an &&-separated command outside any ( … ) subshell: `(cd src && make)` changes
    nothing for the next command, so it is not what WORKDIR replaces."""
    if ins.json:
        return any(words[0] == "cd" for words in shell_commands(ins, _AND))
    text = _QUOTED.sub("''", ins.text)
    if ins.cmd == "onbuild":
        text = text.split(None, 1)[1] if " " in text else ""
    depth = 0
    for part in _AND.split(text):
        stripped = part.strip()
        if depth == 0 and not stripped.startswith("(") and stripped.split()[:1] == ["cd"]:
            return True
        depth = max(0, depth + part.count("(") - part.count(")"))
    return False


def _cd(doc: DockerfileDoc) -> Iterator[Failure]:
    for s, i in runs(doc):
        if _top_level_cd(i):
            yield fail(i, s, f"RUN should not be used to change directory: '{_short(i.text)}'. "
                             f"Use 'WORKDIR' statement instead ({where(s)})")


def _short(text: str, n: int = 80) -> str:
    t = " ".join(text.split())
    return t if len(t) <= n else t[: n - 3] + "..."


def _wget_and_curl(doc: DockerfileDoc) -> Iterator[Failure]:
    uses: dict[str, list[tuple[Stage, Instruction]]] = {"curl": [], "wget": []}
    for s, i in runs(doc):
        cmds = shell_commands(i)
        for tool in uses:
            if any(is_tool(w, tool) for w in cmds):
                uses[tool].append((s, i))
    if uses["curl"] and uses["wget"]:
        for s, i in uses["wget"]:
            yield fail(i, s, f"Shouldn't use both curl and wget ({where(s)}: this RUN uses wget, "
                             f"line {uses['curl'][0][1].start_line} uses curl)")


def _install_without_clean(tool: str, installs: tuple[str, ...], cleaned: Callable[[list[str]], bool],
                           what: str) -> Run:
    def run(doc: DockerfileDoc) -> Iterator[Failure]:
        for s, i in runs(doc):
            cmds = shell_commands(i)
            if any(subcommand(w, tool) in installs for w in cmds) and not any(cleaned(w) for w in cmds):
                yield fail(i, s, f"'{what}' is missed: '{_short(i.text)}' ({where(s)})")
    return run


def _clean_all(tool: str) -> Callable[[list[str]], bool]:
    def f(words: list[str]) -> bool:
        if subcommand(words, tool) != "clean":
            return False
        return "all" in words
    return f


def _zypper_clean(words: list[str]) -> bool:
    return subcommand(words, "zypper") in ("clean", "cc")


PKG_UPDATE = {"apt-get": ("install",), "apt": ("install",), "apk": ("add",), "yum": ("install",),
              "dnf": ("install",), "microdnf": ("install",), "zypper": ("install", "in")}


def _update_alone(doc: DockerfileDoc) -> Iterator[Failure]:
    for s, i in runs(doc):
        cmds = shell_commands(i)
        for tool, installs in PKG_UPDATE.items():
            upd = any(subcommand(w, tool) in ("update", "refresh", "ref") for w in cmds)
            if upd and not any(subcommand(w, tool) in installs for w in cmds):
                yield fail(i, s, f"The instruction '{tool} update' should be followed by '{tool} "
                                 f"{installs[0]}' in the same RUN statement ({where(s)})")
                break


def _has_flag(words: list[str], longs: tuple[str, ...], short: str) -> bool:
    for w in words:
        if w in longs or w.split("=", 1)[0] in longs:
            return True
        if short and w.startswith("-") and not w.startswith("--") and short in w[1:]:
            return True
    return False


def _apt_missing(flag_desc: str, longs: tuple[str, ...], short: str, title: str) -> Run:
    def run(doc: DockerfileDoc) -> Iterator[Failure]:
        for s, i in runs(doc):
            for w in shell_commands(i):
                tool = "apt-get" if is_tool(w, "apt-get") else "apt" if is_tool(w, "apt") else ""
                if tool and subcommand(w, tool) == "install" and not _has_flag(w, longs, short):
                    yield fail(i, s, f"'{flag_desc}' flag is missed: '{_short(' '.join(w))}' ({where(s)})")
                    break
    run.__doc__ = title
    return run


def _dist_upgrade(doc: DockerfileDoc) -> Iterator[Failure]:
    for s, i in runs(doc):
        if any(subcommand(w, "apt-get") == "dist-upgrade" for w in shell_commands(i)):
            yield fail(i, s, f"'apt-get dist-upgrade' should not be used in Dockerfile ({where(s)})")


def _apk_no_cache(doc: DockerfileDoc) -> Iterator[Failure]:
    for s, i in runs(doc):
        for w in shell_commands(i):
            # --no-network installs from the local cache only: no index is downloaded, none is left behind.
            if subcommand(w, "apk") == "add" and "--no-cache" not in w and "--no-network" not in w:
                yield fail(i, s, f"'--no-cache' is missed: '{_short(' '.join(w))}' ({where(s)})")
                break


PM = ("https://docs.docker.com/build/building/best-practices/#apt-get",)

CHECKS = (
    ds(10, "RUN using 'sudo'", "CRITICAL",
       "'sudo' in a build has unpredictable TTY and signal behaviour and signals a build that should simply "
       "run the step as root (before USER) instead.",
       "Remove 'sudo'; run the step before switching USER, or use 'gosu' at runtime.", (BP + "#user",), _sudo),
    ds(13, "'RUN cd ...' to change directory", "MEDIUM",
       "'cd' in RUN changes the directory for that one shell only; WORKDIR makes the build easier to read, "
       "troubleshoot and maintain.",
       "Use WORKDIR instead of 'RUN cd ... && ...'.", (BP + "#workdir",), _cd),
    ds(14, "RUN using 'wget' and 'curl'", "LOW",
       "Using both tools to download files bloats the image and duplicates behaviour.",
       "Pick one of curl or wget for every download.", (BP,), _wget_and_curl),
    ds(15, "'yum clean all' missing", "HIGH",
       "'yum install' without 'yum clean all' in the same RUN leaves the package cache in the layer.",
       "Append '&& yum clean all' to the RUN that installs packages.", PM,
       _install_without_clean("yum", ("install", "groupinstall", "localinstall"), _clean_all("yum"),
                              "yum clean all")),
    ds(17, "'RUN <package-manager> update' instruction alone", "HIGH",
       "An update in its own RUN is cached as a layer, so later installs use stale package lists.",
       "Combine the update with the install in the same RUN (apt-get update && apt-get install ...).",
       PM, _update_alone),
    ds(19, "'dnf clean all' missing", "HIGH",
       "'dnf install' without 'dnf clean all' in the same RUN leaves the package cache in the layer.",
       "Append '&& dnf clean all' to the RUN that installs packages.", PM,
       _install_without_clean("dnf", ("install", "groupinstall", "localinstall"), _clean_all("dnf"),
                              "dnf clean all")),
    ds(20, "'zypper clean' missing", "HIGH",
       "'zypper install' without 'zypper clean' in the same RUN leaves the package cache in the layer.",
       "Append '&& zypper clean' to the RUN that installs packages.", PM,
       _install_without_clean("zypper", ("install", "in", "source-install", "si", "patch"), _zypper_clean,
                              "zypper clean")),
    ds(21, "'apt-get' missing '-y' to avoid manual input", "HIGH",
       "Without '-y' apt-get asks for confirmation, which fails or hangs a non-interactive build.",
       "Add '-y' (or '--yes' / '--assume-yes') to 'apt-get install'.", PM,
       _apt_missing("-y", ("--yes", "--assume-yes"), "y", "apt-get -y")),
    ds(24, "'apt-get dist-upgrade' used", "HIGH",
       "'dist-upgrade' can upgrade across releases and pull in unexpected packages; rebuild from an updated "
       "base image instead.",
       "Remove 'apt-get dist-upgrade'; update the base image tag.", PM, _dist_upgrade, deprecated=True),
    ds(25, "'apk add' missing '--no-cache'", "HIGH",
       "'apk add' without '--no-cache' keeps the package index in the layer.",
       "Use 'apk add --no-cache ...'.", ("https://github.com/gliderlabs/docker-alpine/blob/master/docs/usage.md",),
       _apk_no_cache),
    ds(27, "'microdnf clean all' missing", "HIGH",
       "'microdnf install' without 'microdnf clean all' in the same RUN leaves the package cache in the layer.",
       "Append '&& microdnf clean all' to the RUN that installs packages.", PM,
       _install_without_clean("microdnf", ("install",), _clean_all("microdnf"), "microdnf clean all")),
    ds(29, "'apt-get' missing '--no-install-recommends'", "HIGH",
       "Without '--no-install-recommends' apt-get installs recommended packages nobody asked for, growing the "
       "image and its attack surface.",
       "Add '--no-install-recommends' to 'apt-get install'.", PM,
       _apt_missing("--no-install-recommends", ("--no-install-recommends",), "", "no recommends")),
)
