"""The operator end to end: kmock cluster, kubelet stand-in running the scan Jobs against a real vigil server and
the real docker-registry, reports read back from the store and written as custom resources."""

from __future__ import annotations

import copy
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.k8s.conftest import Images
from tests.k8s_helpers import KCluster, pod_for
from tests.operator.conftest import Kubelet, kubelet_env, objects, run
from vigil.operator.config import OperatorConfig
from vigil.operator.reconciler import Reconciler, StoreReader
from vigil.sources.k8s.client import ClusterClient
from vigil.sources.k8s.kubeconfig import KubeconfigOptions, load_config


class Clock:
    """Time the test moves by hand (backoffs, TTLs), starting now: the store stamps scans with the real time."""

    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


def make(kc: KCluster, server: Any, clock: Clock | None = None, **cfg: Any) -> tuple[Reconciler, Any]:
    conf = OperatorConfig(server=server.url, **cfg)
    client = ClusterClient(load_config(KubeconfigOptions(server=kc.url)), retries=0)
    return Reconciler(conf, client, StoreReader(server.url), clock=clock or Clock()), client


async def passes(rec: Reconciler, kubelet: Kubelet, limit: int = 10) -> int:
    """Reconcile, run the Jobs it created, until a pass creates no Job and none is left; the number of passes."""
    for n in range(1, limit + 1):
        await rec.reconcile_once()
        if not kubelet.run_all() and not objects(kubelet.kc, "jobs", "vigil-system"):
            await rec.reconcile_once()
            return n
    raise AssertionError(f"the operator did not settle: {objects(kubelet.kc, 'jobs', 'vigil-system')} "
                         f"{getattr(kubelet, 'last', None)} {rec.failures}")


def vuln_reports(kc: KCluster) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects(kc, "vulnerabilityreports")}


