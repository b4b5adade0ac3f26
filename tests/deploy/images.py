"""A small image made for the alert tests: a jar of Apache Commons Text 1.9 (CVE-2022-42889, CRITICAL in the fixture
DB's GitHub advisories) and a file with an AWS key pair (an exposed secret), written as a docker-archive."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

# a GitHub token shape made of a fixed pattern: the secret rules find it; it is no real credential
ENV_FILE = b"GITHUB_TOKEN=ghp_" + b"a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + b"\n"


def _jar() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nImplementation-Title: Apache Commons Text\n"
                                           "Implementation-Version: 1.9\n")
        z.writestr("META-INF/maven/org.apache.commons/commons-text/pom.properties",
                   "groupId=org.apache.commons\nartifactId=commons-text\nversion=1.9\n")
        z.writestr("org/apache/commons/text/StringSubstitutor.class", b"\xca\xfe\xba\xbe")
    return buf.getvalue()


def critical_image(path: Path) -> Path:
    """Write the image to `path` (a *.docker.tar) and return it."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tf:
        for name, data in (("app/lib/commons-text-1.9.jar", _jar()), ("app/settings.conf", ENV_FILE)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tf.addfile(info, io.BytesIO(data))
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/app"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "history": [{"created_by": "test"}]},
                        sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": ["vigil-test/critical:1"],
                            "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(path, "w") as out:
        for name, data in ((config_name, config), ("layer.tar", layer_bytes), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            out.addfile(info, io.BytesIO(data))
    return path
