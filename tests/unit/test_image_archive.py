"""open_archive on real image archives: the Debian OCI archive from ../shared, docker-archive / OCI-dir variants made
here with `skopeo copy`, a gzip'd docker archive, the Alpine- and RHEL-like docker archives, a Docker 25 style save
(../shared/tools/images/make-docker25-save.py), index selection by ref and platform, and the error cases."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import zstandard

from tests.image_helpers import ALPINE_DOCKER, DEBIAN_OCI, IMAGE_TOOLS, RHEL_DOCKER, need
from vigil.sources.image import Image, ImageError, NotFound, archive
from vigil.sources.image.archive import open_archive
from vigil.sources.image.layers import iter_layer

CONFIG = "sha256:8cd398b962f63bdc66acc81ed5b853c7f7215c7a3ffd307eacef89cb9b8cedff"
MANIFEST = "sha256:91d1cfe917c2f9a8bdc95e6e00ba46626b9b939cc5d4ca3a7ef71bdf147e4cce"
LAYER_DIGESTS = [
    "sha256:1c539c4cfdae46500ee387d094ca52ca2f56178211903c48b8a6d00d6d1dbe58",
    "sha256:6539c6e53e58b7040cee6a3a26b61a55711d4bebcf62509a5d87f7380ecc9314",
    "sha256:363b4634f6f4d9d1967dcfb23ea8687e7aa43d2aca4c603fef42cce87a33828b",
    "sha256:e8fdb410a2aee38a543ea9b9602d90b464e6686eb2b92d985e1f3654b5700b0b",
    "sha256:69f37848f061d01f404f00c3d9cd9bc12bc758dd9505ccf2e84ef9688894dd03",
]
DIFF_IDS = [
    "sha256:d45ce3eca8ba5f059f8e27e0f1e13e62bf4304b68186ea20fc4ee7c2275fab1c",
    "sha256:ec9980fb16b5c38caa55ce3d461ec4bc0c85fbcb7d4f36d166eddc8f34761e62",
    "sha256:ed09da2849d0d607310ff70da29d221a7a1daa1f44fd66bf5777d7dcb9a899e5",
    "sha256:2e4ef1c07a0d2f14d6237245a07c50c4db8db779360bceaf11f4da7cb6f10446",
    "sha256:4ce1c16eac0b8642523fddb7e7bbea7eb47e57909c7510296f3625bdd4689f1f",
]
CREATED_BY = [
    "debootstrap --variant=minbase bookworm",
    "apt-get install --no-install-recommends python3 ca-certificates",
    "pip/npm/jars/go binary",
    "COPY app/ ; RUN rm -rf PyYAML /etc/motd",
    "opaque replace /opt/legacy/lib",
]
ENTRIES = [6658, 2389, 7975, 8, 3]


def _sha256(img_layer_open: object) -> str:
    h = hashlib.sha256()
    with img_layer_open() as f:  # type: ignore[operator]
        while b := f.read(1 << 20):
            h.update(b)
    return "sha256:" + h.hexdigest()


def _entry_counts(img: Image) -> list[int]:
    out = []
    for layer in img.layers:
        with layer.open() as f:
            out.append(sum(1 for _ in iter_layer(f, digest=layer.digest)))
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Variants of the Debian image written by skopeo (a real second implementation of both formats)."""
    need(DEBIAN_OCI)
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        pytest.skip("skopeo not installed (CI installs it: apt-get install -y skopeo)")
    d = tmp_path_factory.mktemp("images")
    src = f"oci-archive:{DEBIAN_OCI}"
    out = {"docker": d / "debian.docker.tar", "ocidir": d / "debian-oci"}
    for dest in (f"docker-archive:{out['docker']}:fixture/debian-vuln:1", f"oci:{out['ocidir']}:mytag"):
        subprocess.run([skopeo, "copy", "-q", src, dest], check=True, timeout=120)
    out["docker25"] = d / "debian.docker25.tar"
    subprocess.run(
        [
            sys.executable,
            str(need(IMAGE_TOOLS / "make-docker25-save.py")),
            str(out["ocidir"]),
            "mytag",
            "fixture/debian-vuln:25",
            str(out["docker25"]),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def _open(path: Path, tmp: Path, ref: str = "", platform: str = "") -> Image:
    return open_archive(path, tmp / "work", ref, platform=platform)


def test_oci_archive(tmp_path: Path) -> None:
    img = _open(need(DEBIAN_OCI), tmp_path)
    assert img.name == str(DEBIAN_OCI)
    assert (img.config_digest, img.manifest_digest) == (CONFIG, MANIFEST)
    assert img.repo_tags == ["fixture/debian-vuln:1"]
    assert img.config["architecture"] == "amd64"
    assert [x.digest for x in img.layers] == LAYER_DIGESTS
    assert [x.diff_id for x in img.layers] == DIFF_IDS
    assert [x.created_by for x in img.layers] == CREATED_BY
    assert {x.media_type for x in img.layers} == {"application/vnd.oci.image.layer.v1.tar+gzip"}
    assert [x.size for x in img.layers] == [51118685, 19511450, 11613541, 441, 231]
    # each opened blob is exactly the layer's bytes (a view into the outer tar, not a copy)
    assert [_sha256(x.open) for x in img.layers] == LAYER_DIGESTS
    assert _entry_counts(img) == ENTRIES
    assert list(tmp_path.iterdir()) == []  # nothing was unpacked


def test_layer_view_is_bounded_and_seekable(tmp_path: Path) -> None:
    img = _open(need(DEBIAN_OCI), tmp_path)
    small = img.layers[4]
    with small.open() as f:
        data = f.read()
        assert len(data) == small.size == 231 and data[:2] == b"\x1f\x8b"
        assert f.read() == b""  # never runs into the next member of the outer tar
        assert f.seekable()
        f.seek(10)
        assert f.tell() == 10 and f.read(5) == data[10:15]
        f.seek(-1, os.SEEK_END)
        assert f.read() == data[-1:]
    with pytest.raises((OSError, ValueError)):
        f.read()  # closed


def test_docker_archive_from_skopeo(made: dict[str, Path], tmp_path: Path) -> None:
    img = _open(made["docker"], tmp_path)
    assert img.config_digest == CONFIG and img.manifest_digest == ""
    assert img.repo_tags == ["docker.io/fixture/debian-vuln:1"]
    # classic docker save: uncompressed layers named by diff_id
    assert [x.digest for x in img.layers] == DIFF_IDS == [x.diff_id for x in img.layers]
    assert {x.media_type for x in img.layers} == {"application/vnd.docker.image.rootfs.diff.tar"}
    assert [x.created_by for x in img.layers] == CREATED_BY
    assert [_sha256(x.open) for x in img.layers] == DIFF_IDS
    assert _entry_counts(img) == ENTRIES
    for ref in ("fixture/debian-vuln:1", "docker.io/fixture/debian-vuln:1"):
        assert _open(made["docker"], tmp_path, ref).config_digest == CONFIG
    with pytest.raises(NotFound) as err:
        _open(made["docker"], tmp_path, "fixture/debian-vuln:2")
    assert str(err.value) == (
        f"{made['docker']}: no image tagged 'fixture/debian-vuln:2' (available: docker.io/fixture/debian-vuln:1)"
    )


def test_oci_directory_from_skopeo(made: dict[str, Path], tmp_path: Path) -> None:
    img = _open(made["ocidir"], tmp_path)
    assert (img.config_digest, img.manifest_digest, img.repo_tags) == (CONFIG, MANIFEST, ["mytag"])
    assert [x.digest for x in img.layers] == LAYER_DIGESTS
    assert [x.created_by for x in img.layers] == CREATED_BY
    assert _entry_counts(img) == ENTRIES
    assert _open(made["ocidir"], tmp_path, "mytag").config_digest == CONFIG
    assert _open(made["ocidir"], tmp_path, MANIFEST).config_digest == CONFIG  # by manifest digest
    with pytest.raises(NotFound, match=r"no image named 'other' \(available: mytag\)"):
        _open(made["ocidir"], tmp_path, "other")


def test_docker25_save(made: dict[str, Path], tmp_path: Path) -> None:
    img = _open(made["docker25"], tmp_path)
    assert img.config_digest == CONFIG
    assert img.repo_tags == ["fixture/debian-vuln:25"]
    assert [x.digest for x in img.layers] == DIFF_IDS  # blobs/sha256/<diff_id>: uncompressed
    assert [x.created_by for x in img.layers] == CREATED_BY
    assert [_sha256(x.open) for x in img.layers[3:]] == DIFF_IDS[3:]
    assert _entry_counts(img) == ENTRIES
    assert _open(made["docker25"], tmp_path, "fixture/debian-vuln:25").config_digest == CONFIG


def test_alpine_and_rhel_docker_archives(tmp_path: Path) -> None:
    alpine = _open(need(ALPINE_DOCKER), tmp_path)
    assert alpine.config_digest == "sha256:ea75089cd9981ba38bfeccc2b783098339711c839765048f32399d05dcc30582"
    assert alpine.repo_tags == ["docker.io/fixture/alpine-like:3.16.0"]
    assert [x.created_by for x in alpine.layers] == [
        "synthetic alpine 3.16.0 base",
        "apk upgrade zlib (synthetic)",
    ]
    assert [x.digest for x in alpine.layers] == [
        "sha256:1b0ff2f5f750b24d7787d4c6661347334d20f61a417da64177f5d08c4c589e5a",
        "sha256:bec3966e802e8632d22aaebdce879e4f05730eb7b1796e8d13ab370a6f91ce52",
    ]
    assert [_sha256(x.open) for x in alpine.layers] == [x.diff_id for x in alpine.layers]
    assert _entry_counts(alpine) == [38, 2]
    rhel = _open(need(RHEL_DOCKER), tmp_path, "fixture/rhel9-like:9.0")
    assert rhel.config_digest == "sha256:27049f4e314ed400edb49dc0d2632a334b32e8efd1fa1e64cacab6fa7a864406"
    assert [x.created_by for x in rhel.layers] == ["umoci repack"]
    with rhel.layers[0].open() as f:
        paths = {e.path for e in iter_layer(f)}
    assert {"var/lib/rpm/rpmdb.sqlite", "etc/redhat-release"} <= paths


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_compressed_docker_archive_is_unpacked_once_and_cleaned_up(tmp_path: Path, codec: str) -> None:
    raw = need(ALPINE_DOCKER).read_bytes()
    packed = tmp_path / f"alpine.tar.{codec}"
    packed.write_bytes(gzip.compress(raw) if codec == "gzip" else zstandard.ZstdCompressor().compress(raw))
    work = tmp_path / "work"
    img = open_archive(packed, work)
    assert img.config_digest == "sha256:ea75089cd9981ba38bfeccc2b783098339711c839765048f32399d05dcc30582"
    assert len(list(work.iterdir())) == 1  # the unpacked tar
    assert [_sha256(x.open) for x in img.layers] == [x.diff_id for x in img.layers]
    img.close()
    assert list(work.iterdir()) == []
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(gzip.compress(raw)[:2000])
    with pytest.raises(ImageError, match="truncated gzip stream"):
        open_archive(truncated, work)
    assert list(work.iterdir()) == []  # the partial unpack was removed


def test_compressed_archive_without_a_temp_dir_makes_its_own_and_removes_it(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """open_archive(tmp_dir=None) (what an --input scan passes: a layout directory or a plain tar needs none) makes
    a temporary directory for a compressed archive's layers, and the image's cleanup removes it, as does a failure."""
    import tempfile

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    packed = _gzip_docker_archive(tmp_path / "small.tar.gz", 0)
    img = open_archive(packed, None)
    try:
        [own] = list(temp.iterdir())
        assert own.name.startswith("vigil-image-") and len(list(own.iterdir())) == 1  # the unpacked layers
        assert [_sha256(x.open) for x in img.layers] == [x.diff_id for x in img.layers]
    finally:
        img.close()
    assert list(temp.iterdir()) == []
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(packed.read_bytes()[:200])
    with pytest.raises(ImageError):
        open_archive(truncated, None)
    assert list(temp.iterdir()) == []


def test_compressed_archive_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "_MAX_UNPACKED", 8 << 20)  # the real limit is 64 GiB: too slow to reach here
    bomb = tmp_path / "bomb.tar.gz"
    bomb.write_bytes(gzip.compress(bytes(4 << 20), 9) * 4)  # 16 MiB of zeros
    work = tmp_path / "work"
    with pytest.raises(
        ImageError, match=r"bomb\.tar\.gz: decompression bomb refused \(more than \d+ bytes\)"
    ):
        open_archive(bomb, work)
    assert list(work.iterdir()) == []


def _gzip_docker_archive(path: Path, padding: int) -> Path:
    """A gzip'd docker archive (3 tiny layers) with an unreferenced member of `padding` zero bytes in the middle."""
    files = _docker_files()
    raw = tmp = path.with_suffix(".raw")
    padded = {**{k: v for k, v in files.items() if k != "manifest.json"}, "padding.bin": bytes(padding),
              "manifest.json": files["manifest.json"]}
    _write_tar(raw, padded)
    path.write_bytes(gzip.compress(raw.read_bytes(), 9, mtime=0))
    tmp.unlink()
    return path


def test_compressed_archive_writes_only_its_layers_to_disk(tmp_path: Path) -> None:
    packed = _gzip_docker_archive(tmp_path / "padded.tar.gz", 64 << 20)  # ~64 KiB compressed
    work = tmp_path / "work"
    img = open_archive(packed, work)
    try:
        [tmp] = list(work.iterdir())
        assert tmp.stat().st_size == sum(la.size for la in img.layers)  # the three layer members, nothing else
        assert [_sha256(x.open) for x in img.layers] == [x.diff_id for x in img.layers]
    finally:
        img.close()
    assert list(work.iterdir()) == []


def test_compressed_archive_inflating_past_200_to_1_is_refused(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "_RATIO_FLOOR", 1 << 20)  # the real floor is 1 GiB: too slow to reach here
    packed = _gzip_docker_archive(tmp_path / "padded.tar.gz", 8 << 20)
    work = tmp_path / "work"
    with pytest.raises(ImageError) as err:
        open_archive(packed, work)
    msg = str(err.value)
    assert msg.startswith(f"{packed}: decompression bomb refused (more than ")
    assert re.search(r": [1-9]\d* compressed bytes inflate past the limit \(ratio 200:1 past 1048576 bytes", msg)
    assert list(work.iterdir()) == []


# -- index selection ------------------------------------------------------------------------------------------


def _put_blob(layout: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return "sha256:" + digest


def _copy_layout(made: dict[str, Path], tmp_path: Path) -> Path:
    dst = tmp_path / "layout"
    shutil.copytree(made["ocidir"], dst)
    return dst


def _arm64_manifest(layout: Path) -> tuple[str, str, int]:
    """A second manifest (same layers, config saying arm64): (manifest digest, config digest, manifest size)."""
    man = json.loads((layout / "blobs" / "sha256" / MANIFEST[7:]).read_bytes())
    cfg = json.loads((layout / "blobs" / "sha256" / CONFIG[7:]).read_bytes())
    cfg["architecture"] = "arm64"
    cfg_raw = json.dumps(cfg).encode()
    man["config"] = dict(man["config"], digest=_put_blob(layout, cfg_raw), size=len(cfg_raw))
    man_raw = json.dumps(man).encode()
    return _put_blob(layout, man_raw), man["config"]["digest"], len(man_raw)


def _desc(digest: str, size: int, **extra: object) -> dict[str, object]:
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": size,
        **extra,
    }


def test_index_with_several_refs(made: dict[str, Path], tmp_path: Path) -> None:
    layout = _copy_layout(made, tmp_path)
    arm, arm_cfg, arm_size = _arm64_manifest(layout)
    index = json.loads((layout / "index.json").read_text())
    index["manifests"].append(_desc(arm, arm_size, annotations={"org.opencontainers.image.ref.name": "arm"}))
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(ImageError) as err:
        _open(layout, tmp_path)
    assert str(err.value) == f"{layout}: index.json lists 2 images, choose one with a ref (mytag, arm)"
    assert _open(layout, tmp_path, "arm").config_digest == arm_cfg
    assert _open(layout, tmp_path, "mytag").config_digest == CONFIG


def test_nested_index_picks_the_platform(made: dict[str, Path], tmp_path: Path) -> None:
    layout = _copy_layout(made, tmp_path)
    arm, arm_cfg, arm_size = _arm64_manifest(layout)
    nested = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            _desc(arm, arm_size, platform={"os": "linux", "architecture": "arm64", "variant": "v8"}),
            _desc(MANIFEST, 977, platform={"os": "linux", "architecture": "amd64"}),
            _desc(MANIFEST, 977, platform={"os": "unknown", "architecture": "unknown"}),  # an attestation
        ],
    }
    raw = json.dumps(nested).encode()
    top = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": _put_blob(layout, raw),
                "size": len(raw),
                "annotations": {"org.opencontainers.image.ref.name": "multi"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(top))
    img = _open(layout, tmp_path)
    assert (img.config_digest, img.manifest_digest, img.repo_tags) == (CONFIG, MANIFEST, ["multi"])
    assert _open(layout, tmp_path, platform="linux/arm64").config_digest == arm_cfg
    assert _open(layout, tmp_path, "multi", platform="linux/arm64/v8").config_digest == arm_cfg
    with pytest.raises(NotFound) as err:
        _open(layout, tmp_path, platform="linux/s390x")
    assert str(err.value).endswith(
        "no image for platform linux/s390x (available: linux/amd64, linux/arm64/v8, unknown/unknown)"
    )
    with pytest.raises(ImageError, match="invalid platform 'amd64'"):
        _open(layout, tmp_path, platform="amd64")


