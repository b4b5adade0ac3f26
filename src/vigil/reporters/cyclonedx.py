"""CycloneDX 1.6 JSON (cyclonedx-python-lib builds and serialises the BOM; tests validate it against the schema).

Structure (like Trivy's): metadata.component is the scanned artifact; one `application` component per target
(lockfile) with `vigil:Type`; one `library` component per package with `vigil:PkgID`, `vigil:Target`,
`vigil:FilePath`, `vigil:Type`, `vigil:Relationship`, `vigil:Dev` and `vigil:Location` properties (so `vigil sbom` reads the
same packages back); `dependencies` from Package.depends_on; `vulnerabilities` with ratings (CVSS per source and
the chosen severity), CWEs, advisories and `affects` pointing at the library components.

The serial number and the application bom-refs are UUIDs derived from the report, the timestamp is the report's
created_at: rendering is reproducible.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import defaultdict
from decimal import Decimal
from typing import IO, TYPE_CHECKING
from urllib.parse import quote

from vigil.findings.records import Report, Result, Vulnerability
from vigil.inventory.records import Package
from vigil.reporters._common import TOOL_NAME, created, report_uuid, result_packages

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.bom_ref import BomRef

SPEC_VERSION = "1.6"


def _date(s: str) -> dt.datetime | None:
    if not s:
        return None
    try:
        d = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)




def build_bom(report: Report) -> Bom:
    from cyclonedx.model import Property, XsUri
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.dependency import Dependency
    from cyclonedx.model.impact_analysis import ImpactAnalysisAffectedStatus
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.model.vulnerability import (
        BomTarget,
        BomTargetVersionRange,
        VulnerabilityAdvisory,
        VulnerabilityRating,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )
    from cyclonedx.model.vulnerability import Vulnerability as CdxVuln
    from packageurl import PackageURL

    md = report.metadata
    root_props = [Property(name="vigil:SchemaVersion", value=str(report.schema_version))]
    if report.artifact_type == "container_image":  # like Trivy: the image is a "container" with its identities
        root_props += [Property(name="vigil:ImageID", value=md.image_id)] if md.image_id else []
        root_props += [Property(name="vigil:DiffID", value=d) for d in md.diff_ids]
        root_props += [Property(name="vigil:RepoTag", value=t) for t in md.repo_tags]
        root_props += [Property(name="vigil:RepoDigest", value=d) for d in md.repo_digests]
        root_props += [Property(name="vigil:Size", value=str(md.size))] if md.size else []
    root = Component(type=ComponentType.CONTAINER if report.artifact_type == "container_image"
                     else ComponentType.APPLICATION, name=report.artifact_name,
                     bom_ref=str(report_uuid(report, "root")), properties=root_props)
    tool = Component(type=ComponentType.APPLICATION, group="vigil", name=TOOL_NAME.lower(),
                     version=report.vigil_version or "0.0.0")
    # Bom-refs: the purl when it is unique in the report, else the purl qualified with the file path.
    purl_count: dict[str, int] = defaultdict(int)
    for res in report.results:
        for p in result_packages(res):
            if p.purl:
                purl_count[p.purl] += 1

    def ref_of(res: Result, p: Package) -> str:
        if p.purl and purl_count[p.purl] == 1:
            return p.purl
        base = p.purl or f"vigil:{quote(p.id or p.name + '@' + p.version)}"
        return f"{base}{'&' if '?' in base else '?'}file_path={quote(res.target, safe='')}"

    components: list[Component] = []
    dependencies: list[Dependency] = []
    app_refs: list[str] = []
    refs_by_result: dict[str, dict[str, str]] = {}
    for res in report.results:
        pkgs = result_packages(res)
        if res.error or res.class_ not in ("lang-pkgs", "os-pkgs"):
            continue  # config/secret/license results describe files, not packages
        app_ref = str(report_uuid(report, "app:" + res.target + ":" + res.type))
        app_refs.append(app_ref)
        res_props = [Property(name="vigil:Class", value=res.class_), Property(name="vigil:Type", value=res.type)]
        if res.class_ == "os-pkgs" and md.os is not None:  # the OS itself, as Trivy writes it
            components.append(Component(type=ComponentType.OPERATING_SYSTEM, name=md.os.family,
                                        version=md.os.name, bom_ref=app_ref, properties=res_props))
        else:
            components.append(Component(type=ComponentType.APPLICATION, name=res.target, bom_ref=app_ref,
                                        properties=res_props))
        ids = {(p.id or f"{p.name}@{p.version}"): ref_of(res, p) for p in pkgs}
        refs_by_result[res.target] = ids
        for p in pkgs:
            props = [Property(name="vigil:PkgID", value=p.id or f"{p.name}@{p.version}"),
                     Property(name="vigil:Target", value=res.target),
                     Property(name="vigil:Type", value=res.type),
                     Property(name="vigil:Relationship", value=p.relationship)]
            if p.file_path:
                props.append(Property(name="vigil:FilePath", value=p.file_path))
            if p.dev:
                props.append(Property(name="vigil:Dev", value="true"))
            if p.src_name:
                props += [Property(name="vigil:SrcName", value=p.src_name),
                          Property(name="vigil:SrcVersion", value=p.src_version)]
            if p.layer is not None:
                props += [Property(name="vigil:LayerDigest", value=p.layer.digest),
                          Property(name="vigil:LayerDiffID", value=p.layer.diff_id)]
            props += [Property(name="vigil:Location", value=f"{loc.start_line}-{loc.end_line}")
                      for loc in p.locations]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                purl = PackageURL.from_string(p.purl) if p.purl else None
            components.append(Component(type=ComponentType.LIBRARY, name=p.name, version=p.version,
                                        bom_ref=ids[p.id or f"{p.name}@{p.version}"], purl=purl,
                                        properties=props))
        direct = [p for p in pkgs if p.relationship in ("direct", "root", "workspace")]
        tops = direct if direct else pkgs
        dependencies.append(Dependency(ref=_BomRef(app_ref), dependencies=[
            Dependency(ref=_BomRef(ids[p.id or f"{p.name}@{p.version}"])) for p in tops]))
        for p in pkgs:
            deps = sorted({ids[d] for d in p.depends_on if d in ids})
            dependencies.append(Dependency(ref=_BomRef(ids[p.id or f"{p.name}@{p.version}"]),
                                           dependencies=[Dependency(ref=_BomRef(d)) for d in deps]))
    dependencies.append(Dependency(ref=_BomRef(str(root.bom_ref)),
                                   dependencies=[Dependency(ref=_BomRef(a)) for a in app_refs]))

    # One CycloneDX vulnerability per ID, affecting every package it was found in.
    by_id: dict[str, list[tuple[Result, Vulnerability]]] = defaultdict(list)
    for res in report.results:
        for v in res.vulnerabilities:
            by_id[v.vulnerability_id].append((res, v))
    vulns: list[CdxVuln] = []
    sev_map = {"CRITICAL": VulnerabilitySeverity.CRITICAL, "HIGH": VulnerabilitySeverity.HIGH,
               "MEDIUM": VulnerabilitySeverity.MEDIUM, "LOW": VulnerabilitySeverity.LOW,
               "UNKNOWN": VulnerabilitySeverity.UNKNOWN}
    for vid in sorted(by_id):
        occurrences = by_id[vid]
        v = occurrences[0][1]
        ratings = []
        for src, c in sorted(v.cvss.items()):
            if c.v40_score:
                ratings.append(VulnerabilityRating(source=VulnerabilitySource(name=src), score=Decimal(str(c.v40_score)),
                                                   method=VulnerabilityScoreSource.CVSS_V4, vector=c.v40_vector or None))
            if c.v3_score:
                method = (VulnerabilityScoreSource.CVSS_V3_1 if c.v3_vector.startswith("CVSS:3.1")
                          else VulnerabilityScoreSource.CVSS_V3)
                ratings.append(VulnerabilityRating(source=VulnerabilitySource(name=src), score=Decimal(str(c.v3_score)),
                                                   method=method, vector=c.v3_vector or None))
            if c.v2_score:
                ratings.append(VulnerabilityRating(source=VulnerabilitySource(name=src), score=Decimal(str(c.v2_score)),
                                                   method=VulnerabilityScoreSource.CVSS_V2, vector=c.v2_vector or None))
        ratings.append(VulnerabilityRating(source=VulnerabilitySource(name=v.severity_source or "vigil"),
                                           severity=sev_map[v.severity]))
        cwes = sorted({int(c[4:]) for c in v.cwe_ids if c.startswith("CWE-") and c[4:].isdigit()})
        affects = []
        for res, occ in occurrences:
            ref = refs_by_result.get(res.target, {}).get(occ.pkg_id or f"{occ.pkg_name}@{occ.installed_version}")
            if ref is None:
                continue
            affects.append(BomTarget(ref=ref, versions=[BomTargetVersionRange(
                version=occ.installed_version, status=ImpactAnalysisAffectedStatus.AFFECTED)]))
        fixes = sorted({f"{o.pkg_name} {o.fixed_version}" for _, o in occurrences if o.fixed_version})
        ds = v.data_sources[0] if v.data_sources else None
        vulns.append(CdxVuln(
            bom_ref=vid, id=vid,
            source=VulnerabilitySource(name=ds.id if ds else v.severity_source or "vigil",
                                       url=XsUri(v.primary_url) if v.primary_url else None),
            ratings=ratings, cwes=cwes or None,
            description=v.title or None, detail=v.description or None,
            recommendation=("Upgrade " + ", ".join(fixes)) if fixes else None,
            advisories=[VulnerabilityAdvisory(url=XsUri(u)) for u in sorted(set(v.references)) if u.startswith("http")],
            published=_date(v.published_date), updated=_date(v.last_modified_date),
            affects=affects,
            properties=[Property(name="vigil:Alias", value=a) for a in v.aliases],
        ))
    return Bom(
        serial_number=report_uuid(report, "serial"),
        metadata=BomMetaData(timestamp=created(report), component=root,
                             tools=ToolRepository(components=[tool])),
        components=components,
        dependencies=dependencies,
        vulnerabilities=vulns,
    )


def _BomRef(value: str) -> BomRef:
    from cyclonedx.model.bom_ref import BomRef

    return BomRef(value)


def render(report: Report, out: IO[str]) -> None:
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    bom = build_bom(report)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = make_outputter(bom, OutputFormat.JSON, SchemaVersion.V1_6).output_as_string(indent=2)
    out.write(text)
    out.write("\n")
