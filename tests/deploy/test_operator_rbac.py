"""The chart's RBAC against what the operator really does: `vigil operator` (kopf, a subprocess) runs with the
chart's own config against kmock; kmock records every API call; each must be allowed by the RBAC the chart renders
for the operator's service account, and every grant must be used by some call (or be listed below with the code
path that needs it). The same scenario's /metrics exposition passes `promtool check metrics`."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import kmock
import pytest

from tests.deploy.chart import NAMESPACE, RELEASE, crds, find, objects, render
from tests.deploy.rbac import Grant, allowed, grants
from tests.deploy.scenario import (
    ApiCall,
    Pushed,
    chart_config,
    deploy,
    metric,
    operator_running,
    scan_everything,
)
from tests.k8s.conftest import Images
from tests.k8s_helpers import KCluster
from tests.operator.conftest import ALL_VERBS, Kubelet, kubelet_env
from tests.operator.conftest import objects as cluster_objects

VALUES = {"privateRegistry": {"readPullSecrets": True}}  # the scenario's workloads pull from a private registry

# Grants no call of the scenario uses, each with the code path that does.
NOT_EXERCISED = {
    ("watch", "batch", "jobs", NAMESPACE): "kopf watches the scan Jobs in the release namespace when the install mode "
                                            "is not AllNamespaces (here the cluster-wide watch serves)",
    ("list", "batch", "jobs", NAMESPACE): "the reconciler lists its Jobs there in every mode (cluster-wide list "
                                           "serves here)",
    ("patch", "", "secrets", NAMESPACE): "a pull-secret copy left by an interrupted Job is patched (create conflicts)",
    # the event-driven pass reads a new pod's controllers by name; the scenario's pods are owned by ReplicaSets only
    **{("get", group, kind, "*"): "a pod's controller chain, read by name (event-driven pass)"
       for group, kind in (("", "replicationcontrollers"), ("apps", "deployments"), ("apps", "statefulsets"),
                           ("apps", "daemonsets"), ("batch", "jobs"), ("batch", "cronjobs"))},
}
# Grants for operator features that are newer than some operator versions the chart is tested with: used when the
# operator has them (then the scenario exercises them), excused when it does not.
NEWER_OPERATOR = {
    ("get", "apps", "replicasets", "*"): "the event-driven pass reads a new pod's ReplicaSet by name",
    ("create", "aquasecurity.github.io", "sbomreports", "*"): "SbomReports",
    ("patch", "aquasecurity.github.io", "sbomreports", "*"): "SbomReports",
    ("get", "", "configmaps", NAMESPACE): "custom Rego checks from the vigil-policies ConfigMap",
}


def _run_scenario(kc: KCluster, server: Any, critical: Pushed, images: Images,
                  tmp: Path) -> tuple[list[ApiCall], str]:
    config = chart_config(server.url, VALUES)
    with operator_running(kc, server, tmp, config) as s:
        scan_everything(s)
        deploy(s, critical, "critical-app")
        # a new workload on a digest already scanned: reports from the known result, no Job
        deploy(s, Pushed(images.alpine, images.alpine_id), "late-app")
        exposition = s.scrape()
        kubelet = s.kubelet
    # a restarted operator finds its reports in place: it patches them (create answers 409)
    with operator_running(kc, server, tmp, config, kubelet=kubelet) as s2:
        s2.wait_for(lambda: (metric(s2.scrape(), "vigil_operator_reports_written_total") or 0) > 0,
                    "the restarted operator's report updates")
        calls = s.calls()
    return calls, exposition


def test_every_api_call_is_allowed_and_every_grant_used(op_cluster: KCluster, vigil_server: Any,
                                                         critical: Pushed, images: Images, tmp_path: Path) -> None:
    calls, exposition = _run_scenario(op_cluster, vigil_server, critical, images, tmp_path)
    assert any(o["metadata"]["name"].startswith("replicaset-critical-app")
               for o in cluster_objects(op_cluster, "vulnerabilityreports"))
    kinds = Counter((c.verb, c.resource) for c in calls)
    # the scenario went through the paths that matter: reports created and patched, Jobs and pull-secret copies
    # created and deleted, pull secrets read, RBAC objects audited
    for needed in [("create", "vulnerabilityreports"), ("patch", "vulnerabilityreports"),
                   ("create", "rbacassessmentreports"), ("create", "clusterrbacassessmentreports"),
                   ("create", "jobs"), ("delete", "jobs"), ("create", "secrets"), ("delete", "secrets"),
                   ("get", "secrets"), ("watch", "pods"), ("list", "roles"), ("patch", "namespaces")]:
        assert kinds[needed], (needed, sorted(kinds))

    objs = objects(render(VALUES))
    gs = grants(objs, RELEASE, NAMESPACE)
    denied = sorted({c for c in calls if not allowed(gs, c)}, key=str)
    assert not denied, "\n".join(map(str, denied))

    # nothing more is granted: each grant serves a call of the scenario, or a path named in NOT_EXERCISED
    def used(g: Grant) -> bool:
        key = (g.verb, g.group, g.resource, g.scope)
        return any(allowed([g], c) for c in calls) or key in NOT_EXERCISED or key in NEWER_OPERATOR

    unused = [g for g in gs if not used(g)]
    assert not unused, "\n".join(map(str, unused))
    for key in [*NOT_EXERCISED, *NEWER_OPERATOR]:  # the lists hold only grants the chart makes
        assert any((g.verb, g.group, g.resource, g.scope) == key for g in gs), key

    # by default no Secret outside the release namespace can be read: the operator's pull-secret reads are denied
    # (it then scans without credentials), everything else is allowed
    default = grants(objects(render()), RELEASE, NAMESPACE)
    assert {c for c in calls if not allowed(default, c)} == {c for c in calls if c.resource == "secrets"
                                                            and c.namespace != NAMESPACE}
    assert not [g for g in default if g.resource in ("secrets", "*") and g.scope != NAMESPACE]

    # `promtool check metrics` on the operator's own exposition (naming, units, _total counters, help texts)
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian prometheus) not installed")
    proc = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "vigil_image_vulnerabilities{" in exposition and "vigil_operator_scan_jobs_created_total" in exposition


def test_grants_of_the_other_install_modes_are_narrower() -> None:
    """ListOfNamespaces: workloads are read, and pull secrets got, only in the named namespaces (RoleBindings)."""
    values = {"operator": {"installMode": "ListOfNamespaces", "targetNamespaces": ["shop"]},
              "privateRegistry": {"readPullSecrets": True}}
    gs = grants(objects(render(values)), RELEASE, NAMESPACE)
    assert allowed(gs, ApiCall("list", "", "pods", "shop"))
    assert not allowed(gs, ApiCall("list", "", "pods", ""))
    assert not allowed(gs, ApiCall("list", "", "pods", "web"))
    assert allowed(gs, ApiCall("get", "", "secrets", "shop", "regcred"))
    assert not allowed(gs, ApiCall("get", "", "secrets", "web", "regcred"))
    assert not allowed(gs, ApiCall("list", "", "secrets", "shop"))
    named = grants(objects(render({"privateRegistry": {"readPullSecrets": True, "secretNames": ["regcred"]}})),
                   RELEASE, NAMESPACE)
    assert allowed(named, ApiCall("get", "", "secrets", "web", "regcred"))
    assert not allowed(named, ApiCall("get", "", "secrets", "web", "db-password"))


def test_the_checks_catch_a_missing_and_an_extra_grant() -> None:
    """The evaluator itself: a call no rule covers is denied; a rule no call uses is found."""
    objs = objects(render())
    gs = grants(objs, RELEASE, NAMESPACE)
    calls = [ApiCall(g.verb, g.group, g.resource, NAMESPACE if g.scope != "*" else "", g.names[0] if g.names else "")
             for g in gs]
    assert all(allowed(gs, c) for c in calls)
    read = next(o for o in objs if o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith("-read"))
    read["rules"].append({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]})
    extra = [g for g in grants(objs, RELEASE, NAMESPACE) if not any(allowed([g], c) for c in calls)]
    assert extra == [Grant("get", "", "pods", "*", (), f"ClusterRole/{RELEASE}-read")]
    read["rules"] = [r for r in read["rules"] if "pods" not in r["resources"]]
    assert not allowed(grants(objs, RELEASE, NAMESPACE), ApiCall("watch", "", "pods", ""))
    # a RoleBinding's grant does not reach other namespaces nor the cluster scope
    role = [g for g in gs if g.scope == NAMESPACE and g.resource == "jobs" and g.verb == "create"]
    assert role and not allowed(role, ApiCall("create", "batch", "jobs", "shop"))


def test_list_of_namespaces_mode_stays_in_its_namespaces(op_cluster: KCluster, vigil_server: Any,
                                                          tmp_path: Path) -> None:
    """ListOfNamespaces: kopf watches per namespace, the reconciler lists per namespace; every call is allowed by
    the RoleBindings in the named namespaces and the small cluster role, and the workloads are scanned."""
    values = {"operator": {"installMode": "ListOfNamespaces", "targetNamespaces": ["shop"]},
              "privateRegistry": {"readPullSecrets": True}}
    with operator_running(op_cluster, vigil_server, tmp_path, chart_config(vigil_server.url, values)) as s:
        scan_everything(s)
        calls = s.calls()
    assert {o["metadata"]["namespace"] for o in cluster_objects(op_cluster, "vulnerabilityreports")} == {"shop"}
    gs = grants(objects(render(values)), RELEASE, NAMESPACE)
    denied = sorted({c for c in calls if not allowed(gs, c)}, key=str)
    assert not denied, "\n".join(map(str, denied))
    # nothing namespaced was read across the cluster
    assert not [c for c in calls if c.verb in ("list", "watch") and not c.namespace
                and c.resource not in ("namespaces", "customresourcedefinitions", "clusterroles",
                                       "clusterrolebindings")]


PEERING_ROLE = f"ClusterRole/{RELEASE}-peering"


def test_peering_grants_only_with_peering() -> None:
    """kopf's peering objects: list and watch them, patch only the release's own; nothing without peering."""
    for values in ({}, VALUES, {"operator": {"installMode": "OwnNamespace"}}):
        gs = grants(objects(render(values)), RELEASE, NAMESPACE)
        assert not [g for g in gs if g.group == "kopf.dev"]
    gs = grants(objects(render({"operator": {"replicas": 2}})), RELEASE, NAMESPACE)
    assert sorted((g.verb, g.resource, g.scope, g.names) for g in gs if g.group == "kopf.dev") == [
        ("list", "clusterkopfpeerings", "*", ()), ("patch", "clusterkopfpeerings", "*", (RELEASE,)),
        ("watch", "clusterkopfpeerings", "*", ())]
    assert allowed(gs, ApiCall("patch", "kopf.dev", "clusterkopfpeerings", "", RELEASE))
    assert not allowed(gs, ApiCall("patch", "kopf.dev", "clusterkopfpeerings", "", "other-operator"))
    assert not allowed(gs, ApiCall("get", "kopf.dev", "clusterkopfpeerings", "", RELEASE))
    assert not allowed(gs, ApiCall("list", "kopf.dev", "kopfpeerings", "shop"))
    # the namespaced modes: KopfPeerings in the namespaces the operator serves, and only there
    values = {"operator": {"installMode": "ListOfNamespaces", "targetNamespaces": ["shop"],
                           "peering": {"enabled": True}}}
    gs = grants(objects(render(values)), RELEASE, NAMESPACE)
    for ns in ("shop", NAMESPACE):
        assert allowed(gs, ApiCall("watch", "kopf.dev", "kopfpeerings", ns))
        assert allowed(gs, ApiCall("patch", "kopf.dev", "kopfpeerings", ns, RELEASE))
    assert not allowed(gs, ApiCall("watch", "kopf.dev", "kopfpeerings", "web"))
    assert not allowed(gs, ApiCall("watch", "kopf.dev", "kopfpeerings", ""))
    assert not allowed(gs, ApiCall("list", "kopf.dev", "clusterkopfpeerings", ""))


def test_two_replicas_with_the_charts_peering_arguments(op_cluster: KCluster, vigil_server: Any,
                                                       tmp_path: Path) -> None:
    """Two operators started as the chart's two-replica Deployment starts its pods (the same arguments, hence the
    same peering and `--priority=random`): both keep alive in the chart's ClusterKopfPeering with different
    priorities, so one leads and the cluster is scanned (equal priorities would pause both); every API call of
    both is allowed by the chart's RBAC, and each peering grant is used."""
    values = {**VALUES, "operator": {"replicas": 2}}
    objs = objects(render(values))
    args = tuple(a for a in find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
                 if a.startswith(("--peering", "--priority")))
    assert args == (f"--peering={RELEASE}", "--priority=random")
    # the cluster has the chart's CRD and peering object
    crd = next(c for c in crds() if c["spec"]["names"]["kind"] == "ClusterKopfPeering")
    resource = kmock.resource(crd["spec"]["group"], "v1", crd["spec"]["names"]["plural"])
    op_cluster.km.resources[resource] = kmock.ResourceInfo(kind="ClusterKopfPeering", namespaced=False,
                                                           singular="clusterkopfpeering", verbs=set(ALL_VERBS))
    peering = find(objs, "ClusterKopfPeering")
    op_cluster.km.objects[resource, None, peering["metadata"]["name"]] = peering

    def peers() -> dict[str, Any]:
        [obj] = cluster_objects(op_cluster, "clusterkopfpeerings")
        return dict(obj.get("status") or {})

    config = chart_config(vigil_server.url, values)
    kubelet = Kubelet(op_cluster, NAMESPACE, tmp_path, kubelet_env(tmp_path))
    with operator_running(op_cluster, vigil_server, tmp_path, config, kubelet=kubelet, args=args) as first, \
            operator_running(op_cluster, vigil_server, tmp_path, config, kubelet=kubelet, args=args) as second:
        first.wait_for(lambda: len(peers()) == 2, "both replicas' peering records")
        priorities = [p["priority"] for p in peers().values()]
        assert len(set(priorities)) == 2, priorities
        scan_everything(first)
        assert second.proc.poll() is None
        calls = first.calls()
    assert cluster_objects(op_cluster, "vulnerabilityreports")

    gs = grants(objs, RELEASE, NAMESPACE)
    denied = sorted({c for c in calls if not allowed(gs, c)}, key=str)
    assert not denied, "\n".join(map(str, denied))
    peering_grants = [g for g in gs if g.role == PEERING_ROLE]
    assert peering_grants and all(any(allowed([g], c) for c in calls) for g in peering_grants)
    # without peering the chart grants none of it
    plain = grants(objects(render(VALUES)), RELEASE, NAMESPACE)
    assert {c.resource for c in calls if not allowed(plain, c) and c.group == "kopf.dev"} == {"clusterkopfpeerings"}


