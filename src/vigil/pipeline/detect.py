"""The detect stage, for every target in one place: blobs → merged target → results → one unfiltered Report.

Vulnerabilities of OS packages (distro advisories, with the OS end-of-life) and of language packages, licenses,
unparsable files, secrets and misconfigurations all become Results here, whether the blobs are a directory's
single analysis or an image's layers, and whether this runs in the CLI or in `vigil server`. Filters are not
applied here (see pipeline.report): a server detects everything and each client filters for itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from vigil.analysis.merge import Merged, merge
from vigil.findings.analysis import ArtifactInfo, BlobInfo
from vigil.findings.records import SEVERITY_RANK, Metadata, Report, Result, Vulnerability
from vigil.findings.wire import DetectionOptions
from vigil.inventory.records import Application, LayerRef, OSInfo, Package, Unknown
from vigil.log import get_logger

if TYPE_CHECKING:
    from vigil.vulndb.store import Store

log = get_logger(__name__)


class Inventory(msgspec.Struct):  # a Struct: a dataclass costs ~1 ms to define, on every scan
    applications: list[Application] = msgspec.field(default_factory=list)
    unknowns: list[Unknown] = msgspec.field(default_factory=list)


def created_now() -> str:
    """A report's CreatedAt for a report made (or read from the cache) now."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def version() -> str:
    from vigil import __version__

    return __version__


def detect(art: ArtifactInfo, blobs: Sequence[BlobInfo], opts: DetectionOptions, store: Store | None) -> Report:
    """The unfiltered Report of an artifact from its blobs (in layer order). `store`: the one DB this report is
    matched against (None when vulnerabilities are not scanned), so a DB update cannot mix two DBs in a report."""
    merged = merge(art.layers, list(blobs))
    for w in merged.warnings:
        log.warning("%s", w)
    warnings: list[str] = []
    results, os_info = _os_results(merged, opts, art.name, warnings, store)
    owned = frozenset(f for p in merged.os_packages for f in p.installed_files)
    inv = Inventory(applications=merged.applications, unknowns=merged.unknowns)
    if opts.detection_priority != "comprehensive":  # comprehensive keeps them, duplicates and all (as Trivy)
        inv = drop_os_owned(inv, owned)
    meta = Metadata()
    if "license" in opts.scanners and "os" in opts.pkg_types and merged.os_packages:
        results.extend(os_license_results(merged.os_packages, opts))
    if set(opts.scanners) & {"vuln", "license"}:
        lang, meta = lang_results(inv, opts, store)
        if art.type == "container_image":
            lang = aggregate(_with_layers(lang, inv.applications))
        results.extend(lang)
    if "secret" in opts.scanners:
        results.extend(Result(target=s.file_path, class_="secret", secrets=s.secrets)
                       for s in sorted(merged.secrets, key=lambda s: s.file_path))
    if "misconfig" in opts.scanners:
        results.extend(merged.config)
        if art.type == "container_image":
            results.extend(history_results(art))
    for w in warnings:
        log.warning("%s", w)
    meta = msgspec.structs.replace(meta, unknowns=tuple(inv.unknowns), suppressed=tuple(merged.suppressed),
                                   warnings=tuple(merged.warnings + warnings))
    meta = _with_artifact(meta, art, os_info)
    return Report(
        vigil_version=version(),
        created_at=created_now(),
        artifact_name=art.name,
        artifact_type=art.type,
        metadata=meta,
        results=tuple(results),
    )


def drop_os_owned(inv: Inventory, owned: frozenset[str]) -> Inventory:
    """Language packages whose metadata file belongs to an OS package (e.g. /usr/lib/python3/dist-packages/
    *.dist-info from python3-urllib3) are reported once, as the OS package, never again as a language package.
    Paths are compared without a leading "/"; a nested jar is owned when its outer archive is."""
    if not owned:
        return inv
    norm = {o.lstrip("/") for o in owned}

    def is_owned(path: str) -> bool:
        path = path.lstrip("/")
        if path in norm:
            return True
        for ext in (".jar/", ".war/", ".ear/", ".par/"):
            i = path.find(ext)
            if i >= 0 and path[: i + len(ext) - 1] in norm:
                return True
        return False

    apps = [a for a in inv.applications if not is_owned(a.file_path)]
    return Inventory(applications=apps, unknowns=[u for u in inv.unknowns if not is_owned(u.file_path)])


def sort_vulns(vulns: list[Vulnerability]) -> tuple[Vulnerability, ...]:
    return tuple(sorted(vulns, key=lambda v: (v.pkg_name, v.installed_version, -SEVERITY_RANK[v.severity],
                                              v.vulnerability_id)))


