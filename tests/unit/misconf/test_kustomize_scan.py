"""scan_kustomize: follows resources/bases/components/patches files, skips remote and outside references."""

from __future__ import annotations

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.kustomize import scan_kustomize

POD = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers: [{name: c, image: x}]\n"


def test_follows_references() -> None:
    files = {
        "overlay/kustomization.yaml": b"resources:\n- ../base\n- pod.yaml\n- https://example.com/x.yaml\n"
                                      b"- ../../outside.yaml\n- missing.yaml\n"
                                      b"patches:\n- path: patch.yaml\n- patch: inline\n",
        "overlay/pod.yaml": POD % b"overlay-pod",
        "overlay/patch.yaml": POD % b"patched",
        "base/kustomization.yml": b"resources: [pod.yaml, ../overlay/pod.yaml]\n",
        "base/pod.yaml": POD % b"base-pod",
    }
    scan = scan_kustomize(files, "overlay")
    assert [(p, [r.name for r in rs]) for p, rs in scan.results] == [
        ("base/pod.yaml", ["base-pod"]),
        ("overlay/pod.yaml", ["overlay-pod"]),
        ("overlay/patch.yaml", ["patched"]),
    ]
    reasons = dict(scan.skipped)
    assert reasons["https://example.com/x.yaml"].startswith("remote")
    assert reasons["../../outside.yaml"].startswith("outside")
    assert reasons["missing.yaml"] == "not found in the scanned directory"


def test_cycles_and_bad_manifests() -> None:
    files = {
        "kustomization.yaml": b"resources: [a, bad.yaml]\n",
        "a/kustomization.yaml": b"resources: [..]\n",
        "bad.yaml": b"a: [\n",
    }
    scan = scan_kustomize(files)
    assert scan.results == []
    assert [p for p, _ in scan.skipped] == ["bad.yaml"]


@pytest.mark.parametrize("files", [{}, {"kustomization.yaml": b"- a\n"}, {"kustomization.yaml": b"a: [\n"}])
def test_invalid(files: dict[str, bytes]) -> None:
    with pytest.raises(ParseError):
        scan_kustomize(files)


_DEPLOY = b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n"


def test_warnings_resolve_references_against_the_whole_scan() -> None:
    """An overlay's `../../base` is found when the scan holds the base; only what is really absent is reported,
    once, and a kustomization scanned on its own says nothing about neighbours that were not part of the scan."""
    from vigil.analyzers.misconf.scan import MisconfOptions, scan_files

    files = {
        "base/kustomization.yaml": b"resources:\n- deployment.yaml\n",
        "base/deployment.yaml": _DEPLOY,
        "overlays/prod/kustomization.yaml": b"resources:\n- ../../base\n- gone.yaml\npatches:\n- path: patch.yaml\n",
        "overlays/prod/patch.yaml": _DEPLOY,
    }
    out = scan_files(files, MisconfOptions())
    assert list(out.warnings) == ["overlays/prod/kustomization.yaml: gone.yaml: not found in the scanned directory"]

    alone = scan_files({"kustomization.yaml": b"resources:\n- deployment.yaml\npatches:\n- path: p.yaml\n"},
                       MisconfOptions())
    assert alone.warnings == ()
    remote = scan_files({"kustomization.yaml": b"resources:\n- https://github.com/x/y//base\n- p.yaml\n"},
                        MisconfOptions())
    assert [w for w in remote.warnings if "remote resource" in w] and not [w for w in remote.warnings
                                                                           if "not found" in w]

    overlay_only = {k.removeprefix("overlays/prod/"): v for k, v in files.items() if k.startswith("overlays/")}
    out = scan_files(overlay_only, MisconfOptions())
    assert "kustomization.yaml: ../../base: outside the scanned directory (not scanned)" in out.warnings
