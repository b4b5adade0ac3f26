"""SBOM input for `vigil sbom` (pure: bytes in, Applications out): CycloneDX JSON and XML, SPDX 2.x JSON and
tag-value.

Every component/package with a purl of a known ecosystem becomes a Package; others are skipped (files and the
like). OS packages (`pkg:deb`, `pkg:apk`, `pkg:rpm`) become the package database of the OS the SBOM names (its
operating-system component, else the purls' `distro` qualifier), split into version, release and epoch as the
package managers record them, with their source package from the `SrcName`/`SrcVersion` properties Vigil and Trivy
write (else the binary package's own), so an image's SBOM is matched as the image is. Packages are grouped into Applications by the
properties/annotations Vigil writes (`vigil:Target`, `vigil:Type`; `vigil:FilePath`; Trivy's `aquasecurity:trivy:*` are read
too), so an SBOM made by Vigil scans to the same targets; otherwise by ecosystem under the SBOM's file name.
Dependency edges come from CycloneDX `dependencies` and SPDX `DEPENDS_ON` relationships.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast
from urllib.parse import unquote

import msgspec

from vigil.analyzers.errors import number_too_large
from vigil.errors import UserError
from vigil.inventory.records import (
    OS_FAMILIES,
    PURL_TYPES,
    Application,
    Location,
    OSInfo,
    Package,
    Relationship,
    join_evr,
    split_deb_version,
)

_ECOSYSTEM_BY_PURL_TYPE = {v: k for k, v in PURL_TYPES.items()}
_PREFIXES = ("vigil:", "aquasecurity:trivy:")
_RELATIONSHIPS = ("root", "workspace", "direct", "indirect", "unknown")


class SBOMError(UserError):
    """Not a readable SBOM (user error)."""


class _Item(msgspec.Struct):  # a Struct, not a dataclass: made once per component of a BOM of thousands
    ref: str
    purl: str
    name: str = ""
    version: str = ""
    props: dict[str, list[str]] = msgspec.field(default_factory=dict)
    licenses: tuple[str, ...] = ()

    def prop(self, key: str) -> str:
        props = self.props
        if props:
            for name in _prefixed(key):
                found = props.get(name)
                if found:
                    return found[0]
        return ""


@lru_cache(maxsize=64)
def _prefixed(key: str) -> tuple[str, ...]:
    return tuple(p + key for p in _PREFIXES)


def _split_purl(purl: str) -> tuple[str, str, str, str] | None:
    """(ecosystem, namespace, name, version) or None for a non-purl or an ecosystem Vigil does not know."""
    parts = _purl_parts(purl)
    if parts is None:
        return None
    ptype, ns, name, version, _ = parts
    eco = _ECOSYSTEM_BY_PURL_TYPE.get(ptype)
    return None if eco is None else (eco, ns, name, version)


def _full_name(eco: str, ns: str, name: str) -> str:
    if not ns:
        return name
    return f"{ns}:{name}" if eco == "maven" else f"{ns}/{name}"


class SbomInventory(msgspec.Struct, frozen=True):
    """What an SBOM lists: language packages grouped as applications, and the OS with its package databases."""

    applications: tuple[Application, ...] = ()
    os: OSInfo | None = None
    package_dbs: tuple[Application, ...] = ()


# purl type of an OS package -> the package manager (and version scheme) of the OS analyzers
_OS_PURL_TYPES = {"deb": "dpkg", "apk": "apk", "rpm": "rpm"}


@lru_cache(maxsize=1 << 16)
def _purl_parts(purl: str) -> tuple[str, str, str, str, Mapping[str, str]] | None:
    """(type, namespace, name, version, qualifiers) of any purl, None for a non-purl. Memoised: each component's
    purl is read by the walk, the OS inventory and the application grouping; the qualifiers are read-only."""
    if not purl.startswith("pkg:"):
        return None
    body, _, query = purl[4:].split("#", 1)[0].partition("?")
    ptype, _, rest = body.partition("/")
    if not rest:
        return None
    version = ""
    at = rest.rfind("@")
    if at > rest.rfind("/"):
        rest, version = rest[:at], unquote(rest[at + 1:])
    ns, _, name = rest.rpartition("/")
    quals = {}
    for pair in query.split("&") if query else ():
        k, _, v = pair.partition("=")
        quals[k.lower()] = unquote(v)
    return ptype.lower(), unquote(ns), unquote(name), version, quals


def _epoch(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 10 else 0


def _split_evr(fmt: str, full: str, epoch_hint: int = 0) -> tuple[int, str, str]:
    """(epoch, version, release) of a dpkg or rpm version ("1:2.38.1-5+deb12u3"); apk versions stay whole."""
    if fmt == "apk":
        return 0, full, ""
    epoch, sep, rest = full.partition(":")
    if sep and epoch.isdigit():
        e, full = _epoch(epoch), rest
    else:
        e = epoch_hint
    if fmt == "dpkg":
        _, up, rev = split_deb_version(full)
        return e, up, rev
    ver, sep, rel = full.rpartition("-")
    return (e, ver, rel) if sep and ver else (e, full, "")


def _os_inventory(items: list[_Item], os_hint: tuple[str, str] | None) -> tuple[OSInfo | None, tuple[Application, ...]]:
    dbs: dict[tuple[str, str], list[Package]] = defaultdict(list)
    distro: tuple[str, str] | None = None
    for it in items:
        parts = _purl_parts(it.purl)
        if parts is None or parts[0] not in _OS_PURL_TYPES:
            continue
        ptype, family, pname, pver, quals = parts
        fmt = _OS_PURL_TYPES[ptype]
        name = pname or it.name
        if not name:
            continue
        if distro is None and family:
            d = quals.get("distro", "")
            distro = (family.lower(), d[len(family) + 1:] if d.lower().startswith(family.lower() + "-") else d)
        epoch, ver, rel = _split_evr(fmt, pver or it.version, _epoch(quals.get("epoch", "")))
        src_name = it.prop("SrcName") or name
        if it.prop("SrcRelease") or it.prop("SrcEpoch"):  # Trivy writes the source version's parts apart
            src_epoch, src_ver, src_rel = _epoch(it.prop("SrcEpoch")), it.prop("SrcVersion"), it.prop("SrcRelease")
        elif it.prop("SrcVersion"):  # Vigil writes the whole source version
            src_epoch, src_ver, src_rel = _split_evr(fmt, it.prop("SrcVersion"))
        else:
            src_epoch, src_ver, src_rel = epoch, ver, rel
        pkg = Package(ecosystem=fmt, name=name, version=ver, release=rel, epoch=epoch, arch=quals.get("arch", ""),
                      id=it.prop("PkgID") or f"{name}@{join_evr(epoch, ver, rel)}", purl=it.purl,
                      src_name=src_name, src_version=src_ver, src_release=src_rel, src_epoch=src_epoch,
                      licenses=it.licenses, file_path=it.prop("FilePath"))
        dbs[(fmt, pkg.file_path)].append(pkg)
    if not dbs:
        return None, ()
    os_info: OSInfo | None = None
    if os_hint is not None and os_hint[0].lower() in OS_FAMILIES:
        os_info = OSInfo(family=os_hint[0].lower(), name=os_hint[1])
    elif distro is not None and distro[0] in OS_FAMILIES:
        os_info = OSInfo(family=distro[0], name=distro[1])
    apps = tuple(Application(type=fmt, file_path=fp, packages=tuple(sorted(pkgs, key=lambda p: (p.name, p.id))))
                 for (fmt, fp), pkgs in sorted(dbs.items()))
    return os_info, apps


def _licenses_cdx(raw: object) -> tuple[str, ...]:
    out: list[str] = []
    for entry in raw if isinstance(raw, list) else ():
        if not isinstance(entry, dict):
            continue
        lic = entry.get("license")
        if isinstance(lic, dict):
            val = lic.get("id") or lic.get("name")
            if isinstance(val, str) and val:
                out.append(val)
        elif isinstance(entry.get("expression"), str) and entry["expression"]:
            out.append(entry["expression"])
    return tuple(dict.fromkeys(out))


def _to_apps(items: list[_Item], deps: dict[str, list[str]], sbom_name: str) -> tuple[Application, ...]:
    by_ref = {i.ref: i for i in items}
    grouped: dict[tuple[str, str], list[Package]] = defaultdict(list)
    ids: dict[str, str] = {}
    parsed: list[tuple[_Item, tuple[str, str, str, str]]] = []
    for it in items:
        parts = _split_purl(it.purl)
        if parts is None:
            continue
        parsed.append((it, parts))
        eco, ns, pname, pver = parts
        name = it.name or _full_name(eco, ns, pname)
        ids[it.ref] = it.prop("PkgID") or f"{name}@{it.version or pver}"
    for it, (eco, ns, pname, pver) in parsed:
        name = it.name or _full_name(eco, ns, pname)
        version = it.version or pver
        rel = it.prop("Relationship")
        locations = []
        for loc in it.props.get("vigil:Location", []):
            a, _, b = loc.partition("-")
            if a.isdigit() and b.isdigit():
                locations.append(Location(start_line=int(a), end_line=int(b)))
        file_path = it.prop("FilePath")
        app_type = it.prop("Type") or it.prop("PkgType") or eco
        pkg = Package(
            ecosystem=eco,
            name=name,
            version=version,
            id=ids[it.ref],
            purl=it.purl,
            dev=it.prop("Dev") == "true",
            relationship=cast(Relationship, rel) if rel in _RELATIONSHIPS else "unknown",
            depends_on=tuple(sorted({ids[d] for d in deps.get(it.ref, []) if d in ids and d in by_ref})),
            locations=tuple(locations),
            file_path=file_path,
            licenses=it.licenses,
        )
        grouped[(app_type, it.prop("Target") or file_path or sbom_name)].append(pkg)
    return tuple(
        Application(type=t, file_path=fp, packages=tuple(sorted(pkgs, key=lambda p: (p.name, p.version, p.id))))
        for (t, fp), pkgs in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    )


def _cdx_item(purl: str, group: object, name: object, version: object, ref: object, props: dict[str, list[str]],
              licenses: object) -> _Item:
    group, name = str(group or ""), str(name or "")
    parts = _split_purl(purl)
    full = _full_name(parts[0], group, name) if parts and name else name
    return _Item(ref=str(ref or purl), purl=purl, name=full, version=str(version or ""), props=props,
                 licenses=_licenses_cdx(licenses))


def _cdx_json(doc: dict[str, object], sbom_name: str) -> SbomInventory:
    items: list[_Item] = []
    os_hint: list[tuple[str, str]] = []

    def walk(components: object) -> None:
        if not isinstance(components, list):
            return
        for c in components:
            if not isinstance(c, dict):
                continue
            if c.get("type") == "operating-system" and isinstance(c.get("name"), str):
                os_hint.append((c["name"], str(c.get("version") or "")))
            props: dict[str, list[str]] = defaultdict(list)
            for p in c.get("properties") or []:
                if isinstance(p, dict) and isinstance(p.get("name"), str):
                    props[p["name"]].append(str(p.get("value", "")))
            purl = c.get("purl")
            if isinstance(purl, str):
                items.append(_cdx_item(purl, c.get("group"), c.get("name"), c.get("version"), c.get("bom-ref"),
                                       dict(props), c.get("licenses")))
            walk(c.get("components"))

    walk(doc.get("components"))
    deps: dict[str, list[str]] = {}
    for d in doc.get("dependencies") or []:  # type: ignore[attr-defined]
        if isinstance(d, dict) and isinstance(d.get("ref"), str):
            deps[d["ref"]] = [str(x) for x in d.get("dependsOn") or []]
    return _inventory(items, deps, sbom_name, os_hint[0] if os_hint else None)


# CycloneDX JSON read into records of only the fields this module reads: the C decoder skips everything else (the
# vulnerabilities, hashes, external references…) without building it, which was most of reading a large BOM. Field
# values stay untyped, checked by the walk as the dict path checks them; a document whose shape these records do
# not hold (a component or a property that is not an object, properties that are not a list…) is read by the dict
# path instead, so both read every document alike.
class _CdxProperty(msgspec.Struct):
    name: Any = None
    value: Any = ""


class _CdxComponent(msgspec.Struct, rename={"bom_ref": "bom-ref"}):
    type: Any = None
    name: Any = None
    version: Any = None
    group: Any = None
    purl: Any = None
    bom_ref: Any = None
    properties: list[_CdxProperty] | None = None
    licenses: Any = None
    components: list[_CdxComponent] | None = None


class _CdxDependency(msgspec.Struct):
    ref: Any = None
    dependsOn: Any = None


class _CdxDocument(msgspec.Struct):
    bomFormat: Any = None
    components: list[_CdxComponent] | None = None
    dependencies: list[_CdxDependency] | None = None


@lru_cache(maxsize=1)
def _cdx_decoder() -> msgspec.json.Decoder[_CdxDocument]:
    return msgspec.json.Decoder(_CdxDocument)


def _cdx_records(doc: _CdxDocument, sbom_name: str) -> SbomInventory:
    """_cdx_json over the records of a decoded CycloneDX document (the same checks, in the same order)."""
    items: list[_Item] = []
    os_hint: list[tuple[str, str]] = []
    stack = [iter(doc.components or ())]
    while stack:  # depth first, in document order, as _cdx_json's recursion
        c = next(stack[-1], None)
        if c is None:
            stack.pop()
            continue
        if c.type == "operating-system" and isinstance(c.name, str):
            os_hint.append((c.name, str(c.version or "")))
        props: dict[str, list[str]] = defaultdict(list)
        for p in c.properties or ():
            if isinstance(p.name, str):
                props[p.name].append(str(p.value))
        if isinstance(c.purl, str):
            items.append(_cdx_item(c.purl, c.group, c.name, c.version, c.bom_ref, dict(props), c.licenses))
        if c.components:
            stack.append(iter(c.components))
    deps: dict[str, list[str]] = {}
    for d in doc.dependencies or ():
        if isinstance(d.ref, str):
            deps[d.ref] = [str(x) for x in d.dependsOn or []]
    return _inventory(items, deps, sbom_name, os_hint[0] if os_hint else None)


def _inventory(items: list[_Item], deps: dict[str, list[str]], sbom_name: str,
               os_hint: tuple[str, str] | None) -> SbomInventory:
    os_info, dbs = _os_inventory(items, os_hint)
    return SbomInventory(applications=_to_apps(items, deps, sbom_name), os=os_info, package_dbs=dbs)


def _cdx_xml(data: bytes, sbom_name: str) -> SbomInventory:
    import xml.etree.ElementTree as ET  # imported for XML only (the JSON formats are the common case)

    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise SBOMError("XML with a DTD or entities is refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise SBOMError(f"invalid XML: {e}") from e
    if not root.tag.endswith("}bom"):
        raise SBOMError("not a CycloneDX XML document (root element is not <bom>)")
    ns = root.tag[: root.tag.index("}") + 1]
    items: list[_Item] = []
    os_hint: tuple[str, str] | None = None
    for c in root.iter(ns + "component"):
        if c.get("type") == "operating-system" and os_hint is None:
            os_hint = (c.findtext(ns + "name") or "", c.findtext(ns + "version") or "")
        purl = c.findtext(ns + "purl")
        if not purl:
            continue
        props: dict[str, list[str]] = defaultdict(list)
        for p in c.findall(f"{ns}properties/{ns}property"):
            props[p.get("name", "")].append(p.text or "")
        group = c.findtext(ns + "group") or ""
        name = c.findtext(ns + "name") or ""
        parts = _split_purl(purl)
        full = _full_name(parts[0], group, name) if parts and name else name
        lic = [x.text.strip() for x in c.findall(f"{ns}licenses/{ns}license/*")
               if x.tag in (ns + "id", ns + "name") and x.text and x.text.strip()]
        lic += [x.text.strip() for x in c.findall(f"{ns}licenses/{ns}expression") if x.text and x.text.strip()]
        items.append(_Item(ref=c.get("bom-ref") or purl, purl=purl.strip(), name=full,
                           version=c.findtext(ns + "version") or "", props=dict(props),
                           licenses=tuple(dict.fromkeys(lic))))
    deps: dict[str, list[str]] = {}
    top = root.find(ns + "dependencies")
    if top is not None:
        for d in top.findall(ns + "dependency"):
            deps[d.get("ref", "")] = [x.get("ref", "") for x in d.findall(ns + "dependency")]
    return _inventory(items, deps, sbom_name, os_hint)


def _spdx_json(doc: dict[str, object], sbom_name: str) -> SbomInventory:
    items: list[_Item] = []
    os_hint: tuple[str, str] | None = None
    for p in doc.get("packages") or []:  # type: ignore[attr-defined]
        if not isinstance(p, dict):
            continue
        if p.get("primaryPackagePurpose") == "OPERATING-SYSTEM" and os_hint is None:
            os_hint = (str(p.get("name") or ""), str(p.get("versionInfo") or ""))
        purl = next((str(r.get("referenceLocator")) for r in p.get("externalRefs") or []
                     if isinstance(r, dict) and r.get("referenceType") == "purl"), "")
        if not purl:
            continue
        props: dict[str, list[str]] = defaultdict(list)
        for a in p.get("annotations") or []:
            comment = str(a.get("comment", "")) if isinstance(a, dict) else ""
            key, sep, value = comment.partition(": ")
            if sep:
                # Trivy's SPDX annotations carry bare keys ("PkgID: …"); its annotator names the tool
                trivy = isinstance(a, dict) and str(a.get("annotator", "")).startswith("Tool: trivy")
                props[("aquasecurity:trivy:" + key) if trivy and ":" not in key else key].append(value)
        src = str(p.get("sourceInfo") or "")
        if src.startswith("built package from: ") and not any(k.endswith("SrcName") for k in props):
            # Trivy's form for an OS package's source package: "built package from: openssl 1.1.1o-r0"
            src_name, _, src_version = src[len("built package from: "):].strip().partition(" ")
            if src_name:
                props["vigil:SrcName"] = [src_name]
                props["vigil:SrcVersion"] = [src_version.strip()] if src_version.strip() else []
        lic = [str(p[k]) for k in ("licenseConcluded", "licenseDeclared")
               if isinstance(p.get(k), str) and p[k] not in ("", "NOASSERTION", "NONE")]
        items.append(_Item(ref=str(p.get("SPDXID") or purl), purl=purl, name=str(p.get("name") or ""),
                           version=str(p.get("versionInfo") or ""), props=dict(props),
                           licenses=tuple(dict.fromkeys(lic[:1]))))
    deps: dict[str, list[str]] = defaultdict(list)
    for r in doc.get("relationships") or []:  # type: ignore[attr-defined]
        if not isinstance(r, dict):
            continue
        a, b, kind = str(r.get("spdxElementId")), str(r.get("relatedSpdxElement")), r.get("relationshipType")
        if kind == "DEPENDS_ON":
            deps[a].append(b)
        elif kind == "DEPENDENCY_OF":
            deps[b].append(a)
    return _inventory(items, deps, sbom_name, os_hint)


def _tv_pairs(text: str) -> list[tuple[str, str]]:
    """Tag-value lines as (tag, value); `<text>…</text>` values may span lines."""
    out: list[tuple[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#") or ":" not in line:
            continue
        tag, _, value = line.partition(":")
        value = value.strip()
        if value.startswith("<text>"):
            buf = [value[len("<text>"):]]
            while "</text>" not in buf[-1] and i < len(lines):
                buf.append(lines[i])
                i += 1
            value = "\n".join(buf).split("</text>", 1)[0]
        out.append((tag.strip(), value))
    return out


def _items(d: dict[str, object], key: str) -> list[object]:
    v = d[key]
    assert isinstance(v, list)
    return v


def _spdx_tv(data: bytes, sbom_name: str) -> SbomInventory:
    """SPDX tag-value, turned into the JSON document shape and read like SPDX JSON."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SBOMError(f"SPDX tag-value is not UTF-8: {e}") from e
    packages: list[dict[str, object]] = []
    relationships: list[dict[str, str]] = []
    pending_ref = ""
    cur: dict[str, object] | None = None
    by_id: dict[str, dict[str, object]] = {}
    annotator = ""
    late: list[tuple[str, str, str]] = []  # annotations naming their element (SPDXREF) before it is known
    for tag, value in _tv_pairs(text):
        if tag == "PackageName":
            cur = {"name": value, "externalRefs": [], "annotations": []}
            packages.append(cur)
        elif tag in ("FileName", "SnippetSPDXID"):
            cur = None
        elif tag == "SPDXID" and cur is not None:
            cur["SPDXID"] = value
            by_id[value] = cur
        elif tag == "PackageVersion" and cur is not None:
            cur["versionInfo"] = value
        elif tag == "PackageSourceInfo" and cur is not None:
            cur["sourceInfo"] = value
        elif tag == "PrimaryPackagePurpose" and cur is not None:
            cur["primaryPackagePurpose"] = value
        elif tag in ("PackageLicenseConcluded", "PackageLicenseDeclared") and cur is not None:
            cur["licenseConcluded" if tag == "PackageLicenseConcluded" else "licenseDeclared"] = value
        elif tag == "ExternalRef" and cur is not None:
            parts = value.split()
            if len(parts) >= 3:
                _items(cur, "externalRefs").append(
                    {"referenceCategory": parts[0], "referenceType": parts[1], "referenceLocator": parts[2]})
        elif tag == "Relationship":
            parts = value.split()
            if len(parts) >= 3:
                relationships.append({"spdxElementId": parts[0], "relationshipType": parts[1],
                                      "relatedSpdxElement": parts[2]})
        elif tag == "Annotator":
            annotator = value
        elif tag == "SPDXREF":
            pending_ref = value
        elif tag == "AnnotationComment":
            late.append((pending_ref, annotator, value))
            pending_ref = annotator = ""
    for ref, who, comment in late:
        target = by_id.get(ref)
        if target is not None:
            _items(target, "annotations").append({"annotator": who, "comment": comment})
    return _spdx_json({"packages": packages, "relationships": relationships}, sbom_name)


