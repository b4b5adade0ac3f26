"""Compose parser: service and field line ranges from the YAML node marks, merge keys, errors; golden file."""

from __future__ import annotations

from typing import Any

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.compose import parse_compose

SAMPLE = b"""\
version: "3.9"
x-common: &common
  restart: always
  privileged: true

services:
  web:
    <<: *common
    image: nginx:1.27
    environment:
      - DB_HOST=db
      - DB_PASSWORD=hunter2
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
  db:
    image: postgres
    environment:
      POSTGRES_PASSWORD: ${PGPASS}
"""


def test_services_and_lines() -> None:
    doc = parse_compose(SAMPLE, "docker-compose.yml")
    assert doc.version == "3.9"
    web, db = doc.services
    assert (web.name, web.start_line, web.end_line) == ("web", 7, 14)
    assert (db.name, db.start_line) == ("db", 15)
    assert web.obj["privileged"] is True and web.obj["restart"] == "always"  # merged from the anchor
    assert web.line_of("privileged") == (4, 4)  # points at the anchor's line
    assert web.line_of("environment", 1) == (12, 12)
    assert web.line_of("volumes", 0) == (14, 14)
    assert web.line_of("nonexistent") == (7, 14)


def test_no_services_and_empty() -> None:
    assert parse_compose(b"").services == ()
    assert parse_compose(b"version: '3'\n").services == ()


@pytest.mark.parametrize("data,msg", [
    (b"services: [1, 2]\n", "must be a mapping"),
    (b"- a\n- b\n", "top level"),
    (b"services:\n  web: {\n", "invalid YAML"),
    (b"\xff\xfe", "UTF-8"),
])
def test_errors(data: bytes, msg: str) -> None:
    with pytest.raises(ParseError, match=msg):
        parse_compose(data)


def test_golden(golden: Any) -> None:
    doc = parse_compose(SAMPLE, "docker-compose.yml")
    golden.check("misconf/compose/sample", {
        "version": doc.version,
        "services": [{"name": s.name, "start": s.start_line, "end": s.end_line, "obj": dict(s.obj),
                      "lines": {"/".join(map(str, k)): list(v) for k, v in sorted(s.lines.items(), key=str)}}
                     for s in doc.services],
    })


def test_compose_checks_on_sample() -> None:
    from vigil.analyzers.misconf.checks.registry import checks_for

    doc = parse_compose(SAMPLE)
    failing = {c.meta.id: list(c.run(doc)) for c in checks_for("compose")}
    assert {k for k, v in failing.items() if v} == {"VCOMP-0001", "VCOMP-0005", "VCOMP-0007", "VCOMP-0008",
                                                    "VCOMP-0010"}
    [secret] = failing["VCOMP-0007"]
    assert secret.start_line == 12 and "DB_PASSWORD" in secret.message  # ${PGPASS} is not a literal
