"""Package URLs (purl spec) built from ecosystem, name and version."""

from __future__ import annotations

from urllib.parse import quote

from vigil.inventory.records import GO, MAVEN, NPM, PURL_TYPES, PYPI


def _q(s: str) -> str:
    return quote(s, safe="")


def make_purl(ecosystem: str, name: str, version: str) -> str:
    ptype = PURL_TYPES.get(ecosystem)
    if not ptype:
        return ""
    namespace = ""
    if ecosystem == MAVEN and ":" in name:
        namespace, name = name.split(":", 1)
    elif ecosystem == NPM and name.startswith("@") and "/" in name:
        namespace, name = name.split("/", 1)
    elif ecosystem == GO and "/" in name:
        namespace, name = name.rsplit("/", 1)
    elif ecosystem == PYPI:
        name = name.lower().replace("_", "-")
    elif ptype in ("composer",) and "/" in name:
        namespace, name = name.split("/", 1)
    ns = "/".join(_q(p) for p in namespace.split("/")) + "/" if namespace else ""
    ver = f"@{_q(version)}" if version else ""
    return f"pkg:{ptype}/{ns}{_q(name)}{ver}"