def sbom_format(data: bytes) -> str:
    """'cyclonedx-json' | 'cyclonedx-xml' | 'spdx-json' | 'spdx-tv' | '' (unknown)."""
    return _sniff(data)[0]


def _sniff(data: bytes) -> tuple[str, Any]:
    """The format and, for the JSON formats, the decoded document (decoding a large BOM is a good part of reading
    it: parse_sbom_inventory uses this one rather than decoding the text again)."""
    if b"SPDXVersion:" in data[:4096]:
        return "spdx-tv", None
    head = data.lstrip()[:1]
    if head == b"<":
        return ("cyclonedx-xml" if b"cyclonedx.org/schema/bom" in data[:4096] else ""), None
    if head == b"{":
        import json  # the whole-document path (SPDX JSON, and CycloneDX the records cannot hold)

        try:
            doc = json.loads(data)
        except RecursionError:  # a hostile document's nesting: a user error, not a crash
            raise SBOMError("the document is nested too deeply to read") from None
        except ValueError as e:
            if too_large := number_too_large(e):  # valid JSON, just a number Python will not read
                raise SBOMError(too_large) from e
            return "", None
        if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX":
            return "cyclonedx-json", doc
        if isinstance(doc, dict) and str(doc.get("spdxVersion", "")).startswith("SPDX-"):
            return "spdx-json", doc
    return "", None


