"""SARIF 2.1.0 (like Trivy's pkg/report/sarif.go): one run "Vigil"; one rule per vulnerability, check or secret
ID with properties tags, precision and `security-severity` (the CVSS score, else 9.5/8.0/5.5/2.0/0.0 by severity,
as GitHub code scanning ranks alerts by it); results with locations relative to %SRCROOT% and line regions
(the package's line in its lockfile; the misconfiguration's or secret's line range)."""

from __future__ import annotations

import json
from typing import IO, Any

from vigil.findings.records import Report, Severity
from vigil.reporters._common import (
    INFO_URI,
    SEVERITY_SCORE,
    TOOL_NAME,
    first_line,
    security_severity,
    vuln_line,
    vuln_title,
)

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVEL: dict[str, str] = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "note",
                          "UNKNOWN": "note"}


def _region(start: int, end: int) -> dict[str, int]:
    start = max(start, 1)
    return {"startLine": start, "endLine": max(end, start), "startColumn": 1, "endColumn": 1}


def _location(uri: str, start: int = 0, end: int = 0) -> dict[str, Any]:
    phys: dict[str, Any] = {"artifactLocation": {"uri": uri or ".", "uriBaseId": "ROOTPATH"}}
    phys["region"] = _region(start or 1, end or start or 1)
    return {"physicalLocation": phys, "message": {"text": uri or "."}}


class _Rules:
    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}

    def add(self, rule_id: str, name: str, short: str, full: str, help_uri: str, severity: Severity,
            score: float, kind: str) -> int:
        if rule_id in self.index:
            return self.index[rule_id]
        rule: dict[str, Any] = {
            "id": rule_id,
            "name": name,
            "shortDescription": {"text": short or rule_id},
            "fullDescription": {"text": full or short or rule_id},
            "defaultConfiguration": {"level": _LEVEL[severity]},
            "help": {"text": f"{kind}: {rule_id}\nSeverity: {severity}\n{full or short}".strip(),
                     "markdown": f"**{kind}: {rule_id}**\n\n| Severity |\n|---|\n| {severity} |\n\n{full or short}"},
            "properties": {
                "tags": [kind, "security", severity],
                "precision": "very-high",
                "security-severity": f"{score:.1f}",
            },
        }
        if help_uri:
            rule["helpUri"] = help_uri
        self.index[rule_id] = len(self.rules)
        self.rules.append(rule)
        return self.index[rule_id]


def build(report: Report) -> dict[str, Any]:
    rules = _Rules()
    results: list[dict[str, Any]] = []
    for res in report.results:
        for v in res.vulnerabilities:
            idx = rules.add(v.vulnerability_id, "LanguageSpecificPackageVulnerability", vuln_title(v),
                            first_line(v.description) or vuln_title(v), v.primary_url, v.severity,
                            security_severity(v), "vulnerability")
            line = vuln_line(res, v)
            fixed = v.fixed_version or "none"
            msg = (f"Package: {v.pkg_name}\nInstalled Version: {v.installed_version}\n"
                   f"Vulnerability {v.vulnerability_id}\nSeverity: {v.severity}\nFixed Version: {fixed}\n"
                   f"Link: [{v.vulnerability_id}]({v.primary_url})")
            results.append({
                "ruleId": v.vulnerability_id,
                "ruleIndex": idx,
                "level": _LEVEL[v.severity],
                "message": {"text": msg},
                "locations": [_location(v.pkg_path or res.target, *((line.start, line.end) if line else (1, 1)))],
            })
        for m in res.misconfigurations:
            if m.status != "FAIL":
                continue
            idx = rules.add(m.id, m.title, m.title, m.description, m.primary_url, m.severity,
                            SEVERITY_SCORE[m.severity], "misconfiguration")
            cm = m.cause_metadata
            results.append({
                "ruleId": m.id,
                "ruleIndex": idx,
                "level": _LEVEL[m.severity],
                "message": {"text": f"Artifact: {res.target}\nType: {m.type}\nVulnerability {m.id}\n"
                                    f"Severity: {m.severity}\nMessage: {m.message or m.title}"},
                "locations": [_location(res.target, cm.start_line, cm.end_line)],
            })
        for s in res.secrets:
            idx = rules.add(s.rule_id, s.title, s.title, s.title, "", s.severity, SEVERITY_SCORE[s.severity],
                            "secret")
            results.append({
                "ruleId": s.rule_id,
                "ruleIndex": idx,
                "level": _LEVEL[s.severity],
                "message": {"text": f"Artifact: {res.target}\nType: {s.category}\nSecret {s.title}\n"
                                    f"Severity: {s.severity}\nMatch: {s.match}"},
                "locations": [_location(res.target, s.start_line, s.end_line)],
            })
        for lic in res.licenses:
            rid = f"license:{lic.name}"
            idx = rules.add(rid, lic.name, lic.name, f"{lic.category} license {lic.name}", lic.link,
                            lic.severity, SEVERITY_SCORE[lic.severity], "license")
            results.append({
                "ruleId": rid,
                "ruleIndex": idx,
                "level": _LEVEL[lic.severity],
                "message": {"text": f"Package: {lic.pkg_name}\nLicense: {lic.name}\nClassification: {lic.category}"},
                "locations": [_location(lic.file_path or res.target)],
            })
    return {
        "version": "2.1.0",
        "$schema": SCHEMA,
        "runs": [{
            "tool": {"driver": {
                "fullName": f"{TOOL_NAME} Vulnerability Scanner",
                "informationUri": INFO_URI,
                "name": TOOL_NAME,
                "rules": rules.rules,
                "version": report.vigil_version or "0.0.0",
            }},
            "results": results,
            "columnKind": "utf16CodeUnits",
            "originalUriBaseIds": {"ROOTPATH": {"uri": "file:///"}},
            "properties": {"artifactName": report.artifact_name, "artifactType": report.artifact_type},
        }],
    }


def render(report: Report, out: IO[str]) -> None:
    json.dump(build(report), out, indent=2, ensure_ascii=False)
    out.write("\n")
