"""VEX documents (OpenVEX, CycloneDX VEX, CSAF VEX) parsed into one statement type (pure: bytes in).

Like Trivy (pkg/vex), a statement whose status is `not_affected` or `fixed` suppresses the findings it names: the
vulnerability ID (or one of the finding's aliases) and a product purl matching the finding's package. `affected`
and `under_investigation` statements change nothing. Product purls match when type, namespace and name agree and
the statement's version is absent or equal (qualifiers and subpaths are ignored).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from vigil.errors import UserError

SUPPRESSING = ("not_affected", "fixed")


class VexError(UserError):
    """Unreadable or unrecognised VEX document (user error)."""


@dataclass(frozen=True)
class VexStatement:
    vulnerability_id: str
    aliases: tuple[str, ...]
    products: tuple[str, ...]  # purls
    status: str  # not_affected | fixed | affected | under_investigation
    justification: str = ""
    source: str = ""
    fmt: str = ""

    def suppresses(self) -> bool:
        return self.status in SUPPRESSING


def purl_key(purl: str) -> tuple[str, str, str] | None:
    """(type/namespace/name, version) -> comparable parts; None if not a purl."""
    if not purl.startswith("pkg:"):
        return None
    body = purl[4:].split("#", 1)[0].split("?", 1)[0]
    version = ""
    slash = body.rfind("/")
    at = body.rfind("@")
    if at > slash:
        body, version = body[:at], unquote(body[at + 1 :])
    ptype, _, rest = body.partition("/")
    ptype = ptype.lower()
    path = unquote(rest)
    if ptype in ("pypi", "npm", "golang", "cargo", "gem", "composer", "github"):
        path = path.lower()
    if ptype == "pypi":
        path = path.replace("_", "-").replace(".", "-")
    return ptype, path, version


def purl_matches(pattern: str, purl: str) -> bool:
    a, b = purl_key(pattern), purl_key(purl)
    if a is None or b is None:
        return pattern == purl
    return a[0] == b[0] and a[1] == b[1] and (not a[2] or a[2] == b[2])


def _s(x: Any) -> str:
    return x if isinstance(x, str) else ""


def _openvex(doc: dict[str, Any], source: str) -> list[VexStatement]:
    out = []
    for st in doc.get("statements") or []:
        if not isinstance(st, dict):
            continue
        vuln = st.get("vulnerability")
        if isinstance(vuln, dict):
            vid = _s(vuln.get("name")) or _s(vuln.get("@id"))
            aliases = tuple(a for a in vuln.get("aliases") or [] if isinstance(a, str))
        else:
            vid, aliases = _s(vuln), ()
        products: list[str] = []
        for p in st.get("products") or []:
            if isinstance(p, str):
                products.append(p)
            elif isinstance(p, dict):
                ids = [_s(p.get("@id")), _s((p.get("identifiers") or {}).get("purl"))]
                subs = [_s(sc.get("@id")) for sc in p.get("subcomponents") or [] if isinstance(sc, dict)]
                # With subcomponents the product is the artifact and the subcomponents are the packages.
                products.extend(x for x in (subs or ids) if x)
        out.append(VexStatement(vid, aliases, tuple(products), _s(st.get("status")),
                                _s(st.get("justification")), source, "openvex"))
    return out


_CDX_STATE = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "resolved": "fixed",
    "resolved_with_pedigree": "fixed",
    "exploitable": "affected",
    "in_triage": "under_investigation",
}


def _cyclonedx(doc: dict[str, Any], source: str) -> list[VexStatement]:
    refs: dict[str, str] = {}

    def walk(components: Any) -> None:
        for c in components or []:
            if isinstance(c, dict):
                if c.get("bom-ref") and c.get("purl"):
                    refs[str(c["bom-ref"])] = str(c["purl"])
                walk(c.get("components"))

    walk(doc.get("components"))
    md = doc.get("metadata") or {}
    if isinstance(md.get("component"), dict):
        walk([md["component"]])
    out = []
    for v in doc.get("vulnerabilities") or []:
        if not isinstance(v, dict):
            continue
        analysis = v.get("analysis") or {}
        state = _CDX_STATE.get(_s(analysis.get("state")), "")
        products = []
        for a in v.get("affects") or []:
            ref = _s(a.get("ref")) if isinstance(a, dict) else ""
            # A BOM-Link (urn:cdx:serial/version#bom-ref) points into another BOM; its fragment is the bom-ref,
            # which Vigil (and Trivy) make a purl.
            frag = unquote(ref.split("#", 1)[1]) if ref.startswith("urn:cdx:") and "#" in ref else ref
            products.append(refs.get(frag, frag))
        aliases = tuple(_s(r.get("id")) for r in v.get("references") or [] if isinstance(r, dict) and r.get("id"))
        out.append(VexStatement(_s(v.get("id")), aliases, tuple(p for p in products if p), state,
                                _s(analysis.get("justification")), source, "cyclonedx"))
    return out


def _csaf(doc: dict[str, Any], source: str) -> list[VexStatement]:
    purls: dict[str, list[str]] = {}

    def add(pid: str, purl: str) -> None:
        if pid and purl:
            purls.setdefault(pid, []).append(purl)

    def walk_branches(branches: Any) -> None:
        for b in branches or []:
            if not isinstance(b, dict):
                continue
            prod = b.get("product")
            if isinstance(prod, dict):
                helper = prod.get("product_identification_helper") or {}
                add(_s(prod.get("product_id")), _s(helper.get("purl")))
            walk_branches(b.get("branches"))

    tree = doc.get("product_tree") or {}
    walk_branches(tree.get("branches"))
    for prod in tree.get("full_product_names") or []:
        if isinstance(prod, dict):
            add(_s(prod.get("product_id")), _s((prod.get("product_identification_helper") or {}).get("purl")))
    # Relationships ("default_component_of") name a combined product; the package is the product_reference.
    for rel in tree.get("relationships") or []:
        if isinstance(rel, dict):
            fpn = rel.get("full_product_name") or {}
            ref = _s(rel.get("product_reference"))
            for p in purls.get(ref, []):
                add(_s(fpn.get("product_id")), p)
    out = []
    status_map = {
        "known_not_affected": "not_affected",
        "fixed": "fixed",
        "first_fixed": "fixed",
        "known_affected": "affected",
        "first_affected": "affected",
        "last_affected": "affected",
        "under_investigation": "under_investigation",
    }
    for v in doc.get("vulnerabilities") or []:
        if not isinstance(v, dict):
            continue
        vid = _s(v.get("cve"))
        aliases = tuple(_s(i.get("text")) for i in v.get("ids") or [] if isinstance(i, dict) and i.get("text"))
        if not vid and aliases:
            vid, aliases = aliases[0], aliases[1:]
        justifications: dict[str, str] = {}
        for fl in v.get("flags") or []:
            if isinstance(fl, dict):
                for pid in fl.get("product_ids") or []:
                    justifications[str(pid)] = _s(fl.get("label"))
        for key, status in status_map.items():
            pids = (v.get("product_status") or {}).get(key) or []
            for pid in pids:
                prods = tuple(purls.get(str(pid), []))
                if prods:
                    out.append(VexStatement(vid, aliases, prods, status, justifications.get(str(pid), ""),
                                            source, "csaf"))
    return out


def parse_vex(data: bytes, source: str = "vex") -> list[VexStatement]:
    """Detect the format (OpenVEX: @context openvex; CSAF: document.category; CycloneDX: bomFormat) and parse."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise VexError(f"{source}: not a JSON VEX document: {e}") from e
    if not isinstance(doc, dict):
        raise VexError(f"{source}: not a VEX document (expected a JSON object)")
    if "openvex" in _s(doc.get("@context")):
        return _openvex(doc, source)
    if doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(doc, source)
    if isinstance(doc.get("document"), dict) and "csaf" in _s(doc["document"].get("category")):
        return _csaf(doc, source)
    raise VexError(f"{source}: unrecognised VEX format (supported: OpenVEX, CycloneDX VEX, CSAF VEX)")
