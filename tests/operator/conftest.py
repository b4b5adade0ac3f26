"""The operator's test harness: kmock (real HTTP) as the API server with a realistic cluster, a real `vigil server`
(DB + report store), the real docker-registry with the images, and a kubelet stand-in that runs the scan Jobs.

The kubelet stand-in does for each Job the operator creates what a node would: it runs the Job's container
command line (args, env, volumes: emptyDirs and Secrets become temp directories at the paths the spec names,
rewritten to them) as a local `vigil` process, then writes the Job's status (Complete / Failed) to kmock. So the
Job spec is proven to work, not only compared with a golden file.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import kmock
import pytest

from tests.k8s.conftest import Images, build_cluster, images  # noqa: F401 — fixtures
from tests.k8s_helpers import KCluster
from tests.registry_helpers import Registry, registry_basic_fixture  # noqa: F401 — the session fixture

REPO = Path(__file__).resolve().parents[2]
CRD_PLURALS = {"VulnerabilityReport": "vulnerabilityreports", "ExposedSecretReport": "exposedsecretreports",
               "ConfigAuditReport": "configauditreports", "RbacAssessmentReport": "rbacassessmentreports",
               "SbomReport": "sbomreports"}


ALL_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}


class OpCluster(KCluster):
    """The k8s tests' cluster with the write verbs a real API server announces (kopf serves only patchable
    resources; the operator creates Jobs, Secrets and reports)."""

    def _core_discovery(self, req: Any) -> dict[str, Any]:
        doc = super()._core_discovery(req)
        for r in doc["resources"]:
            r["verbs"] = sorted(ALL_VERBS)
        return doc


def add_report_kinds(kc: KCluster) -> None:
    """Serve the report kinds (as their CRDs would) and Secrets writes."""
    for kind, plural in CRD_PLURALS.items():
        kc.km.resources[kmock.resource("aquasecurity.github.io", "v1alpha1", plural)] = kmock.ResourceInfo(
            kind=kind, namespaced=True, singular=kind.lower(), verbs=set(ALL_VERBS))
    kc.km.resources[kmock.resource("aquasecurity.github.io", "v1alpha1", "clusterrbacassessmentreports")] = \
        kmock.ResourceInfo(kind="ClusterRbacAssessmentReport", namespaced=False,
                           singular="clusterrbacassessmentreport", verbs=set(ALL_VERBS))


def objects(kc: KCluster, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
    return [o.raw for (res, ns, _), o in list(kc.km.objects.items())
            if res.plural == plural and not o.deleted and (namespace is None or ns == namespace)]


@dataclass
class Kubelet:
    """Runs the Jobs in `namespace` once each (by uid: a Job deleted and created again is run again)."""

    kc: KCluster
    namespace: str
    work: Path
    env: dict[str, str]
    fail_refs: set[str] = field(default_factory=set)  # image refs whose scan "fails" (ImagePullBackOff-like)
    extra_args: tuple[str, ...] = ("--insecure",)  # the test registry is plain HTTP
    ran: list[dict[str, Any]] = field(default_factory=list)

    def pending(self) -> list[dict[str, Any]]:
        """Jobs not run yet: no status (a Job deleted and created again is a new object without one)."""
        return [j for j in objects(self.kc, "jobs", self.namespace) if not (j.get("status") or {}).get("conditions")]

    def run_all(self) -> int:
        n = 0
        for job in self.pending():
            self.run(job)
            n += 1
        return n

    def run(self, job: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        """The pod's init containers in order, then its one container, sharing the pod's volumes (as a node runs
        them); the Job fails when any of them does."""
        meta = job["metadata"]
        pod = job["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        root = self.work / f"{meta['name']}-{len(self.ran)}"
        paths: dict[str, Path] = {}
        for v in pod.get("volumes", []):
            d = root / v["name"]
            d.mkdir(parents=True)
            if "secret" in v:
                secret = next(s for s in objects(self.kc, "secrets", meta["namespace"])
                              if s["metadata"]["name"] == v["secret"]["secretName"])
                for item in v["secret"].get("items") or [{"key": k, "path": k} for k in secret["data"]]:
                    (d / item["path"]).write_bytes(base64.b64decode(secret["data"][item["key"]]))
            paths[v["name"]] = d
        self.ran.append({"name": meta["name"], "args": c["args"], "env": c.get("env", []), "job": copy.deepcopy(job),
                         "init": [i["args"] for i in pod.get("initContainers") or ()]})
        ref = c["args"][1]
        proc: subprocess.CompletedProcess[str] = subprocess.CompletedProcess([], 0, "", "")
        for container in [*(pod.get("initContainers") or ()), c]:
            if container is c and ref in self.fail_refs:
                proc = subprocess.CompletedProcess([], 1, "", "simulated pull failure")
            else:
                proc = self._exec(container, paths)
            if proc.returncode != 0:
                break
        status: dict[str, Any] = {"conditions": [
            {"type": "Complete" if proc.returncode == 0 else "Failed", "status": "True",
             "reason": "Completed" if proc.returncode == 0 else "BackoffLimitExceeded"}]}
        status["succeeded" if proc.returncode == 0 else "failed"] = 1
        # written over HTTP, as the Job controller writes it
        resp = httpx.patch(f"{self.kc.url}/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}",
                           json={"status": status}, headers={"Content-Type": "application/merge-patch+json"})
        resp.raise_for_status()
        shutil.rmtree(root, ignore_errors=True)
        self.last = proc
        self.ran[-1]["returncode"] = proc.returncode
        return proc

    def _exec(self, c: dict[str, Any], paths: dict[str, Path]) -> subprocess.CompletedProcess[str]:
        mounts = {m["mountPath"]: paths[m["name"]] for m in c.get("volumeMounts", [])}

        def local(value: str) -> str:
            for mount, d in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
                if value == mount or value.startswith(mount + "/"):
                    return str(d) + value[len(mount):]
            return value

        env = dict(self.env)
        for e in c.get("env", []):
            assert "value" in e, f"the stand-in resolves plain values only: {e}"
            env[e["name"]] = local(e["value"])
        assert c["command"] == ["vigil"]
        args = [local(a) for a in c["args"]]
        return subprocess.run([sys.executable, "-m", "vigil.shells.cli.main", *args, *self.extra_args],
                              capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture
def vigil_server(fixture_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A fresh server (empty report store) per test: what one test scanned must not be found by the next."""
    from tests.integration.test_server import start_server

    tmp = tmp_path_factory.mktemp("opserver")
    db = tmp / "db" / "vigil.db"
    db.parent.mkdir()
    shutil.copy2(fixture_db, db)
    server = start_server(tmp, db)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def op_cluster(images: Images, registry_basic: Registry) -> Iterator[KCluster]:  # noqa: F811
    kc = OpCluster().start()
    try:
        build_cluster(kc, images, registry_basic)
        for info in kc.km.resources.values():
            info.verbs = set(ALL_VERBS)
        for (_, ns, name), obj in list(kc.km.objects.items()):  # an API server gives every object a uid
            if not obj.get("metadata", {}).get("uid"):
                obj.patch({"metadata": {"uid": f"uid-{ns}-{name}"}})
        kc.denied.clear()  # the operator's service account may list pods cluster-wide
        kc.add({"kind": "Namespace", "metadata": {"name": "vigil-system"}})
        add_report_kinds(kc)
        yield kc
    finally:
        kc.stop()


def kubelet_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_") and k != "DOCKER_CONFIG"}
    env["XDG_CACHE_HOME"] = str(tmp / "xdg")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO)])
    return env


def run(coro: Any) -> Any:
    return asyncio.run(coro)
