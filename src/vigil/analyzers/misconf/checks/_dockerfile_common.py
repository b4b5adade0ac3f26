"""Helpers shared by the Dockerfile check families (not a check module: no CHECKS)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from typing import Literal

from vigil.analyzers.misconf.checks.base import Check, CheckMeta, Failure
from vigil.analyzers.misconf.dockerfile import DockerfileDoc, Instruction, Stage

Sev = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
_SEP = re.compile(r"&&|\|\||;|\||\n")


def ds(num: int, title: str, severity: Sev, description: str, resolution: str, refs: tuple[str, ...],
       run: Callable[[DockerfileDoc], Iterable[Failure]], deprecated: bool = False) -> Check:
    """A DS check with Trivy's ID scheme: DS-00NN, aliases DS0NN and AVD-DS-00NN (names are permanent)."""
    id_ = f"DS-{num:04d}"
    return Check(
        meta=CheckMeta(
            id=id_, title=title, severity=severity, input_type="dockerfile",
            aliases=(f"DS{num:03d}", f"AVD-{id_}"), description=description, resolution=resolution,
            references=(f"https://avd.aquasec.com/misconfig/ds{num:03d}", *refs),
            namespace=f"builtin.dockerfile.DS{num:03d}", deprecated=deprecated,
        ),
        run=run,
    )


def where(stage: Stage) -> str:
    return f"stage {stage.index} ('{stage.name}')" if stage.name else f"stage {stage.index}"


def fail(ins: Instruction, stage: Stage, message: str) -> Failure:
    return Failure(message=message, start_line=ins.start_line, end_line=ins.end_line,
                   resource=f"{where(stage)}: {ins.cmd.upper()}")


def runs(doc: DockerfileDoc) -> Iterable[tuple[Stage, Instruction]]:
    for s in doc.stages:
        for i in s.instructions:
            if i.cmd == "run" or (i.cmd == "onbuild" and i.sub_cmd == "run"):
                yield s, i


def shell_commands(ins: Instruction, seps: re.Pattern[str] = _SEP) -> list[list[str]]:
    """A RUN's commands (split on &&, ||, ;, | and newlines) as word lists; JSON form is one command."""
    if ins.json:
        vals = list(ins.value[1:]) if ins.cmd == "onbuild" else list(ins.value)
        if len(vals) >= 3 and vals[0].endswith("sh") and vals[1] == "-c":
            return shell_commands_text(vals[2], seps)
        return [vals]
    text = ins.text
    if ins.cmd == "onbuild":
        text = text.split(None, 1)[1] if " " in text else ""
    return shell_commands_text(text, seps)


def shell_commands_text(text: str, seps: re.Pattern[str] = _SEP) -> list[list[str]]:
    out = []
    for part in seps.split(text):
        part = part.strip().lstrip("(").rstrip(")").strip()
        if not part:
            continue
        try:
            words = shlex.split(part, comments=False)
        except ValueError:
            words = part.split()
        # drop leading env assignments (DEBIAN_FRONTEND=noninteractive apt-get ...) and `set -x` noise
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words = words[1:]
        if words:
            out.append(words)
    return out


def is_tool(words: list[str], tool: str) -> bool:
    """`words` runs `tool` (optionally via sudo/env, or an absolute path to it)."""
    w = list(words)
    while w and w[0] in ("sudo", "env", "exec", "command", "time", "nohup", "xargs"):
        w = w[1:]
        while w and w[0].startswith("-"):
            w = w[1:]
    return bool(w) and (w[0] == tool or w[0].endswith("/" + tool))


def subcommand(words: list[str], tool: str) -> str:
    """The first non-option word after `tool` (e.g. "install" for `apt-get -q install x`)."""
    if not is_tool(words, tool):
        return ""
    idx = next(k for k, x in enumerate(words) if x == tool or x.endswith("/" + tool))
    for x in words[idx + 1:]:
        if not x.startswith("-"):
            return x
    return ""
