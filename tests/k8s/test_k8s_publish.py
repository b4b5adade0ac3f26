"""`vigil k8s --publish URL`: a cluster scan (kmock + a private docker-registry) sent to a real `vigil server`'s
report store, one workload target per resource; a store that is down is one warning, not one per resource."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli_helpers import run
from tests.integration.test_server import Server, start_server
from tests.k8s.conftest import Images
from tests.k8s_helpers import KCluster
from tests.registry_helpers import free_port

TOKEN = "k8s-publisher"
NO_CI = {"GITHUB_ACTIONS": "", "GITLAB_CI": "", "JENKINS_URL": ""}


@pytest.fixture(scope="module")
def store_server(tmp_path_factory: pytest.TempPathFactory, fixture_db: Path) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("k8s-store")
    shutil.copy2(fixture_db, tmp / "vigil.db")
    (tmp / "token").write_text(TOKEN)
    s = start_server(tmp, tmp / "vigil.db", "--token-file", str(tmp / "token"), "--cache-backend", "memory",
                     "--store", f"sqlite:///{tmp / 'store.db'}")
    yield s
    s.stop()


def k8s(kc: KCluster, tmp_path: Path, db: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run("k8s", "--api-server", kc.url, "--cache-dir", str(tmp_path / "cache"), "--insecure",
               "--scan-pull-secrets", "--db-path", str(db), "--skip-db-update", "--format", "json",
               "--include-namespaces", "shop,trivy-system", *args, env={**NO_CI, **(env or {})})


def get(s: Server, path: str, **params: Any) -> Any:
    r = httpx.get(s.url + path, params=params, headers={"Vigil-Token": TOKEN}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def finding_ids(resource: dict[str, Any]) -> set[str]:
    """The IDs the store tracks for one resource: vulnerabilities, FAIL misconfigurations, secrets."""
    return {x for r in resource["Results"] for x in (
        *(v["VulnerabilityID"] for v in r.get("Vulnerabilities") or ()),
        *(m["ID"] for m in r.get("Misconfigurations") or () if m["Status"] == "FAIL"),
        *(s["RuleID"] for s in r.get("Secrets") or ()))}


def test_each_resource_lands_on_its_workload_target(cluster: KCluster, images: Images, store_server: Server,
                                                    fixture_db: Path, tmp_path: Path) -> None:
    p = k8s(cluster, tmp_path, fixture_db, "--scanners", "vuln,misconfig", "--publish", store_server.url,
            "--publish-label", "env=test", env={"VIGIL_PUBLISH_TOKEN": TOKEN})
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    resources = rep["Resources"]
    assert f"published {len(resources)} resources of {cluster.url}" in p.stderr, p.stderr
    got = {t["name"]: t for t in get(store_server, "/v1/targets", kind="workload", limit=1000)["items"]}
    want = {f"{cluster.url}/{r['Namespace']}/{r['Kind']}/{r['Name']}" if r.get("Namespace")
            else f"{cluster.url}/{r['Kind']}/{r['Name']}": r for r in resources}
    assert set(got) == set(want)
    for name, r in want.items():
        t = got[name]
        assert (t["cluster"], t["namespace"], t["workload"]) == (cluster.url, r.get("Namespace", ""),
                                                                  f"{r['Kind']}/{r['Name']}")
        assert t["labels"] == {"env": "test"}
        stored = get(store_server, "/v1/findings", target_id=t["id"], limit=1000)
        assert stored["total"] == sum(t["open"].values())
        assert {f["finding_id"] for f in stored["items"]} == finding_ids(r), name
    fe = got[f"{cluster.url}/shop/Deployment/frontend"]
    assert fe["image_digest"] == images.alpine_digest  # the digest the workload runs
    scan = get(store_server, f"/v1/targets/{fe['id']}/scans")["items"][0]
    assert scan["source"] == "k8s"
    # "where does it run": one vulnerability of the alpine image, on every workload that runs that digest
    vid = next(f["finding_id"] for f in get(store_server, "/v1/findings", target_id=fe["id"],
                                            kind="vulnerability", limit=1)["items"])
    where = {f["target_name"] for f in get(store_server, "/v1/where", id=vid)["items"]}
    assert {f"{cluster.url}/shop/Deployment/frontend", f"{cluster.url}/trivy-system/Deployment/trivy-operator"} <= where

    # the next scan without the configuration checks: same targets, the misconfigurations fixed
    p = k8s(cluster, tmp_path, fixture_db, "--scanners", "vuln", "--publish", store_server.url, "--quiet",
            env={"VIGIL_PUBLISH_TOKEN": TOKEN})
    assert p.returncode == 0, p.stderr
    after = {t["name"]: t for t in get(store_server, "/v1/targets", kind="workload", limit=1000)["items"]}
    assert {n: t["id"] for n, t in after.items()} == {n: t["id"] for n, t in got.items()}
    assert get(store_server, f"/v1/targets/{fe['id']}/scans")["total"] == 2
    fixed = get(store_server, "/v1/findings", target_id=fe["id"], status="fixed", limit=1000)["items"]
    assert fixed and {f["kind"] for f in fixed} == {"misconfiguration"}

    # --publish-name names the cluster: each resource keeps its own target under it
    p = k8s(cluster, tmp_path, fixture_db, "--scanners", "misconfig", "--publish", store_server.url,
            "--publish-name", "prod-eu", "--include-kinds", "Deployment", env={"VIGIL_PUBLISH_TOKEN": TOKEN})
    assert p.returncode == 0, p.stderr
    named = get(store_server, "/v1/targets", q="prod-eu/", limit=1000)["items"]
    assert sorted(t["name"] for t in named) == ["prod-eu/shop/Deployment/frontend",
                                                "prod-eu/shop/Deployment/redis-master",
                                                "prod-eu/shop/Deployment/redis-replica",
                                                "prod-eu/trivy-system/Deployment/trivy-operator"]
    assert {t["cluster"] for t in named} == {"prod-eu"}


def test_a_store_that_is_down_is_one_warning(cluster: KCluster, fixture_db: Path, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    p = k8s(cluster, tmp_path, fixture_db, "--scanners", "misconfig", "--publish", down, "--exit-code", "3")
    assert p.returncode == 3, p.stderr  # the scan's own exit code (it has findings) stands
    n = len(json.loads(p.stdout)["Resources"])
    warnings = [line for line in p.stderr.splitlines() if "report store" in line]
    assert len(warnings) == 1, p.stderr
    assert warnings[0].startswith(f"WARNING: {n} of {n} resources not published: cannot reach the report store")
    assert "Traceback" not in p.stderr
    p = k8s(cluster, tmp_path, fixture_db, "--scanners", "misconfig", "--publish", down, "--publish-required")
    assert p.returncode == 2
    assert len([line for line in p.stderr.splitlines() if "report store" in line]) == 1, p.stderr


def test_a_refusing_store_is_one_warning(cluster: KCluster, store_server: Server, fixture_db: Path,
                                         tmp_path: Path) -> None:
    p = k8s(cluster, tmp_path, fixture_db, "--scanners", "misconfig", "--publish", store_server.url,
            env={"VIGIL_PUBLISH_TOKEN": "wrong"})
    assert p.returncode == 0, p.stderr
    lines = [line for line in p.stderr.splitlines() if "report store" in line]
    assert len(lines) == 1 and "HTTP 401" in lines[0], p.stderr