def parse_sbom(data: bytes, sbom_name: str = "sbom") -> tuple[Application, ...]:
    """The SBOM's language packages (see parse_sbom_inventory for the OS too)."""
    return parse_sbom_inventory(data, sbom_name).applications


def parse_sbom_inventory(data: bytes, sbom_name: str = "sbom") -> SbomInventory:
    if data.lstrip()[:1] == b"{" and b"SPDXVersion:" not in data[:4096]:
        try:
            records = _cdx_decoder().decode(data)
            if records.bomFormat == "CycloneDX":
                return _cdx_records(records, sbom_name)
        except (msgspec.MsgspecError, RecursionError, ValueError):
            # not what these records hold (or a number too long for Python to write out as a version): the dict
            # path reads it, or says what is wrong with it
            pass
    fmt, doc = _sniff(data)
    if fmt == "cyclonedx-xml":
        return _cdx_xml(data, sbom_name)
    if fmt == "spdx-tv":
        return _spdx_tv(data, sbom_name)
    if fmt in ("cyclonedx-json", "spdx-json"):
        return _cdx_json(doc, sbom_name) if fmt == "cyclonedx-json" else _spdx_json(doc, sbom_name)
    raise SBOMError("unrecognised SBOM (supported: CycloneDX JSON/XML, SPDX JSON and tag-value)")


__all__ = ["SBOMError", "SbomInventory", "parse_sbom", "parse_sbom_inventory", "sbom_format"]
