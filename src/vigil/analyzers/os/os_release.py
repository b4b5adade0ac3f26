"""Which distribution and release a root filesystem is, from its release files.

- `etc/os-release`, `usr/lib/os-release` (freedesktop os-release: KEY=value, optionally quoted): ID and
  VERSION_ID. IDs map to our families: debian, ubuntu, alpine, rhel -> redhat, centos, rocky, almalinux -> alma.
- `etc/debian_version`: the precise Debian point release ("12.15", while os-release only says "12"); testing and
  sid say "<codename>/sid", kept as is. Ubuntu ships this file too (with a Debian codename): the engine must let
  os-release's family win over it and take debian_version's release only when both say debian.
- `etc/alpine-release`: "3.16.2".
- `etc/lsb-release` (Ubuntu): DISTRIB_ID=Ubuntu, DISTRIB_RELEASE=24.04.
- `etc/redhat-release`, `etc/centos-release`, `etc/rocky-release`, `etc/almalinux-release`: one line
  "<distribution> release <version> (<codename>)", e.g. "Rocky Linux release 9.3 (Blue Onyx)". The distribution
  comes from the text, not the file name: CentOS, Rocky and Alma also ship an `etc/redhat-release`.

A distribution we do not know (Fedora, SUSE, Oracle...) gives os=None, not an error: the engine then reports the
OS as unsupported. Release names are kept as the OS spells them; records.os_release_key() reduces them.
"""

from __future__ import annotations

import re

from vigil.analyzers.errors import ParseError
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import ALMA, ALPINE, CENTOS, DEBIAN, REDHAT, ROCKY, UBUNTU, OSInfo

_OS_RELEASE_IDS = {"debian": DEBIAN, "ubuntu": UBUNTU, "alpine": ALPINE, "rhel": REDHAT, "centos": CENTOS,
                   "rocky": ROCKY, "almalinux": ALMA, "alma": ALMA}
# "<distribution> release <version>" prefixes, most specific first (CentOS Stream is still CentOS to the DB).
_RELEASE_PREFIXES = (("Red Hat Enterprise Linux", REDHAT), ("CentOS", CENTOS), ("Rocky Linux", ROCKY),
                     ("AlmaLinux", ALMA))
_RELEASE_RE = re.compile(r"^(?P<dist>.+?)\s+release\s+(?P<version>[0-9][0-9A-Za-z.]*)")
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+~/-]*$")

PATHS = ("etc/os-release", "usr/lib/os-release", "etc/debian_version", "etc/alpine-release", "etc/lsb-release",
         "etc/redhat-release", "etc/centos-release", "etc/rocky-release", "etc/almalinux-release")
MAX_SIZE = 64 * 1024  # release files are a few hundred bytes; anything bigger is not one


def _text(data: bytes) -> str:
    if len(data) > MAX_SIZE or b"\x00" in data:
        raise ParseError("not a text release file")
    return data.decode("utf-8", errors="replace")


def parse_keyvalues(text: str) -> dict[str, str]:
    """KEY=value lines (os-release, lsb-release); values may be single- or double-quoted; '#' starts a comment."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key.strip()] = value
    return out


def _release(version: str) -> str | None:
    version = version.strip()
    return version if version and len(version) <= 64 and _VERSION_RE.match(version) else None


def parse_os_release(data: bytes) -> OSInfo | None:
    kv = parse_keyvalues(_text(data))
    family = _OS_RELEASE_IDS.get(kv.get("ID", "").lower())
    name = _release(kv.get("VERSION_ID", ""))
    return OSInfo(family=family, name=name) if family and name else None


def parse_lsb_release(data: bytes) -> OSInfo | None:
    kv = parse_keyvalues(_text(data))
    name = _release(kv.get("DISTRIB_RELEASE", ""))
    if kv.get("DISTRIB_ID", "").lower() == "ubuntu" and name:
        return OSInfo(family=UBUNTU, name=name)
    return None


def parse_single_line(data: bytes, family: str) -> OSInfo | None:
    """debian_version / alpine-release: the release is the first line."""
    lines = _text(data).strip().splitlines()
    name = _release(lines[0]) if lines else None
    return OSInfo(family=family, name=name) if name else None


def parse_redhat_release(data: bytes) -> OSInfo | None:
    lines = _text(data).strip().splitlines()
    m = _RELEASE_RE.match(lines[0].strip()) if lines else None
    if not m:
        return None
    dist = m["dist"]
    for prefix, family in _RELEASE_PREFIXES:
        if dist.startswith(prefix):
            return OSInfo(family=family, name=m["version"].rstrip("."))
    return None


def detect(path: str, data: bytes) -> OSInfo | None:
    base = path.rsplit("/", 1)[-1]
    if base == "os-release":
        return parse_os_release(data)
    if base == "lsb-release":
        return parse_lsb_release(data)
    if base == "debian_version":
        return parse_single_line(data, DEBIAN)
    if base == "alpine-release":
        return parse_single_line(data, ALPINE)
    if base.endswith("-release"):
        return parse_redhat_release(data)
    return None


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    return AnalysisResult(os=detect(inp.path, inp.data))


ANALYZER = Analyzer(
    name="os-release",
    version=1,
    kind="os",
    path_globs=tuple("/" + p for p in PATHS),
    analyze=_analyze,
)
