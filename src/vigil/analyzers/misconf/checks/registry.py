"""Explicit registry of built-in check modules. Each module exposes CHECKS: tuple[Check, ...].
A test checks that every module in this package is listed here and that every check has a passing and a failing
fixture."""

from __future__ import annotations

import importlib
from functools import cache

from vigil.analyzers.misconf.checks.base import Check

# Dockerfile checks (DS-0001 … DS-0031) and compose checks — one module per check or per family.
DOCKERFILE_CHECK_MODULES: tuple[str, ...] = (
    "vigil.analyzers.misconf.checks.dockerfile_image",
    "vigil.analyzers.misconf.checks.dockerfile_instructions",
    "vigil.analyzers.misconf.checks.dockerfile_run",
    "vigil.analyzers.misconf.checks.dockerfile_secrets",
)
COMPOSE_CHECK_MODULES: tuple[str, ...] = ("vigil.analyzers.misconf.checks.compose",)
# Kubernetes checks (KSV-0001 … KSV-0125, RBAC included).
KUBERNETES_CHECK_MODULES: tuple[str, ...] = (
    "vigil.analyzers.misconf.checks.ksv_pod_security",
    "vigil.analyzers.misconf.checks.ksv_capabilities",
    "vigil.analyzers.misconf.checks.ksv_host",
    "vigil.analyzers.misconf.checks.ksv_resources",
    "vigil.analyzers.misconf.checks.ksv_images",
    "vigil.analyzers.misconf.checks.ksv_general",
    "vigil.analyzers.misconf.checks.ksv_rbac",
)


@cache
def all_checks() -> tuple[Check, ...]:
    out: list[Check] = []
    for mod in (*DOCKERFILE_CHECK_MODULES, *COMPOSE_CHECK_MODULES, *KUBERNETES_CHECK_MODULES):
        out.extend(importlib.import_module(mod).CHECKS)
    ids = [c.meta.id for c in out]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise RuntimeError(f"duplicate check IDs: {sorted(dupes)}")
    return tuple(out)


def checks_for(input_type: str) -> tuple[Check, ...]:
    return tuple(c for c in all_checks() if c.meta.input_type == input_type)
