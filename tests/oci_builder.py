"""Build small OCI image layouts (directories) in tests from in-memory layers: real files, whiteouts, raw tar
members. Used for the OS matrix (distroless dpkg, Berkeley DB / NDB rpm, Ubuntu, Alma) and hostile-image CLI
tests."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

Layer = dict[str, bytes]  # path -> file content; b"" under a ".wh." name makes a whiteout entry


def layer_tar(files: Layer, mode: int = 0o644) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, data in sorted(files.items()):
            ti = tarfile.TarInfo(path)
            ti.size, ti.mode, ti.mtime = len(data), mode, 0
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def write_layout(dest: Path, layers: list[bytes], *, created_by: list[str] | None = None,
                 compress: bool = True, ref: str = "", config: dict[str, object] | None = None) -> Path:
    """An OCI image layout at `dest` whose layers are the given uncompressed tar streams (gzip'd unless
    `compress` is false; a pre-compressed stream can be passed with compress=False). `config`: the image
    config's `config` object (Env, Cmd, Labels…)."""
    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        d = hashlib.sha256(data).hexdigest()
        (blobs / d).write_bytes(data)
        return "sha256:" + d

    descs, diff_ids = [], []
    for raw in layers:
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        blob = gzip.compress(raw, mtime=0) if compress else raw
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(blob),
                      "size": len(blob)})
    history = [{"created_by": c} for c in (created_by or [f"layer {i}" for i in range(len(layers))])]
    image_config = {"architecture": "amd64", "os": "linux", "config": config or {},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}
    cfg = json.dumps(image_config).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg),
                           "size": len(cfg)},
                "layers": descs}
    man = json.dumps(manifest).encode()
    entry: dict[str, object] = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(man),
                                "size": len(man)}
    if ref:
        entry["annotations"] = {"org.opencontainers.image.ref.name": ref}
    (dest / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (dest / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return dest
