"""`helm install` and `helm upgrade` for real: Helm's Go SDK (helm-python-sdk) against kmock over HTTP, objects
applied with server-side apply as Helm v4 does. The token Secret keeps its value across an upgrade (the template's
`lookup` reads it back from the cluster), and stays after `helm uninstall`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kmock
import pytest
from kmock._internal import enums

from tests.deploy.chart import CHART, NAMESPACE, RELEASE
from tests.k8s_helpers import KCluster
from tests.operator.conftest import ALL_VERBS, objects


class _ApplyEmulator(kmock.KubernetesEmulator):
    """kmock plus what server-side apply does to an object that does not exist yet: create it."""

    async def _handle(self, request: Any) -> Any:
        if (request.resource is not None and request.action == enums.action.UPDATE and request.name
                and "apply-patch" in str(request.headers.get("Content-Type", ""))):
            key = (request.resource, request.namespace, request.name)
            if key not in self._objects or self._objects[key].deleted:
                self._objects[key] = request.data
        return await super()._handle(request)


class HelmCluster(KCluster):
    async def _enter(self) -> str:
        real = kmock.KubernetesEmulator
        kmock.KubernetesEmulator = _ApplyEmulator  # type: ignore[misc]
        try:
            url = await super()._enter()
        finally:
            kmock.KubernetesEmulator = real  # type: ignore[misc]

        def openapi_v2(_: Any) -> bytes:
            # Helm validates manifests against the server's OpenAPI v2 document (protobuf): an empty one, by hand
            def field(tag: int, data: bytes) -> bytes:
                return bytes([tag, len(data)]) + data
            return field(0x0A, b"2.0") + field(0x12, field(0x0A, b"Kubernetes") + field(0x12, b"v1.31.0"))

        self.km["get /openapi/v2"] << openapi_v2
        return url


@pytest.fixture
def helm_cluster() -> Iterator[KCluster]:
    kc = HelmCluster().start()
    try:
        for info in kc.km.resources.values():
            info.verbs = set(ALL_VERBS)
        kc.add({"kind": "Namespace", "metadata": {"name": NAMESPACE}})
        yield kc
    finally:
        kc.stop()


def _token(kc: KCluster) -> str:
    (secret,) = [o for o in objects(kc, "secrets", NAMESPACE) if o["metadata"]["name"] == f"{RELEASE}-token"]
    return str(secret["data"]["token"])


def _install_upgrade(kc: KCluster, chart: Path) -> tuple[str, str]:
    import helm_python as helm

    kubeconfig = (f"apiVersion: v1\nkind: Config\nclusters: [{{name: k, cluster: {{server: '{kc.url}'}}}}]\n"
                  f"users: [{{name: u, user: {{}}}}]\n"
                  f"contexts: [{{name: c, context: {{cluster: k, user: u, namespace: {NAMESPACE}}}}}]\n"
                  f"current-context: c\n")
    with helm.Config(kubeconfig_content=kubeconfig, namespace=NAMESPACE, storage_driver="memory") as cfg:
        cfg.install(str(chart), RELEASE, {}, namespace=NAMESPACE)
        first = _token(kc)
        cfg.upgrade(str(chart), RELEASE, {"clusterName": "prod-eu1"}, namespace=NAMESPACE)
        # the upgrade was applied: the operator's config changed
        (conf,) = [o for o in objects(kc, "configmaps", NAMESPACE) if o["metadata"]["name"] == f"{RELEASE}-config"]
        assert 'clusterName: "prod-eu1"' in conf["data"]["operator.yaml"]
        second = _token(kc)
        cfg.uninstall(RELEASE)
    return first, second


def test_token_survives_upgrade_and_uninstall(helm_cluster: KCluster) -> None:
    first, second = _install_upgrade(helm_cluster, CHART)
    assert first and first == second
    # `helm.sh/resource-policy: keep`: uninstall leaves the Secret (and the CRDs, as Helm always does)
    assert _token(helm_cluster) == first
    assert not [o for o in objects(helm_cluster, "deployments", NAMESPACE)]
    assert len(objects(helm_cluster, "customresourcedefinitions")) == len(list((CHART / "crds").glob("*.yaml")))


def test_without_lookup_the_upgrade_would_change_the_token(helm_cluster: KCluster, tmp_path: Path) -> None:
    """The check bites: the same chart without the `lookup` gets a new token on upgrade."""
    chart = tmp_path / CHART.name
    shutil.copytree(CHART, chart)
    tpl = chart / "templates" / "token-secret.yaml"
    text = tpl.read_text()
    assert "lookup" in text
    tpl.write_text(text.replace('lookup "v1" "Secret" .Release.Namespace $name', "dict"))
    first, second = _install_upgrade(helm_cluster, chart)
    assert first != second


def test_install_with_two_replicas_creates_the_peering(helm_cluster: KCluster) -> None:
    """`helm install` with operator.replicas=2: kopf's peering CRDs come from crds/ (here the test API server serves
    their kinds, as a real one does once they are established), the ClusterKopfPeering and its RBAC from the
    templates; `helm uninstall` removes the peering object with the release."""
    import helm_python as helm

    for kind, plural, namespaced in (("ClusterKopfPeering", "clusterkopfpeerings", False),
                                     ("KopfPeering", "kopfpeerings", True)):
        helm_cluster.km.resources[kmock.resource("kopf.dev", "v1", plural)] = kmock.ResourceInfo(
            kind=kind, namespaced=namespaced, singular=kind.lower(), verbs=set(ALL_VERBS))
    kubeconfig = (f"apiVersion: v1\nkind: Config\nclusters: [{{name: k, cluster: {{server: '{helm_cluster.url}'}}}}]\n"
                  f"users: [{{name: u, user: {{}}}}]\n"
                  f"contexts: [{{name: c, context: {{cluster: k, user: u, namespace: {NAMESPACE}}}}}]\n"
                  f"current-context: c\n")
    with helm.Config(kubeconfig_content=kubeconfig, namespace=NAMESPACE, storage_driver="memory") as cfg:
        cfg.install(str(CHART), RELEASE, {"operator": {"replicas": 2}}, namespace=NAMESPACE)
        crds = {o["metadata"]["name"] for o in objects(helm_cluster, "customresourcedefinitions")}
        assert {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"} <= crds
        assert [o["metadata"]["name"] for o in objects(helm_cluster, "clusterkopfpeerings")] == [RELEASE]
        (dep,) = objects(helm_cluster, "deployments", NAMESPACE)
        assert dep["spec"]["replicas"] == 2
        assert f"{RELEASE}-peering" in {o["metadata"]["name"] for o in objects(helm_cluster, "clusterroles")}
        cfg.uninstall(RELEASE)
    assert not objects(helm_cluster, "clusterkopfpeerings")
