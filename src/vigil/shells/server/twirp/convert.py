"""Trivy's protocol messages <-> Vigil's records, converted once at the edge of the server.

In: a Trivy client's blob (the analysis of a layer, a directory or an SBOM) becomes a vigil BlobInfo — OS, OS
package databases, applications, secrets, misconfigurations — and its scan options the DetectionOptions of the
server's own scan path. Out: the Report that path produces becomes the ScanResponse a Trivy client prints (OS,
results per target with vulnerabilities, packages, secrets, licenses, misconfigurations). What has no counterpart
is listed in docs/trivy-server-compat.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, get_args

import msgspec

from vigil.findings.analysis import BlobInfo, ConfigFindings, OSRelease, SecretsInFile
from vigil.findings.records import (
    CVSS,
    SEVERITIES,
    CauseMetadata,
    Code,
    CodeLine,
    LayerInfo,
    LicenseFinding,
    Misconfiguration,
    MisconfSummary,
    Report,
    Result,
    SecretFinding,
    Severity,
    Status,
    Vulnerability,
)
from vigil.findings.wire import ALL_RELATIONSHIPS, DetectionOptions, PkgType, Scanner
from vigil.inventory.records import (
    OS_PKG_FORMAT,
    PURL_TYPES,
    Application,
    LayerRef,
    Location,
    OSInfo,
    Package,
    Relationship,
)
from vigil.log import get_logger
from vigil.shells.server.twirp.gen import cache_pb2, common_pb2, scanner_pb2

log = get_logger(__name__)

# Trivy's wire integers (its Go iota order) for a package's relationship and a vulnerability's status
RELATIONSHIPS: tuple[Relationship, ...] = ("unknown", "root", "workspace", "direct", "indirect")
STATUSES: tuple[Status, ...] = ("unknown", "not_affected", "affected", "fixed", "under_investigation",
                                "will_not_fix", "fix_deferred", "end_of_life")
_STATUS_NUMBER = {s: i for i, s in enumerate(STATUSES)}
_SEVERITY_NUMBER = {s: i for i, s in enumerate(SEVERITIES)}  # the same order as Trivy's Severity enum
SCANNERS: frozenset[str] = frozenset(get_args(Scanner))
PKG_TYPES: frozenset[str] = frozenset(get_args(PkgType))
_CATEGORY_NUMBER = {"forbidden": 1, "restricted": 2, "reciprocal": 3, "notice": 4, "permissive": 5,
                    "unencumbered": 6, "unknown": 7}

# Where a Trivy application type's packages are matched (a package's purl type wins when it has one).
APP_ECOSYSTEMS: dict[str, str] = {
    **dict.fromkeys(("npm", "yarn", "pnpm", "bun", "node-pkg"), "npm"),
    **dict.fromkeys(("pip", "pipenv", "poetry", "uv", "pdm", "pylock", "python-pkg", "python-egg",
                     "python-wheel"), "pypi"),
    **dict.fromkeys(("gomod", "gobinary"), "go"),
    **dict.fromkeys(("cargo", "rust-binary", "rustbinary"), "cargo"),
    **dict.fromkeys(("bundler", "gemspec"), "rubygems"),
    **dict.fromkeys(("composer", "composer-vendor"), "composer"),
    **dict.fromkeys(("jar", "pom", "gradle", "sbt"), "maven"),
    **dict.fromkeys(("nuget", "dotnet-core", "packages-props"), "nuget"),
    "hex": "hex", "pub": "pub", "conan": "conan", "swift": "swift", "cocoapods": "cocoapods",
    "conda-pkg": "conda", "conda-environment": "conda", "julia": "julia",
}
# Trivy's application types Vigil spells otherwise (the Result's Type a Trivy client prints is Trivy's)
_VIGIL_APP_TYPE = {"rust-binary": "rustbinary"}
_TRIVY_APP_TYPE = {v: k for k, v in _VIGIL_APP_TYPE.items()}
_ECOSYSTEM_OF_PURL_TYPE = {v: k for k, v in PURL_TYPES.items()}


class Unsupported:
    """What a request asked for that the server does not do: logged and counted by the caller."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, kind: str, value: str) -> None:
        self.items.append((kind, value))


# --- in: Trivy -> Vigil -------------------------------------------------------------------------------------------


def severity(text: str) -> Severity:
    up = text.upper()
    for s in SEVERITIES:
        if s == up:
            return s
    return "UNKNOWN"


