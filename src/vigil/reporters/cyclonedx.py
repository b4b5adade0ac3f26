"""CycloneDX 1.6 JSON, written directly as the document cyclonedx-python-lib wrote (build_json; the library's model,
build_bom, serves the XML format). Nothing validates the BOM at run time; tests validate it against the schema.

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
import re
import warnings
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from vigil.findings.records import Report, Result, Vulnerability
from vigil.inventory.purl import quote_all
from vigil.inventory.records import Package
from vigil.reporters._common import TOOL_NAME, ascii_indented_json, created, report_uuids, result_packages

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




def _ref_namer(report: Report) -> Callable[[Result, Package], str]:
    """Bom-refs: the purl when it is unique in the report, else the purl qualified with the package's file path
    (its target's when it has none): two copies of one jar in an image are two components."""
    purl_count: dict[str, int] = defaultdict(int)
    for res in report.results:
        for p in result_packages(res):
            if p.purl:
                purl_count[p.purl] += 1

    def ref_of(res: Result, p: Package) -> str:
        if p.purl and purl_count[p.purl] == 1:
            return p.purl
        base = p.purl or f"vigil:{quote(p.id or p.name + '@' + p.full_version)}"
        return f"{base}{'&' if '?' in base else '?'}file_path={quote_all(p.file_path or res.target)}"

    return ref_of


def build_bom(report: Report) -> Bom:
    """The BOM as cyclonedx-python-lib's model, for the XML serialiser (the JSON format writes its document
    directly: build_json)."""
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
    report_uuid = report_uuids(report)
    root_props = [Property(name="vigil:SchemaVersion", value=str(report.schema_version))]
    if report.artifact_type == "container_image":  # like Trivy: the image is a "container" with its identities
        root_props += [Property(name="vigil:ImageID", value=md.image_id)] if md.image_id else []
        root_props += [Property(name="vigil:DiffID", value=d) for d in md.diff_ids]
        root_props += [Property(name="vigil:RepoTag", value=t) for t in md.repo_tags]
        root_props += [Property(name="vigil:RepoDigest", value=d) for d in md.repo_digests]
        root_props += [Property(name="vigil:Size", value=str(md.size))] if md.size else []
    root = Component(type=ComponentType.CONTAINER if report.artifact_type == "container_image"
                     else ComponentType.APPLICATION, name=report.artifact_name,
                     bom_ref=str(report_uuid("root")), properties=root_props)
    tool = Component(type=ComponentType.APPLICATION, group="vigil", name=TOOL_NAME.lower(),
                     version=report.vigil_version or "0.0.0")
    ref_of = _ref_namer(report)

    components: list[Component] = []
    dependencies: list[Dependency] = []
    app_refs: list[str] = []
    refs_by_result: dict[str, dict[str, str]] = {}
    for res in report.results:
        pkgs = result_packages(res)
        if res.error or res.class_ not in ("lang-pkgs", "os-pkgs"):
            continue  # config/secret/license results describe files, not packages
        app_ref = str(report_uuid("app:" + res.target + ":" + res.type))
        app_refs.append(app_ref)
        res_props = [Property(name="vigil:Class", value=res.class_), Property(name="vigil:Type", value=res.type)]
        if res.class_ == "os-pkgs" and md.os is not None:  # the OS itself, as Trivy writes it
            components.append(Component(type=ComponentType.OPERATING_SYSTEM, name=md.os.family,
                                        version=md.os.name, bom_ref=app_ref, properties=res_props))
        else:
            components.append(Component(type=ComponentType.APPLICATION, name=res.target, bom_ref=app_ref,
                                        properties=res_props))
        ids = {(p.id or f"{p.name}@{p.full_version}"): ref_of(res, p) for p in pkgs}
        refs_by_result[res.target] = ids
        for p in pkgs:
            props = [Property(name="vigil:PkgID", value=p.id or f"{p.name}@{p.full_version}"),
                     Property(name="vigil:Target", value=res.target),
                     Property(name="vigil:Type", value=res.type),
                     Property(name="vigil:Relationship", value=p.relationship)]
            if p.file_path:
                props.append(Property(name="vigil:FilePath", value=p.file_path))
            if p.dev:
                props.append(Property(name="vigil:Dev", value="true"))
            if p.src_name:
                props += [Property(name="vigil:SrcName", value=p.src_name),
                          Property(name="vigil:SrcVersion", value=p.src_full_version)]
            if p.layer is not None:
                props += [Property(name="vigil:LayerDigest", value=p.layer.digest),
                          Property(name="vigil:LayerDiffID", value=p.layer.diff_id)]
            props += [Property(name="vigil:Location", value=f"{loc.start_line}-{loc.end_line}")
                      for loc in p.locations]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                purl = PackageURL.from_string(p.purl) if p.purl else None
            components.append(Component(type=ComponentType.LIBRARY, name=p.name, version=p.full_version,
                                        bom_ref=ref_of(res, p), purl=purl,
                                        properties=props, licenses=_library_licenses(p.licenses)))
        direct = [p for p in pkgs if p.relationship in ("direct", "root", "workspace")]
        tops = direct if direct else pkgs
        dependencies.append(Dependency(ref=_BomRef(app_ref), dependencies=[
            Dependency(ref=_BomRef(ids[p.id or f"{p.name}@{p.full_version}"])) for p in tops]))
        for p in pkgs:
            deps = sorted({ids[d] for d in p.depends_on if d in ids})
            dependencies.append(Dependency(ref=_BomRef(ref_of(res, p)),
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
                                       url=XsUri(v.primary_url) if v.primary_url and not _BAD_URI.search(v.primary_url)
                                       else None),
            ratings=ratings, cwes=cwes or None,
            description=v.title or None, detail=v.description or None,
            recommendation=("Upgrade " + ", ".join(fixes)) if fixes else None,
            advisories=[VulnerabilityAdvisory(url=XsUri(u)) for u in sorted(set(v.references))
                        if u.startswith("http") and not _BAD_URI.search(u)],
            published=_date(v.published_date), updated=_date(v.last_modified_date),
            affects=affects,
            properties=[Property(name="vigil:Alias", value=a) for a in v.aliases],
        ))
    return Bom(
        serial_number=report_uuid("serial"),
        metadata=BomMetaData(timestamp=created(report), component=root,
                             tools=ToolRepository(components=[tool])),
        components=components,
        dependencies=dependencies,
        vulnerabilities=vulns,
    )


