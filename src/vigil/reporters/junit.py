"""JUnit XML (Trivy's contrib/junit.tpl): one <testsuite> per target, one failing <testcase> per finding, so CI
systems that read test reports (GitLab, Jenkins, Azure) show findings as failed tests.

Characters XML 1.0 cannot carry (control characters in a file name) are written as escapes (`\x1b`,
reporters._common.xml_safe) so the document stays well-formed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import IO

from vigil.findings.records import Report
from vigil.reporters._common import created_iso, map_strings, vuln_title, xml_safe


def render(report: Report, out: IO[str]) -> None:
    report = map_strings(report, xml_safe)
    suites = ET.Element("testsuites", name="vigil")
    total = 0
    for res in report.results:
        cases: list[tuple[str, str, str, str]] = []  # classname, name, message, body
        for v in res.vulnerabilities:
            cases.append((f"{v.pkg_name}-{v.installed_version}", f"[{v.severity}] {v.vulnerability_id}",
                          vuln_title(v),
                          f"{v.vulnerability_id} in {v.pkg_name} {v.installed_version}"
                          f" (fixed in: {v.fixed_version or 'none'})\n{v.primary_url}".strip()))
        for m in res.misconfigurations:
            if m.status == "FAIL":
                cases.append((res.target, f"[{m.severity}] {m.id}", m.title, m.message or m.description))
        for s in res.secrets:
            cases.append((res.target, f"[{s.severity}] {s.rule_id}", s.title,
                          f"lines {s.start_line}-{s.end_line}: {s.match}"))
        for lic in res.licenses:
            cases.append((lic.pkg_name or res.target, f"[{lic.severity}] {lic.name}", lic.category, lic.file_path))
        suite = ET.SubElement(suites, "testsuite", name=f"{res.target} ({res.type})" if res.type else res.target,
                              tests=str(max(len(cases), 1)), failures=str(len(cases)),
                              errors="1" if res.error else "0", skipped="0", time="0",
                              timestamp=created_iso(report))
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="type", value=res.type)
        ET.SubElement(props, "property", name="class", value=res.class_)
        if res.error:
            tc = ET.SubElement(suite, "testcase", classname=res.target, name="parse", time="0")
            ET.SubElement(tc, "error", message=res.error)
        elif not cases:
            ET.SubElement(suite, "testcase", classname=res.target, name="no findings", time="0")
        for classname, name, message, body in cases:
            tc = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
            f = ET.SubElement(tc, "failure", message=message, type="description")
            f.text = body
        total += len(cases)
    suites.set("tests", str(sum(int(s.get("tests", "0")) for s in suites)))
    suites.set("failures", str(total))
    ET.indent(suites)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(suites, encoding="unicode"))
    out.write("\n")