# -- errors and hostile archives ------------------------------------------------------------------------------


def _write_tar(path: Path, files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.SYMTYPE
            ti.linkname = target
            tf.addfile(ti)
    return path


def _docker_files(layers: int = 3, missing: int | None = None) -> dict[str, bytes]:
    layer = tarfile.TarInfo("etc/hostname")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        layer.size = 3
        tf.addfile(layer, io.BytesIO(b"box"))
    blob = buf.getvalue()
    diff = "sha256:" + hashlib.sha256(blob).hexdigest()
    cfg = json.dumps({"rootfs": {"type": "layers", "diff_ids": [diff] * layers}, "history": []}).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    names = [f"l{i}.tar" for i in range(layers)]
    files = {n: blob for i, n in enumerate(names) if i != missing}
    files[cfg_name] = cfg
    files["manifest.json"] = json.dumps([{"Config": cfg_name, "RepoTags": ["x:1"], "Layers": names}]).encode()
    return files


def test_missing_and_unrecognised_inputs(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file or directory"):
        _open(tmp_path / "nope.tar", tmp_path)
    junk = tmp_path / "app.tar"
    junk.write_bytes(bytes(range(256)) * 100)
    with pytest.raises(ImageError, match=r"^.*app\.tar: not a docker archive or OCI image layout"):
        _open(junk, tmp_path)
    other = _write_tar(tmp_path / "other.tar", {"hello.txt": b"hi"})
    with pytest.raises(ImageError) as err:
        _open(other, tmp_path)
    assert str(err.value) == f"{other}: not a docker archive or OCI image layout"
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(ImageError, match="emptydir: not a docker archive or OCI image layout"):
        _open(tmp_path / "emptydir", tmp_path)


def test_docker_archive_errors(tmp_path: Path) -> None:
    ok = _open(_write_tar(tmp_path / "ok.tar", _docker_files()), tmp_path)
    assert len(ok.layers) == 3 and ok.repo_tags == ["x:1"] and [x.created_by for x in ok.layers] == [""] * 3
    bad = _write_tar(tmp_path / "missing.tar", _docker_files(missing=2))
    with pytest.raises(ImageError) as err:
        _open(bad, tmp_path)
    assert str(err.value) == f"{bad}: manifest.json: Layers[2] names a missing file"

    files = _docker_files()
    cfg_name = next(n for n in files if n.endswith(".json") and n != "manifest.json")
    files[cfg_name] = files[cfg_name].replace(b'"history"', b'"History"')
    with pytest.raises(ImageError, match=r"content does not match its name \(sha256:"):
        _open(_write_tar(tmp_path / "tampered.tar", files), tmp_path)

    files = _docker_files()
    files["manifest.json"] = b"[{not json"
    with pytest.raises(ImageError, match=r"manifest\.json: invalid JSON"):
        _open(_write_tar(tmp_path / "badjson.tar", files), tmp_path)

    files = _docker_files()
    files["manifest.json"] = b" " * (17 << 20)
    with pytest.raises(ImageError, match=r"manifest\.json: 17825792 bytes, larger than the 16 MiB limit"):
        _open(_write_tar(tmp_path / "huge.tar", files), tmp_path)

    files = _docker_files()
    two = json.loads(files["manifest.json"])
    two.append(dict(two[0], RepoTags=["y:2"]))
    files["manifest.json"] = json.dumps(two).encode()
    with pytest.raises(ImageError, match=r"2 images in the archive, choose one by tag \(x:1, y:2\)"):
        _open(_write_tar(tmp_path / "two.tar", files), tmp_path)
    assert _open(tmp_path / "two.tar", tmp_path, "y:2").repo_tags == ["y:2"]

    files = _docker_files(layers=2)
    man = json.loads(files["manifest.json"])
    man[0]["Layers"].append("l0.tar")
    files["manifest.json"] = json.dumps(man).encode()
    with pytest.raises(ImageError, match="image config lists 2 diff_ids for 3 layers"):
        _open(_write_tar(tmp_path / "count.tar", files), tmp_path)


def test_layer_count_is_capped(tmp_path: Path) -> None:
    # one tiny layer listed over and over: refused from the manifest, before any layer is opened
    files = _docker_files(layers=1)
    man = json.loads(files["manifest.json"])
    cfg = json.loads(files[man[0]["Config"]])
    for n in (1000, 1000 + 1):
        man[0]["Layers"] = ["l0.tar"] * n
        cfg["rootfs"]["diff_ids"] = cfg["rootfs"]["diff_ids"][:1] * n
        raw = json.dumps(cfg).encode()
        name = hashlib.sha256(raw).hexdigest() + ".json"
        man[0]["Config"] = name
        many = {"l0.tar": files["l0.tar"], name: raw, "manifest.json": json.dumps(man).encode()}
        path = _write_tar(tmp_path / f"many{n}.tar", many)
        if n == 1000:
            assert len(_open(path, tmp_path).layers) == n
            continue
        with pytest.raises(ImageError) as err:
            _open(path, tmp_path)
        assert str(err.value) == f"{path}: manifest.json: {n} layers, more than the 1000 an image may have (refused)"


def test_oci_layout_layer_count_is_capped(tmp_path: Path) -> None:
    from tests.oci_builder import layer_tar, write_layout

    layout = write_layout(tmp_path / "oci", [layer_tar({"etc/hostname": b"box"})] * 1001)
    with pytest.raises(ImageError, match=r"1001 layers, more than the 1000 an image may have \(refused\)"):
        open_archive(layout, tmp_path / "work")


def test_hostile_member_names_and_links_in_a_tar(tmp_path: Path) -> None:
    files = _docker_files()
    blob = files.pop("l1.tar")
    files["../l1.tar"] = blob  # a member escaping the archive root is never indexed
    with pytest.raises(ImageError, match=r"Layers\[1\] names a missing file"):
        _open(_write_tar(tmp_path / "dotdot.tar", files), tmp_path)
    files = _docker_files()
    man = json.loads(files["manifest.json"])
    man[0]["Layers"][0] = "../../etc/passwd"
    files["manifest.json"] = json.dumps(man).encode()
    with pytest.raises(ImageError, match=r"Layers\[0\] names a missing file"):
        _open(_write_tar(tmp_path / "ref-dotdot.tar", files), tmp_path)
    # symlink members: inside the archive they resolve (skopeo's <id>/layer.tar), outside/loops are missing
    files = _docker_files()
    blob = files.pop("l2.tar")
    files["real/l2.tar"] = blob
    man = json.loads(files["manifest.json"])
    man[0]["Layers"][2] = "id/layer.tar"
    files["manifest.json"] = json.dumps(man).encode()
    img = _open(_write_tar(tmp_path / "links.tar", files, {"id/layer.tar": "../real/l2.tar"}), tmp_path)
    assert _sha256(img.layers[2].open) == img.layers[2].diff_id
    for target in ("/etc/passwd", "../../etc/passwd", "loop", "id/layer.tar"):
        bad_links = {"id/layer.tar": target, "loop": "id/layer.tar"}
        with pytest.raises(ImageError, match=r"Layers\[2\] names a missing file"):
            _open(_write_tar(tmp_path / "badlink.tar", files, bad_links), tmp_path)


def test_oci_layout_errors(made: dict[str, Path], tmp_path: Path) -> None:
    layout = _copy_layout(made, tmp_path)
    blobs = layout / "blobs" / "sha256"
    # a blob symlinked inside the layout is fine; one pointing outside is refused
    small = blobs / LAYER_DIGESTS[4][7:]
    moved = layout / "elsewhere"
    small.rename(moved)
    small.symlink_to(Path("..", "..", "elsewhere"))
    assert _sha256(_open(layout, tmp_path).layers[4].open) == LAYER_DIGESTS[4]
    outside = tmp_path / "outside-blob"
    moved.rename(outside)
    small.unlink()
    small.symlink_to(outside)
    with pytest.raises(ImageError, match=r"symlink pointing outside the layout, refused"):
        _open(layout, tmp_path)
    small.unlink()
    with pytest.raises(ImageError) as err:
        _open(layout, tmp_path)
    assert str(err.value) == f"{layout}: blob {LAYER_DIGESTS[4]} missing"
    shutil.copy(outside, small)
    # a tampered config no longer matches its digest
    cfg = blobs / CONFIG[7:]
    good = cfg.read_bytes()
    cfg.write_bytes(good.replace(b"amd64", b"arm64"))
    with pytest.raises(ImageError, match=rf"blob {CONFIG}: content does not match its digest"):
        _open(layout, tmp_path)
    cfg.write_bytes(good)
    # a digest that would be a path
    index = (layout / "index.json").read_text()
    (layout / "index.json").write_text(index.replace(MANIFEST, "sha256:../../../etc/passwd"))
    with pytest.raises(ImageError, match=re.escape("invalid blob digest 'sha256:../../../etc/passwd'")):
        _open(layout, tmp_path)
    (layout / "index.json").write_text("{}")
    with pytest.raises(ImageError, match=r"index\.json: not an OCI image index"):
        _open(layout, tmp_path)


@pytest.mark.parametrize("size", [256 << 20, 64 << 30])
def test_huge_pax_or_long_name_header_in_the_archive_is_refused_in_bounded_memory(tmp_path: Path, size: int) -> None:
    # tarfile reads a pax / GNU long-name record whole: a header claiming 256 MiB (backed by a sparse file) would be
    # read into memory, one claiming 64 GiB raised a bare MemoryError. Both are hostile archives, not metadata.
    import tracemalloc

    for typ in (tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME):
        ti = tarfile.TarInfo("././@PaxHeader" if typ == tarfile.XHDTYPE else "././@LongLink")
        ti.size, ti.type = size, typ
        path = tmp_path / "hostile.tar"
        with open(path, "wb") as f:
            f.write(ti.tobuf(format=tarfile.GNU_FORMAT))
            f.write(b"22 path=manifest.json\n")
            f.truncate(512 + min(size, 256 << 20) + 1024)  # sparse: no disk space used
        tracemalloc.start()
        try:
            with pytest.raises(ImageError, match="refused"):
                open_archive(path, tmp_path / "tmp")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 32 << 20


def test_deeply_nested_json_in_a_layout_is_a_clear_error(tmp_path: Path) -> None:
    # json.loads raises RecursionError (not ValueError) past ~1000 levels: that was an "Internal error"
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (tmp_path / "index.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ImageError, match=r"index.json: invalid JSON \(nested too deeply\)"):
        open_archive(tmp_path, tmp_path / "tmp")


def test_metadata_json_reads_as_json_loads_reads_it() -> None:
    """Manifests and configs are decoded by msgspec, with json.loads for what msgspec refuses: every document reads
    as json.loads reads it, and what neither reads is one ImageError."""
    from vigil.sources.image import ImageError
    from vigil.sources.image.archive import _json

    for text in ['{"a": 1, "b": [2.5, -0.0, 18446744073709551616, "\\u00e9"], "a": {"c": null}}',
                 '{"x": NaN, "y": -Infinity}', "[1e400]", '["\\ud800"]', '\ufeff{"bom": true}']:
        data = text.encode("utf-8")
        assert repr(_json(data, "m")) == repr(json.loads(data)), text
    for bad in [b'{"a": 1,}', b"[" * 100_000 + b"]" * 100_000, b"\xff"]:
        with pytest.raises(ImageError, match=r"^m: invalid JSON"):
            _json(bad, "m")
