"""The analysis cache is keyed by the layers' diff_ids, which come from the image config: a layer whose content
does not hash to its diff_id must be refused, never analysed and cached under another layer's key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from tests.image_helpers import analyze_image
from tests.oci_builder import layer_tar, write_layout

from vigil.cache import open_cache
from vigil.settings import ScanOptions
from vigil.sources.image.layers import LayerError


def _metadata(name: str, version: str) -> dict[str, bytes]:
    return {f"usr/lib/python3.11/site-packages/{name}-{version}.dist-info/METADATA":
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()}


def _claim_diff_ids(layout: Path, diff_ids: list[str]) -> None:
    """Rewrite the layout's config so that it names `diff_ids` (digests of config and manifest kept valid)."""
    blobs = layout / "blobs" / "sha256"

    def put(data: bytes) -> str:
        d = hashlib.sha256(data).hexdigest()
        (blobs / d).write_bytes(data)
        return "sha256:" + d

    index = json.loads((layout / "index.json").read_text())
    man_desc = index["manifests"][0]
    manifest = json.loads((blobs / man_desc["digest"].split(":")[1]).read_bytes())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_bytes())
    config["rootfs"]["diff_ids"] = diff_ids
    cfg = json.dumps(config).encode()
    manifest["config"].update(digest=put(cfg), size=len(cfg))
    man = json.dumps(manifest).encode()
    man_desc.update(digest=put(man), size=len(man))
    (layout / "index.json").write_text(json.dumps(index))


def _packages(layout: Path, tmp: Path, cache_dir: Path) -> set[tuple[str, str]]:
    opts = ScanOptions(target=layout, db_path=tmp / "none.db", analyzer_kinds=("lockfile", "installed", "os"))
    cache = open_cache("fs", cache_dir)
    try:
        _, blobs, _ = analyze_image(layout, opts, cache)
    finally:
        cache.close()
    return {(p.name, p.version) for b in blobs for a in b.applications for p in a.packages}


def test_layer_lying_about_its_diff_id_is_refused_and_does_not_poison_the_cache(tmp_path: Path) -> None:
    genuine = layer_tar(_metadata("requests", "2.19.0"))  # the layer whose diff_id the impostor claims
    impostor = layer_tar(_metadata("harmless", "1.0"))
    real = write_layout(tmp_path / "real", [genuine])
    fake = write_layout(tmp_path / "fake", [impostor])
    _claim_diff_ids(fake, ["sha256:" + hashlib.sha256(genuine).hexdigest()])
    cache_dir = tmp_path / "cache"

    with pytest.raises(LayerError, match="does not match its diff_id"):
        _packages(fake, tmp_path, cache_dir)
    # the genuine image, scanned later with the same cache, gets its own analysis
    assert _packages(real, tmp_path, cache_dir) == {("requests", "2.19.0")}


def test_layers_matching_their_diff_ids_are_analysed_and_cached(tmp_path: Path) -> None:
    layout = write_layout(tmp_path / "img", [layer_tar(_metadata("requests", "2.19.0"))])
    cache_dir = tmp_path / "cache"
    assert _packages(layout, tmp_path, cache_dir) == {("requests", "2.19.0")}
    assert _packages(layout, tmp_path, cache_dir) == {("requests", "2.19.0")}


def test_empty_layer_written_as_zero_bytes_matches_the_empty_tar_diff_id(tmp_path: Path) -> None:
    # some tools store an empty layer as a zero-byte blob while the config names the empty tar's diff_id
    import gzip

    layout = write_layout(tmp_path / "img", [layer_tar(_metadata("requests", "2.19.0")), b""], compress=False)
    _claim_diff_ids(layout, ["sha256:" + hashlib.sha256(layer_tar(_metadata("requests", "2.19.0"))).hexdigest(),
                             "sha256:" + hashlib.sha256(bytes(1024)).hexdigest()])
    assert _packages(layout, tmp_path, tmp_path / "cache") == {("requests", "2.19.0")}
    # ...but a zero-byte blob cannot stand in for a layer with content
    fake = write_layout(tmp_path / "fake", [gzip.compress(b"")], compress=False)
    _claim_diff_ids(fake, ["sha256:" + hashlib.sha256(layer_tar(_metadata("requests", "2.19.0"))).hexdigest()])
    with pytest.raises(LayerError, match="does not match its diff_id"):
        _packages(fake, tmp_path, tmp_path / "cache2")
