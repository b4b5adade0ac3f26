"""Reporters: render(report, out). One module per format; FORMATS maps --format values to modules."""

from __future__ import annotations

import functools
import importlib
from typing import IO, NamedTuple, Protocol

from vigil.findings.records import Report

FORMATS = {
    "table": "vigil.reporters.table",
    "json": "vigil.reporters.json",
    "sarif": "vigil.reporters.sarif",
    "cyclonedx": "vigil.reporters.cyclonedx",
    "cyclonedx-xml": "vigil.reporters.cyclonedx_xml",
    "spdx-json": "vigil.reporters.spdx_json",
    "spdx": "vigil.reporters.spdx_tv",
    "junit": "vigil.reporters.junit",
    "gitlab": "vigil.reporters.gitlab",
    "gitlab-codequality": "vigil.reporters.gitlab_codequality",
    "github": "vigil.reporters.github",
    "html": "vigil.reporters.html",
    "template": "vigil.reporters.template",
    "cosign-vuln": "vigil.reporters.cosign_vuln",
}

# Formats whose render() takes a third argument, RenderOptions (declared, not probed).
TAKES_OPTIONS = frozenset({"table", "template", "html"})


class RenderOptions(NamedTuple):  # a NamedTuple: defined on every run, for a tenth of a dataclass's cost
    template: str = ""  # Jinja2 source for --format template (the CLI resolves @file)
    show_suppressed: bool = False
    dependency_tree: bool = False  # table: reversed dependency chains of vulnerable packages
    table_mode: tuple[str, ...] = ("summary", "detailed")  # table: which parts (--table-mode)


class Reporter(Protocol):
    def __call__(self, report: Report, out: IO[str]) -> None: ...


def get(fmt: str, opts: RenderOptions | None = None) -> Reporter:
    mod = importlib.import_module(FORMATS[fmt])
    if fmt in TAKES_OPTIONS:
        bound: Reporter = functools.partial(mod.render, opts=opts or RenderOptions())
        return bound
    render: Reporter = mod.render
    return render