def _layer_ref(layer: common_pb2.Layer | None) -> LayerRef | None:
    if layer is None or not (layer.digest or layer.diff_id or layer.created_by):
        return None
    return LayerRef(digest=layer.digest, diff_id=layer.diff_id, created_by=layer.created_by)


def _relationship(pkg: common_pb2.Package) -> Relationship:
    n = pkg.relationship
    if 0 < n < len(RELATIONSHIPS):
        return RELATIONSHIPS[n]
    return "indirect" if pkg.indirect else "unknown"


def _ecosystem(pkg: common_pb2.Package, app_type: str) -> str:
    purl = pkg.identifier.purl if pkg.HasField("identifier") else ""
    if purl.startswith("pkg:"):
        ptype = purl[4:].split("/", 1)[0].lower()
        if ptype in _ECOSYSTEM_OF_PURL_TYPE:
            return _ECOSYSTEM_OF_PURL_TYPE[ptype]
    return APP_ECOSYSTEMS.get(app_type, app_type)


def package(pkg: common_pb2.Package, ecosystem: str, *, os_pkg: bool) -> Package:
    ident = pkg.identifier if pkg.HasField("identifier") else None
    # a dpkg/rpm package keeps Trivy's Version/Release/Epoch apart, as Vigil's records do (Package.full_version
    # joins them for the OS matchers)
    return Package(
        ecosystem=ecosystem, name=pkg.name, version=pkg.version, id=pkg.id, purl=ident.purl if ident else "",
        dev=pkg.dev, relationship=_relationship(pkg), depends_on=tuple(pkg.depends_on),
        locations=tuple(Location(start_line=loc.start_line, end_line=loc.end_line) for loc in pkg.locations),
        file_path=pkg.file_path, licenses=tuple(pkg.licenses), arch=pkg.arch, src_name=pkg.src_name,
        src_version=pkg.src_version, maintainer=pkg.maintainer,
        layer=_layer_ref(pkg.layer) if pkg.HasField("layer") else None,
        release=pkg.release if os_pkg else "", epoch=pkg.epoch if os_pkg else 0,
        src_release=pkg.src_release if os_pkg else "", src_epoch=pkg.src_epoch if os_pkg else 0)


def _code(code: common_pb2.Code) -> Code:
    return Code(lines=tuple(CodeLine(number=ln.number, content=ln.content, is_cause=ln.is_cause,
                                     truncated=ln.truncated) for ln in code.lines))


def _secrets(secrets: Iterable[common_pb2.Secret]) -> tuple[SecretsInFile, ...]:
    return tuple(SecretsInFile(file_path=s.filepath, secrets=tuple(
        SecretFinding(rule_id=f.rule_id, category=f.category, severity=severity(f.severity), title=f.title,
                      start_line=f.start_line, end_line=f.end_line, match=f.match, code=_code(f.code),
                      offset=f.offset)
        for f in s.findings)) for s in secrets)


def _misconf(m: common_pb2.MisconfResult, status: str, file_type: str) -> Misconfiguration:
    pm = m.policy_metadata
    cm = m.cause_metadata
    refs = tuple(pm.references)
    return Misconfiguration(
        type=pm.type or file_type, id=pm.id, avd_id=pm.adv_id, aliases=tuple(pm.aliases), title=pm.title,
        description=pm.description, message=m.message, namespace=m.namespace, query=m.query,
        resolution=pm.recommended_actions, severity=severity(pm.severity), primary_url=refs[0] if refs else "",
        references=refs, status="PASS" if status == "PASS" else "FAIL",
        cause_metadata=CauseMetadata(resource=cm.resource, provider=cm.provider, service=cm.service,
                                     start_line=cm.start_line, end_line=cm.end_line, code=_code(cm.code)))


def _config(misconfs: Sequence[common_pb2.Misconfiguration]) -> ConfigFindings:
    results = []
    for mc in misconfs:
        found = [_misconf(m, "FAIL", mc.file_type) for m in (*mc.failures, *mc.warnings)]
        passed = [_misconf(m, "PASS", mc.file_type) for m in mc.successes]
        results.append(Result(target=mc.file_path, class_="config", type=mc.file_type,
                              misconf_summary=MisconfSummary(successes=len(passed), failures=len(found)),
                              misconfigurations=tuple(found + passed)))
    return ConfigFindings(results=tuple(results))