def _BomRef(value: str) -> BomRef:
    from cyclonedx.model.bom_ref import BomRef

    return BomRef(value)


# The JSON document is written directly rather than through cyclonedx-python-lib: the library's outputter always
# runs Bom.validate(), whose dependency registration scans every dependency for every component (quadratic: 67 of
# 91 s for a tree of 28,000 packages), and its model sorts components through tuple comparisons that cost more than
# writing the whole document. build_json produces the document the library wrote — same members, same order
# (keys sorted, `$schema`/`bomFormat`/`specVersion` last; lists sorted as its sorted sets sort them, duplicates
# dropped) — so the output is byte-identical; tests validate it against the CycloneDX 1.6 schema.

_SCHEMA_URI = "http://cyclonedx.org/schema/bom-1.6.schema.json"
_SEVERITY = {"CRITICAL": "critical", "HIGH": "high", "MEDIUM": "medium", "LOW": "low", "UNKNOWN": "unknown"}
# What the library's XsUri does to a URL: refuse stray `%` and fragments holding `#`, escape what anyURI and
# iri-reference forbid. A URL it would refuse (which made it refuse the whole BOM) is left out, in both formats.
_BAD_URI = re.compile(r"%(?![0-9A-F]{2})|#.*#", re.IGNORECASE | re.MULTILINE)
_URI_ESCAPES = str.maketrans({" ": "%20", '"': "%22", "'": "%27", "[": "%5B", "]": "%5D", "<": "%3C", ">": "%3E",
                              "{": "%7B", "}": "%7D"})
# A URL with none of the characters the two above look at is kept as it is (most are): one C scan instead of a
# translation and a search (a lockfile corpus's findings hold 8,000 reference URLs).
_URI_SPECIAL = re.compile(r"""[ "'\[\]<>{}%#]""")
# A rating's vector without its scheme prefix ("CVSS:3.1/"): the method says it.
_VECTOR_SCHEME = {v: re.compile(rf"^CVSS:{v}\.\d/?") for v in ("2", "3", "4")}
# A purl of this shape is already in packageurl's canonical form (nothing to lower-case, decode, re-encode or
# reorder); others go through packageurl (~60 µs each), as the library did.
_CANONICAL_PURL = re.compile(  # a segment may start with "%40": a scoped npm package, ~2/3 of the others
    r"pkg:([a-z]+)/(?:%40)?[a-z0-9][a-z0-9._\-]*(?:/(?:%40)?[a-z0-9][a-z0-9._\-]*)*@[A-Za-z0-9][A-Za-z0-9._\-]*")
