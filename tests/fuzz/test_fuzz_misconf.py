"""Fuzzing the Dockerfile and compose parsers (and the checks on whatever they return).

Contract (analyzers/errors.py): on any input a parser returns normally or raises ParseError. Inputs: arbitrary
bytes, Dockerfile-shaped text built from instruction keywords, continuations, heredoc markers and escape
directives, real corpus Dockerfiles mutated, and YAML-shaped compose text with wrong types everywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.checks.registry import checks_for
from vigil.analyzers.misconf.compose import parse_compose
from vigil.analyzers.misconf.dockerfile import from_image_history, parse_dockerfile

pytestmark = pytest.mark.fuzz
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DOCKERFILES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "corpus" / "dockerfiles"
CORPUS = sorted(p.read_bytes() for p in DOCKERFILES.rglob("Dockerfile*") if p.is_file())[:40] \
    if DOCKERFILES.is_dir() else [b"FROM alpine:3.20\nRUN echo hi\n"]

KEYWORDS = ["FROM", "RUN", "CMD", "COPY", "ADD", "USER", "WORKDIR", "EXPOSE", "ENV", "ARG", "LABEL",
            "ENTRYPOINT", "HEALTHCHECK", "ONBUILD", "SHELL", "VOLUME", "MAINTAINER", "STOPSIGNAL", "from", "run"]
PIECES = st.sampled_from([
    " ", "\\", "`", "\n", "\r\n", "#", "# escape=`\n", "# escape=\\\n", "<<EOF", "<<-'X'", "EOF", "X", "\t",
    "--from=", "--mount=type=secret", "[", "]", '"', "'", "${A:-b}", "$A", "AS", "a", "apt-get install",
    "apk add", "&&", ";", "|", "sudo", "cd /", "22", "99999", "USER root", "=", "root", "/proc",
])
LINE = st.tuples(st.sampled_from(KEYWORDS), st.lists(PIECES, max_size=8)).map(lambda t: t[0] + " " + "".join(t[1]))
DOCKERFILE_TEXT = st.lists(st.one_of(LINE, PIECES), max_size=25).map("\n".join)


def _check_dockerfile(data: bytes) -> None:
    try:
        doc = parse_dockerfile(data, "Dockerfile")
    except ParseError:
        return
    for c in checks_for("dockerfile"):
        list(c.run(doc))


@FUZZ
@given(st.binary(max_size=2000))
def test_dockerfile_arbitrary_bytes(data: bytes) -> None:
    _check_dockerfile(data)


@FUZZ
@given(DOCKERFILE_TEXT)
def test_dockerfile_structured(text: str) -> None:
    _check_dockerfile(text.encode())
    _check_dockerfile(("FROM a:1\n" + text).encode())


@FUZZ
@given(st.sampled_from(CORPUS), st.integers(min_value=0, max_value=10_000), st.binary(max_size=8),
       st.integers(min_value=0, max_value=8))
def test_dockerfile_mutated_corpus(base: bytes, pos: int, insert: bytes, delete: int) -> None:
    pos = pos % (len(base) + 1)
    _check_dockerfile(base[:pos] + insert + base[pos + delete:])


@FUZZ
@given(st.lists(st.one_of(LINE, st.text(max_size=40)), max_size=15))
def test_image_history(lines: list[str]) -> None:
    try:
        doc = from_image_history(lines)
    except ParseError:
        return
    for c in checks_for("dockerfile"):
        list(c.run(doc))


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
                    st.sampled_from(["host", "latest", "/var/run/docker.sock:/x", "SYS_ADMIN", "a:b"]))
KEYS = st.sampled_from(["image", "privileged", "network_mode", "pid", "ipc", "volumes", "cap_add", "environment",
                        "security_opt", "read_only", "build", "<<", "services", "x"])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(KEYS, inner, max_size=4)), max_leaves=20)


def _check_compose(data: bytes) -> None:
    try:
        doc = parse_compose(data, "compose.yaml")
    except ParseError:
        return
    for c in checks_for("compose"):
        list(c.run(doc))


@FUZZ
@given(VALUES)
def test_compose_wrong_types(value: object) -> None:
    import json

    _check_compose(json.dumps({"services": {"web": value}}, default=str).encode())
    _check_compose(json.dumps({"services": value}, default=str).encode())


@FUZZ
@given(st.binary(max_size=1500))
def test_compose_arbitrary_bytes(data: bytes) -> None:
    _check_compose(data)


@FUZZ
@given(st.lists(st.sampled_from(["services:", "  web:", "    image: x", "    <<: *a", "x: &a", "  a: 1", "- b",
                                 "    volumes: [", "]", "{", "}", ":", "!!binary x", "? k", "    - *a", "\t"]),
                max_size=20))
def test_compose_yaml_shapes(lines: list[str]) -> None:
    _check_compose("\n".join(lines).encode())