def blob_info(blob: cache_pb2.BlobInfo, unsupported: Unsupported) -> BlobInfo:
    """A Trivy client's analysis as Vigil's blob record (the cache stores this, never the protobuf)."""
    releases: tuple[OSRelease, ...] = ()
    family = ""
    if blob.HasField("os") and blob.os.family:
        family = blob.os.family
        releases = (OSRelease(file_path="etc/os-release", os=OSInfo(family=family, name=blob.os.name)),)
    pkg_format = OS_PKG_FORMAT.get(family, family or "os")
    dbs = tuple(Application(type=pkg_format, file_path=pi.file_path, packages=tuple(
        package(p, pkg_format, os_pkg=True) for p in pi.packages)) for pi in blob.package_infos)
    apps = tuple(Application(type=_VIGIL_APP_TYPE.get(a.type, a.type), file_path=a.file_path, packages=tuple(
        package(p, _ecosystem(p, a.type), os_pkg=False) for p in a.packages)) for a in blob.applications)
    if blob.licenses:
        unsupported.add("blob", "licenses (license files, --license-full)")
    if blob.custom_resources:
        unsupported.add("blob", "custom_resources")
    return BlobInfo(
        diff_id=blob.diff_id, digest=blob.digest, os_releases=releases, package_dbs=dbs, applications=apps,
        secrets=_secrets(blob.secrets), config=_config(blob.misconfigurations),
        whiteouts=tuple(w.lstrip("/") for w in blob.whiteout_files),
        opaque_dirs=tuple(d.strip("/") for d in blob.opaque_dirs))


def artifact_blob(info: cache_pb2.ArtifactInfo) -> BlobInfo:
    """What the server keeps of an image's own analysis: the secrets found in its config."""
    return BlobInfo(diff_id="", secrets=_secrets([info.secret]) if info.HasField("secret") else ())


def distro(opts: scanner_pb2.ScanOptions) -> OSInfo | None:
    """`trivy --distro FAMILY/VERSION`: the OS to use instead of the one the client detected."""
    if opts.HasField("distro") and opts.distro.family:
        return OSInfo(family=opts.distro.family, name=opts.distro.name)
    return None


def with_distro(blobs: dict[str, BlobInfo], top: str, os_info: OSInfo) -> dict[str, BlobInfo]:
    """Every layer's OS forgotten, the given one in the top layer (a Trivy blob's OS is its only release file)."""
    out = {k: msgspec.structs.replace(b, os_releases=()) for k, b in blobs.items()}
    out[top] = msgspec.structs.replace(out[top], os_releases=(OSRelease(file_path="etc/os-release", os=os_info),))
    return out


def layer_info(blob: BlobInfo) -> LayerInfo:
    return LayerInfo(digest=blob.digest, diff_id=blob.diff_id)


def packages_only(opts: scanner_pb2.ScanOptions) -> bool:
    """Trivy's "sbom" scanner without "vuln" (`trivy image -f cyclonedx`): packages are wanted, vulnerabilities not.
    Vigil lists packages with the vulnerability scan, so the server detects and leaves the vulnerabilities out."""
    return "sbom" in opts.scanners and "vuln" not in opts.scanners


def detection_options(opts: scanner_pb2.ScanOptions, unsupported: Unsupported) -> DetectionOptions:
    scanners: list[Scanner] = ["vuln"] if packages_only(opts) else []
    for s in opts.scanners:
        name = "misconfig" if s == "config" else s  # Trivy's old name for the misconfiguration scanner
        if name in SCANNERS:
            scanners.append(name)  # type: ignore[arg-type]  # checked against the Literal's values
        elif name != "sbom":  # Trivy's "list the packages": they are always returned
            unsupported.add("scanner", s)
    pkg_types: list[PkgType] = []
    for t in opts.pkg_types:
        if t in PKG_TYPES:
            pkg_types.append(t)  # type: ignore[arg-type]
        else:
            unsupported.add("pkg_type", t)
    rels: list[Relationship] = []
    for r in opts.pkg_relationships:
        if r in ALL_RELATIONSHIPS:
            rels.append(r)  # type: ignore[arg-type]
        else:
            unsupported.add("pkg_relationship", r)
    if opts.license_full:
        unsupported.add("option", "license_full")
    return DetectionOptions(
        scanners=tuple(dict.fromkeys(scanners)),
        pkg_types=tuple(dict.fromkeys(pkg_types)) or ("os", "library"),
        pkg_relationships=tuple(dict.fromkeys(rels)) or ALL_RELATIONSHIPS,
        include_dev_deps=opts.include_dev_deps,
        list_all_pkgs=True,  # a Trivy server always returns the packages; the client drops them unless asked
        license_categories={k: tuple(v.names) for k, v in opts.license_categories.items()})


