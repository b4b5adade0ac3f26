"""Cluster reports (`vigil k8s`): the summary table, `--report all`, JSON in Trivy's k8s shape, SARIF and a
CycloneDX KBOM.

- summary: one row per resource with findings (Namespace | Resource | Vulnerabilities C/H/M/L/U |
  Misconfigurations C/H/M/L/U | Secrets C/H/M/L/U), as `trivy k8s --report summary` prints it, then the images
  that could not be scanned and the gaps (what the scan could not read), so a partial scan never looks complete.
- all: the summary, then each resource's findings in the `vigil image`/`vigil config` tables.
- json: `{"ClusterName", "Resources": [{"Namespace", "Kind", "Name", "Images", "Results", "Error"}], …}`.
- sarif: one run; every finding's location is the resource ("namespace/Kind/name") and the result target.
- cyclonedx: the KBOM: the cluster (API server version), its nodes (kubelet, runtime, kernel, OS), the control-plane
  components and every image that runs, by digest.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import IO

import msgspec

from vigil.findings.cluster import ClusterReport, ResourceReport
from vigil.findings.records import SEVERITIES, Report
from vigil.reporters._common import printable

_ORDER = tuple(reversed(SEVERITIES))  # CRITICAL first
FORMATS = ("table", "json", "sarif", "cyclonedx")


def _sev_counts(report: ResourceReport) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    vulns: dict[str, int] = {}
    mis: dict[str, int] = {}
    sec: dict[str, int] = {}
    for r in report.results:
        for v in r.vulnerabilities:
            vulns[v.severity] = vulns.get(v.severity, 0) + 1
        for m in r.misconfigurations:
            if m.status == "FAIL":
                mis[m.severity] = mis.get(m.severity, 0) + 1
        for s in r.secrets:
            sec[s.severity] = sec.get(s.severity, 0) + 1
    return vulns, mis, sec


_W = 4  # width of one count inside a group cell


def _group(counts: dict[str, int]) -> str:
    """The five severities of one group in one cell, CRITICAL first, blank for none (Trivy's sub-columns)."""
    return "".join((str(counts[s]) if counts.get(s) else "").rjust(_W) for s in _ORDER)


def _box(header: list[list[str]], rows: list[list[str]], right: set[int]) -> str:
    """A box-drawn table like the other tables (written directly: rich takes seconds for thousands of rows)."""
    n = len(header[0])
    widths = [max(len(r[i]) for r in (*header, *rows)) for i in range(n)]

    def line(cells: list[str]) -> str:
        return "│" + "│".join(" " + (c.rjust(w) if i in right else c.ljust(w)) + " "
                              for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + "│\n"

    rule = [("─" * (w + 2)) for w in widths]
    out = ["┌" + "┬".join(rule) + "┐\n", *(line(h) for h in header), "├" + "┼".join(rule) + "┤\n",
           *(line(r) for r in rows), "└" + "┴".join(rule) + "┘\n"]
    return "".join(out)


def render_summary(report: ClusterReport, out: IO[str], width: int | None = None) -> None:
    out.write(f"Summary Report for {printable(report.cluster_name)}\n")
    if report.server_version:
        out.write(f"Kubernetes {printable(report.server_version)}\n")
    s = report.stats
    done = (f"{s.images_scanned} scanned, {s.images_failed} could not be scanned"
            if s.images_scanned or s.images_failed or not s.distinct_images else
            "not scanned: --scanners has neither vuln nor secret")
    out.write(f"{s.workloads} workloads, {s.containers} containers, {s.distinct_images} distinct images ({done})\n\n")
    letters = "".join(sev[0].rjust(_W) for sev in _ORDER)
    header = [["Namespace", "Resource", "Vulnerabilities", "Misconfigurations", "Secrets"],
              ["", "", letters, letters, letters]]
    rows = []
    for r in report.resources:
        v, m, sc = _sev_counts(r)
        if v or m or sc:
            rows.append([printable(r.namespace), printable(f"{r.kind}/{r.name}"), _group(v), _group(m), _group(sc)])
    out.write("Workload Assessment\n")
    out.write(_box(header, rows, right={2, 3, 4}))
    out.write("Severities: C=CRITICAL H=HIGH M=MEDIUM L=LOW U=UNKNOWN\n")
    failed = [(r, i) for r in report.resources for i in r.images if i.error]
    if failed:
        out.write("\nImages that could not be scanned:\n")
        for r, i in failed:
            out.write(printable(f"  {r.namespace}/{r.kind}/{r.name} {i.container} ({i.pull_ref or i.image}): "
                                f"{i.error}") + "\n")
    if report.gaps:
        out.write("\nNot scanned (the scan is incomplete):\n")
        for g in report.gaps:
            out.write(printable(f"  {g.verb} {g.resource}{' in ' + g.namespace if g.namespace else ''}: "
                                f"{g.reason}") + "\n")


def render_all(report: ClusterReport, out: IO[str], width: int | None = None) -> None:
    from vigil.reporters import table

    render_summary(report, out, width)
    for r in report.resources:
        if not r.findings_count():
            continue  # the summary lists it as clean (or not at all)
        out.write(f"\n{printable(r.namespace + '/' if r.namespace else '')}{printable(r.kind)}/"
                  f"{printable(r.name)}\n")
        for i in r.images:
            extra = " (injected)" if i.injected else ""
            out.write(printable(f"  {i.container}{extra}: {i.image}  {i.digest or '(not running: spec reference)'}")
                      + "\n")
        table.render(Report(artifact_name=f"{r.kind}/{r.name}", artifact_type="filesystem", results=r.results),
                     out, width=width or 160)


def render_json(report: ClusterReport, out: IO[str]) -> None:
    out.write(msgspec.json.format(msgspec.json.encode(report).decode(), indent=2))
    out.write("\n")


def render_sarif(report: ClusterReport, out: IO[str]) -> None:
    from vigil.reporters import sarif

    results = []
    for r in report.resources:
        where = f"{r.namespace}/{r.kind}/{r.name}" if r.namespace else f"{r.kind}/{r.name}"
        for res in r.results:
            results.append(msgspec.structs.replace(res, target=f"{where}: {res.target}"))
    flat = Report(artifact_name=report.cluster_name, artifact_type="filesystem", results=tuple(results))
    json.dump(sarif.build(flat), out, indent=2, ensure_ascii=False)
    out.write("\n")


def _purl_oci(ref: str, digest: str) -> str:
    from urllib.parse import quote

    repo = ref.split("@", 1)[0]
    slash, colon = repo.rfind("/"), repo.rfind(":")
    if colon > slash:
        repo = repo[:colon]
    name = repo.rsplit("/", 1)[-1]
    return f"pkg:oci/{quote(name)}@{quote(digest)}?repository_url={quote(repo, safe='')}"


def build_kbom(report: ClusterReport) -> dict[str, object]:
    """CycloneDX 1.5 KBOM: the cluster as the root (platform), nodes (platform) with their kubelet, runtime and
    OS, control-plane components (application) and the images that run (container, by digest)."""
    root_ref = f"cluster:{report.cluster_name}"
    components: list[dict[str, object]] = []
    deps: dict[str, list[str]] = {root_ref: []}
    for n in report.nodes:
        ref = f"node:{n.name}"
        components.append({"bom-ref": ref, "type": "platform", "name": n.name, "properties": [
            {"name": f"vigil:k8s:node:{k}", "value": v} for k, v in (
                ("kubelet_version", n.kubelet_version), ("kube_proxy_version", n.kube_proxy_version),
                ("container_runtime", n.container_runtime), ("kernel_version", n.kernel_version),
                ("os_image", n.os_image), ("architecture", n.architecture)) if v]})
        for name, version in (("k8s.io/kubelet", n.kubelet_version), ("k8s.io/kube-proxy", n.kube_proxy_version)):
            if version:
                cref = f"{ref}:{name}"
                components.append({"bom-ref": cref, "type": "application", "name": name, "version": version,
                                   "purl": f"pkg:golang/{name}@{version}"})
                deps.setdefault(ref, []).append(cref)
        deps[root_ref].append(ref)
    for c in report.components:
        ref = f"component:{c.name}:{c.image}"
        comp: dict[str, object] = {"bom-ref": ref, "type": "application", "name": c.name, "version": c.version,
                                   "properties": [{"name": "vigil:k8s:image", "value": c.image}]}
        if c.digest:
            comp["hashes"] = [{"alg": "SHA-256", "content": c.digest.removeprefix("sha256:")}]
        components.append(comp)
        deps[root_ref].append(ref)
    images: dict[str, dict[str, object]] = {}
    for r in report.resources:
        for i in r.images:
            key = i.digest or i.pull_ref or i.image
            if key in images:
                continue
            comp = {"bom-ref": f"image:{key}", "type": "container", "name": i.image.split("@", 1)[0],
                    "properties": [{"name": "vigil:k8s:resource", "value": f"{r.namespace}/{r.kind}/{r.name}"}]}
            if i.digest:
                comp["version"] = i.digest
                comp["hashes"] = [{"alg": "SHA-256", "content": i.digest.removeprefix("sha256:")}]
                comp["purl"] = _purl_oci(i.pull_ref or i.image, i.digest)
            images[key] = comp
            deps[root_ref].append(f"image:{key}")
    components.extend(images.values())
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": f"urn:uuid:{uuid.uuid4()}", "version": 1,
        "metadata": {"timestamp": report.created_at, "tools": {"components": [
            {"type": "application", "name": "vigil", "version": report.vigil_version}]},
            "component": {"bom-ref": root_ref, "type": "platform", "name": report.cluster_name,
                          "version": report.server_version}},
        "components": components,
        "dependencies": [{"ref": k, "dependsOn": v} for k, v in deps.items()],
    }


def render_cyclonedx(report: ClusterReport, out: IO[str]) -> None:
    json.dump(build_kbom(report), out, indent=2, ensure_ascii=False)
    out.write("\n")


def renderer(fmt: str, report_mode: str) -> Callable[[ClusterReport, IO[str]], None]:
    if fmt == "table":
        return render_all if report_mode == "all" else render_summary
    return {"json": render_json, "sarif": render_sarif, "cyclonedx": render_cyclonedx}[fmt]
