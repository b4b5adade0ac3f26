"""The cluster layer against a kmock API server over HTTP: paging, retries, 403 gaps, ownership, what runs."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.k8s.conftest import Images
from tests.k8s_helpers import KCluster
from vigil.sources.k8s.client import ClusterClient
from vigil.sources.k8s.inventory import KIND_NAMES, InventoryOptions, collect_inventory
from vigil.sources.k8s.kubeconfig import KubeconfigOptions, load_config
from vigil.sources.k8s.model import Inventory, Workload


def inventory(kc: KCluster, page_size: int = 500, **kw: Any) -> Inventory:
    config = load_config(KubeconfigOptions(server=kc.url), env={})

    async def go() -> Inventory:
        async with ClusterClient(config, page_size=page_size, backoff=0.01) as client:
            return await collect_inventory(client, InventoryOptions(**kw))

    return asyncio.run(go())


def workload(inv: Inventory, kind: str, name: str) -> Workload:
    return next(w for w in inv.workloads if w.kind == kind and w.name == name)


def test_paged_lists_return_every_object(cluster: KCluster) -> None:
    whole = inventory(cluster)
    assert cluster.pages == 0
    paged = inventory(cluster, page_size=2)
    assert cluster.pages > 5  # several LISTs were answered in pages and every page was followed
    assert paged.workloads == whole.workloads
    assert paged.resources == whole.resources


def test_deployment_images_are_what_its_current_replicaset_runs(cluster: KCluster, images: Images) -> None:
    inv = inventory(cluster)
    fe = workload(inv, "Deployment", "frontend")
    assert fe.current_replicaset == "frontend-new"
    assert [(c.container, c.digest, c.pods) for c in fe.containers] == [("php-redis", images.alpine_digest, 3)]
    assert fe.containers[0].pull_ref == images.alpine_id
    assert fe.containers[0].spec_image == images.alpine
    # the old revision's pod runs another image: not reported; ReplicaSets and pods are reported via the Deployment
    assert all(c.digest != images.rhel_digest for c in fe.containers)
    assert not [w for w in inv.workloads if w.kind in ("ReplicaSet", "Pod") and w.namespace == "shop"]
    assert fe.pull_secrets == ("regcred",)


def test_injected_sidecar_and_crashloop(cluster: KCluster, images: Images) -> None:
    inv = inventory(cluster)
    master = workload(inv, "Deployment", "redis-master")
    sidecar = next(c for c in master.containers if c.container == "istio-proxy")
    assert not sidecar.in_spec and sidecar.digest == images.rhel_digest
    assert next(c for c in master.containers if c.container == "master").in_spec
    crash = workload(inv, "Deployment", "redis-replica").containers[0]
    assert crash.state == "CrashLoopBackOff"
    assert crash.digest == "" and crash.image_id == ""
    assert crash.pull_ref == images.alpine  # falls back to the spec reference
    # the same digest under three Deployments is one image key; the crashlooping one has its reference as key
    keys = inv.images_by_key()
    assert {w.name for w, _ in keys[images.alpine_digest]} >= {"frontend", "redis-master", "trivy-operator"}
    assert images.alpine in keys


def test_init_containers_and_skip(cluster: KCluster, images: Images) -> None:
    op = workload(inventory(cluster), "Deployment", "trivy-operator")
    assert ("init", "init", images.rhel_digest) in {(c.container, c.container_type, c.digest) for c in op.containers}
    op = workload(inventory(cluster, skip_init_containers=True), "Deployment", "trivy-operator")
    assert all(c.container_type != "init" for c in op.containers)


def test_forbidden_namespace_is_a_gap_and_the_rest_is_read(cluster: KCluster) -> None:
    inv = inventory(cluster)
    assert [(g.verb, g.resource, g.namespace) for g in inv.gaps] == [("list", "pods", "restricted")]
    assert "cannot list pods in namespace restricted" in inv.gaps[0].reason
    assert not [w for w in inv.workloads if w.namespace == "restricted"]
    assert workload(inv, "Deployment", "frontend").containers  # pods of other namespaces were listed one by one


def test_nodes_components_configmaps_and_no_secrets(cluster: KCluster, images: Images) -> None:
    inv = inventory(cluster)
    assert [(n.name, n.kubelet_version, n.container_runtime, n.kernel_version) for n in inv.nodes] == [
        ("node1", "v1.29.0", "containerd://1.7.2", "6.1.0-18-amd64")]
    assert [(c.name, c.version) for c in inv.components] == [("kube-apiserver", "v1.29.0")]
    cm = next(r for r in inv.resources if r.kind == "ConfigMap")
    assert (cm.name, cm.manifest) == ("settings", b"")  # names only
    assert {r.kind for r in inv.resources} >= {"Service", "ClusterRole", "ClusterRoleBinding", "ServiceAccount"}
    assert not inv.pull_secrets
    assert not [r for r in cluster.km if "secrets" in str(r.url)]  # not one request for a Secret


def test_pull_secrets_only_those_named(cluster: KCluster) -> None:
    inv = inventory(cluster, scan_pull_secrets=True)
    assert [(s.namespace, s.name) for s in inv.pull_secrets] == [("shop", "regcred")]
    urls = [str(r.url) for r in cluster.km if "secrets" in str(r.url)]
    assert urls and all(u.endswith("/namespaces/shop/secrets/regcred") for u in urls)  # never db-password


def test_live_manifests_are_stripped(cluster: KCluster) -> None:
    import yaml

    m = yaml.safe_load(workload(inventory(cluster), "Deployment", "frontend").manifest)
    assert "status" not in m and "managedFields" not in m["metadata"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in m["metadata"].get("annotations", {})
    assert m["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


def test_retries_on_429_and_503(cluster: KCluster) -> None:
    cluster.flaky = 3
    inv = inventory(cluster)
    assert cluster.flaky == 0
    assert workload(inv, "Deployment", "frontend").containers


def test_include_exclude_namespaces_and_kinds(cluster: KCluster) -> None:
    inv = inventory(cluster, include_namespaces=("sh*",))
    assert inv.namespaces == ("shop",)
    assert {w.namespace for w in inv.workloads} == {"shop"}
    inv = inventory(cluster, exclude_namespaces=("shop", "restricted"))
    assert "shop" not in {w.namespace for w in inv.workloads}
    assert not inv.gaps
    inv = inventory(cluster, kinds=frozenset(KIND_NAMES) - {"deployment"})
    assert not [w for w in inv.workloads if w.kind == "Deployment"]


def test_include_kinds_pod_reports_pods_one_by_one(cluster: KCluster, images: Images) -> None:
    inv = inventory(cluster, kinds=frozenset({"pod"}))
    assert {w.kind for w in inv.workloads} == {"Pod"}
    names = {w.name for w in inv.workloads if w.namespace == "shop"}
    assert {"frontend-new-0", "frontend-new-1", "frontend-new-2", "frontend-old-0"} <= names
    fe = workload(inv, "Pod", "frontend-new-0")
    assert [(c.container, c.digest, c.pods) for c in fe.containers] == [("php-redis", images.alpine_digest, 1)]
    inv = inventory(cluster, kinds=frozenset({"replicaset"}))
    assert {w.name for w in inv.workloads if w.namespace == "shop"} >= {"frontend-new", "frontend-old"}
    old = workload(inv, "ReplicaSet", "frontend-old")
    assert [c.digest for c in old.containers] == [images.rhel_digest]  # the old revision still runs the old image


def test_namespace_list_forbidden(cluster: KCluster) -> None:
    import pytest

    from vigil.sources.k8s import ClusterError

    cluster.denied.add(("namespaces", ""))
    inv = inventory(cluster, include_namespaces=("shop",))  # named namespaces are read without the list
    assert inv.namespaces == ("shop",)
    assert ("list", "namespaces", "") in {(g.verb, g.resource, g.namespace) for g in inv.gaps}
    assert workload(inv, "Deployment", "frontend").containers
    with pytest.raises(ClusterError, match="give --include-namespaces with the namespaces you may read"):
        inventory(cluster)


def test_platform_of_the_node_the_pod_runs_on(cluster: KCluster, images: Images) -> None:
    cluster.add({"kind": "Node", "metadata": {"name": "arm1"}, "status": {"nodeInfo": {
        "kubeletVersion": "v1.29.0", "operatingSystem": "linux", "architecture": "arm64"}}})
    for name, node in (("on-arm", "arm1"), ("on-amd", "node1"), ("on-arm-too", "arm1")):
        cluster.add({"kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                     "spec": {"nodeName": node, "containers": [{"name": "c", "image": images.alpine}]},
                     "status": {"phase": "Running", "containerStatuses": [
                         {"name": "c", "imageID": images.alpine_id, "state": {"running": {}}}]}})
    inv = inventory(cluster)
    arm = workload(inv, "Pod", "on-arm").containers[0]
    amd = workload(inv, "Pod", "on-amd").containers[0]
    assert (arm.platform, amd.platform) == ("linux/arm64", "linux/amd64")
    assert arm.digest == amd.digest == images.alpine_digest
    keys = inv.images_by_key()
    # an index digest runs as a different image on each platform: one scan per (digest, platform)
    assert {w.name for w, _ in keys[arm.key]} == {"on-arm", "on-arm-too"}
    assert {w.name for w, _ in keys[amd.key]} == {"on-amd"}


def test_retries_give_up_with_one_line(cluster: KCluster) -> None:
    import pytest

    from vigil.sources.k8s import ClusterError

    cluster.flaky = 1000
    with pytest.raises(ClusterError, match=r"^list namespaces: API server answered (429|503): slow down$"):
        inventory(cluster)
    assert cluster.lists == 5  # the first try and 4 retries, then the error


def test_service_account_pull_secrets(cluster: KCluster) -> None:
    cluster.add({"kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"},
                 "imagePullSecrets": [{"name": "sa-regcred"}]})
    cluster.add({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                 "metadata": {"name": "sa-regcred", "namespace": "shop"},
                 "data": {".dockerconfigjson": "eyJhdXRocyI6IHt9fQ=="}})  # {"auths": {}}
    inv = inventory(cluster, scan_pull_secrets=True)
    assert workload(inv, "Deployment", "frontend").pull_secrets == ("regcred", "sa-regcred")
    assert [(s.namespace, s.name) for s in inv.pull_secrets] == [("shop", "regcred"), ("shop", "sa-regcred")]
    # without the flag neither is read, and the workload keeps only what its pod spec names
    inv = inventory(cluster)
    assert workload(inv, "Deployment", "frontend").pull_secrets == ("regcred",) and not inv.pull_secrets
