"""Package URLs (purl spec) built from ecosystem, name and version."""

from __future__ import annotations

from urllib.parse import quote

from vigil.inventory.records import COCOAPODS, GO, MAVEN, NPM, PURL_TYPES, PYPI, SWIFT


def _q(s: str) -> str:
    return quote(s, safe="")


def make_purl(ecosystem: str, name: str, version: str) -> str:
    ptype = PURL_TYPES.get(ecosystem)
    if not ptype:
        return ""
    namespace = subpath = ""
    if ecosystem == MAVEN and ":" in name:
        namespace, name = name.split(":", 1)
    elif ecosystem == NPM and name.startswith("@") and "/" in name:
        namespace, name = name.split("/", 1)
    elif ecosystem in (GO, SWIFT) and "/" in name:  # github.com/apple/swift-nio -> namespace github.com/apple
        namespace, name = name.rsplit("/", 1)
    elif ecosystem == PYPI:
        name = name.lower().replace("_", "-")
    elif ptype in ("composer",) and "/" in name:
        namespace, name = name.split("/", 1)
    elif ecosystem == COCOAPODS and "/" in name:  # a subspec "Pod/Sub" is the pod with subpath "Sub"
        name, subpath = name.split("/", 1)
    ns = "/".join(_q(p) for p in namespace.split("/")) + "/" if namespace else ""
    ver = f"@{_q(version)}" if version else ""
    sub = "#" + "/".join(_q(p) for p in subpath.split("/")) if subpath else ""
    return f"pkg:{ptype}/{ns}{_q(name)}{ver}{sub}"