def _reported(app: Application, opts: DetectionOptions) -> list[Package]:
    kept = [p for p in app.packages if (opts.include_dev_deps or not p.dev)
            and p.relationship in opts.pkg_relationships]
    if len(kept) == len(app.packages):
        return kept
    # a package left out (dev, or a relationship not asked for) is not named in what the others depend on: a
    # dependency graph must not point at packages the report does not hold
    ids = {p.id for p in kept}
    return [p if all(d in ids for d in p.depends_on) else
            msgspec.structs.replace(p, depends_on=tuple(d for d in p.depends_on if d in ids)) for p in kept]


def lang_results(inv: Inventory, opts: DetectionOptions, store: Store | None) -> tuple[list[Result], Metadata]:
    """Language packages: one lang-pkgs Result per application, license results, unparsable files."""
    from vigil.analyzers.registry import PACKAGE_DB_ANALYZERS
    from vigil.detectors.registry import language_matchers, match, prepare

    meta = Metadata()
    if store is not None:
        meta = Metadata(db_built_at=store.metadata.built_at, db_next_update=store.metadata.next_update,
                        db_schema_version=store.metadata.schema_version)
    matchers = language_matchers(store) if store is not None and "vuln" in opts.scanners else ()
    results: list[Result] = []
    libraries = "library" in opts.pkg_types  # --pkg-types os: language packages are not reported at all
    reported = [(app, _reported(app, opts))
                for app in (sorted(inv.applications, key=lambda a: (a.file_path, a.type)) if libraries else ())]
    prepare(matchers, [p for _, pkgs in reported for p in pkgs])
    for app, pkgs in reported:
        vulns = [v for p in pkgs for v in match(matchers, p)]
        results.append(Result(target=app.file_path, class_="lang-pkgs", type=app.type,
                              packages=tuple(pkgs) if opts.list_all_pkgs or opts.dependency_tree else (),
                              vulnerabilities=sort_vulns(vulns)))
    if "license" in opts.scanners and libraries:
        results.extend(license_results(inv, opts))
    for u in sorted(inv.unknowns, key=lambda u: u.file_path):
        # an unreadable OS package DB is an os-pkgs result: the report counts it as a failure (--exit-code)
        os_db = u.analyzer in PACKAGE_DB_ANALYZERS
        results.append(Result(target=u.file_path, class_="os-pkgs" if os_db else "lang-pkgs", type=u.analyzer,
                              error=u.reason))
    return results, meta


def license_results(inv: Inventory, opts: DetectionOptions) -> list[Result]:
    """`--scanners license`: one class "license" result per application that declares licenses."""
    from vigil.detectors.licenses import LicensePolicy, findings_for

    policy = LicensePolicy.build(dict(opts.license_categories), tuple(opts.ignored_licenses))
    out: list[Result] = []
    for app in sorted(inv.applications, key=lambda a: (a.file_path, a.type)):
        found = findings_for(_reported(app, opts), policy, app.file_path)
        if found:
            out.append(Result(target=app.file_path, class_="license", type=app.type, licenses=found))
    return out


def os_license_results(pkgs: Sequence[Package], opts: DetectionOptions) -> list[Result]:
    """`--scanners license` over the OS packages (the licenses of their DB records and, for Debian, of their
    copyright files): one result named "OS Packages", as Trivy names it."""
    from vigil.detectors.licenses import LicensePolicy, findings_for

    policy = LicensePolicy.build(dict(opts.license_categories), tuple(opts.ignored_licenses))
    found = findings_for(pkgs, policy)
    return [Result(target=OS_LICENSE_TARGET, class_="license", licenses=found)] if found else []


# The target of the OS packages' license result (Trivy's name for it).
OS_LICENSE_TARGET = "OS Packages"


