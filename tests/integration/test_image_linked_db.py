"""An OS package DB stored as a link. A hardlink is resolved inside its layer even when nothing read its target (a
second pass over the layer reads it); a symbolic link is not followed, but it is reported, and an OS package DB
that cannot be read fails --exit-code instead of passing with 0 findings."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from tests.cli_helpers import run
from tests.image_helpers import analyze_image
from tests.oci_builder import write_layout

from vigil.analysis.merge import merge
from vigil.settings import ScanOptions

APK_DB = b"P:musl\nV:1.2.3-r0\nA:x86_64\n\nP:zlib\nV:1.2.12-r0\nA:x86_64\n\n"
DB = "lib/apk/db/installed"
RELEASE = ("etc/alpine-release", b"3.16.0\n")


def _tar(*members: tuple[str, bytes | str]) -> bytes:
    """(path, content) in order; "=>target" makes a hardlink, "->target" a symlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, content in members:
            ti = tarfile.TarInfo(path)
            ti.mtime, ti.mode = 0, 0o644
            if isinstance(content, str):
                ti.type = tarfile.LNKTYPE if content.startswith("=>") else tarfile.SYMTYPE
                ti.linkname = content[2:]
                tf.addfile(ti)
            else:
                ti.size = len(content)
                tf.addfile(ti, io.BytesIO(content))
    return buf.getvalue()


def _analyse(tmp: Path, layers: list[bytes]) -> tuple[list[str], list[tuple[str, str]]]:
    """(OS package names, (path, analyzer) of the Unknowns) after the merge."""
    layout = write_layout(tmp / "img", layers)
    opts = ScanOptions(target=layout, db_path=tmp / "none.db", analyzer_kinds=("os",))
    image_layers, blobs, _ = analyze_image(layout, opts)
    merged = merge(image_layers, blobs)  # type: ignore[arg-type]
    return sorted(p.name for p in merged.os_packages), [(u.file_path, u.analyzer) for u in merged.unknowns]


def test_db_hardlinked_to_a_file_no_analyzer_reads_is_resolved(tmp_path: Path) -> None:
    layer = _tar(RELEASE, ("usr/share/doc/x", APK_DB), (DB, "=>usr/share/doc/x"))
    assert _analyse(tmp_path, [layer]) == (["musl", "zlib"], [])


def test_hardlink_chain_and_the_target_content_at_the_link(tmp_path: Path) -> None:
    # the link gets the target's bytes as they were when the link was written, through a chain of hardlinks
    layer = _tar(("usr/share/doc/x", APK_DB), ("usr/share/doc/y", "=>usr/share/doc/x"), (DB, "=>usr/share/doc/y"),
                 ("usr/share/doc/x", b""))
    assert _analyse(tmp_path, [layer]) == (["musl", "zlib"], [])


def test_a_later_entry_replaces_a_held_hardlink(tmp_path: Path) -> None:
    layer = _tar(("usr/share/doc/x", APK_DB), (DB, "=>usr/share/doc/x"), (DB, b""))
    assert _analyse(tmp_path, [layer]) == ([], [])


def test_symlinked_db_is_reported_not_missed_silently(tmp_path: Path) -> None:
    layers = [_tar(("opt/db/installed", APK_DB)), _tar((DB, "->/opt/db/installed"))]
    assert _analyse(tmp_path, layers) == ([], [(DB, "apk")])


def test_unreadable_os_package_db_fails_the_exit_code(fixture_db: Path, tmp_path: Path) -> None:
    bad = write_layout(tmp_path / "bad", [_tar(RELEASE, ("opt/db/installed", APK_DB), (DB, "->/opt/db/installed"))])
    good = write_layout(tmp_path / "good", [_tar(RELEASE, (DB, b""))])
    common = ("--db-path", str(fixture_db), "--cache-backend", "memory", "--exit-code", "1", "-f", "json")
    p = run("image", "--input", str(bad), *common)
    assert p.returncode == 1, p.stderr
    [res] = [r for r in json.loads(p.stdout)["Results"] if r.get("Error")]
    assert (res["Target"], res["Class"], res["Type"]) == (DB, "os-pkgs", "apk")
    assert "symbolic link to /opt/db/installed: not followed" in res["Error"]
    assert "not followed" in p.stderr
    p = run("image", "--input", str(good), *common)
    assert p.returncode == 0, p.stderr