# --- out: Vigil -> Trivy ------------------------------------------------------------------------------------------


def _set_layer(msg: common_pb2.Layer, ref: LayerRef | None) -> None:
    if ref is not None:
        msg.digest, msg.diff_id, msg.created_by = ref.digest, ref.diff_id, ref.created_by


def _timestamp(msg: Any, text: str) -> None:
    if not text:
        return
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    msg.FromDatetime(t)


def split_version(full: str) -> tuple[int, str, str]:
    """dpkg/rpm "[epoch:]version[-release]" as Trivy sends an OS package's version: (epoch, version, release)."""
    epoch, sep, rest = full.partition(":")
    if not (sep and epoch.isdigit()):
        epoch, rest = "0", full
    version, sep, release = rest.rpartition("-")
    if not sep:
        version, release = rest, ""
    return int(epoch), version, release


def _put_package(msg: common_pb2.Package, p: Package, split: bool) -> None:
    msg.id, msg.name, msg.version, msg.arch = p.id, p.name, p.version, p.arch
    msg.src_name, msg.src_version, msg.maintainer, msg.file_path = p.src_name, p.src_version, p.maintainer, \
        p.file_path
    if split:  # a dpkg or rpm package: Trivy's client joins the parts again where it prints a version
        # (split again from the whole version: a package read from an SBOM carries it whole in `version`)
        msg.epoch, msg.version, msg.release = split_version(p.full_version)
        if p.src_version:
            msg.src_epoch, msg.src_version, msg.src_release = split_version(p.src_full_version)
    if p.purl:
        msg.identifier.purl = p.purl
    msg.licenses.extend(p.licenses)
    msg.depends_on.extend(p.depends_on)
    msg.dev = p.dev
    msg.relationship = RELATIONSHIPS.index(p.relationship)
    msg.indirect = p.relationship == "indirect"
    for loc in p.locations:
        msg.locations.add(start_line=loc.start_line, end_line=loc.end_line)
    if p.layer is not None:
        _set_layer(msg.layer, p.layer)


def pick_severity(v: Vulnerability, sources: Sequence[str]) -> tuple[Severity, str]:
    """`trivy --vuln-severity-source A,B,auto`: the first listed source that rates the vulnerability; "auto" is
    the severity detection chose; no source at all: UNKNOWN (as Trivy)."""
    for src in sources or ("auto",):
        if src == "auto":
            return v.severity, v.severity_source
        if src in v.vendor_severity:
            return v.vendor_severity[src], src
    return "UNKNOWN", ""


def _put_vuln(msg: common_pb2.Vulnerability, v: Vulnerability, sources: Sequence[str]) -> None:
    msg.vulnerability_id, msg.pkg_name, msg.pkg_id, msg.pkg_path = v.vulnerability_id, v.pkg_name, v.pkg_id, \
        v.pkg_path
    msg.installed_version, msg.fixed_version = v.installed_version, v.fixed_version
    msg.title, msg.description, msg.primary_url = v.title, v.description, v.primary_url
    sev, sev_source = pick_severity(v, sources)
    msg.severity = _SEVERITY_NUMBER[sev]  # type: ignore[assignment]  # an enum number
    msg.severity_source = sev_source
    msg.status = _STATUS_NUMBER.get(v.status, 0)
    msg.references.extend(v.references)
    msg.cwe_ids.extend(v.cwe_ids)
    # the advisories that matched, under their own IDs (Trivy's VendorIDs: RHSA-…, DSA-…, GHSA-…)
    msg.vendor_ids.extend(dict.fromkeys(m.advisory_id for m in v.match_details
                                        if m.advisory_id and m.advisory_id != v.vulnerability_id))
    if v.purl:
        msg.pkg_identifier.purl = v.purl
    for src, sev in v.vendor_severity.items():
        msg.vendor_severity[src] = _SEVERITY_NUMBER[sev]  # type: ignore[assignment]
    for src, c in v.cvss.items():
        _put_cvss(msg.cvss[src], c)
    if v.data_sources:
        ds = v.data_sources[0]
        msg.data_source.id, msg.data_source.name, msg.data_source.url = ds.id, ds.name, ds.url
    if v.layer is not None:
        _set_layer(msg.layer, v.layer)
    _timestamp(msg.published_date, v.published_date)
    _timestamp(msg.last_modified_date, v.last_modified_date)


