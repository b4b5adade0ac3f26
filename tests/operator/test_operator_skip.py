"""What the operator leaves alone: namespaces excluded by glob (in every install mode), namespaces and workloads
opted out by label (`vigil.dev/skip: "true"`, or any of Trivy Operator's `skipResourceByLabels` keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.k8s_helpers import KCluster
from tests.operator.conftest import Kubelet, kubelet_env, objects, run
from tests.operator.test_operator_scans import make, passes


def label(kc: KCluster, plural: str, name: str, labels: dict[str, str]) -> None:
    key = next(k for k in kc.km.objects if k[0].plural == plural and k[2] == name)
    kc.km.objects[key].patch({"metadata": {"labels": labels}})


@pytest.mark.parametrize(("cfg", "expected"), [
    ({"install_mode": "AllNamespaces", "exclude_namespaces": ["kube-*"]}, {"shop", "restricted"}),
    ({"install_mode": "ListOfNamespaces", "target_namespaces": ["shop", "trivy-*"],
      "exclude_namespaces": ["trivy-*"]}, {"shop"}),
    ({"install_mode": "OwnNamespace", "namespace": "shop"}, {"shop"}),
    ({"install_mode": "OwnNamespace", "namespace": "shop", "exclude_namespaces": ["s*"]}, set()),
], ids=["all", "list", "own", "own-excluded"])
def test_excluded_and_labelled_are_skipped_in_every_mode(op_cluster: KCluster, vigil_server: Any, tmp_path: Path,
                                                          cfg: dict[str, Any], expected: set[str]) -> None:
    own = cfg.get("namespace", "vigil-system")
    kubelet = Kubelet(op_cluster, own, tmp_path, kubelet_env(tmp_path))
    rec, client = make(op_cluster, vigil_server, skip_resource_by_labels=["team.example/no-scan"], **cfg)
    # Trivy Operator style: the label's presence opts the workload out, whatever its value
    label(op_cluster, "deployments", "redis-master", {"team.example/no-scan": ""})
    # the namespace's own label opts every workload in it out (trivy-system runs the same images as shop)
    label(op_cluster, "namespaces", "trivy-system", {"vigil.dev/skip": "true"})

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            await rec.store.close()

    run(go())
    for plural in ("vulnerabilityreports", "exposedsecretreports", "sbomreports", "configauditreports",
                   "rbacassessmentreports"):
        got = objects(op_cluster, plural)
        assert {o["metadata"]["namespace"] for o in got} <= expected, plural
        assert not [o for o in got if o["metadata"]["labels"].get("trivy-operator.resource.name") == "redis-master"]
    vulns = objects(op_cluster, "vulnerabilityreports")
    if expected:
        assert any(o["metadata"]["labels"].get("trivy-operator.resource.name") == "frontend" for o in vulns)
        assert {r["returncode"] for r in kubelet.ran} == {0}
    else:
        assert not vulns and not kubelet.ran  # nothing watched: no Job either
