"""Distroless images have no dpkg info/*.list files: the installed files of a package come from
var/lib/dpkg/status.d/<package>.md5sums (as in Trivy). Language metadata those files own is then reported once,
as the OS package, like on a regular Debian image."""

from __future__ import annotations

from pathlib import Path

from tests.image_helpers import analyze_image
from tests.oci_builder import layer_tar, write_layout

from vigil.analysis.merge import merge
from vigil.pipeline.detect import Inventory, drop_os_owned
from vigil.settings import ScanOptions

META = "usr/lib/python3/dist-packages/yaml-6.0.dist-info/METADATA"
STANZA = b"""Package: python3-yaml
Version: 6.0-3+b2
Architecture: amd64
Source: pyyaml (6.0-3)
Maintainer: Debian Python Team
"""


def test_status_d_md5sums_give_the_installed_files(tmp_path: Path) -> None:
    layout = write_layout(tmp_path / "img", [layer_tar({
        "etc/os-release": b'ID=debian\nVERSION_ID="12"\n',
        "var/lib/dpkg/status.d/python3-yaml": STANZA,
        "var/lib/dpkg/status.d/python3-yaml.md5sums":
            f"0123456789abcdef0123456789abcdef  {META}\n"
            "fedcba9876543210fedcba9876543210  usr/share/doc/python3-yaml/copyright\n".encode(),
        META: b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n",
    })])
    opts = ScanOptions(target=layout, db_path=tmp_path / "none.db", analyzer_kinds=("lockfile", "installed", "os"))
    layers, blobs, _ = analyze_image(layout, opts)
    merged = merge(layers, blobs)  # type: ignore[arg-type]
    (pkg,) = merged.os_packages
    assert (pkg.name, pkg.full_version, pkg.src_name, pkg.src_full_version) == ("python3-yaml", "6.0-3+b2", "pyyaml", "6.0-3")
    assert pkg.installed_files == (META, "usr/share/doc/python3-yaml/copyright")
    owned = frozenset(pkg.installed_files)
    inv = drop_os_owned(Inventory(applications=merged.applications, unknowns=[]), owned)
    assert inv.applications == []  # PyYAML's dist-info belongs to python3-yaml
