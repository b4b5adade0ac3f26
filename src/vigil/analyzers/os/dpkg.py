"""dpkg's database of installed packages: `var/lib/dpkg/status`, and distroless images' `var/lib/dpkg/status.d/*`
(one file per package holding its control stanza; the `*.md5sums` files beside them are file lists, not stanzas).

Format facts (deb-status(5), deb822): stanzas separated by blank lines; "Field: value" lines, field names
case-insensitive, continuation lines start with a space or tab. Kept: Package, Version (split into epoch,
upstream version and Debian revision as Trivy's JSON shows them; Package.full_version joins them again), Architecture, Maintainer, Source ("name" or "name (version)": the version defaults to the
binary's, the name to the binary's when absent — Debian advisories are keyed by source package).

Status is "want flag state": only packages whose state is "installed" count, and not those the admin asked to
remove (want deinstall/purge, as Trivy does); config-files, half-installed, unpacked ... stanzas are skipped.
Distroless stanzas carry no Status field: those are installed. Installed files come from dpkg_files.
"""

from __future__ import annotations

from vigil.analyzers.errors import ParseError
from vigil.analyzers.registry import AnalysisInput, AnalysisResult, Analyzer
from vigil.inventory.records import Package, split_deb_version

ECOSYSTEM = "dpkg"
_KEEP = {"package", "version", "architecture", "source", "status", "maintainer"}


def _stanzas(text: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
                cur = {}
            continue
        if line[0] in " \t":  # continuation (Description, Conffiles...): none of the kept fields use it
            continue
        key, sep, value = line.partition(":")
        if not sep:  # not a field: skipped rather than losing the whole database over one damaged line
            continue
        key = key.strip().lower()
        if key in _KEEP:
            cur[key] = value.strip()
    if cur:
        out.append(cur)
    return out


def is_installed(status: str | None) -> bool:
    if status is None:  # distroless status.d stanzas have no Status
        return True
    words = status.split()
    return len(words) == 3 and words[2] == "installed" and words[0] not in ("deinstall", "purge")


def split_source(source: str, name: str, version: str) -> tuple[str, str]:
    src, _, rest = source.partition("(")
    src = src.strip() or name
    src_version = rest.rstrip(")").strip() if rest else ""
    return src, src_version or version


def parse_dpkg_status(data: bytes, path: str = "") -> tuple[Package, ...]:
    if b"\x00" in data[:8192]:
        raise ParseError("binary data, not a dpkg status file")
    text = data.decode("utf-8", errors="replace")
    out: list[Package] = []
    for st in _stanzas(text):
        name, version = st.get("package", ""), st.get("version", "")
        if not name or not version or not is_installed(st.get("status")):
            continue
        src_name, src_version = split_source(st.get("source", ""), name, version)
        epoch, upstream, revision = split_deb_version(version)
        src_epoch, src_upstream, src_revision = split_deb_version(src_version)
        out.append(Package(
            ecosystem=ECOSYSTEM,
            name=name,
            version=upstream,
            release=revision,
            epoch=epoch,
            id=f"{name}@{version}",
            arch=st.get("architecture", ""),
            src_name=src_name,
            src_version=src_upstream,
            src_release=src_revision,
            src_epoch=src_epoch,
            maintainer=st.get("maintainer", ""),
            file_path=path,
        ))
    return tuple(out)


def _analyze(inp: AnalysisInput) -> AnalysisResult:
    if inp.path.endswith(".md5sums"):
        return AnalysisResult()
    return AnalysisResult(os_packages=parse_dpkg_status(inp.data, inp.path))


ANALYZER = Analyzer(
    name="dpkg",
    version=2,
    kind="os",
    path_globs=("/var/lib/dpkg/status", "/var/lib/dpkg/status.d/*"),
    analyze=_analyze,
)
