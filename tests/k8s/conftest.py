"""A realistic cluster for the k8s tests: kmock over HTTP (tests/k8s_helpers.py) holding real manifests from
../shared/data/corpus/kubernetes, with pods whose imageIDs name images pushed to a private docker-registry."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.k8s_helpers import KCluster, pod_for, replicaset_for
from tests.registry_helpers import (  # noqa: F401 — the session fixture is found by pytest through this import
    IMAGES,
    SHARED,
    Registry,
    push,
    registry_basic_fixture,
)

CORPUS = SHARED / "data" / "corpus" / "kubernetes"
GUESTBOOK = CORPUS / "kubernetes__examples" / "web" / "guestbook"
OPERATOR = CORPUS / "aquasecurity__trivy-operator" / "deploy" / "static" / "trivy-operator.yaml"


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict) and d.get("kind")]


def manifest_digest(reg: Registry, repo: str, tag: str) -> str:
    resp = httpx.head(f"{reg.url}/v2/{repo}/manifests/{tag}", headers={
        **reg.basic_header(),
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
    resp.raise_for_status()
    return resp.headers["Docker-Content-Digest"]


@dataclass
class Images:
    alpine: str  # spec references (tags)
    rhel: str
    alpine_id: str  # imageIDs as containerd reports them (repo@digest)
    rhel_id: str
    alpine_digest: str
    rhel_digest: str
    missing: str  # a reference the registry does not have


@pytest.fixture(scope="session")
def images(registry_basic: Registry) -> Images:
    alpine, rhel = IMAGES / "alpine-like.docker.tar", IMAGES / "rhel9-like.docker.tar"
    if not alpine.is_file():
        pytest.skip("../shared/data/images not present")
    host = registry_basic.host
    push(alpine, f"{host}/shop/alpine:1", creds=registry_basic.creds, format="v2s2")
    push(rhel, f"{host}/mesh/proxy:1", creds=registry_basic.creds, format="v2s2")
    ad = manifest_digest(registry_basic, "shop/alpine", "1")
    rd = manifest_digest(registry_basic, "mesh/proxy", "1")
    return Images(alpine=f"{host}/shop/alpine:1", rhel=f"{host}/mesh/proxy:1",
                  alpine_id=f"{host}/shop/alpine@{ad}", rhel_id=f"{host}/mesh/proxy@{rd}",
                  alpine_digest=ad, rhel_digest=rd, missing=f"{host}/kube-apiserver:v1.29.0")


def _retag(obj: dict[str, Any], image: str, pull_secret: str = "") -> dict[str, Any]:
    o = copy.deepcopy(obj)
    spec = o["spec"]["template"]["spec"] if o["kind"] != "CronJob" else \
        o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    for key in ("containers", "initContainers"):
        for c in spec.get(key, []):
            c["image"] = image
    if pull_secret:
        spec["imagePullSecrets"] = [{"name": pull_secret}]
    return o


def build_cluster(kc: KCluster, img: Images, reg: Registry) -> dict[str, Any]:
    """Fill `kc`; returns facts the tests check against."""
    ids = {img.alpine: (img.alpine_id, ""), img.rhel: (img.rhel_id, "")}
    for ns in ("default", "shop", "kube-system", "trivy-system", "restricted"):
        kc.add({"kind": "Namespace", "metadata": {"name": ns}})
    user, pw = reg.creds or ("", "")
    cfg = {"auths": {reg.host: {"auth": base64.b64encode(f"{user}:{pw}".encode()).decode()}}}
    kc.add({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "regcred", "namespace": "shop"},
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(cfg).encode()).decode()}})
    kc.add({"kind": "Secret", "metadata": {"name": "db-password", "namespace": "shop"},
            "data": {"password": base64.b64encode(b"hunter2").decode()}})
    kc.add({"kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}, "data": {"k": "v"}})

    # guestbook: three Deployments (current + old ReplicaSets), their Services
    deps = {d["metadata"]["name"]: d for f in ("frontend-deployment.yaml", "redis-master-deployment.yaml",
                                               "redis-replica-deployment.yaml") for d in load_docs(GUESTBOOK / f)}
    for f in ("frontend-service.yaml", "redis-master-service.yaml", "redis-replica-service.yaml"):
        for d in load_docs(GUESTBOOK / f):
            d["metadata"]["namespace"] = "shop"
            kc.add(d)
    for name, d in deps.items():
        d["metadata"]["namespace"] = "shop"
        d["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2",
                                        "kubectl.kubernetes.io/last-applied-configuration": '{"secret":"x"}'}
        d["metadata"]["managedFields"] = [{"manager": "kubectl"}]
        d["status"] = {"replicas": 1}
        cur = _retag(d, img.alpine, "regcred")
        kc.add(cur)
        rs_new = replicaset_for(cur, 2, "new")
        rs_old = replicaset_for(_retag(d, img.rhel, "regcred"), 1, "old")
        kc.add_all([rs_new, rs_old])
        kc.add(pod_for(rs_old, "ReplicaSet", f"{name}-old-0", ids))  # an old revision, still terminating
        if name == "frontend":
            for i in range(3):  # 3 pods, one image: one scan
                kc.add(pod_for(rs_new, "ReplicaSet", f"{name}-new-{i}", ids))
        elif name == "redis-master":  # a webhook injected a sidecar the Deployment does not declare
            kc.add(pod_for(rs_new, "ReplicaSet", f"{name}-new-0", ids, extra_containers=[
                {"name": "istio-proxy", "image": img.rhel}]))
        else:  # redis-replica: CrashLoopBackOff, no imageID
            kc.add(pod_for(rs_new, "ReplicaSet", f"{name}-new-0", ids, state="CrashLoopBackOff"))

    # the Trivy Operator's static install: ServiceAccount, RBAC, a Deployment with an init container
    for d in load_docs(OPERATOR):
        if d["kind"] in ("CustomResourceDefinition", "ConfigMap", "Secret", "Service"):
            continue
        if d["kind"] == "Deployment":
            d = _retag(d, img.alpine)
            d["spec"]["template"]["spec"]["initContainers"] = [{"name": "init", "image": img.rhel}]
            kc.add(d)
            rs = replicaset_for(d, 1, "x")
            kc.add(rs)
            kc.add(pod_for(rs, "ReplicaSet", "trivy-operator-x-0", ids))
            continue
        if d["kind"] in ("Role", "RoleBinding", "ServiceAccount") and "namespace" not in d["metadata"]:
            d["metadata"]["namespace"] = "trivy-system"
        kc.add(d)

    # a namespace we may not read pods in
    kc.add({"kind": "Pod", "metadata": {"name": "hidden", "namespace": "restricted"},
            "spec": {"containers": [{"name": "c", "image": img.alpine}]}})
    kc.denied |= {("pods", "restricted"), ("pods", "")}

    # kube-system: a control-plane static pod whose image the registry does not have
    kc.add({"kind": "Pod", "metadata": {"name": "kube-apiserver-node1", "namespace": "kube-system",
                                        "labels": {"component": "kube-apiserver", "tier": "control-plane"}},
            "spec": {"containers": [{"name": "kube-apiserver", "image": img.missing}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "kube-apiserver", "image": img.missing,
                                                                   "imageID": "", "state": {"running": {}}}]}})
    kc.add({"kind": "Node", "metadata": {"name": "node1"}, "status": {"nodeInfo": {
        "kubeletVersion": "v1.29.0", "kubeProxyVersion": "v1.29.0", "containerRuntimeVersion": "containerd://1.7.2",
        "kernelVersion": "6.1.0-18-amd64", "osImage": "Debian GNU/Linux 12 (bookworm)", "operatingSystem": "linux",
        "architecture": "amd64"}}})
    return {"deployments": sorted(deps)}


@pytest.fixture
def cluster(images: Images, registry_basic: Registry) -> Iterator[KCluster]:
    kc = KCluster().start()
    try:
        build_cluster(kc, images, registry_basic)
        yield kc
    finally:
        kc.stop()
