"""Dockerfile / Containerfile -> DockerfileDoc, with exact line ranges per instruction.

Pure: `parse_dockerfile(data, path)` gets bytes and returns the document the DS checks (and custom Rego checks,
through `to_rego_input`) consume. Follows the BuildKit frontend's reading rules
(https://docs.docker.com/reference/dockerfile/):

- parser directives (`# escape=`, `# syntax=`, `# check=`) only before the first instruction, comment or blank line;
- line continuations with the escape character (default backslash; backtick with `# escape=\\``); blank and
  comment lines inside a continued instruction are skipped, as BuildKit does;
- heredocs (`RUN <<EOF`, `COPY <<-"EOF" /dst`): the body belongs to the instruction and extends its line range;
- JSON (exec) form vs shell form for RUN/CMD/ENTRYPOINT/SHELL/COPY/ADD/VOLUME;
- leading `--flag=value` options (FROM --platform, RUN --mount, COPY --from/--chown/--chmod, ...);
- multi-stage builds: a stage per FROM, with its base image and `AS` alias; `FROM <alias>` refers to an earlier
  stage;
- ARG substitution: global ARGs (before the first FROM) in FROM lines; stage ARG/ENV values in the arguments of
  non-RUN instructions (`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}`). RUN/CMD/ENTRYPOINT are left
  unexpanded: the shell expands them at build/run time, not the Dockerfile parser. `Original` keeps the raw text.

Image history (`created_by` lines of an image config) becomes a document through `from_image_history`, so the
same checks run on images.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil.analyzers.errors import ParseError

MAX_INSTRUCTIONS = 100_000
KNOWN = frozenset(
    ["add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label", "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir"]
)
JSON_FORMS = frozenset({"run", "cmd", "entrypoint", "shell", "copy", "add", "volume"})
FLAG_CMDS = frozenset({"from", "run", "copy", "add", "healthcheck"})
NO_EXPAND = frozenset({"run", "cmd", "entrypoint", "shell", "healthcheck", "onbuild", "maintainer"})
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_.-]*)\2")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Instruction:
    cmd: str  # lower case, e.g. "run"
    value: tuple[str, ...]  # arguments: one string for shell-form RUN/CMD/ENTRYPOINT, the list for JSON form
    original: str  # the instruction as written, continuation lines joined
    start_line: int
    end_line: int
    stage: int
    flags: tuple[str, ...] = ()  # "--from=builder", "--mount=type=cache,target=/root/.cache"
    json: bool = False
    sub_cmd: str = ""  # ONBUILD's instruction
    heredocs: tuple[str, ...] = ()  # heredoc bodies, in order

    def flag(self, name: str) -> str | None:
        """Value of `--name=value` (or "" for a bare `--name`), None when absent."""
        for f in self.flags:
            k, _, v = f[2:].partition("=")
            if k.lower() == name:
                return v
        return None

    @property
    def text(self) -> str:
        """The arguments as one string (shell form) plus heredoc bodies — what command checks search."""
        parts = [" ".join(self.value), *self.heredocs]
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Stage:
    index: int
    name: str  # Trivy's stage name: the FROM arguments, e.g. "golang:1.22 AS builder"
    image: str  # base image after ARG substitution ("" if FROM is missing: instructions before any FROM)
    alias: str  # lower-cased AS name, "" if none
    start_line: int
    end_line: int
    instructions: tuple[Instruction, ...]

    def all(self, cmd: str) -> list[Instruction]:
        return [i for i in self.instructions if i.cmd == cmd]


@dataclass(frozen=True)
class DockerfileDoc:
    path: str
    stages: tuple[Stage, ...]
    escape: str = "\\"
    directives: Mapping[str, str] = field(default_factory=dict)
    global_args: Mapping[str, str] = field(default_factory=dict)
    from_history: bool = False  # built from image history: DS-0007/DS-0016 do not apply (Trivy does the same)

    def instructions(self) -> Iterable[Instruction]:
        for s in self.stages:
            yield from s.instructions

    def stage_by_alias(self, alias: str) -> Stage | None:
        return next((s for s in self.stages if s.alias and s.alias == alias.lower()), None)


def _substitute(text: str, env: Mapping[str, str]) -> str:
    def rep(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3)
        val = env.get(name)
        if op in (":-", "-"):
            return val if val not in (None, "") or (op == "-" and val is not None) else (word or "")
        if op in (":+", "+"):
            return (word or "") if val not in (None, "") or (op == "+" and val is not None) else ""
        return val if val is not None else m.group(0)

    return _VAR.sub(rep, text) if "$" in text else text


def _split_words(rest: str, escape: str = "\\") -> list[str]:
    if '"' not in rest and "'" not in rest and escape not in rest:
        return rest.split()  # the common case; shlex is slow
    try:
        lex = shlex.shlex(rest, posix=True, punctuation_chars=False)
        lex.whitespace_split = True
        lex.commenters = ""
        lex.escape = escape
        return list(lex)
    except ValueError:  # unbalanced quotes: Docker accepts them literally in many instructions
        return rest.split()


def _parse_kv(rest: str) -> list[str]:
    """ENV/LABEL/ARG arguments -> [key, value, key, value...]; legacy `ENV KEY value with spaces` supported."""
    words = _split_words(rest)
    if not words:
        return []
    if "=" not in words[0]:
        if len(words) == 1:  # ARG NAME (no default) or a malformed ENV
            return [words[0], ""]
        first, _, remainder = rest.strip().partition(" ")
        return [first, " ".join(_split_words(remainder.strip()))]
    out: list[str] = []
    for w in words:
        k, _, v = w.partition("=")
        out += [k, v]
    return out


def _split_flags(rest: str) -> tuple[list[str], str]:
    flags: list[str] = []
    s = rest.lstrip()
    while s.startswith("--"):
        m = re.match(r"--\S+", s)
        if m is None:  # pragma: no cover - startswith("--") guarantees a match
            break
        flags.append(m.group(0))
        s = s[m.end():].lstrip()
    return flags, s


def _json_list(s: str) -> list[str] | None:
    s = s.strip()
    if not s.startswith("["):
        return None
    try:
        v = json.loads(s)
    except ValueError:
        return None
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return v
    return None


@dataclass
class _Raw:
    start: int
    end: int
    text: str  # logical line, continuations joined with a space
    original: str
    heredocs: list[str]


def _logical_lines(lines: list[str], first: int, escape: str) -> Iterable[_Raw]:
    i = first
    n = len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts = [stripped]
        orig = [line.rstrip()]
        while parts[-1].endswith(escape) and i + 1 < n:
            parts[-1] = parts[-1][: -len(escape)].rstrip()
            i += 1
            while i < n and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                i += 1  # BuildKit drops blank and comment lines inside a continuation
            if i >= n:
                break
            parts.append(lines[i].strip())
            orig.append(lines[i].rstrip())
        if parts[-1].endswith(escape) and len(escape) == 1:
            parts[-1] = parts[-1][:-1].rstrip()
        text = " ".join(p for p in parts if p)
        if not text:  # a lone escape character: nothing to parse
            i += 1
            continue
        heredocs: list[str] = []
        word = text.split(None, 1)[0].lower() if text else ""
        if word in ("run", "copy", "add") or (word == "onbuild" and "<<" in text):
            for m in _HEREDOC.finditer(text):
                strip_tabs, delim = m.group(1) == "-", m.group(3)
                body: list[str] = []
                i += 1
                while i < n:
                    cand = lines[i].lstrip("\t") if strip_tabs else lines[i]
                    if cand.rstrip("\r\n") == delim or cand.strip() == delim:
                        orig.append(lines[i].rstrip())
                        break
                    body.append(cand.rstrip())
                    orig.append(lines[i].rstrip())
                    i += 1
                heredocs.append("\n".join(body))
        yield _Raw(start=start + 1, end=min(i, n - 1) + 1, text=text, original="\n".join(orig), heredocs=heredocs)
        i += 1


def _instruction(raw: _Raw, stage: int, env: Mapping[str, str], escape: str = "\\") -> Instruction:
    head, _, rest = raw.text.partition(" ")
    cmd = head.lower()
    sub_cmd = ""
    if cmd == "onbuild":
        inner = _instruction(_Raw(raw.start, raw.end, rest.strip(), raw.original, raw.heredocs), stage, env, escape)
        return Instruction(cmd="onbuild", value=(inner.cmd.upper(), *inner.value), original=raw.original,
                           start_line=raw.start, end_line=raw.end, stage=stage, flags=inner.flags,
                           json=inner.json, sub_cmd=inner.cmd, heredocs=inner.heredocs)
    flags: list[str] = []
    if cmd in FLAG_CMDS:
        flags, rest = _split_flags(rest)
    rest = rest.strip()
    expand = cmd not in NO_EXPAND
    value: list[str]
    is_json = False
    js = _json_list(rest) if cmd in JSON_FORMS else None
    if js is not None:
        is_json = True
        value = [_substitute(v, env) for v in js] if expand else js
    elif cmd in ("run", "cmd", "entrypoint", "shell"):
        value = [rest] if rest else []
    elif cmd in ("env", "label", "arg"):
        value = _parse_kv(rest)
        if expand:
            value = [_substitute(v, env) if k % 2 else v for k, v in enumerate(value)]
    elif cmd == "healthcheck":
        hc_flags, body = _split_flags(rest)
        flags += hc_flags
        kind, _, tail = body.partition(" ")
        hc_json = _json_list(tail)
        value = [kind.upper(), *(hc_json if hc_json is not None else ([tail.strip()] if tail.strip() else []))]
        is_json = hc_json is not None
    elif cmd == "maintainer":
        value = [rest]
    else:
        value = _split_words(_substitute(rest, env) if expand else rest, escape)
    if expand:
        flags = [_substitute(f, env) for f in flags]
    return Instruction(cmd=cmd, value=tuple(value), original=raw.original, start_line=raw.start, end_line=raw.end,
                       stage=stage, flags=tuple(flags), json=is_json, sub_cmd=sub_cmd, heredocs=tuple(raw.heredocs))


def parse_dockerfile(data: bytes, path: str = "Dockerfile") -> DockerfileDoc:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(f"not UTF-8 text (byte offset {e.start})") from e
    if "\x00" in text:
        raise ParseError("binary file (NUL byte), not a Dockerfile")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # parser directives: leading `# key=value` lines only
    directives: dict[str, str] = {}
    first = 0
    for ln in lines:
        m = _DIRECTIVE.match(ln.strip())
        if not m or m.group(1).lower() in directives:
            break
        directives[m.group(1).lower()] = m.group(2)
        first += 1
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise ParseError(f"invalid escape directive {escape!r} (must be \\ or `)")

    global_args: dict[str, str] = {}
    stages: list[dict[str, Any]] = []
    env: dict[str, str] = {}
    count = 0
    for raw in _logical_lines(lines, first, escape):
        count += 1
        if count > MAX_INSTRUCTIONS:
            raise ParseError(f"more than {MAX_INSTRUCTIONS} instructions")
        head = raw.text.split(None, 1)[0].lower()
        if head not in KNOWN:
            raise ParseError(f"line {raw.start}: unknown instruction {raw.text.split(None, 1)[0][:40]!r}")
        if head == "from":
            ins = _instruction(raw, len(stages), global_args, escape)
            words = list(ins.value)
            image = words[0] if words else ""
            alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
            stages.append({"name": " ".join(words), "image": image, "alias": alias, "start": raw.start,
                           "ins": [ins]})
            env = dict(global_args)
            base = next((s for s in stages[:-1] if s["alias"] and s["alias"] == image.lower()), None)
            if base is not None:
                env.update(base["env"])
            stages[-1]["env"] = env
            continue
        if not stages:
            if head == "arg":
                ins = _instruction(raw, 0, global_args, escape)
                v = list(ins.value)
                for k in range(0, len(v) - 1, 2):
                    global_args[v[k]] = v[k + 1]
                stages.append({"name": "", "image": "", "alias": "", "start": raw.start, "ins": [ins],
                               "env": dict(global_args), "preamble": True})
                continue
            raise ParseError(f"line {raw.start}: {head.upper()} before the first FROM")
        if stages[-1].get("preamble"):
            if head != "arg":
                raise ParseError(f"line {raw.start}: {head.upper()} before the first FROM")
            ins = _instruction(raw, 0, global_args, escape)
            v = list(ins.value)
            for k in range(0, len(v) - 1, 2):
                global_args[v[k]] = v[k + 1]
            stages[-1]["ins"].append(ins)
            continue
        ins = _instruction(raw, len(stages) - 1 - _preamble(stages), env, escape)
        if head in ("arg", "env"):
            v = list(ins.value)
            for k in range(0, len(v) - 1, 2):
                if head == "arg" and v[k + 1] == "" and v[k] in global_args:
                    env[v[k]] = global_args[v[k]]  # `ARG NAME` re-imports a global ARG into the stage
                elif head == "arg" and v[k] in env and v[k + 1] == "":
                    continue
                else:
                    env[v[k]] = v[k + 1]
        stages[-1]["ins"].append(ins)
    if not stages or all(s.get("preamble") for s in stages):
        raise ParseError("no FROM instruction")
    out: list[Stage] = []
    preamble: list[Instruction] = []
    real = [s for s in stages if not s.get("preamble")]
    for s in stages:
        if s.get("preamble"):
            preamble = s["ins"]
    for idx, s in enumerate(real):
        ins_list = [
            Instruction(cmd=i.cmd, value=i.value, original=i.original, start_line=i.start_line,
                        end_line=i.end_line, stage=idx, flags=i.flags, json=i.json, sub_cmd=i.sub_cmd,
                        heredocs=i.heredocs)
            for i in s["ins"]
        ]
        end = ins_list[-1].end_line
        out.append(Stage(index=idx, name=s["name"], image=s["image"], alias=s["alias"], start_line=s["start"],
                         end_line=end, instructions=tuple(ins_list)))
    del preamble  # global ARGs are kept in global_args; Trivy also drops them from the stage list
    return DockerfileDoc(path=path, stages=tuple(out), escape=escape, directives=directives,
                         global_args=global_args)


def _preamble(stages: list[dict[str, Any]]) -> int:
    return 1 if stages and stages[0].get("preamble") else 0


# --- image history -> document -------------------------------------------------------------------------------

_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_SHELL = re.compile(r"^/bin/sh -c\s+")
_BUILDKIT_RUN = re.compile(r"^RUN\s+/bin/sh -c\s+", re.IGNORECASE)


def from_image_history(created_by: Iterable[str], path: str = "image-config") -> DockerfileDoc:
    """Turn an image config's history `created_by` lines (oldest first) into a one-stage Dockerfile document.

    Classic builder lines look like `/bin/sh -c #(nop)  USER root` (metadata instructions) or
    `/bin/sh -c apt-get update` (RUN); BuildKit writes the instruction itself (`RUN /bin/sh -c ... # buildkit`,
    `USER app`, `COPY ... # buildkit`). Line numbers are history indexes (1-based). The image's base layers have
    no FROM line, so the document starts with a synthetic `FROM scratch` that DS-0001 ignores.
    """
    out = ["FROM scratch"]
    for line in created_by:
        s = line.strip()
        s = re.sub(r"\s+#\s*buildkit$", "", s)
        if _NOP.match(s):
            s = _NOP.sub("", s)
        elif _BUILDKIT_RUN.match(s):
            s = "RUN " + _BUILDKIT_RUN.sub("", s)
        elif _SHELL.match(s):
            s = "RUN " + _SHELL.sub("", s)
        head = s.split(None, 1)[0].lower() if s else ""
        if head not in KNOWN or head == "from":
            s = ""  # unknown history entries (e.g. "ADD file:... in /") keep their line but carry no instruction
        if head in ("add", "copy") and re.match(r"(?i)^(ADD|COPY)\s+(file|dir|multi):[0-9a-f]+", s):
            # Classic-builder content hashes: `ADD file:<sha> in /` (base rootfs), `COPY multi:<sha> in /app`
            # (several sources). `in` is not a source and the real paths are gone, so no ADD/COPY check can judge
            # them (Trivy's DS-0005 skips file:/multi:/dir: too); without this DS-0005 and DS-0011 misfired.
            s = ""
        out.append(s.replace("\n", " "))
    doc = parse_dockerfile("\n".join(out).encode(), path)
    return DockerfileDoc(path=doc.path, stages=doc.stages, escape=doc.escape, directives=doc.directives,
                         global_args=doc.global_args, from_history=True)


# --- Rego input (Trivy's shape) -------------------------------------------------------------------------------

def to_rego_input(doc: DockerfileDoc) -> dict[str, Any]:
    """Trivy's Dockerfile input: {"Stages": [{"Name", "Commands": [{"Cmd", "SubCmd", "Flags", "Value",
    "Original", "JSON", "Stage", "Path", "StartLine", "EndLine"}]}]} (README: custom checks)."""
    return {
        "Stages": [
            {
                "Name": s.name,
                "Commands": [
                    {
                        "Cmd": i.cmd, "SubCmd": i.sub_cmd, "Flags": list(i.flags), "Value": list(i.value),
                        "Original": i.original, "JSON": i.json, "Stage": i.stage, "Path": doc.path,
                        "StartLine": i.start_line, "EndLine": i.end_line,
                    }
                    for i in s.instructions
                ],
            }
            for s in doc.stages
        ]
    }
