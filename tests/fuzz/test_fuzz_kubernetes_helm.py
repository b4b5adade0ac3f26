"""Fuzzing parse_kubernetes, the KSV checks, load_chart_archive and scan_kustomize.

Contract (analyzers/errors.py): on any input they return normally or raise ParseError. Inputs: arbitrary bytes,
real corpus manifests mutated (truncated, bytes replaced/inserted/deleted), and well-formed manifests whose
fields hold values of the wrong type (checks must not crash on them).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.checks.registry import checks_for
from vigil.analyzers.misconf.helm import load_chart_archive
from vigil.analyzers.misconf.kubernetes import parse_kubernetes
from vigil.analyzers.misconf.kustomize import scan_kustomize

pytestmark = pytest.mark.fuzz

K8S = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "corpus" / "kubernetes"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHECKS = checks_for("kubernetes")
SEED = (Path(__file__).resolve().parents[1] / "fixtures" / "misconf" / "kubernetes" / "KSV-0014" / "fail.yaml")


def _corpus() -> list[bytes]:
    files = sorted(K8S.rglob("*.yaml"))[:60] if K8S.is_dir() else []
    return [p.read_bytes() for p in files] or [SEED.read_bytes()]


CORPUS = _corpus()


def _parse_and_check(data: bytes) -> None:
    try:
        resources = parse_kubernetes(data, "f.yaml")
    except ParseError:
        return
    for r in resources:
        assert r.start_line <= r.end_line
        for c in CHECKS:
            list(c.run(r))


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data: bytes) -> None:
    _parse_and_check(data)


@FUZZ
@given(st.sampled_from(CORPUS), st.data())
def test_mutated_corpus(seed: bytes, data: st.DataObject) -> None:
    buf = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 6))):
        if not buf:
            break
        op = data.draw(st.sampled_from(["trunc", "replace", "insert", "delete"]))
        i = data.draw(st.integers(0, len(buf) - 1))
        if op == "trunc":
            del buf[i:]
        elif op == "replace":
            buf[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            buf[i:i] = data.draw(st.sampled_from([b":", b"- ", b"\n  ", b"{", b"[", b"&a ", b"*a", b"!!", b"\t"]))
        else:
            del buf[i]
    _parse_and_check(bytes(buf))


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
FIELDS = ["spec", "template", "containers", "initContainers", "securityContext", "capabilities", "add", "drop",
          "volumes", "hostPath", "path", "ports", "rules", "resources", "verbs", "subjects", "roleRef", "data",
          "metadata", "annotations", "image", "name", "jobTemplate", "seccompProfile", "sysctls", "items"]


@FUZZ
@given(
    st.sampled_from(["Pod", "Deployment", "CronJob", "Role", "ClusterRoleBinding", "ConfigMap", "List",
                     "NetworkPolicy", "Service", "LimitRange", "K8sAllowedRepos"]),
    st.dictionaries(st.sampled_from(FIELDS), JSONISH, max_size=6),
    st.dictionaries(st.sampled_from(FIELDS), JSONISH, max_size=4),
)
def test_wrong_types_never_crash_checks(kind: str, top: dict[str, object], nested: dict[str, object]) -> None:
    obj: dict[str, object] = {"apiVersion": "v1", "kind": kind, **top}
    obj.setdefault("spec", {"template": {"spec": nested}, **nested})
    _parse_and_check(json.dumps(obj).encode())


@FUZZ
@given(st.binary(max_size=2048))
def test_archive_arbitrary_bytes(data: bytes) -> None:
    try:
        load_chart_archive(data)
    except ParseError:
        pass


@FUZZ
@given(st.lists(st.tuples(st.text(max_size=20), st.binary(max_size=64)), max_size=5), st.data())
def test_archive_mutated(entries: list[tuple[str, bytes]], data: st.DataObject) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, content in entries:
            info = tarfile.TarInfo(name or "x")
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    raw = bytearray(buf.getvalue())
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        files = load_chart_archive(bytes(raw))
    except ParseError:
        return
    for k in files:
        assert not k.startswith("/") and ".." not in k.split("/")


def test_archive_with_a_gzip_extra_field_that_does_not_inflate() -> None:
    """Found by the fuzz test above: tarfile's stream reader inflates a gzip header's extra field, and before Python
    3.11.5 (Debian's 3.11.2, which `make setup` prefers) a failure there was an AttributeError, not ReadError."""
    header = b"\x1f\x8b\x08\x04" + bytes(4) + b"\x00\xff" + (10).to_bytes(2, "little")
    with pytest.raises(ParseError, match="invalid chart archive"):
        load_chart_archive(header + b"\xff" * 40)


@FUZZ
@given(st.dictionaries(st.sampled_from(["kustomization.yaml", "a/kustomization.yaml", "a.yaml", "b/c.yaml"]),
                       st.binary(max_size=200) | st.sampled_from([b"resources: [a, a.yaml, b/c.yaml]\n",
                                                                  b"resources: [..]\n", b"bases: 3\n"]),
                       max_size=4))
def test_kustomize_never_raises_other_errors(files: dict[str, bytes]) -> None:
    try:
        scan_kustomize(files)
    except ParseError:
        pass
