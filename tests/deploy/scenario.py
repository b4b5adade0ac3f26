"""One operator scenario shared by the chart tests (RBAC, metrics, Prometheus): `vigil operator` as it runs in the
cluster (kopf, a subprocess) against kmock over HTTP, the kubelet stand-in running its scan Jobs against a real
vigil server, then a new workload on a vulnerable image, and every API call the operator made, recorded by kmock."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.cli_helpers import stop_process
from tests.k8s_helpers import KCluster, pod_for
from tests.operator.conftest import Kubelet, kubelet_env, objects


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ApiCall:
    verb: str  # get list watch create update patch delete deletecollection
    group: str  # "" = core
    resource: str  # plural, with "/subresource" when one is named
    namespace: str  # "" = cluster-wide (a cluster-scoped object or a LIST/WATCH across namespaces)
    name: str = ""


def api_call(req: Any) -> ApiCall | None:
    """The RBAC-relevant part of a request kmock recorded, or None for discovery and other non-resource paths."""
    parts = [p for p in str(req.url.path).split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, rest = parts[1], parts[3:]
    else:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource, name = rest[0], rest[1] if len(rest) > 1 else ""
    if len(rest) > 2:
        resource += "/" + rest[2]
    if resource == "namespaces" and name and not namespace:  # GET /api/v1/namespaces/NAME is the Namespace itself
        pass
    method = str(req.method).upper().rsplit(".", 1)[-1]
    if method == "GET":
        watch = str(req.params.get("watch", "")).lower() in ("1", "true")
        verb = "get" if name else "watch" if watch else "list"
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}[method]
    return ApiCall(verb, group, resource, namespace, name)


@dataclass
class Scenario:
    kc: KCluster
    kubelet: Kubelet
    metrics_url: str
    log: Path
    proc: subprocess.Popen[bytes]
    operator_agent: str = ""
    scrapes: list[str] = field(default_factory=list)

    def wait_for(self, pred: Callable[[], bool], what: str, rounds: int = 600) -> None:
        """Poll `pred` (bounded by rounds, not by a time budget the test asserts)."""
        for _ in range(rounds):
            if pred():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"operator exited {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"{what} never happened: {self.log.read_text()[-3000:]}")

    def scrape(self) -> str:
        """The /metrics exposition ("" while the operator has not started serving it)."""
        try:
            text = httpx.get(self.metrics_url).text
        except httpx.TransportError:
            return ""
        self.scrapes.append(text)
        return text

    def calls(self) -> list[ApiCall]:
        """The API calls the operator made (not the test's own nor the kubelet stand-in's: they send httpx's
        User-Agent)."""
        out = []
        for req in list(self.kc.km):
            agent = str(req.headers.get("User-Agent", ""))
            if agent.startswith("python-httpx/"):
                continue
            call = api_call(req)
            if call is not None:
                out.append(call)
        return out


def chart_config(server_url: str, values: dict[str, Any] | None = None) -> str:
    """The operator config file the chart renders for `values`, pointed at the test's vigil server. The scan Jobs get
    no token Secret: the kubelet stand-in passes plain env values only, and the test server wants no token."""
    import yaml

    from tests.deploy.chart import find, objects, render

    cfg = yaml.safe_load(find(objects(render(values)), "ConfigMap", "-config")["data"]["operator.yaml"])
    cfg.update({"server": server_url, "serverTokenSecret": ""})
    return str(yaml.safe_dump(cfg))


@contextmanager
def operator_running(kc: KCluster, server: Any, tmp: Path, config: str, kubelet: Kubelet | None = None,
                     port: int = 0, args: tuple[str, ...] = ()) -> Iterator[Scenario]:
    """`args`: more arguments of `vigil operator` (e.g. the peering ones of the chart's Deployment)."""
    kubelet = kubelet or Kubelet(kc, "vigil-system", tmp, kubelet_env(tmp))
    port = port or free_port()
    n = len(list(tmp.glob("operator-*.log")))
    log = tmp / f"operator-{n}.log"
    (tmp / "op.yaml").write_text(config)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "vigil.shells.cli.main", "operator", "--api-server", kc.url,
                                 "--config", str(tmp / "op.yaml"), "--metrics-listen", f"127.0.0.1:{port}",
                                 "--interval", "1", *args],
                                stdout=out, stderr=subprocess.STDOUT, env=kubelet_env(tmp))
    try:
        yield Scenario(kc, kubelet, f"http://127.0.0.1:{port}/metrics", log, proc)
    finally:
        stop_process(proc)


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of the first sample of `name` with `labels` in an exposition, or None."""
    from prometheus_client.parser import text_string_to_metric_families

    for fam in text_string_to_metric_families(text):
        for sample in fam.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def scan_everything(s: Scenario) -> None:
    """Run every scan Job the operator creates until reports exist and no Job is left."""
    def settled() -> bool:
        s.kubelet.run_all()
        return bool(objects(s.kc, "vulnerabilityreports")) and not objects(s.kc, "jobs", "vigil-system")

    s.wait_for(settled, "reports, and no scan Job left")


@dataclass(frozen=True)
class Pushed:
    ref: str  # as a pod spec names it (a tag)
    image_id: str  # as containerd reports it (repo@digest)


def deploy(s: Scenario, image: Pushed, name: str, namespace: str = "shop", pull_secret: str = "regcred") -> None:
    """A new workload (a ReplicaSet and its pod) on `image` appears; its scan Jobs run until its metrics show."""
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": image.ref}]}
    if pull_secret:
        spec["imagePullSecrets"] = [{"name": pull_secret}]
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
             "spec": {"template": {"spec": spec}}}
    s.kc.add(owner)
    httpx.post(f"{s.kc.url}/api/v1/namespaces/{namespace}/pods", json=pod_for(
        owner, "ReplicaSet", f"{name}-0", {image.ref: (image.image_id, "")})).raise_for_status()

    def shown() -> bool:
        s.kubelet.run_all()
        return f'resource_name="{name}"' in s.scrape()

    s.wait_for(shown, f"the {name} workload's metrics")
