"""GitHub dependency-submission snapshot (Trivy's `--format github`): one manifest per target with every package
by purl, `direct`/`indirect` relationship and dependencies (as purls). Like Trivy, `sha`, `ref` and `job` come
from the GitHub Actions environment (GITHUB_SHA, GITHUB_REF, GITHUB_WORKFLOW, GITHUB_JOB, GITHUB_RUN_ID) when
rendering; `build()` takes them explicitly so tests are reproducible."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import IO, Any

from vigil.findings.records import Report
from vigil.reporters._common import INFO_URI, TOOL_NAME, created_iso, result_packages


def build(report: Report, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = {} if env is None else env
    manifests: dict[str, Any] = {}
    for res in report.results:
        if res.error or res.class_ not in ("lang-pkgs", "os-pkgs"):
            continue
        pkgs = result_packages(res)
        purl_of = {(p.id or f"{p.name}@{p.full_version}"): p.purl for p in pkgs}
        resolved: dict[str, Any] = {}
        for p in pkgs:
            if not p.purl:
                continue
            entry: dict[str, Any] = {"package_url": p.purl,
                                     "relationship": "direct" if p.relationship in ("direct", "root") else "indirect",
                                     "scope": "development" if p.dev else "runtime"}
            deps = sorted({purl_of[d] for d in p.depends_on if purl_of.get(d)})
            if deps:
                entry["dependencies"] = deps
            resolved[p.id or f"{p.name}@{p.full_version}"] = entry
        manifests[res.target] = {"name": res.type or res.target, "file": {"source_location": res.target},
                                 "resolved": resolved}
    return {
        "version": 0,
        "sha": env.get("GITHUB_SHA", ""),
        "ref": env.get("GITHUB_REF", ""),
        "detector": {"name": TOOL_NAME.lower(), "version": report.vigil_version or "0.0.0", "url": INFO_URI},
        "metadata": {"vigil:artifact": report.artifact_name},
        "scanned": created_iso(report),
        "job": {"correlator": f"{env.get('GITHUB_WORKFLOW', 'vigil')}_{env.get('GITHUB_JOB', report.artifact_type)}",
                "id": env.get("GITHUB_RUN_ID", "0")},
        "manifests": manifests,
    }


def render(report: Report, out: IO[str]) -> None:
    json.dump(build(report, os.environ), out, indent=2, ensure_ascii=False)
    out.write("\n")
