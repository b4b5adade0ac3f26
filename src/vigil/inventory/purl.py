"""Package URLs (purl spec) built from ecosystem, name and version."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

from vigil.inventory.records import (
    COCOAPODS,
    GO,
    MAVEN,
    NPM,
    OS_PKG_FORMAT,
    PURL_TYPES,
    PYPI,
    SWIFT,
    OSInfo,
    Package,
)

# Characters quote() never escapes. Most names and versions consist of nothing else, and quote() is pure Python
# (it encodes, then walks the bytes): a regex check and a memo of the rest make a lockfile corpus's 20,000 purls
# (and a BOM's 30,000 bom-refs) cost a fraction of what they did. quote(s, safe="") either way.
_ALWAYS_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")


@lru_cache(maxsize=1 << 16)
def _quote_all(s: str) -> str:
    return quote(s, safe="")


def quote_all(s: str) -> str:
    """`urllib.parse.quote(s, safe="")`: every character but letters, digits and `_.-~` percent-encoded."""
    return s if _ALWAYS_SAFE.fullmatch(s) else _quote_all(s)


_q = quote_all


# A package is often in several lockfiles of a tree (the lockfile corpus asks 21,700 purls of 8,400 packages): each
# is built once.
@lru_cache(maxsize=1 << 16)
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


# purl type per OS package format (purl-spec types "deb", "apk", "rpm").
_OS_PURL_TYPES = {"dpkg": "deb", "apk": "apk", "rpm": "rpm"}


def os_purl(os: OSInfo, pkg: Package) -> str:
    """The purl of an OS package, as Trivy writes it: the namespace is the OS family, the version the full version
    without its epoch, which goes in an `epoch` qualifier (purl-spec rpm; Trivy does the same for deb);
    qualifiers `arch`, `distro` ("debian-12.15"; Alpine's is just the release, "3.16.0") and `epoch`, in sorted
    key order as the purl spec requires.
        pkg:deb/debian/bsdutils@2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12.15&epoch=1
        pkg:apk/alpine/musl@1.2.3-r0?arch=x86_64&distro=3.16.0
        pkg:rpm/redhat/openssl@3.0.1-41.el9_0?arch=x86_64&distro=redhat-9.0&epoch=1
    "" for a family Vigil does not know."""
    ptype = _OS_PURL_TYPES.get(OS_PKG_FORMAT.get(os.family, ""), "")
    if not ptype or not pkg.name:
        return ""
    version, epoch = pkg.full_version, ""
    if ptype in ("deb", "rpm"):
        head, sep, rest = version.partition(":")
        if sep and head.isdigit():
            version = rest
            epoch = "" if int(head) == 0 else str(int(head))
    qualifiers = []
    if pkg.arch:
        qualifiers.append(f"arch={_q(pkg.arch)}")
    if os.name:
        qualifiers.append(f"distro={_q(os.name if ptype == 'apk' else f'{os.family}-{os.name}')}")
    if epoch:
        qualifiers.append(f"epoch={epoch}")
    ver = f"@{_q(version)}" if version else ""
    qs = "?" + "&".join(qualifiers) if qualifiers else ""
    return f"pkg:{ptype}/{_q(os.family)}/{_q(pkg.name)}{ver}{qs}"
