"""Every Dockerfile (DS) and compose (VCOMP) check against its passing and failing fixture
(tests/fixtures/misconf/{dockerfile,compose}/<ID>/), plus the DS catalogue: IDs, aliases and severities as in
Trivy's list (../shared/reference/trivy-cli.md §6)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import vigil.analyzers.misconf.checks as checks_pkg
from vigil.analyzers.misconf.checks.base import Check, Failure
from vigil.analyzers.misconf.checks.registry import (
    COMPOSE_CHECK_MODULES,
    DOCKERFILE_CHECK_MODULES,
    KUBERNETES_CHECK_MODULES,
    checks_for,
)
from vigil.analyzers.misconf.compose import parse_compose
from vigil.analyzers.misconf.dockerfile import parse_dockerfile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "misconf"
DS = {c.meta.id: c for c in checks_for("dockerfile")}
COMPOSE = {c.meta.id: c for c in checks_for("compose")}

TRIVY_DS = {
    1: "MEDIUM", 2: "HIGH", 4: "MEDIUM", 5: "LOW", 6: "CRITICAL", 7: "CRITICAL", 8: "CRITICAL", 9: "HIGH",
    10: "CRITICAL", 11: "CRITICAL", 12: "CRITICAL", 13: "MEDIUM", 14: "LOW", 15: "HIGH", 16: "HIGH", 17: "HIGH",
    19: "HIGH", 20: "HIGH", 21: "HIGH", 22: "HIGH", 23: "MEDIUM", 24: "HIGH", 25: "HIGH", 26: "LOW", 27: "HIGH",
    29: "HIGH", 30: "HIGH", 31: "CRITICAL",
}


def _run(check: Check, path: Path) -> list[Failure]:
    if check.meta.input_type == "dockerfile":
        return list(check.run(parse_dockerfile(path.read_bytes(), path.name)))
    return list(check.run(parse_compose(path.read_bytes(), path.name)))


def _fixture(check: Check, kind: str) -> Path:
    if check.meta.input_type == "dockerfile":
        return FIXTURES / "dockerfile" / check.meta.id / f"{kind}.Dockerfile"
    return FIXTURES / "compose" / check.meta.id / f"{kind}.yaml"


ALL = sorted({**DS, **COMPOSE}.values(), key=lambda c: c.meta.id)


def test_ds_catalogue_matches_trivy() -> None:
    assert sorted(DS) == sorted(f"DS-{n:04d}" for n in TRIVY_DS)
    for n, sev in TRIVY_DS.items():
        meta = DS[f"DS-{n:04d}"].meta
        assert meta.severity == sev, meta.id
        assert meta.aliases == (f"DS{n:03d}", f"AVD-DS-{n:04d}")
        assert meta.title and meta.description and meta.resolution and meta.references
    assert {i for i, c in DS.items() if c.meta.deprecated} == {"DS-0024"}


def test_compose_catalogue() -> None:
    assert sorted(COMPOSE) == [f"VCOMP-{n:04d}" for n in range(1, 11)]
    for c in COMPOSE.values():
        assert c.meta.title and c.meta.description and c.meta.resolution and c.meta.aliases


def test_every_check_module_is_registered() -> None:
    """Every module of the checks package is listed in the registry (helpers start with '_')."""
    mods = {f"vigil.analyzers.misconf.checks.{m.name}" for m in pkgutil.iter_modules(checks_pkg.__path__)
            if not m.name.startswith("_") and m.name not in ("base", "registry")}
    listed = set(DOCKERFILE_CHECK_MODULES) | set(COMPOSE_CHECK_MODULES) | set(KUBERNETES_CHECK_MODULES)
    mine = {m for m in mods if ".dockerfile_" in m or m.endswith(".compose")}
    assert mine <= listed
    for m in DOCKERFILE_CHECK_MODULES + COMPOSE_CHECK_MODULES:
        assert importlib.import_module(m).CHECKS


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.meta.id)
def test_every_check_has_both_fixtures(check: Check) -> None:
    assert _fixture(check, "pass").is_file()
    assert _fixture(check, "fail").is_file()


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.meta.id)
def test_pass_fixture_passes(check: Check) -> None:
    assert _run(check, _fixture(check, "pass")) == []


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.meta.id)
def test_fail_fixture_fails_with_lines(check: Check) -> None:
    failures = _run(check, _fixture(check, "fail"))
    assert failures, check.meta.id
    for f in failures:
        assert f.message and f.start_line >= 1 and f.end_line >= f.start_line


def test_ds0002_builder_stage_root_is_not_a_finding() -> None:
    """Trivy #3966: only the final stage's last USER counts."""
    doc = parse_dockerfile(b"FROM a:1 AS b\nUSER root\nRUN x\nFROM c:1\nUSER app\n")
    assert list(DS["DS-0002"].run(doc)) == []
    doc = parse_dockerfile(b"FROM a:1 AS b\nUSER app\nFROM b\nRUN x\n")  # inherits USER from stage b
    assert list(DS["DS-0002"].run(doc)) == []
    doc = parse_dockerfile(b"FROM a:1 AS b\nUSER app\nFROM c:1\nRUN x\n")
    [f] = DS["DS-0002"].run(doc)
    assert "at least 1 USER" in f.message and f.start_line == 3


def test_ds0001_ignores_scratch_stage_aliases_and_digests() -> None:
    doc = parse_dockerfile(b"FROM golang:1.22 AS b\nFROM b\nFROM scratch\nFROM alpine@sha256:abc\n")
    assert list(DS["DS-0001"].run(doc)) == []
    doc = parse_dockerfile(b"ARG TAG=latest\nFROM alpine:${TAG}\n")
    [f] = DS["DS-0001"].run(doc)
    assert f.start_line == 2 and "alpine:latest" in f.message


def test_messages_name_stage_and_instruction() -> None:
    doc = parse_dockerfile(b"FROM debian:12 AS base\nRUN apt-get install curl\n")
    [f] = DS["DS-0021"].run(doc)
    assert "stage 0 ('debian:12 AS base')" in f.message and f.resource.endswith("RUN")