def test_workloads_get_reports_from_one_scan_per_digest(op_cluster: KCluster, vigil_server: Any, images: Images,
                                                        tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    rec, client = make(op_cluster, vigil_server)

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            await rec.store.close()

    run(go())
    # two digests run in the cluster (alpine, rhel): two Jobs, each run once, whatever the number of workloads
    assert Counter(r["args"][1] for r in kubelet.ran) == {images.alpine_id: 1, images.rhel_id: 1}
    assert kubelet.last.returncode == 0, kubelet.last.stderr
    reps = vuln_reports(op_cluster)
    # the frontend's current ReplicaSet (3 pods, one image) has one report per container, owned by it
    fe = [r for r in reps.values() if r["metadata"]["labels"].get("trivy-operator.resource.name") == "frontend"]
    assert fe, sorted(reps)
    r = fe[0]
    assert r["metadata"]["ownerReferences"][0]["kind"] == r["metadata"]["labels"]["trivy-operator.resource.kind"]
    assert r["report"]["artifact"]["digest"] in (images.alpine_digest, images.rhel_digest)
    assert r["report"]["fullReport"].startswith(vigil_server.url + "/v1/scans/")
    total = sum(r["report"]["summary"][k] for k in ("criticalCount", "highCount", "mediumCount", "lowCount",
                                                       "unknownCount"))
    assert total > 0 and len(r["report"]["vulnerabilities"]) == min(total, 100)
    # config audit and RBAC assessment ran in-process (no Job): the live objects' checks, owned by them
    audits = {o["metadata"]["name"]: o for o in objects(op_cluster, "configauditreports")}
    fa = audits["deployment-frontend"]
    assert fa["report"]["checks"] and all(not c["success"] for c in fa["report"]["checks"])
    assert sum(fa["report"]["summary"].values()) == len(fa["report"]["checks"])
    assert fa["metadata"]["ownerReferences"][0]["name"] == "frontend"
    assert objects(op_cluster, "rbacassessmentreports") and objects(op_cluster, "clusterrbacassessmentreports")
    # no Job, no pull Secret left behind
    assert not objects(op_cluster, "jobs", "vigil-system")
    assert not [s for s in objects(op_cluster, "secrets", "vigil-system")]
    # the Jobs pulled with the workload's credentials (registry with basic auth) from a Secret beside them
    assert any(e["name"] == "DOCKER_CONFIG" for run_ in kubelet.ran for e in run_["env"])


def test_new_workload_on_known_digest_gets_reports_without_a_job(op_cluster: KCluster, vigil_server: Any,
                                                                 images: Images, tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    rec, client = make(op_cluster, vigil_server)

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            before = len(kubelet.ran)
            # 20 new Deployments' pods on the images already scanned
            for i in range(20):
                owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                         "metadata": {"name": f"extra-{i}", "namespace": "shop", "uid": f"u-extra-{i}"},
                         "spec": {"template": {"spec": {"containers": [
                             {"name": "app", "image": images.alpine if i % 2 else images.rhel}]}}}}
                op_cluster.add(copy.deepcopy(owner))
                op_cluster.add(pod_for(owner, "ReplicaSet", f"extra-{i}-0", {
                    images.alpine: (images.alpine_id, ""), images.rhel: (images.rhel_id, "")}))
            stats = await rec.reconcile_once()
            assert stats.jobs_running == 0
            assert not objects(op_cluster, "jobs", "vigil-system")  # no Job: reports at once
            assert len(kubelet.ran) == before
            await rec.store.close()

    run(go())
    names = {n for (ns, n) in vuln_reports(op_cluster) if ns == "shop"}
    assert {f"replicaset-extra-{i}-app" for i in range(20)} <= names


def test_excluded_namespace_gets_nothing(op_cluster: KCluster, vigil_server: Any, tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    rec, client = make(op_cluster, vigil_server, exclude_namespaces=["trivy-*", "kube-*", "default"])
    # a workload labelled with the skip label is not scanned either
    key = next(k for k in op_cluster.km.objects if k[0].plural == "deployments" and k[2] == "redis-master")
    op_cluster.km.objects[key].patch({"metadata": {"labels": {"vigil.dev/skip": "true"}}})

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            await rec.store.close()

    run(go())
    reps = vuln_reports(op_cluster)
    assert reps and {ns for ns, _ in reps} == {"shop"}
    assert not [n for _, n in reps if "redis-master" in n] and [n for _, n in reps if "frontend" in n]
    # the excluded namespaces' images (pulled without credentials there) were never scanned: no Job failed
    assert all(r["returncode"] == 0 for r in kubelet.ran) and rec.stats.failures == {}


def test_failed_jobs_are_retried_then_a_failure_report(op_cluster: KCluster, vigil_server: Any, images: Images,
                                                      tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path), fail_refs={images.rhel_id})
    clock = Clock()
    rec, client = make(op_cluster, vigil_server, clock, scan_job_retries=3, scan_job_retry_backoff_seconds=10)

    async def go() -> None:
        async with client:
            for _ in range(12):
                await rec.reconcile_once()
                kubelet.run_all()
                clock.t += 100  # past every backoff
            await rec.reconcile_once()
            await rec.store.close()

    run(go())
    assert Counter(r["args"][1] for r in kubelet.ran)[images.rhel_id] == 3
    failed = [r for r in vuln_reports(op_cluster).values() if "error" in r["report"]]
    assert failed and all(r["report"]["error"]["attempts"] == 3 for r in failed)
    assert {r["report"]["artifact"]["digest"] for r in failed} == {images.rhel_digest}
    assert rec.stats.failures == {"BackoffLimitExceeded": 3}


def test_restart_mid_scan_gives_one_report_set(op_cluster: KCluster, vigil_server: Any, images: Images,
                                               tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    first, c1 = make(op_cluster, vigil_server)
    second, c2 = make(op_cluster, vigil_server)

    async def go() -> None:
        async with c1:
            await first.reconcile_once()  # Jobs created; the operator dies here
            await first.store.close()
        created = len(objects(op_cluster, "jobs", "vigil-system"))
        assert created == 2
        kubelet.run_all()  # the Jobs finish while no operator runs
        async with c2:
            await passes(second, kubelet)
            await second.store.close()

    run(go())
    assert len(kubelet.ran) == 2  # nothing scanned twice
    reps = vuln_reports(op_cluster)
    assert reps and all("error" not in r["report"] for r in reps.values())
    # exactly one report per (workload, container)
    keys = Counter((r["metadata"]["namespace"], r["metadata"]["labels"]["trivy-operator.resource.kind"],
                    r["metadata"]["labels"].get("trivy-operator.resource.name"),
                    r["metadata"]["labels"]["trivy-operator.container.name"]) for r in reps.values())
    assert set(keys.values()) == {1}


def test_ttl_expiry_rescans_each_digest_once(op_cluster: KCluster, vigil_server: Any, images: Images,
                                            tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    clock = Clock()
    rec, client = make(op_cluster, vigil_server, clock, report_ttl_seconds=3600, config_audit=False)

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            assert len(kubelet.ran) == 2
            clock.t += 1800  # within the TTL: nothing to do
            await passes(rec, kubelet)
            assert len(kubelet.ran) == 2
            clock.t += 3600  # past it: each digest scanned again, once
            await passes(rec, kubelet)
            await rec.store.close()

    run(go())
    assert Counter(r["args"][1] for r in kubelet.ran) == {images.alpine_id: 2, images.rhel_id: 2}
    assert not objects(op_cluster, "configauditreports")  # config audit off


def test_sbom_reports_are_small_and_link_every_component(op_cluster: KCluster, vigil_server: Any, images: Images,
                                                         tmp_path: Path) -> None:
    import httpx
    import jsonschema

    from vigil.operator.crds import crd

    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    rec, client = make(op_cluster, vigil_server, config_audit=False, report_max_components=5)

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            await rec.store.close()

    run(go())
    sboms = objects(op_cluster, "sbomreports")
    # one per (workload, container), beside its VulnerabilityReport, owned by the same workload
    assert {o["metadata"]["name"] for o in sboms} == {o["metadata"]["name"] for o in vuln_reports(op_cluster).values()}
    schema = crd("SbomReport")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for o in sboms:
        jsonschema.validate(o, schema)
        rep = o["report"]
        full = httpx.get(rep["fullReport"]).json()  # the store's report: every package
        packages = [p for r in full["Results"] if r["Class"] in ("os-pkgs", "lang-pkgs") for p in r.get("Packages") or ()]
        assert rep["summary"]["componentsCount"] == len(packages) > 5
        bom = rep["components"]
        assert bom["bomFormat"] == "CycloneDX" and len(bom["components"]) == 5
        assert rep["truncated"]["omitted"] == len(packages) - 5
        assert {c["name"] for c in bom["components"]} <= {p["Name"] for p in packages}
        assert rep["artifact"]["digest"] in (images.alpine_digest, images.rhel_digest)
        assert o["metadata"]["ownerReferences"][0]["uid"]


def test_new_pod_on_known_digest_gets_reports_without_listing_the_cluster(
        op_cluster: KCluster, vigil_server: Any, images: Images, tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    rec, client = make(op_cluster, vigil_server, config_audit=False)
    ids = {images.alpine: (images.alpine_id, ""), images.rhel: (images.rhel_id, "")}

    def new_rs(name: str, image: str, owner: dict[str, Any] | None = None) -> dict[str, Any]:
        rs: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                              "metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}"},
                              "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
        if owner is not None:
            rs["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "controller": True,
                                                  "name": owner["metadata"]["name"],
                                                  "uid": owner["metadata"]["uid"]}]
            rs["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
        op_cluster.add(rs)
        return rs

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            lists, jobs_before = op_cluster.lists, len(kubelet.ran)
            # a bare ReplicaSet's pod, and a Deployment's (current revision) pod, on scanned digests
            late = new_rs("late", images.alpine)
            dep = {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web2", "namespace": "shop", "uid": "uid-web2",
                                "annotations": {"deployment.kubernetes.io/revision": "1"}},
                   "spec": {"template": {"spec": {"containers": [{"name": "app", "image": images.rhel}]}}}}
            op_cluster.add(dep)
            web2 = new_rs("web2-abc", images.rhel, dep)
            # a pod of a workload labelled to be skipped
            quiet = new_rs("quiet", images.alpine)
            quiet["metadata"]["labels"] = {"vigil.dev/skip": "true"}
            op_cluster.add(quiet)
            assert await rec.on_pod(pod_for(late, "ReplicaSet", "late-0", ids))
            assert await rec.on_pod(pod_for(web2, "ReplicaSet", "web2-abc-0", ids))
            assert await rec.on_pod(pod_for(quiet, "ReplicaSet", "quiet-0", ids))
            # a digest nobody scanned: the fast path declines (a pass will queue its Job)
            unknown = dict(ids)
            unknown[images.alpine] = (images.alpine_id.rsplit("@", 1)[0] + "@sha256:" + "0" * 64, "")
            assert not await rec.on_pod(pod_for(new_rs("fresh", images.alpine), "ReplicaSet", "fresh-0", unknown))
            assert op_cluster.lists == lists and len(kubelet.ran) == jobs_before  # no LIST, no Job
            await rec.store.close()

    run(go())
    reps = vuln_reports(op_cluster)
    assert ("shop", "replicaset-late-app") in reps and ("shop", "deployment-web2-app") in reps
    assert reps[("shop", "deployment-web2-app")]["report"]["artifact"]["digest"] == images.rhel_digest
    assert not [n for _, n in reps if "quiet" in n or "fresh" in n]
    assert ("shop", "replicaset-late-app") in {(o["metadata"]["namespace"], o["metadata"]["name"])
                                               for o in objects(op_cluster, "sbomreports")}


def test_rescan_schedule_scans_each_digest_again_when_it_fires(op_cluster: KCluster, vigil_server: Any,
                                                               images: Images, tmp_path: Path) -> None:
    import datetime as dt

    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    clock = Clock()
    clock.t = (clock.t // 60) * 60 + 5  # hh:mm:05
    fire = dt.datetime.fromtimestamp(clock.t + 180, dt.UTC)  # three minutes on: a daily cron at that minute
    rec, client = make(op_cluster, vigil_server, clock, config_audit=False,
                       rescan_schedule=f"{fire.minute} {fire.hour} * * *")

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            assert len(kubelet.ran) == 2
            clock.t += 120  # before the scheduled minute: nothing
            await passes(rec, kubelet)
            assert len(kubelet.ran) == 2
            clock.t += 120  # past it: each digest once more
            await passes(rec, kubelet)
            assert len(kubelet.ran) == 4
            clock.t += 3600  # the next firing is a day later
            await passes(rec, kubelet)
            await rec.store.close()

    run(go())
    assert Counter(r["args"][1] for r in kubelet.ran) == {images.alpine_id: 2, images.rhel_id: 2}


def test_cron_expressions() -> None:
    import datetime as dt

    import pytest

    from vigil.errors import UserError
    from vigil.operator.schedule import Cron

    c = Cron.parse("*/15 2-4 * * 1-5")
    t = dt.datetime(2026, 12, 7, 3, 30, tzinfo=dt.UTC)  # a Monday
    assert c.matches(t) and not c.matches(t.replace(minute=31)) and not c.matches(t.replace(day=6))  # Sunday
    assert Cron.parse("0 0 1 * 0").matches(dt.datetime(2026, 12, 6, tzinfo=dt.UTC))  # day or weekday
    day = dt.datetime(2026, 12, 7, tzinfo=dt.UTC).timestamp()
    assert Cron.parse("0 3 * * *").fired(day, day + 3 * 3600) and not Cron.parse("0 3 * * *").fired(
        day + 3 * 3600, day + 4 * 3600)
    for bad in ("* * * *", "61 * * * *", "a * * * *", "*/0 * * * *"):
        with pytest.raises(UserError):
            Cron.parse(bad)


TEAM_CHECK = (Path(__file__).resolve().parents[2] / "examples" / "checks" / "kubernetes_team_label.rego").read_text()


def test_custom_checks_from_a_configmap_are_reevaluated_when_it_changes(op_cluster: KCluster, vigil_server: Any,
                                                                         tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    rec, client = make(op_cluster, vigil_server)
    op_cluster.add({"kind": "ConfigMap", "metadata": {"name": "vigil-policies", "namespace": "vigil-system"},
                    "data": {"policy.team_label.rego": TEAM_CHECK}})

    def custom(name: str) -> list[dict[str, Any]]:
        audit = next(o for o in objects(op_cluster, "configauditreports") if o["metadata"]["name"] == name)
        return [c for c in audit["report"]["checks"] if c["checkID"] == "USR-K8S-0001"]

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            # the guestbook Deployments carry no 'team' label: the custom check fails on them
            [check] = custom("deployment-frontend")
            assert check["severity"] == "MEDIUM" and "has no 'team' label" in check["messages"][0]
            written = rec.stats.reports_written
            # the check changes (its severity), no workload does: every object is audited again
            key = next(k for k in op_cluster.km.objects if k[0].plural == "configmaps" and k[2] == "vigil-policies")
            op_cluster.km.objects[key].patch({"data": {"policy.team_label.rego":
                                                       TEAM_CHECK.replace("severity: MEDIUM", "severity: HIGH")}})
            await rec.reconcile_once()
            [check] = custom("deployment-frontend")
            assert check["severity"] == "HIGH"
            changed = rec.stats.reports_written - written
            # only the reports whose result changed (workloads without a team label) were rewritten
            assert 0 < changed < len(objects(op_cluster, "configauditreports")) + len(
                objects(op_cluster, "rbacassessmentreports"))
            # a check that does not load leaves the reports as they are
            op_cluster.km.objects[key].patch({"data": {"policy.team_label.rego": "package user.x\ndeny[msg] {\n"}})
            await rec.reconcile_once()
            assert custom("deployment-frontend")[0]["severity"] == "HIGH" and rec.policy_error
            await rec.store.close()

    run(go())