# Types whose names or versions packageurl rewrites beyond case: pypi and hackage turn "_" into "-", pub turns any
# other character into "_", cpan upper-cases the namespace, huggingface and oci lower-case the version, mlflow
# depends on its qualifiers. Their purls take packageurl's path, except a pypi purl without "_" (the common case).
_REWRITTEN_TYPES = frozenset({"hackage", "pub", "cpan", "huggingface", "oci", "mlflow"})


def _uri(url: str) -> str | None:
    if not _URI_SPECIAL.search(url):
        return url
    return None if _BAD_URI.search(url) else url.translate(_URI_ESCAPES)


def canonical_purl(purl: str) -> str:
    """The purl as packageurl writes it (the form the library put in `purl`)."""
    m = _CANONICAL_PURL.fullmatch(purl)
    if m is not None and m[1] not in _REWRITTEN_TYPES and (m[1] != "pypi" or "_" not in purl):
        return purl
    from packageurl import PackageURL

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(PackageURL.from_string(purl).to_string())


def _props(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in sorted(set(pairs))]


@lru_cache(maxsize=1)
def spdx_ids() -> frozenset[str]:
    """The SPDX license IDs CycloneDX knows: the enum of cyclonedx-python-lib's own spdx.schema.json, which its
    `spdx.is_supported_id` reads. Read here without importing that module: its import also builds license-expression's
    whole licensing index (~30 ms of every CycloneDX report), which only its expression check uses."""
    import msgspec
    from cyclonedx.schema._res import SPDX_JSON  # the library's name for its file (~1 ms to import)

    return frozenset(msgspec.json.decode(Path(SPDX_JSON).read_bytes(), type=dict[str, Any])["enum"])


def _license_ids(licenses: tuple[str, ...]) -> list[tuple[str, str]]:
    """("id" | "name", value) per declared license: an SPDX ID CycloneDX knows goes in license.id, anything else
    (a free-text name, "X WITH exception", a license text) in license.name — Trivy's choice too."""
    if not licenses:
        return []
    known = spdx_ids()
    return [("id", lic) if lic in known else ("name", lic) for lic in dict.fromkeys(licenses) if lic]


@lru_cache(maxsize=4096)  # a few distinct license lists per report; the document only serialises them
def _licenses(licenses: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"license": {kind: value}} for kind, value in sorted(_license_ids(licenses), key=_license_order)]


def _license_order(item: tuple[str, str]) -> tuple[int, str]:
    # the library's order: ids before names, each alphabetical
    return (0 if item[0] == "id" else 1, item[1])


def _library_licenses(licenses: tuple[str, ...]) -> list[Any]:
    from cyclonedx.model.license import DisjunctiveLicense

    return [DisjunctiveLicense(id=v) if k == "id" else DisjunctiveLicense(name=v) for k, v in _license_ids(licenses)]


