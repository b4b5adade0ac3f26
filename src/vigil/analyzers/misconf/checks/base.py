"""The check protocol shared by every built-in check (Python) and by custom Rego checks.

A check is metadata plus a pure function from one parsed input document to the failures it finds:

    CHECK = Check(
        meta=CheckMeta(id="DS-0002", aliases=("DS002", "AVD-DS-0002"), title="...", severity="HIGH",
                       input_type="dockerfile", description="...", resolution="...", references=(...)),
        run=lambda doc: [...Failure(...)],
    )

IDs and aliases are permanent: ignore files depend on them. `doc` is the parser's
document type for `input_type` (see the parser module of that type). A check that passes returns no failures;
the engine records it as PASS (counted in MisconfSummary.successes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

InputType = Literal["dockerfile", "kubernetes", "compose", "helm", "yaml", "json"]


@dataclass(frozen=True)
class CheckMeta:
    id: str  # "DS-0002", "KSV-0014", "VCOMP-0001" (compose: our own family)
    title: str
    severity: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    input_type: InputType
    aliases: tuple[str, ...] = ()  # e.g. ("DS002", "AVD-DS-0002")
    description: str = ""
    resolution: str = ""
    references: tuple[str, ...] = ()
    namespace: str = ""  # Rego-style package path, e.g. "builtin.dockerfile.DS002"
    deprecated: bool = False  # like Trivy, deprecated checks run only with --include-deprecated-checks

    def all_ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


@dataclass(frozen=True)
class Failure:
    message: str
    start_line: int = 0
    end_line: int = 0
    resource: str = ""  # e.g. "Deployment/my-deployment" or "Dockerfile stage 2"
    file_path: str = ""  # set when the cause lives in another file than the scanned one (Helm templates)


@dataclass(frozen=True)
class Check:
    meta: CheckMeta
    run: Callable[[Any], Iterable[Failure]]
