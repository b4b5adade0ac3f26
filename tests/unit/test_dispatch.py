"""The one analyzer dispatcher: a directory and an image layer holding the same files give the same analysis, and
config files held for the misconfiguration scan are bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.oci_builder import layer_tar, write_layout
from vigil.analysis import dispatch
from vigil.analysis.dispatch import analyze_tree, to_blob
from vigil.pipeline.analyze import analyzer_set
from vigil.settings import ScanOptions
from vigil.sources.fs import FsTree
from vigil.sources.image.source import ImageSource, ImageSourceOptions

FILES = {
    "app/requirements.txt": b"django==2.2.0\nrequests==2.19.0\n",
    "web/package-lock.json": (b'{"name":"w","lockfileVersion":3,"packages":{"":{"dependencies":{"lodash":'
                              b'"4.17.15"}},"node_modules/lodash":{"version":"4.17.15"}}}'),
    "web/package.json": b'{"name":"w","dependencies":{"lodash":"4.17.15"}}',
    "deploy/Dockerfile": b"FROM ubuntu:latest\nUSER root\n",
    "deploy/pod.yaml": b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n"
                       b"    image: busybox\n",
    "conf/.env": b"GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n",
    "node_modules/x/package-lock.json": b"{}",  # vendored: never an application
}


def _opts(root: Path) -> ScanOptions:
    return ScanOptions(target=root, db_path=root / "none.db", scanners=("vuln", "secret", "misconfig"))


def test_directory_and_layer_give_the_same_analysis(tmp_path: Path) -> None:
    root = tmp_path / "dir"
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    opts = _opts(root)
    fs_aset = analyzer_set(opts, "filesystem")
    fs_blob = to_blob(analyze_tree(FsTree(root), fs_aset), fs_aset)

    layout = write_layout(tmp_path / "img", [layer_tar(FILES)])
    src = ImageSource(ImageSourceOptions(input=layout))
    try:
        img_aset = analyzer_set(opts, "filesystem")  # the same analyzer set, over a streamed tree
        (spec,) = src.blobs()
        assert spec.open_tree is not None
        with spec.open_tree() as tree:
            img_blob = to_blob(analyze_tree(tree, img_aset), img_aset)
    finally:
        src.close()

    assert [a.file_path for a in fs_blob.applications] == ["app/requirements.txt", "web/package-lock.json"]
    assert fs_blob.applications == img_blob.applications  # companions (package.json) found in both
    assert fs_blob.secrets == img_blob.secrets and [s.file_path for s in fs_blob.secrets] == ["conf/.env"]
    assert fs_blob.config == img_blob.config
    assert {r.target for r in fs_blob.config.results} == {"deploy/Dockerfile", "deploy/pod.yaml"}


def test_held_config_files_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "dir"
    files = {"data/big.json": b'{"rows": [' + b"1," * 4000 + b"1]}",
             "deploy/pod.yaml": FILES["deploy/pod.yaml"], "chart/values.yaml": b"image: nginx\n"}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    aset = analyzer_set(_opts(root), "filesystem")
    assert set(analyze_tree(FsTree(root), aset).config_files) == set(files)
    monkeypatch.setattr(dispatch, "_CONFIG_HOLD_TOTAL", 100)
    held = analyze_tree(FsTree(root), aset).config_files
    assert "data/big.json" not in held and {"deploy/pod.yaml", "chart/values.yaml"} <= set(held)


def test_batched_directory_equals_one_pass(tmp_path: Path) -> None:
    """A large directory is analysed in batches of files by worker processes; the joined blob must hold
    everything one pass finds: OS release files and package databases too (a root filesystem), not only
    applications and secrets."""
    import shutil

    import msgspec

    from tests.pipeline_helpers import analyze_dir

    root = tmp_path / "rootfs"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "os" / "ubuntu", root)
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    for i in range(400):  # past the size at which a directory is split into batches
        (root / "srv" / f"d{i % 9}").mkdir(parents=True, exist_ok=True)
        (root / "srv" / f"d{i % 9}" / f"f{i}.env").write_text(f"X={i}\n")
    opts = msgspec.structs.replace(_opts(root), analyzer_kinds=("lockfile", "installed", "os"))
    one = analyze_dir(msgspec.structs.replace(opts, parallel=1))
    batched = analyze_dir(msgspec.structs.replace(opts, parallel=2))
    assert one.os_releases and one.package_dbs and one.applications and one.secrets
    assert batched == one


def test_files_no_analyzer_wants_cost_no_per_analyzer_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A root filesystem is mostly files no analyzer reads: each is rejected by the set's path index without
    trying the analyzers' globs one by one (that was half of a Debian rootfs scan). Counted, not timed."""
    import vigil.analyzers.registry as registry

    root = tmp_path / "rootfs"
    for i in range(300):
        (root / "usr/share/misc" / f"d{i % 7}").mkdir(parents=True, exist_ok=True)
        (root / "usr/share/misc" / f"d{i % 7}" / f"file{i}.txt").write_bytes(b"nothing to see\n")
    (root / "etc").mkdir()
    (root / "etc/os-release").write_bytes(b"ID=debian\nVERSION_ID=12\n")
    calls: list[str] = []
    real = registry.wants_path

    def counting(a: registry.PathSpec, path: str) -> bool:
        calls.append(path)
        return real(a, path)

    monkeypatch.setattr(registry, "wants_path", counting)
    opts = ScanOptions(target=root, db_path=root / "none.db", scanners=("vuln",),
                       analyzer_kinds=("lockfile", "installed", "os"))
    blob = to_blob(analyze_tree(FsTree(root), analyzer_set(opts, "filesystem")), analyzer_set(opts, "filesystem"))
    assert [r.os.family for r in blob.os_releases] == ["debian"]  # the wanted file was found and read
    assert set(calls) == {"etc/os-release"}  # only the wanted path reached the analyzers' own matching