def _component(type_: str, name: str, ref: str, properties: list[dict[str, str]], version: str | None = None,
               purl: str | None = None, licenses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`properties`: in their order (_props, _package_properties)."""
    c: dict[str, Any] = {"bom-ref": ref}
    if licenses:
        c["licenses"] = licenses
    c["name"] = name
    if properties:
        c["properties"] = properties
    if purl is not None:
        c["purl"] = purl
    c["type"] = type_
    if version is not None:
        c["version"] = version
    return c


def _component_key(c: dict[str, Any]) -> tuple[Any, ...]:
    # The library's order: type, group (none here), name, version (absent last), bom-ref.
    v = c.get("version")
    return c["type"], c["name"], v is None, v or "", c["bom-ref"]


def _package_properties(res: Result, p: Package) -> list[dict[str, str]]:
    """A package's properties as _props would give them, built in that order: by name (Dev, FilePath, LayerDiffID,
    LayerDigest, Location, PkgID, Relationship, SrcName, SrcVersion, Target, Type), the locations sorted as text,
    each once. Making, deduplicating and sorting pairs for each of 10,000 packages was a tenth of the document."""
    out: list[dict[str, str]] = []
    if p.dev:
        out.append({"name": "vigil:Dev", "value": "true"})
    if p.file_path:
        out.append({"name": "vigil:FilePath", "value": p.file_path})
    if p.layer is not None:
        out += ({"name": "vigil:LayerDiffID", "value": p.layer.diff_id},
                {"name": "vigil:LayerDigest", "value": p.layer.digest})
    if p.locations:
        locs = [f"{loc.start_line}-{loc.end_line}" for loc in p.locations]
        out += [{"name": "vigil:Location", "value": v} for v in (sorted(set(locs)) if len(locs) > 1 else locs)]
    out += ({"name": "vigil:PkgID", "value": p.id or f"{p.name}@{p.full_version}"},
            {"name": "vigil:Relationship", "value": p.relationship})
    if p.src_name:
        out += ({"name": "vigil:SrcName", "value": p.src_name},
                {"name": "vigil:SrcVersion", "value": p.src_full_version})
    out += ({"name": "vigil:Target", "value": res.target}, {"name": "vigil:Type", "value": res.type})
    return out


def _vulnerability(vid: str, occurrences: list[tuple[Result, Vulnerability]],
                   refs_by_result: dict[str, dict[str, str]]) -> dict[str, Any]:
    v = occurrences[0][1]
    cvss: set[tuple[float, str, str, str | None]] = set()
    for src, c in v.cvss.items():
        if c.v40_score:
            cvss.add((c.v40_score, src, "CVSSv4", _VECTOR_SCHEME["4"].sub("", c.v40_vector) or None))
        if c.v3_score:
            cvss.add((c.v3_score, src, "CVSSv31" if c.v3_vector.startswith("CVSS:3.1") else "CVSSv3",
                      _VECTOR_SCHEME["3"].sub("", c.v3_vector) or None))
        if c.v2_score:
            cvss.add((c.v2_score, src, "CVSSv2", _VECTOR_SCHEME["2"].sub("", c.v2_vector) or None))
    # The library's rating order: with a severity first, then by score, source, method, vector (absent last).
    ratings: list[dict[str, Any]] = [{"severity": _SEVERITY[v.severity],
                                      "source": {"name": v.severity_source or "vigil"}}]
    for score, src, method, vector in sorted(cvss, key=lambda r: (Decimal(str(r[0])), r[1], r[2], r[3] is None,
                                                                    r[3] or "")):
        rating: dict[str, Any] = {"method": method, "score": float(Decimal(str(score))), "source": {"name": src}}
        if vector is not None:
            rating["vector"] = vector
        ratings.append(rating)
    affects: set[tuple[str, str]] = set()
    for res, occ in occurrences:
        ref = refs_by_result.get(res.target, {}).get(occ.pkg_id or f"{occ.pkg_name}@{occ.installed_version}")
        if ref is not None:
            affects.add((ref, occ.installed_version))
    fixes = sorted({f"{o.pkg_name} {o.fixed_version}" for _, o in occurrences if o.fixed_version})
    advisories = sorted({u for u in (_uri(r) for r in v.references if r.startswith("http")) if u is not None})
    cwes = sorted({int(c[4:]) for c in v.cwe_ids if c.startswith("CWE-") and c[4:].isdigit()})
    ds = v.data_sources[0] if v.data_sources else None
    source: dict[str, Any] = {"name": ds.id if ds else v.severity_source or "vigil"}
    url = _uri(v.primary_url) if v.primary_url else None
    if url is not None:
        source["url"] = url
    out: dict[str, Any] = {}
    if advisories:
        out["advisories"] = [{"url": u} for u in advisories]
    if affects:
        out["affects"] = [{"ref": ref, "versions": [{"status": "affected", "version": ver}]}
                          for ref, ver in sorted(affects)]
    out["bom-ref"] = vid
    if cwes:
        out["cwes"] = cwes
    if v.title:
        out["description"] = v.title
    if v.description:
        out["detail"] = v.description
    out["id"] = vid
    if v.aliases:
        out["properties"] = _props([("vigil:Alias", a) for a in v.aliases])
    published, updated = _date(v.published_date), _date(v.last_modified_date)
    if published is not None:
        out["published"] = published.isoformat()
    out["ratings"] = ratings
    if fixes:
        out["recommendation"] = "Upgrade " + ", ".join(fixes)
    out["source"] = source
    if updated is not None:
        out["updated"] = updated.isoformat()
    return out


def build_json(report: Report) -> dict[str, Any]:
    """The CycloneDX 1.6 JSON document of the report, as plain dicts and lists (the structure: module docstring).
    One pass over the packages, a sort of the components and of the dependency graph: O(n log n)."""
    md = report.metadata
    report_uuid = report_uuids(report)
    root_props = [("vigil:SchemaVersion", str(report.schema_version))]
    if report.artifact_type == "container_image":
        root_props += [("vigil:ImageID", md.image_id)] if md.image_id else []
        root_props += [("vigil:DiffID", d) for d in md.diff_ids]
        root_props += [("vigil:RepoTag", t) for t in md.repo_tags]
        root_props += [("vigil:RepoDigest", d) for d in md.repo_digests]
        root_props += [("vigil:Size", str(md.size))] if md.size else []
    root_ref = str(report_uuid("root"))
    root = _component("container" if report.artifact_type == "container_image" else "application",
                      report.artifact_name, root_ref, _props(root_props))
    ref_of = _ref_namer(report)
    components: dict[str, dict[str, Any]] = {}  # by bom-ref: a ref is listed once
    graph: dict[str, set[str]] = {}
    app_refs: list[str] = []
    refs_by_result: dict[str, dict[str, str]] = {}
    purls: dict[str, str] = {}
    for res in report.results:
        pkgs = result_packages(res)
        if res.error or res.class_ not in ("lang-pkgs", "os-pkgs"):
            continue  # config/secret/license results describe files, not packages
        app_ref = str(report_uuid("app:" + res.target + ":" + res.type))
        app_refs.append(app_ref)
        res_props = _props([("vigil:Class", res.class_), ("vigil:Type", res.type)])
        if res.class_ == "os-pkgs" and md.os is not None:  # the OS itself, as Trivy writes it
            app = _component("operating-system", md.os.family, app_ref, res_props, version=md.os.name)
        else:
            app = _component("application", res.target, app_ref, res_props)
        components.setdefault(app_ref, app)
        refs = [ref_of(res, p) for p in pkgs]  # once per package: a qualified ref costs two quotes
        ids = {(p.id or f"{p.name}@{p.full_version}"): ref for p, ref in zip(pkgs, refs, strict=True)}
        refs_by_result[res.target] = ids
        for p, ref in zip(pkgs, refs, strict=True):
            purl = None
            if p.purl:
                purl = purls.get(p.purl)
                if purl is None:
                    purl = purls[p.purl] = canonical_purl(p.purl)
            components.setdefault(ref, _component("library", p.name, ref, _package_properties(res, p),
                                                  version=p.full_version, purl=purl,
                                                  licenses=_licenses(p.licenses)))
        direct = [p for p in pkgs if p.relationship in ("direct", "root", "workspace")]
        graph.setdefault(app_ref, set()).update(ids[p.id or f"{p.name}@{p.full_version}"] for p in direct or pkgs)
        for p, ref in zip(pkgs, refs, strict=True):
            graph.setdefault(ref, set()).update(ids[d] for d in p.depends_on if d in ids)
    graph.setdefault(root_ref, set()).update(app_refs)
    for deps in list(graph.values()):  # every ref depended on has its own entry
        for d in deps:
            graph.setdefault(d, set())

    by_id: dict[str, list[tuple[Result, Vulnerability]]] = defaultdict(list)
    for res in report.results:
        for v in res.vulnerabilities:
            by_id[v.vulnerability_id].append((res, v))

    doc: dict[str, Any] = {}
    if components:
        doc["components"] = sorted(components.values(), key=_component_key)
    doc["dependencies"] = [{"dependsOn": sorted(graph[r]), "ref": r} if graph[r] else {"ref": r}
                           for r in sorted(graph)]
    doc["metadata"] = {"component": root, "timestamp": created(report).isoformat(),
                       "tools": {"components": [{"group": "vigil", "name": TOOL_NAME.lower(), "type": "application",
                                                 "version": report.vigil_version or "0.0.0"}]}}
    doc["serialNumber"] = f"urn:uuid:{report_uuid('serial')}"
    doc["version"] = 1
    if by_id:
        doc["vulnerabilities"] = [_vulnerability(vid, by_id[vid], refs_by_result) for vid in sorted(by_id)]
    doc["$schema"] = _SCHEMA_URI
    doc["bomFormat"] = "CycloneDX"
    doc["specVersion"] = SPEC_VERSION
    return doc


def render(report: Report, out: IO[str]) -> None:
    # json.dumps(doc, indent=2), byte for byte, encoded by msgspec (~5x the standard library's C encoder on a BOM
    # of 10,000 components). Its one caveat, exponent notation of floats, cannot arise: the document's only floats
    # are CVSS scores, 0 < score <= 10, which both write as Python's repr does.
    out.write(ascii_indented_json(build_json(report), indent=2))
    out.write("\n")
