"""Helpers shared by the Dockerfile check families (not a check module: no CHECKS)."""

from __future__ import annotations

import functools
import re
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
        return [vals] if vals else []  # `RUN []` runs nothing
    text = ins.text
    if ins.cmd == "onbuild":
        text = text.split(None, 1)[1] if " " in text else ""
    return shell_commands_text(text, seps)


_WORD = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s"\']+(?:"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s"\']*)*')
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _unquote(w: str) -> str:
    return w.replace('"', "").replace("'", "") if ('"' in w or "'" in w) else w


def shell_commands_text(text: str, seps: re.Pattern[str] = _SEP) -> list[list[str]]:
    return [list(c) for c in _commands_cached(text, seps)]


@functools.lru_cache(maxsize=8192)
def _commands_cached(text: str, seps: re.Pattern[str]) -> tuple[tuple[str, ...], ...]:
    """Split into commands and words. A regex tokenizer (quotes kept together, then removed) rather than shlex:
    checks only look at command names and flags, and shlex is ~50x slower on long RUN lines."""
    out = []
    for part in seps.split(text):
        part = part.strip().lstrip("(").rstrip(")").strip()
        if not part:
            continue
        words = [_unquote(w) for w in _WORD.findall(part)]
        # drop leading env assignments (DEBIAN_FRONTEND=noninteractive apt-get ...)
        while words and _ASSIGN.match(words[0]):
            words = words[1:]
        if words:
            out.append(tuple(words))
    return tuple(out)


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
