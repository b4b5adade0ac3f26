"""`vigil image REGISTRY/REPO:TAG` end to end against a real docker-registry (basic auth): the same findings as
the archive, registry metadata in the report, and a warm rescan that downloads no layer at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tests.cli_helpers import run
from tests.image_helpers import scan_image
from tests.registry_helpers import (  # the session-scoped registry fixture is imported to be found by pytest
    IMAGES,
    Registry,
    push,
    registry_basic_fixture,  # noqa: F401
)

from vigil.pipeline.analyze import ScanStats
from vigil.settings import ScanOptions
from vigil.sources.image import Image, RegistryOptions
from vigil.sources.image.source import ImageSourceOptions

DEBIAN = IMAGES / "debian-vuln.oci.tar"


@pytest.fixture(scope="module")
def pushed(registry_basic: Registry) -> str:
    if not DEBIAN.is_file():
        pytest.skip("../shared/data/images not present")
    ref = f"{registry_basic.host}/fixture/debian-scan:1"
    push(DEBIAN, ref, creds=registry_basic.creds, format="oci")
    return ref


def _results(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for r in report["Results"]:
        r = dict(r)
        if r["Class"] == "os-pkgs":
            r["Target"] = "<os>"  # "<artifact> (debian 12.15)" names the artifact
        out.append(r)
    return out


def test_registry_scan_equals_archive_scan(pushed: str, registry_basic: Registry, full_db: Path,
                                           tmp_path: Path) -> None:
    user, pw = registry_basic.creds or ("", "")
    common = ["--db-path", str(full_db), "--format", "json", "--scanners", "vuln,secret", "--list-all-pkgs"]
    p = run("image", pushed, "--image-src", "remote", "--username", user, "--password", pw, "--insecure",
            "--cache-dir", str(tmp_path / "a"), *common)
    assert p.returncode == 0, p.stderr
    remote = json.loads(p.stdout)
    p = run("image", "--input", str(DEBIAN), "--cache-dir", str(tmp_path / "b"), *common)
    assert p.returncode == 0, p.stderr
    local = json.loads(p.stdout)
    assert _results(remote) == _results(local)
    md = remote["Metadata"]
    assert md["ImageID"] == local["Metadata"]["ImageID"]
    assert md["RepoTags"] == [pushed]
    assert md["RepoDigests"] and md["RepoDigests"][0].startswith(pushed.rsplit(":", 1)[0] + "@sha256:")


def test_wrong_password_is_a_one_line_error(pushed: str, tmp_path: Path) -> None:
    p = run("image", pushed, "--image-src", "remote", "--username", "fixture", "--password", "nope", "--insecure",
            "--cache-dir", str(tmp_path), "--scanners", "secret")  # no DB needed: the pull itself must fail
    assert p.returncode == 2
    assert "unauthorized" in p.stderr and "Traceback" not in p.stderr


def test_warm_rescan_downloads_no_layer(pushed: str, registry_basic: Registry, full_db: Path,
                                        tmp_path: Path) -> None:
    user, pw = registry_basic.creds or ("", "")
    opened: list[str] = []

    def count_opens(image: Image) -> None:
        def wrap(layer: Any) -> Any:
            def opener() -> Any:
                opened.append(layer.digest)
                return layer.open()

            return msgspec.structs.replace(layer, open=opener)

        image.layers = [wrap(la) for la in image.layers]

    opts = ScanOptions(target=Path(pushed), db_path=full_db, scanners=("vuln", "secret"),
                       analyzer_kinds=("lockfile", "installed", "os"))
    io = ImageSourceOptions(reference=pushed, image_src=("remote",),
                            registry=RegistryOptions(username=user, password=pw, insecure=True))
    cold, warm = ScanStats(), ScanStats()
    first = scan_image(opts, io, cold, cache_dir=tmp_path, on_image=count_opens)
    cold_opens = len(opened)
    opened.clear()
    second = scan_image(opts, io, warm, cache_dir=tmp_path, on_image=count_opens)
    assert (cold.analysed, warm.analysed) == (5, 0)
    assert cold_opens >= 5 and opened == []  # nothing downloaded the second time
    assert first.results == second.results