def _put_cvss(msg: common_pb2.CVSS, c: CVSS) -> None:
    msg.v2_vector, msg.v2_score, msg.v3_vector, msg.v3_score = c.v2_vector, c.v2_score, c.v3_vector, c.v3_score
    msg.v40_vector, msg.v40_score = c.v40_vector, c.v40_score


def _put_code(msg: common_pb2.Code, code: Code) -> None:
    for ln in code.lines:
        msg.lines.add(number=ln.number, content=ln.content, is_cause=ln.is_cause, truncated=ln.truncated)


def _put_secret(msg: common_pb2.SecretFinding, s: SecretFinding) -> None:
    msg.rule_id, msg.category, msg.severity, msg.title = s.rule_id, s.category, s.severity, s.title
    msg.start_line, msg.end_line, msg.match, msg.offset = s.start_line, s.end_line, s.match, s.offset
    _put_code(msg.code, s.code)
    if s.layer is not None:
        _set_layer(msg.layer, s.layer)


def _put_misconf(msg: common_pb2.DetectedMisconfiguration, m: Misconfiguration) -> None:
    msg.type, msg.id, msg.avd_id, msg.title, msg.description = m.type, m.id, m.avd_id, m.title, m.description
    msg.message, msg.namespace, msg.query, msg.resolution = m.message, m.namespace, m.query, m.resolution
    msg.severity = _SEVERITY_NUMBER[m.severity]  # type: ignore[assignment]
    msg.primary_url, msg.status = m.primary_url, m.status
    msg.references.extend(m.references)
    msg.aliases.extend(m.aliases)
    cm = m.cause_metadata
    cmsg = msg.cause_metadata
    cmsg.resource, cmsg.provider, cmsg.service = cm.resource, cm.provider, cm.service
    cmsg.start_line, cmsg.end_line = cm.start_line, cm.end_line
    _put_code(cmsg.code, cm.code)


def _put_license(msg: common_pb2.DetectedLicense, lic: LicenseFinding) -> None:
    msg.severity = _SEVERITY_NUMBER[lic.severity]  # type: ignore[assignment]
    msg.category = _CATEGORY_NUMBER.get(lic.category, 7)  # type: ignore[assignment]
    msg.pkg_name, msg.file_path, msg.name, msg.link = lic.pkg_name, lic.file_path, lic.name, lic.link
    msg.confidence = lic.confidence


def _trivy_type(r: Result) -> str:
    return _TRIVY_APP_TYPE.get(r.type, r.type) if r.class_ == "lang-pkgs" else r.type


def scan_response(report: Report, severity_sources: Sequence[str] = (), *,
                  vulnerabilities: bool = True) -> scanner_pb2.ScanResponse:
    out = scanner_pb2.ScanResponse()
    os_info = report.metadata.os
    if os_info is not None:
        out.os.family, out.os.name, out.os.eosl = os_info.family, os_info.name, os_info.eosl
    for la in report.metadata.layers:
        out.layers.add(digest=la.digest, diff_id=la.diff_id, created_by=la.created_by, size=la.size)
    for r in report.results:
        if r.error:  # an unreadable file: Trivy's protocol has no place for it (the server log has it)
            continue
        msg = out.results.add(target=r.target, type=_trivy_type(r))
        setattr(msg, "class", r.class_)  # "class" is a Python keyword
        split = r.class_ == "os-pkgs" and OS_PKG_FORMAT.get(r.type) in ("dpkg", "rpm")
        for p in r.packages:
            _put_package(msg.packages.add(), p, split)
        for v in r.vulnerabilities if vulnerabilities else ():
            _put_vuln(msg.vulnerabilities.add(), v, severity_sources)
        for s in r.secrets:
            _put_secret(msg.secrets.add(), s)
        for m in r.misconfigurations:
            _put_misconf(msg.misconfigurations.add(), m)
        for lic in r.licenses:
            _put_license(msg.licenses.add(), lic)
    return out
