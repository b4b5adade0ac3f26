"""SBOM input for `vigil sbom` (pure: bytes in, Applications out): CycloneDX JSON and XML, SPDX 2.x JSON and
tag-value.

Every component/package with a purl of a known ecosystem becomes a Package; others are skipped (an SBOM lists
files, OS packages and the like that Vigil cannot match yet). Packages are grouped into Applications by the
properties/annotations Vigil writes (`vigil:Target`, `vigil:Type`; `vigil:FilePath`; Trivy's `aquasecurity:trivy:*` are read
too), so an SBOM made by Vigil scans to the same targets; otherwise by ecosystem under the SBOM's file name.
Dependency edges come from CycloneDX `dependencies` and SPDX `DEPENDS_ON` relationships.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import unquote

from vigil.analyzers.errors import number_too_large
from vigil.errors import UserError
from vigil.inventory.records import PURL_TYPES, Application, Location, Package, Relationship

_ECOSYSTEM_BY_PURL_TYPE = {v: k for k, v in PURL_TYPES.items()}
_PREFIXES = ("vigil:", "aquasecurity:trivy:")
_RELATIONSHIPS = ("root", "workspace", "direct", "indirect", "unknown")


class SBOMError(UserError):
    """Not a readable SBOM (user error)."""


@dataclass
class _Item:
    ref: str
    purl: str
    name: str = ""
    version: str = ""
    props: dict[str, list[str]] = field(default_factory=dict)

    def prop(self, key: str) -> str:
        for p in _PREFIXES:
            if self.props.get(p + key):
                return self.props[p + key][0]
        return ""


def _split_purl(purl: str) -> tuple[str, str, str, str] | None:
    """(ecosystem, namespace, name, version) or None for a non-purl or an ecosystem Vigil does not know."""
    if not purl.startswith("pkg:"):
        return None
    body = purl[4:].split("#", 1)[0].split("?", 1)[0]
    ptype, _, rest = body.partition("/")
    eco = _ECOSYSTEM_BY_PURL_TYPE.get(ptype.lower())
    if eco is None or not rest:
        return None
    version = ""
    at = rest.rfind("@")
    if at > rest.rfind("/"):
        rest, version = rest[:at], unquote(rest[at + 1 :])
    ns, _, name = rest.rpartition("/")
    return eco, unquote(ns), unquote(name), version


def _full_name(eco: str, ns: str, name: str) -> str:
    if not ns:
        return name
    return f"{ns}:{name}" if eco == "maven" else f"{ns}/{name}"


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
        )
        grouped[(app_type, it.prop("Target") or file_path or sbom_name)].append(pkg)
    return tuple(
        Application(type=t, file_path=fp, packages=tuple(sorted(pkgs, key=lambda p: (p.name, p.version, p.id))))
        for (t, fp), pkgs in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    )


def _cdx_json(doc: dict[str, object], sbom_name: str) -> tuple[Application, ...]:
    items: list[_Item] = []

    def walk(components: object) -> None:
        if not isinstance(components, list):
            return
        for c in components:
            if not isinstance(c, dict):
                continue
            props: dict[str, list[str]] = defaultdict(list)
            for p in c.get("properties") or []:
                if isinstance(p, dict) and isinstance(p.get("name"), str):
                    props[p["name"]].append(str(p.get("value", "")))
            purl = c.get("purl")
            if isinstance(purl, str):
                group = str(c.get("group") or "")
                name = str(c.get("name") or "")
                parts = _split_purl(purl)
                full = _full_name(parts[0], group, name) if parts and name else name
                items.append(_Item(ref=str(c.get("bom-ref") or purl), purl=purl, name=full,
                                   version=str(c.get("version") or ""), props=dict(props)))
            walk(c.get("components"))

    walk(doc.get("components"))
    deps: dict[str, list[str]] = {}
    for d in doc.get("dependencies") or []:  # type: ignore[attr-defined]
        if isinstance(d, dict) and isinstance(d.get("ref"), str):
            deps[d["ref"]] = [str(x) for x in d.get("dependsOn") or []]
    return _to_apps(items, deps, sbom_name)


def _cdx_xml(data: bytes, sbom_name: str) -> tuple[Application, ...]:
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
    for c in root.iter(ns + "component"):
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
        items.append(_Item(ref=c.get("bom-ref") or purl, purl=purl.strip(), name=full,
                           version=c.findtext(ns + "version") or "", props=dict(props)))
    deps: dict[str, list[str]] = {}
    top = root.find(ns + "dependencies")
    if top is not None:
        for d in top.findall(ns + "dependency"):
            deps[d.get("ref", "")] = [x.get("ref", "") for x in d.findall(ns + "dependency")]
    return _to_apps(items, deps, sbom_name)


def _spdx_json(doc: dict[str, object], sbom_name: str) -> tuple[Application, ...]:
    items: list[_Item] = []
    for p in doc.get("packages") or []:  # type: ignore[attr-defined]
        if not isinstance(p, dict):
            continue
        purl = next((str(r.get("referenceLocator")) for r in p.get("externalRefs") or []
                     if isinstance(r, dict) and r.get("referenceType") == "purl"), "")
        if not purl:
            continue
        props: dict[str, list[str]] = defaultdict(list)
        for a in p.get("annotations") or []:
            comment = str(a.get("comment", "")) if isinstance(a, dict) else ""
            key, sep, value = comment.partition(": ")
            if sep:
                props[key].append(value)
        items.append(_Item(ref=str(p.get("SPDXID") or purl), purl=purl, name=str(p.get("name") or ""),
                           version=str(p.get("versionInfo") or ""), props=dict(props)))
    deps: dict[str, list[str]] = defaultdict(list)
    for r in doc.get("relationships") or []:  # type: ignore[attr-defined]
        if not isinstance(r, dict):
            continue
        a, b, kind = str(r.get("spdxElementId")), str(r.get("relatedSpdxElement")), r.get("relationshipType")
        if kind == "DEPENDS_ON":
            deps[a].append(b)
        elif kind == "DEPENDENCY_OF":
            deps[b].append(a)
    return _to_apps(items, deps, sbom_name)


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


def _spdx_tv(data: bytes, sbom_name: str) -> tuple[Application, ...]:
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
    late: list[tuple[str, str]] = []  # annotations naming their element (SPDXREF) before the element is known
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
        elif tag == "SPDXREF":
            pending_ref = value
        elif tag == "AnnotationComment":
            late.append((pending_ref, value))
            pending_ref = ""
    for ref, comment in late:
        target = by_id.get(ref)
        if target is not None:
            _items(target, "annotations").append({"comment": comment})
    return _spdx_json({"packages": packages, "relationships": relationships}, sbom_name)


def sbom_format(data: bytes) -> str:
    """'cyclonedx-json' | 'cyclonedx-xml' | 'spdx-json' | 'spdx-tv' | '' (unknown)."""
    if b"SPDXVersion:" in data[:4096]:
        return "spdx-tv"
    head = data.lstrip()[:1]
    if head == b"<":
        return "cyclonedx-xml" if b"cyclonedx.org/schema/bom" in data[:4096] else ""
    if head == b"{":
        try:
            doc = json.loads(data)
        except ValueError as e:
            if too_large := number_too_large(e):  # valid JSON, just a number Python will not read
                raise SBOMError(too_large) from e
            return ""
        if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX":
            return "cyclonedx-json"
        if isinstance(doc, dict) and str(doc.get("spdxVersion", "")).startswith("SPDX-"):
            return "spdx-json"
    return ""


def parse_sbom(data: bytes, sbom_name: str = "sbom") -> tuple[Application, ...]:
    fmt = sbom_format(data)
    if fmt == "cyclonedx-xml":
        return _cdx_xml(data, sbom_name)
    if fmt == "spdx-tv":
        return _spdx_tv(data, sbom_name)
    if fmt in ("cyclonedx-json", "spdx-json"):
        doc = json.loads(data)
        return _cdx_json(doc, sbom_name) if fmt == "cyclonedx-json" else _spdx_json(doc, sbom_name)
    raise SBOMError("unrecognised SBOM (supported: CycloneDX JSON/XML, SPDX JSON and tag-value)")


__all__ = ["SBOMError", "parse_sbom", "sbom_format"]