def test_peering_in_a_namespaced_mode_stays_in_its_namespaces(op_cluster: KCluster, vigil_server: Any,
                                                               tmp_path: Path) -> None:
    """ListOfNamespaces with peering: kopf keeps alive in the chart's KopfPeering of each namespace it serves; every
    call is allowed by the chart's RBAC and none reaches a peering object elsewhere."""
    values = {"operator": {"installMode": "ListOfNamespaces", "targetNamespaces": ["shop"],
                           "peering": {"enabled": True}},
              "privateRegistry": {"readPullSecrets": True}}
    objs = objects(render(values))
    args = tuple(a for a in find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
                 if a.startswith(("--peering", "--priority")))
    resource = kmock.resource("kopf.dev", "v1", "kopfpeerings")
    op_cluster.km.resources[resource] = kmock.ResourceInfo(kind="KopfPeering", namespaced=True,
                                                           singular="kopfpeering", verbs=set(ALL_VERBS))
    for o in objs:
        if o["kind"] == "KopfPeering":
            op_cluster.km.objects[resource, o["metadata"]["namespace"], o["metadata"]["name"]] = o

    def alive() -> set[str]:
        return {o["metadata"]["namespace"] for o in cluster_objects(op_cluster, "kopfpeerings") if o.get("status")}

    with operator_running(op_cluster, vigil_server, tmp_path, chart_config(vigil_server.url, values),
                          args=args) as s:
        s.wait_for(lambda: alive() == {"shop", NAMESPACE}, "the keep-alives in both namespaces")
        scan_everything(s)
        calls = s.calls()
    gs = grants(objs, RELEASE, NAMESPACE)
    denied = sorted({c for c in calls if not allowed(gs, c)}, key=str)
    assert not denied, "\n".join(map(str, denied))
    peering_calls = {(c.verb, c.namespace) for c in calls if c.group == "kopf.dev"}
    assert {ns for _, ns in peering_calls} == {"shop", NAMESPACE}
    assert {v for v, _ in peering_calls} == {"list", "watch", "patch"}
    assert all(any(allowed([g], c) for c in calls) for g in gs if g.role == PEERING_ROLE)
