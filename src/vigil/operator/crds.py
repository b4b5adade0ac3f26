"""The CustomResourceDefinitions of the report kinds, shaped like Trivy Operator's (group aquasecurity.github.io,
v1alpha1, the data in a top-level `report`, the same printer columns and short names), so `kubectl get vulns -o
wide` reads the same and tools written for Trivy Operator's reports read ours. The schemas name the fields the
operator writes and keep unknown ones (as Trivy Operator's do), so a newer operator can add fields.

`tools/gen_crds.py` writes them to deploy/crds/; a test checks the committed files are current."""

from __future__ import annotations

from typing import Any

from vigil.operator.reports import GROUP, VERSION

_INT = {"type": "integer", "minimum": 0}
_STR = {"type": "string"}
_SCANNER = {"type": "object", "properties": {"name": _STR, "vendor": _STR, "version": _STR}}
_ARTIFACT = {"type": "object", "properties": {"repository": _STR, "digest": _STR, "tag": _STR, "mimeType": _STR}}
_SEVERITY = {"type": "string", "enum": ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]}
_TRUNCATED = {"type": "object", "description": "present when findings were left out of this object",
              "properties": {"omitted": _INT, "reason": _STR}}
_ERROR = {"type": "object", "description": "present when the image could not be scanned",
          "properties": {"reason": _STR, "message": _STR, "attempts": _INT}}
_FULL = {"type": "string", "description": "URL of the full report in the vigil server's report store"}


def _summary(*keys: str) -> dict[str, Any]:
    return {"type": "object", "properties": {k: _INT for k in keys}}


_COUNTS4 = ("criticalCount", "highCount", "mediumCount", "lowCount")
_CHECK = {"type": "object", "properties": {
    "checkID": _STR, "title": _STR, "description": _STR, "severity": _SEVERITY, "category": _STR,
    "messages": {"type": "array", "items": _STR}, "remediation": _STR, "success": {"type": "boolean"},
    "scope": {"type": "object", "properties": {"type": _STR, "value": _STR}}}}

_REPORTS: dict[str, dict[str, Any]] = {
    "VulnerabilityReport": {
        "shortNames": ["vuln", "vulns"], "image": True, "counts": (*_COUNTS4, "unknownCount"),
        "report": {"updateTimestamp": {"type": "string", "format": "date-time"}, "scanner": _SCANNER,
                   "registry": {"type": "object", "properties": {"server": _STR}}, "artifact": _ARTIFACT,
                   "os": {"type": "object", "properties": {"family": _STR, "name": _STR, "eosl": {"type": "boolean"}}},
                   "summary": _summary(*_COUNTS4, "unknownCount", "noneCount"),
                   "vulnerabilities": {"type": "array", "items": {"type": "object", "properties": {
                       "vulnerabilityID": _STR, "resource": _STR, "installedVersion": _STR, "fixedVersion": _STR,
                       "publishedDate": _STR, "lastModifiedDate": _STR, "severity": _SEVERITY, "title": _STR,
                       "primaryLink": _STR, "links": {"type": "array", "items": _STR}, "target": _STR,
                       "packagePURL": _STR, "score": {"type": "number"}}}},
                   "fullReport": _FULL, "truncated": _TRUNCATED, "error": _ERROR}},
    "ExposedSecretReport": {
        "shortNames": ["exposedsecret", "exposedsecrets"], "image": True, "counts": _COUNTS4,
        "report": {"updateTimestamp": {"type": "string", "format": "date-time"}, "scanner": _SCANNER,
                   "registry": {"type": "object", "properties": {"server": _STR}}, "artifact": _ARTIFACT,
                   "summary": _summary(*_COUNTS4),
                   "secrets": {"type": "array", "items": {"type": "object", "properties": {
                       "target": _STR, "ruleID": _STR, "title": _STR, "category": _STR, "severity": _SEVERITY,
                       "match": _STR}}},
                   "fullReport": _FULL, "truncated": _TRUNCATED}},
    "ConfigAuditReport": {
        "shortNames": ["configaudit", "configaudits"], "image": False, "counts": _COUNTS4,
        "report": {"updateTimestamp": {"type": "string", "format": "date-time"}, "scanner": _SCANNER,
                   "summary": _summary(*_COUNTS4), "checks": {"type": "array", "items": _CHECK},
                   "truncated": _TRUNCATED}},
    "RbacAssessmentReport": {
        "shortNames": ["rbacassessment", "rbacassessments"], "image": False, "counts": _COUNTS4,
        "report": {"scanner": _SCANNER, "summary": _summary(*_COUNTS4), "checks": {"type": "array", "items": _CHECK},
                   "truncated": _TRUNCATED}},
    "ClusterRbacAssessmentReport": {
        "shortNames": ["clusterrbacassessmentreport"], "image": False, "counts": _COUNTS4, "cluster": True,
        "report": {"scanner": _SCANNER, "summary": _summary(*_COUNTS4), "checks": {"type": "array", "items": _CHECK},
                   "truncated": _TRUNCATED}},
    "SbomReport": {
        "shortNames": ["sbom", "sboms"], "image": True, "counts": (), "sbom": True,
        "report": {"updateTimestamp": {"type": "string", "format": "date-time"}, "scanner": _SCANNER,
                   "registry": {"type": "object", "properties": {"server": _STR}}, "artifact": _ARTIFACT,
                   "summary": _summary("componentsCount", "dependenciesCount"),
                   "components": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                   "fullReport": _FULL, "truncated": _TRUNCATED}},
}


def _columns(spec: dict[str, Any]) -> list[dict[str, Any]]:
    cols: list[dict[str, Any]] = []
    if spec["image"]:
        cols += [{"name": "Repository", "type": "string", "jsonPath": ".report.artifact.repository"},
                 {"name": "Tag", "type": "string", "jsonPath": ".report.artifact.tag"}]
    cols += [{"name": "Scanner", "type": "string", "jsonPath": ".report.scanner.name"},
             {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    for key in spec["counts"]:
        cols.append({"name": key.removesuffix("Count").capitalize(), "type": "integer", "priority": 1,
                     "jsonPath": f".report.summary.{key}"})
    if spec.get("sbom"):
        cols += [{"name": "Components", "type": "integer", "priority": 1,
                  "jsonPath": ".report.summary.componentsCount"},
                 {"name": "Dependencies", "type": "integer", "priority": 1,
                  "jsonPath": ".report.summary.dependenciesCount"}]
    return cols


def crd(kind: str) -> dict[str, Any]:
    spec = _REPORTS[kind]
    plural = kind.lower() + "s"
    report = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": spec["report"]}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}", "labels": {"app.kubernetes.io/managed-by": "vigil"}},
        "spec": {
            "group": GROUP, "scope": "Cluster" if spec.get("cluster") else "Namespaced",
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower(),
                      "shortNames": spec["shortNames"]},
            "versions": [{"name": VERSION, "served": True, "storage": True,
                          "additionalPrinterColumns": _columns(spec),
                          "schema": {"openAPIV3Schema": {
                              "type": "object", "required": ["report"],
                              "x-kubernetes-preserve-unknown-fields": True,
                              "properties": {"apiVersion": _STR, "kind": _STR, "metadata": {"type": "object"},
                                             "report": report}}}}]}}


KINDS = tuple(_REPORTS)
