"""GitLab dependency-scanning report (schema 15.x, like Trivy's contrib/gitlab.tpl): one vulnerability per
finding with identifiers, location (file + dependency) and solution; IDs are derived from the finding so the
same report renders identically."""

from __future__ import annotations

import json
from typing import IO, Any

from vigil.findings.records import Report
from vigil.reporters._common import INFO_URI, TOOL_NAME, created, report_uuid, vuln_title

SCHEMA_VERSION = "15.0.7"
_SEV = {"CRITICAL": "Critical", "HIGH": "High", "MEDIUM": "Medium", "LOW": "Low", "UNKNOWN": "Unknown"}


def _identifier(vid: str) -> dict[str, str]:
    if vid.startswith("CVE-"):
        return {"type": "cve", "name": vid, "value": vid, "url": f"https://nvd.nist.gov/vuln/detail/{vid}"}
    if vid.startswith("GHSA-"):
        return {"type": "ghsa", "name": vid, "value": vid, "url": f"https://github.com/advisories/{vid}"}
    return {"type": vid.split("-", 1)[0].lower() or "vigil", "name": vid, "value": vid}


def build(report: Report) -> dict[str, Any]:
    when = created(report).strftime("%Y-%m-%dT%H:%M:%S")
    vulns: list[dict[str, Any]] = []
    files: dict[str, dict[str, Any]] = {}
    for res in report.results:
        for v in res.vulnerabilities:
            item: dict[str, Any] = {
                "id": str(report_uuid(report, f"{res.target}\x00{v.pkg_id or v.pkg_name}\x00{v.vulnerability_id}")),
                "name": vuln_title(v)[:255],
                "description": v.description or v.title or v.vulnerability_id,
                "severity": _SEV[v.severity],
                "solution": f"Upgrade {v.pkg_name} to {v.fixed_version}" if v.fixed_version else "No solution provided",
                "identifiers": [_identifier(i) for i in (v.vulnerability_id, *v.aliases)],
                "links": [{"url": u} for u in sorted(set(v.references))[:20] if u.startswith("http")],
                "location": {"file": v.pkg_path or res.target,
                             "dependency": {"package": {"name": v.pkg_name}, "version": v.installed_version}},
            }
            vulns.append(item)
        if res.packages or res.vulnerabilities:
            f = files.setdefault(res.target, {"path": res.target, "package_manager": res.type or "unknown",
                                              "dependencies": []})
            for p in res.packages:
                f["dependencies"].append({"package": {"name": p.name}, "version": p.full_version})
    analyzer = {"id": "vigil", "name": TOOL_NAME, "url": INFO_URI, "vendor": {"name": TOOL_NAME},
                "version": report.vigil_version or "0.0.0"}
    return {
        "version": SCHEMA_VERSION,
        "scan": {"analyzer": analyzer, "scanner": analyzer, "type": "dependency_scanning",
                 "start_time": when, "end_time": when, "status": "success"},
        "vulnerabilities": vulns,
        "dependency_files": list(files.values()),
        "remediations": [],
    }


def render(report: Report, out: IO[str]) -> None:
    json.dump(build(report), out, indent=2, ensure_ascii=False)
    out.write("\n")
