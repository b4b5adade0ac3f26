"""Report custom resources shaped like Trivy Operator's (group aquasecurity.github.io, version v1alpha1, the data
in a top-level `report:`), so `kubectl get vulnerabilityreports -o wide` and tools that read them keep working.

One VulnerabilityReport and one ExposedSecretReport per (workload, container), named `<kind>-<workload>-<container>`
as Trivy Operator names them (a hash when that is not a valid label value), owned by the workload (garbage
collected with it), labelled with `trivy-operator.resource.*` and `trivy-operator.container.name`.

Small by default: the summary counts every finding, but the CR keeps only the `report_max_findings` most severe ones
(sorted by severity, then ID) and links the full report in the store (`report.fullReport`). With
`embed_full_reports` every finding is kept, up to `report_max_bytes` of JSON; beyond that the list is cut and
`report.truncated` says how many were left out. Either way the object stays well under etcd's 1.5 MiB limit.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from vigil.operator.config import OperatorConfig

GROUP = "aquasecurity.github.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
SCANNER = {"name": "Vigil", "vendor": "Vigil", "version": ""}
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_KIND = "trivy-operator.resource.kind"
LABEL_NAME = "trivy-operator.resource.name"
LABEL_NAMESPACE = "trivy-operator.resource.namespace"
LABEL_CONTAINER = "trivy-operator.container.name"
LABEL_SPEC_HASH = "resource-spec-hash"
LABEL_MANAGED = "app.kubernetes.io/managed-by"
ANN_DIGEST = "vigil.dev/image-digest"


def report_name(kind: str, workload: str, container: str = "") -> str:
    """`<kind>-<workload>[-<container>]`, or `<kind>-<hash>` when that is not a DNS label of ≤ 63 characters."""
    base = f"{kind.lower()}-{workload}" + (f"-{container}" if container else "")
    if len(base) <= 63 and _DNS_LABEL.match(base):
        return base
    return f"{kind.lower()}-{hashlib.sha256(base.encode()).hexdigest()[:16]}"


def _labels(kind: str, namespace: str, name: str, container: str, spec_hash: str) -> tuple[dict[str, str],
                                                                                          dict[str, str]]:
    labels = {LABEL_KIND: kind, LABEL_NAMESPACE: namespace, LABEL_MANAGED: "vigil-operator"}
    annotations: dict[str, str] = {}
    if len(name) <= 63 and _LABEL_VALUE.match(name):
        labels[LABEL_NAME] = name
    else:  # as Trivy Operator does: a hash label, the name in an annotation
        labels["trivy-operator.resource.name-hash"] = hashlib.sha256(name.encode()).hexdigest()[:16]
        annotations[LABEL_NAME] = name
    if container:
        labels[LABEL_CONTAINER] = container
    if spec_hash:
        labels[LABEL_SPEC_HASH] = spec_hash
    return labels, annotations


def _meta(kind: str, cr_kind: str, owner: dict[str, str], container: str, spec_hash: str) -> dict[str, Any]:
    labels, annotations = _labels(owner["kind"], owner["namespace"], owner["name"], container, spec_hash)
    meta: dict[str, Any] = {"name": report_name(owner["kind"], owner["name"], container),
                            "namespace": owner["namespace"], "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    if owner.get("uid"):
        # blockOwnerDeletion false: no finalizers permission needed on the workload (as Trivy Operator)
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["name"],
                                    "uid": owner["uid"], "controller": True, "blockOwnerDeletion": False}]
    return meta


def split_ref(ref: str) -> tuple[str, str, str]:
    """(registry, repository, tag) of a reference; docker.io when the first part is not a host."""
    name = ref.split("@", 1)[0]
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "index.docker.io", name if sep else f"library/{name}"
    slash, colon = path.rfind("/"), path.rfind(":")
    if colon > slash:
        return registry, path[:colon], path[colon + 1:]
    return registry, path, ""


def _bounded(items: list[dict[str, Any]], cfg: OperatorConfig) -> tuple[list[dict[str, Any]], int]:
    """The findings kept in the CR and how many were left out."""
    items.sort(key=lambda f: (_RANK.get(str(f.get("severity")), 9), str(f.get("vulnerabilityID") or
                                                                        f.get("ruleID") or f.get("checkID") or "")))
    keep = items if cfg.embed_full_reports else items[:cfg.report_max_findings]
    budget = cfg.report_max_bytes - 16 * 1024  # room for the header, labels and summary
    size, out = 0, []
    for f in keep:
        size += len(json.dumps(f)) + 2  # as encoded with spaces: an upper bound of any encoding
        if size > budget:
            break
        out.append(f)
    return out, len(items) - len(out)


def _summary(items: list[dict[str, Any]], unknown: bool = True) -> dict[str, int]:
    counts = {s: 0 for s in SEVERITIES}
    for f in items:
        counts[str(f.get("severity", "UNKNOWN")) if f.get("severity") in counts else "UNKNOWN"] += 1
    out = {"criticalCount": counts["CRITICAL"], "highCount": counts["HIGH"], "mediumCount": counts["MEDIUM"],
           "lowCount": counts["LOW"]}
    if unknown:
        out["unknownCount"] = counts["UNKNOWN"]
        out["noneCount"] = 0
    return out


def vulnerability_report(cfg: OperatorConfig, report: dict[str, Any], *, owner: dict[str, str], container: str,
                         ref: str, digest: str, full_report_url: str, spec_hash: str = "",
                         now: str) -> dict[str, Any]:
    vulns: list[dict[str, Any]] = []
    for res in report.get("Results") or ():
        for v in res.get("Vulnerabilities") or ():
            item = {"vulnerabilityID": v.get("VulnerabilityID", ""), "resource": v.get("PkgName", ""),
                    "installedVersion": v.get("InstalledVersion", ""), "fixedVersion": v.get("FixedVersion", ""),
                    "publishedDate": v.get("PublishedDate", ""), "lastModifiedDate": v.get("LastModifiedDate", ""),
                    "severity": v.get("Severity", "UNKNOWN"), "title": v.get("Title", ""),
                    "primaryLink": v.get("PrimaryURL", ""), "links": [], "target": res.get("Target", ""),
                    "packagePURL": v.get("PURL", "")}
            vulns.append(item)
    kept, left_out = _bounded(list(vulns), cfg)
    registry, repository, tag = split_ref(ref)
    os_info = (report.get("Metadata") or {}).get("OS") or {}
    body: dict[str, Any] = {
        "updateTimestamp": now, "scanner": SCANNER, "registry": {"server": registry},
        "artifact": {"repository": repository, "digest": digest, "tag": tag},
        "os": {"family": os_info.get("Family", ""), "name": os_info.get("Name", "")},
        "summary": _summary(vulns), "vulnerabilities": kept, "fullReport": full_report_url}
    if left_out:
        body["truncated"] = {"omitted": left_out, "reason": "kept the most severe findings; every finding is in "
                                                            "the full report"}
    meta = _meta(owner["kind"], "VulnerabilityReport", owner, container, spec_hash)
    meta.setdefault("annotations", {})[ANN_DIGEST] = digest
    return {"apiVersion": API_VERSION, "kind": "VulnerabilityReport", "metadata": meta, "report": body}


def exposed_secret_report(cfg: OperatorConfig, report: dict[str, Any], *, owner: dict[str, str], container: str,
                          ref: str, digest: str, full_report_url: str, spec_hash: str = "",
                          now: str) -> dict[str, Any]:
    secrets: list[dict[str, Any]] = []
    for res in report.get("Results") or ():
        for s in res.get("Secrets") or ():
            # never the matched text itself in etcd: the store holds the (redacted) match
            secrets.append({"target": res.get("Target", ""), "ruleID": s.get("RuleID", ""),
                            "title": s.get("Title", ""), "category": s.get("Category", ""),
                            "severity": s.get("Severity", "UNKNOWN"), "match": ""})
    kept, left_out = _bounded(list(secrets), cfg)
    registry, repository, tag = split_ref(ref)
    body: dict[str, Any] = {
        "updateTimestamp": now, "scanner": SCANNER, "registry": {"server": registry},
        "artifact": {"repository": repository, "digest": digest, "tag": tag},
        "summary": _summary(secrets, unknown=False), "secrets": kept, "fullReport": full_report_url}
    if left_out:
        body["truncated"] = {"omitted": left_out, "reason": "kept the most severe findings"}
    meta = _meta(owner["kind"], "ExposedSecretReport", owner, container, spec_hash)
    meta.setdefault("annotations", {})[ANN_DIGEST] = digest
    return {"apiVersion": API_VERSION, "kind": "ExposedSecretReport", "metadata": meta, "report": body}


def failure_report(*, owner: dict[str, str], container: str, ref: str, digest: str, reason: str, attempts: int,
                   now: str) -> dict[str, Any]:
    """The VulnerabilityReport a container gets when its image could not be scanned after every retry: empty
    counts and a `report.error` saying why (Trivy Operator leaves no report at all)."""
    registry, repository, tag = split_ref(ref)
    meta = _meta(owner["kind"], "VulnerabilityReport", owner, container, "")
    meta.setdefault("annotations", {})[ANN_DIGEST] = digest
    return {"apiVersion": API_VERSION, "kind": "VulnerabilityReport", "metadata": meta, "report": {
        "updateTimestamp": now, "scanner": SCANNER, "registry": {"server": registry},
        "artifact": {"repository": repository, "digest": digest, "tag": tag},
        "summary": _summary([]), "vulnerabilities": [],
        "error": {"reason": reason, "attempts": attempts,
                  "message": f"the scan of {ref} failed {attempts} times ({reason})"}}}


def _check(m: dict[str, Any]) -> dict[str, Any]:
    return {"checkID": m.get("ID", ""), "title": m.get("Title", ""), "description": m.get("Description", ""),
            "severity": m.get("Severity", "UNKNOWN"), "category": "Kubernetes Security Check",
            "messages": [m["Message"]] if m.get("Message") else [], "remediation": m.get("Resolution", ""),
            "success": m.get("Status") == "PASS"}


def audit_report(cfg: OperatorConfig, cr_kind: str, misconfigurations: list[dict[str, Any]], *,
                 owner: dict[str, str], spec_hash: str, now: str) -> dict[str, Any]:
    """A ConfigAuditReport, RbacAssessmentReport or ClusterRbacAssessmentReport of one object: its failed checks
    (as Trivy Operator records by default), bounded like the image reports."""
    failed = [_check(m) for m in misconfigurations if m.get("Status") == "FAIL"]
    kept, left_out = _bounded(list(failed), cfg)
    body: dict[str, Any] = {"scanner": SCANNER, "summary": _summary(failed, unknown=False), "checks": kept}
    if cr_kind == "ConfigAuditReport":
        body["updateTimestamp"] = now
    if left_out:
        body["truncated"] = {"omitted": left_out, "reason": "kept the most severe findings"}
    meta = _meta(owner["kind"], cr_kind, owner, "", spec_hash)
    if cr_kind == "ClusterRbacAssessmentReport":
        meta.pop("namespace", None)
    return {"apiVersion": API_VERSION, "kind": cr_kind, "metadata": meta, "report": body}


def _component(p: dict[str, Any], target: str) -> dict[str, Any]:
    ref = str(p.get("PURL") or p.get("ID") or f"{p.get('Name', '')}@{p.get('Version', '')}")
    c: dict[str, Any] = {"bom-ref": ref, "type": "library", "name": p.get("Name", ""),
                         "version": _pkg_version(p)}
    if p.get("PURL"):
        c["purl"] = p["PURL"]
    if p.get("Licenses"):
        c["licenses"] = [{"license": {"name": str(x)}} for x in p["Licenses"]]
    c["properties"] = [{"name": "vigil:Target", "value": target}]
    return c


def _pkg_version(p: dict[str, Any]) -> str:
    v = str(p.get("Version", ""))
    if p.get("Release"):
        v = f"{v}-{p['Release']}"
    if p.get("Epoch"):
        v = f"{p['Epoch']}:{v}"
    return v


def sbom_report(cfg: OperatorConfig, report: dict[str, Any], *, owner: dict[str, str], container: str, ref: str,
                digest: str, full_report_url: str, now: str) -> dict[str, Any]:
    """An SbomReport: the image's components as an embedded CycloneDX BOM (Trivy Operator's shape). The summary
    counts every component; the BOM keeps the first `report_max_components` (by name) unless `embed_full_reports`,
    within the byte budget; the full list is the store's report (`report.fullReport`)."""
    comps: list[dict[str, Any]] = []
    deps: list[dict[str, Any]] = []
    ids: dict[str, str] = {}
    for res in report.get("Results") or ():
        if res.get("Class") not in ("os-pkgs", "lang-pkgs"):
            continue
        for p in res.get("Packages") or ():
            c = _component(p, str(res.get("Target", "")))
            comps.append(c)
            if p.get("ID"):
                ids[str(p["ID"])] = c["bom-ref"]
    for res in report.get("Results") or ():
        for p in res.get("Packages") or ():
            if p.get("DependsOn") and p.get("ID") in ids:
                deps.append({"ref": ids[p["ID"]], "dependsOn": [ids.get(d, d) for d in p["DependsOn"]]})
    comps.sort(key=lambda c: (str(c["name"]), str(c["version"])))
    limit = len(comps) if cfg.embed_full_reports else cfg.report_max_components
    budget = cfg.report_max_bytes - 16 * 1024
    kept: list[dict[str, Any]] = []
    size = 0
    for c in comps[:limit]:
        size += len(json.dumps(c)) + 2
        if size > budget:
            break
        kept.append(c)
    kept_refs = {c["bom-ref"] for c in kept}
    kept_deps = [d for d in deps if d["ref"] in kept_refs]
    dep_size = sum(len(json.dumps(d)) + 2 for d in kept_deps)
    if size + dep_size > budget:
        kept_deps = []
    registry, repository, tag = split_ref(ref)
    os_info = (report.get("Metadata") or {}).get("OS") or {}
    meta_component: dict[str, Any] = {"bom-ref": ref, "type": "container", "name": f"{registry}/{repository}",
                                      "version": digest}
    bom: dict[str, Any] = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                           "metadata": {"timestamp": now, "component": meta_component},
                           "components": kept, "dependencies": kept_deps}
    if os_info.get("Family"):
        bom["metadata"]["component"]["properties"] = [
            {"name": "vigil:OS", "value": f"{os_info.get('Family')} {os_info.get('Name', '')}".strip()}]
    body: dict[str, Any] = {
        "updateTimestamp": now, "scanner": SCANNER, "registry": {"server": registry},
        "artifact": {"repository": repository, "digest": digest, "tag": tag},
        "summary": {"componentsCount": len(comps), "dependenciesCount": len(deps)},
        "components": bom, "fullReport": full_report_url}
    if len(kept) < len(comps) or len(kept_deps) < len(deps):
        body["truncated"] = {"omitted": len(comps) - len(kept),
                             "reason": "kept the first components by name; every component is in the full report"}
    meta = _meta(owner["kind"], "SbomReport", owner, container, "")
    meta.setdefault("annotations", {})[ANN_DIGEST] = digest
    return {"apiVersion": API_VERSION, "kind": "SbomReport", "metadata": meta, "report": body}
