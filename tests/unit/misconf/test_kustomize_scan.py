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
    assert reasons["missing.yaml"] == "not found"


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
