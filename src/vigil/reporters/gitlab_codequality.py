"""GitLab code-quality report (Code Climate subset, like Trivy's contrib/gitlab-codequality.tpl): one issue per
finding with a stable fingerprint (a hash of target, package and ID), severity and a line location."""

from __future__ import annotations

import hashlib
import json
from typing import IO, Any

from vigil.findings.records import Report
from vigil.reporters._common import vuln_line, vuln_title

_SEV = {"CRITICAL": "blocker", "HIGH": "critical", "MEDIUM": "major", "LOW": "minor", "UNKNOWN": "info"}


def _fp(*parts: str) -> str:
    return hashlib.md5("\x00".join(parts).encode(), usedforsecurity=False).hexdigest()


def build(report: Report) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    for res in report.results:
        for v in res.vulnerabilities:
            line = vuln_line(res, v)
            issues.append({
                "type": "issue", "check_name": "container_scanning" if res.class_ == "os-pkgs" else "dependency_scanning",
                "categories": ["Security"],
                "description": f"{v.vulnerability_id}: {v.pkg_name} {v.installed_version}: {vuln_title(v)}",
                "fingerprint": _fp(res.target, v.pkg_id or v.pkg_name, v.installed_version, v.vulnerability_id),
                "severity": _SEV[v.severity],
                "location": {"path": v.pkg_path or res.target, "lines": {"begin": line.start if line else 1}},
            })
        for m in res.misconfigurations:
            if m.status != "FAIL":
                continue
            issues.append({
                "type": "issue", "check_name": m.id, "categories": ["Security"],
                "description": f"{m.id}: {m.message or m.title}",
                "fingerprint": _fp(res.target, m.id, str(m.cause_metadata.start_line), m.message),
                "severity": _SEV[m.severity],
                "location": {"path": res.target, "lines": {"begin": max(m.cause_metadata.start_line, 1)}},
            })
        for s in res.secrets:
            issues.append({
                "type": "issue", "check_name": s.rule_id, "categories": ["Security"],
                "description": f"{s.rule_id}: {s.title}",
                "fingerprint": _fp(res.target, s.rule_id, str(s.start_line)),
                "severity": _SEV[s.severity],
                "location": {"path": res.target, "lines": {"begin": max(s.start_line, 1)}},
            })
    return issues


def render(report: Report, out: IO[str]) -> None:
    json.dump(build(report), out, indent=2, ensure_ascii=False)
    out.write("\n")
