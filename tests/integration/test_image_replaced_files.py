"""A file that a later layer writes again (or replaces with a symlink) hides what the lower layers' analysis found
at that path, even when the new content yields nothing: the docker/OCI applier removes the old path (and its
subtree) before it extracts the new entry, so nothing of it remains in the image."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from tests.image_helpers import analyze_image
from tests.oci_builder import write_layout

from vigil.analysis.merge import merge
from vigil.settings import ScanOptions

GO_BINARY = Path(__file__).resolve().parents[1] / "fixtures" / "installed" / "gobinary" / "hello"
SITE = "usr/lib/python3.11/site-packages"


def _tar(*members: tuple[str, bytes | str, int]) -> bytes:
    """(path, content or "->target" for a symlink, mode) entries, in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, content, mode in members:
            ti = tarfile.TarInfo(path)
            ti.mode, ti.mtime = mode, 0
            if isinstance(content, str):
                ti.type, ti.linkname = tarfile.SYMTYPE, content.removeprefix("->")
                tf.addfile(ti)
            else:
                ti.size = len(content)
                tf.addfile(ti, io.BytesIO(content))
    return buf.getvalue()


def _packages(tmp: Path, layers: list[bytes]) -> dict[tuple[str, str, str], str]:
    """(file path, name, version) -> created_by of the layer it is attributed to, after merging."""
    layout = write_layout(tmp / "img", layers, created_by=[f"step {i}" for i in range(len(layers))])
    opts = ScanOptions(target=layout, db_path=tmp / "none.db", analyzer_kinds=("lockfile", "installed", "os"))
    layers, blobs, _ = analyze_image(layout, opts)
    merged = merge(layers, blobs)  # type: ignore[arg-type]
    return {(a.file_path, p.name, p.version): p.layer.created_by if p.layer else "" for a in merged.applications
            for p in a.packages}


def test_lockfile_rewritten_without_packages_hides_the_old_ones(tmp_path: Path) -> None:
    got = _packages(tmp_path, [_tar(("app/requirements.txt", b"requests==2.19.0\n", 0o644)),
                               _tar(("app/requirements.txt", b"# all dependencies vendored now\n", 0o644))])
    assert got == {}


def test_go_binary_replaced_by_a_script_is_not_reported(tmp_path: Path) -> None:
    got = _packages(tmp_path, [_tar(("app/server", GO_BINARY.read_bytes(), 0o755)),
                               _tar(("app/server", b"#!/bin/sh\nexec /app/real-server \"$@\"\n" + b"#" * 64, 0o755))])
    assert got == {}


def test_directory_replaced_by_a_symlink_hides_its_lower_subtree(tmp_path: Path) -> None:
    meta = f"{SITE}/requests-2.19.0.dist-info/METADATA"
    got = _packages(tmp_path, [_tar((meta, b"Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n", 0o644)),
                               _tar((f"{SITE}/requests-2.19.0.dist-info", "->/opt/elsewhere", 0o777))])
    assert got == {}


def test_rewritten_file_with_packages_still_replaces_and_is_attributed_to_its_layer(tmp_path: Path) -> None:
    got = _packages(tmp_path, [_tar(("app/requirements.txt", b"requests==2.19.0\nidna==2.7\n", 0o644)),
                               _tar(("app/requirements.txt", b"requests==2.31.0\nidna==2.7\n", 0o644),
                                    ("app/other.txt", b"unrelated", 0o644))])
    assert got == {("app/requirements.txt", "requests", "2.31.0"): "step 1",
                   ("app/requirements.txt", "idna", "2.7"): "step 0"}


# -- the OS package DB: the last entry for a path wins, and a type change hides what a lower layer had ---------

APK_DB = b"P:musl\nV:1.2.3-r0\nA:x86_64\n\nP:zlib\nV:1.2.12-r0\nA:x86_64\n\n"
DB = "lib/apk/db/installed"


def _entries_tar(*members: tuple[str, bytes | None]) -> bytes:
    """(path, content) in order; None makes a directory. Duplicate paths are kept as separate entries."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, content in members:
            ti = tarfile.TarInfo(path)
            ti.mtime = 0
            if content is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(content), 0o644
                tf.addfile(ti, io.BytesIO(content))
    return buf.getvalue()


def _os_packages(tmp: Path, layers: list[bytes]) -> list[str]:
    layout = write_layout(tmp / "img", layers)
    opts = ScanOptions(target=layout, db_path=tmp / "none.db", analyzer_kinds=("os",))
    image_layers, blobs, _ = analyze_image(layout, opts)
    return sorted(p.name for p in merge(image_layers, blobs).os_packages)  # type: ignore[arg-type]


def test_a_later_empty_entry_for_the_db_in_the_same_layer_wins(tmp_path: Path) -> None:
    assert _os_packages(tmp_path, [_entries_tar((DB, APK_DB), (DB, b""))]) == []
    assert _os_packages(tmp_path / "2", [_entries_tar((DB, b""), (DB, APK_DB))]) == ["musl", "zlib"]


def test_a_later_directory_at_the_db_path_in_the_same_layer_wins(tmp_path: Path) -> None:
    assert _os_packages(tmp_path, [_entries_tar((DB, APK_DB), (DB, None))]) == []


def test_an_upper_file_over_the_db_directory_hides_the_db(tmp_path: Path) -> None:
    layers = [_entries_tar(("lib/apk/db", None), (DB, APK_DB)), _entries_tar(("lib/apk/db", b"not a dir\n"))]
    assert _os_packages(tmp_path, layers) == []


def test_an_upper_directory_at_the_db_path_hides_the_db(tmp_path: Path) -> None:
    layers = [_entries_tar((DB, APK_DB)), _entries_tar((DB, None))]
    assert _os_packages(tmp_path, layers) == []
    # a directory written over a lower directory merges with it: the DB below stays
    layers = [_entries_tar((DB, APK_DB)), _entries_tar(("lib/apk/db", None), ("lib/apk", None))]
    assert _os_packages(tmp_path / "2", layers) == ["musl", "zlib"]
