"""--skip-dirs / --skip-files on images: patterns written as absolute paths in the image (Trivy's documented form,
`vigil image --skip-dirs /usr/lib/python3.11 …`) apply to the image's root."""

from __future__ import annotations

from pathlib import Path

from tests.image_helpers import analyze_image
from tests.oci_builder import layer_tar, write_layout

from vigil.settings import ScanOptions

META = "usr/lib/python3.11/site-packages/requests-2.19.0.dist-info/METADATA"
REQS = "app/requirements.txt"


def _found(tmp: Path, **skip: tuple[str, ...]) -> set[str]:
    layout = write_layout(tmp / "img", [layer_tar({
        META: b"Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n",
        REQS: b"idna==2.7\n",
    })])
    opts = ScanOptions(target=layout, db_path=tmp / "none.db", analyzer_kinds=("lockfile", "installed", "os"),
                       **skip)  # type: ignore[arg-type]
    _, blobs, _ = analyze_image(layout, opts)
    return {a.file_path for b in blobs for a in b.applications}


def test_absolute_skip_dirs_and_files_apply_to_the_image_root(tmp_path: Path) -> None:
    assert _found(tmp_path) == {META, REQS}
    assert _found(tmp_path, skip_dirs=("/usr/lib/python3.11",)) == {REQS}
    assert _found(tmp_path, skip_files=("/app/requirements.txt",)) == {META}
    assert _found(tmp_path, skip_dirs=("usr/lib/python3.11",), skip_files=("app/*.txt",)) == set()