def _os_results(merged: Merged, opts: DetectionOptions, artifact: str, warnings: list[str],
                store: Store | None) -> tuple[list[Result], OSInfo | None]:
    os_info = merged.os
    if opts.distro:  # --distro: the user knows the release (e.g. no os-release in the image)
        family, _, name = opts.distro.partition("/")
        os_info = OSInfo(family=family.lower(), name=name)
    if os_info is None:
        if merged.os_packages:
            warnings.append("OS not detected: OS packages are listed but not matched")
        return [], None
    if "os" not in opts.pkg_types:
        return [], os_info
    if store is None:  # no vulnerability scan: the packages are still listed when asked (Trivy's --list-all-pkgs)
        if not opts.list_all_pkgs or not merged.os_packages:
            return [], os_info
        return [Result(target=f"{artifact} ({os_info.family} {os_info.name})", class_="os-pkgs",
                       type=os_info.family, packages=tuple(merged.os_packages))], os_info
    from vigil.detectors.registry import match, os_matchers, prepare
    from vigil.detectors.vuln.ospkg import OSMatcher

    matcher = OSMatcher(store)
    eosl = matcher.is_eol(os_info, dt.datetime.now(dt.UTC).date())
    os_info = msgspec.structs.replace(os_info, eosl=eosl)
    if eosl:
        warnings.append(f"{os_info.family} {os_info.name} is no longer supported by the distribution "
                        "(end of life): vulnerabilities may be missing")
    vulns: list[Vulnerability] = []
    if matcher.supported(os_info):
        matchers = os_matchers(matcher, os_info)
        prepare(matchers, merged.os_packages)
        for p in merged.os_packages:
            vulns.extend(msgspec.structs.replace(v, layer=p.layer) for v in match(matchers, p))
    else:
        warnings.append(f"{os_info.family} {os_info.name}: no advisories for this OS release in the DB; "
                        "OS packages are not matched")
    res = Result(target=f"{artifact} ({os_info.family} {os_info.name})", class_="os-pkgs", type=os_info.family,
                 packages=tuple(merged.os_packages) if opts.list_all_pkgs else (),
                 vulnerabilities=sort_vulns(vulns))
    return [res], os_info


# Installed-package metadata is one file per package (a dist-info, a node_modules package.json, a jar): like Trivy,
# an image report groups them into one result per language, each package and finding keeping its own file
# (Package.FilePath, Vulnerability.PkgPath). Lockfiles and binaries stay one result per file.
AGGREGATED = {"python-pkg": "Python", "node-pkg": "Node.js", "jar": "Java", "gemspec": "Ruby", "conda-pkg": "Conda"}


def aggregate(results: list[Result]) -> list[Result]:
    grouped: dict[str, list[Result]] = {}
    out: list[Result] = []
    for r in results:
        if r.class_ == "lang-pkgs" and not r.error and r.type in AGGREGATED:
            grouped.setdefault(r.type, []).append(r)
        else:
            out.append(r)
    for typ, rs in sorted(grouped.items(), key=lambda kv: AGGREGATED[kv[0]]):
        pkgs = tuple(msgspec.structs.replace(p, file_path=p.file_path or r.target) for r in rs for p in r.packages)
        vulns = [msgspec.structs.replace(v, pkg_path=v.pkg_path or r.target) for r in rs for v in r.vulnerabilities]
        out.append(Result(target=AGGREGATED[typ], class_="lang-pkgs", type=typ, packages=pkgs,
                          vulnerabilities=tuple(sorted(vulns, key=lambda v: (
                              v.pkg_name, v.installed_version, v.pkg_path, -SEVERITY_RANK[v.severity],
                              v.vulnerability_id)))))
    return out


def _with_layers(results: list[Result], apps: list[Application]) -> list[Result]:
    where: dict[tuple[str, str, str], LayerRef | None] = {}
    for app in apps:
        for p in app.packages:
            where[(app.file_path, p.name, p.version)] = p.layer
    out = []
    for r in results:
        if r.vulnerabilities:
            r = msgspec.structs.replace(r, vulnerabilities=tuple(
                msgspec.structs.replace(v, layer=where.get((r.target, v.pkg_name, v.installed_version)))
                for v in r.vulnerabilities))
        out.append(r)
    return out


def history_results(art: ArtifactInfo) -> list[Result]:
    """Image config misconfigurations (Trivy's --image-config-scanners misconfig): the history's `created_by`
    lines checked as a Dockerfile, reported under the image's name as Trivy does (the config is no file)."""
    from vigil.analyzers.misconf.scan import scan_image_history

    hist = art.image_config.get("history")
    created_by = [str(h.get("created_by", "")) for h in hist if isinstance(h, dict)] if isinstance(hist, list) \
        else []
    res = scan_image_history(created_by, target=art.name)
    return [res] if res is not None else []


def _with_artifact(meta: Metadata, art: ArtifactInfo, os_info: OSInfo | None) -> Metadata:
    """An image's metadata, with Trivy's names: OS, ImageID, DiffIDs, RepoTags, RepoDigests, ImageConfig, Layers,
    Size (the sum of the compressed layer sizes)."""
    if art.type != "container_image":  # a root filesystem or a directory: only the OS, when one was found
        return meta if os_info is None else msgspec.structs.replace(meta, os=os_info)
    rootfs = art.image_config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    return msgspec.structs.replace(
        meta, os=os_info, image_id=art.image_id,
        diff_ids=tuple(str(d) for d in diff_ids) if isinstance(diff_ids, list) else (),
        repo_tags=art.repo_tags, repo_digests=art.repo_digests, image_config=art.image_config,
        layers=art.layers, size=sum(la.size for la in art.layers))
