"""A Kubernetes API for tests: kmock's KubernetesEmulator served over real HTTP on 127.0.0.1, in a thread with its
own event loop (so synchronous tests and the `vigil` CLI in a subprocess talk to it like to an API server).

What a real API server does and kmock's emulator does not is added by one LIST handler: pages (`limit` /
`continue`, a continue token the client must send back), 403 for chosen (resource, namespace) pairs (a namespace
"" is the cluster-wide LIST), 401 when a bearer token is required and missing or wrong, and a number of 429/503
answers before the real one (to exercise retries). Requests are recorded by kmock for assertions.

`build_cluster()` fills it from real manifests (../shared/data/corpus/kubernetes) the way controllers would:
Deployments get a current and an old ReplicaSet, every workload gets pods with containerStatuses whose imageIDs
name images pushed to a real docker-registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import kmock
from kmock._internal import parsing

PLURALS = {
    "Namespace": ("", "v1", "namespaces", False), "Pod": ("", "v1", "pods", True),
    "Service": ("", "v1", "services", True), "ConfigMap": ("", "v1", "configmaps", True),
    "ServiceAccount": ("", "v1", "serviceaccounts", True), "Secret": ("", "v1", "secrets", True),
    "Node": ("", "v1", "nodes", False), "ReplicationController": ("", "v1", "replicationcontrollers", True),
    "Deployment": ("apps", "v1", "deployments", True), "ReplicaSet": ("apps", "v1", "replicasets", True),
    "StatefulSet": ("apps", "v1", "statefulsets", True), "DaemonSet": ("apps", "v1", "daemonsets", True),
    "Job": ("batch", "v1", "jobs", True), "CronJob": ("batch", "v1", "cronjobs", True),
    "Ingress": ("networking.k8s.io", "v1", "ingresses", True),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    # not read by Vigil; served (empty) because other clients, Trivy among them, list them
    "ResourceQuota": ("", "v1", "resourcequotas", True), "LimitRange": ("", "v1", "limitranges", True),
    "PersistentVolume": ("", "v1", "persistentvolumes", False),
    "PersistentVolumeClaim": ("", "v1", "persistentvolumeclaims", True),
    "CustomResourceDefinition": ("apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
}


def _parse_path(path: str, _orig: Any = parsing.parse_path) -> Any:
    """kmock 0.8 reads `/api/v1/namespaces` (the Namespace list) as a namespaced path without a resource; a real
    API server serves Namespaces there. Everything else is kmock's own parsing."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and len(parts) <= 4:
        return parsing.ParsedPath("", "v1", "namespaces", None, parts[3] if len(parts) == 4 else None, None)
    return _orig(path)


parsing.parse_path = _parse_path


@dataclass
class KCluster:
    url: str = ""
    denied: set[tuple[str, str]] = field(default_factory=set)  # (plural, namespace or "" for cluster-wide)
    token: str = ""  # when set, LIST without "Authorization: Bearer <token>" answers 401
    flaky: int = 0  # answer this many LISTs with 429/503 first
    lists: int = 0  # LIST requests served
    pages: int = 0  # LIST responses that carried a continue token
    auth_headers: list[str] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _stack: contextlib.AsyncExitStack | None = None
    km: Any = None

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> KCluster:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kmock", daemon=True)
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._enter(), self._loop).result(30)
        return self

    async def _enter(self) -> str:
        self._stack = contextlib.AsyncExitStack()
        self.km = await self._stack.enter_async_context(kmock.KubernetesEmulator())
        srv = await self._stack.enter_async_context(kmock.Server(self.km))
        for kind, (group, version, plural, namespaced) in PLURALS.items():
            # discovery as an API server serves it (kmock answers /api/v1, /apis/apps/v1, …) and the LISTs
            self.km.resources[kmock.resource(group, version, plural)] = kmock.ResourceInfo(
                kind=kind, namespaced=namespaced, singular=kind.lower(), verbs={"get", "list", "watch"})
            self.km[kmock.action.LIST, kmock.resource(group, version, plural)] << self._list
        self.km["get /api/v1"] << self._core_discovery  # kmock 0.8 names the core group "/v1"
        for act in (kmock.action.FETCH, kmock.action.CREATE, kmock.action.UPDATE):
            self.km[act] ** 1 << self._by_key  # checked before the LIST reactions: matching those is costly
        return str(srv.url).rstrip("/")

    def _by_key(self, req: Any) -> dict[str, Any]:
        """The answer to a GET, create or patch of one object, found by its key. kmock (which has already applied
        the create or patch) answers these by comparing the request with every stored object, which with a few
        hundred reports costs a quarter of a second per request — a real API server's cost is milliseconds, and
        benchmarks of the operator would measure kmock. Anything unusual (unknown object, soft-deleted, no name)
        is left to kmock's own handlers."""
        if req.resource is None:
            raise NotImplementedError
        name, ns = req.name, req.namespace
        if req.action == kmock.action.CREATE:
            meta = (req.data or {}).get("metadata") or {} if isinstance(req.data, dict) else {}
            name, ns = name or meta.get("name"), ns or meta.get("namespace")
        if not name:
            raise NotImplementedError
        try:
            obj = self.km.objects[req.resource, ns, name]
        except KeyError:
            raise NotImplementedError from None
        if obj.deleted:
            raise NotImplementedError
        return obj.last.raw if req.action == kmock.action.UPDATE else obj.raw

    def _core_discovery(self, req: Any) -> dict[str, Any]:
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
            {"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
             "verbs": ["get", "list", "watch"]}
            for kind, (group, _, plural, namespaced) in PLURALS.items() if not group]}

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._stack is not None:
            asyncio.run_coroutine_threadsafe(self._stack.aclose(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()
        self._loop = None

    # -- objects --------------------------------------------------------------------------------------------------
    def add(self, obj: dict[str, Any]) -> None:
        group, version, plural, namespaced = PLURALS[obj["kind"]]
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "default") if namespaced else None
        if namespaced:
            meta["namespace"] = ns
        obj.setdefault("apiVersion", f"{group}/{version}" if group else version)
        self.km.objects[kmock.resource(group, version, plural), ns, meta["name"]] = obj

    def add_all(self, objs: Iterable[dict[str, Any]]) -> None:
        for o in objs:
            self.add(o)

    # -- the LIST handler -----------------------------------------------------------------------------------------
    def _list(self, req: Any) -> dict[str, Any]:
        self.lists += 1
        plural = req.resource.plural if req.resource is not None else ""
        ns = req.namespace or ""
        auth = str(req.headers.get("Authorization", ""))
        self.auth_headers.append(auth)
        if self.flaky > 0:
            self.flaky -= 1
            raise kmock.KubernetesError(status=429 if self.flaky % 2 else 503, reason="TooManyRequests",
                                        message="slow down")
        if self.token and auth != f"Bearer {self.token}":
            raise kmock.KubernetesError(status=401, reason="Unauthorized", message="Unauthorized")
        if (plural, ns) in self.denied:
            where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
            raise kmock.KubernetesError(status=403, reason="Forbidden", message=(
                f'{plural} is forbidden: User "test" cannot list resource "{plural}"{where}'))
        items = sorted(
            (o.raw for (res, ons, _), o in self.km.objects.items()
             if res == req.resource and not o.deleted and (not ns or ons == ns)),
            key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        start = int(req.params.get("continue") or 0)
        limit = int(req.params.get("limit") or 0) or len(items) or 1
        page = items[start:start + limit]
        meta: dict[str, Any] = {"resourceVersion": "1"}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
            self.pages += 1
        return {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": page}


# -- building a cluster from manifests ------------------------------------------------------------------------------

def pod_for(owner: dict[str, Any], owner_kind: str, name: str, images: dict[str, tuple[str, str]],
            extra_containers: Iterable[dict[str, Any]] = (), state: str = "running") -> dict[str, Any]:
    """A pod of `owner` as its controller would create it: the template's spec, an ownerReference, and statuses.
    `images` maps a spec image to (imageID, reason-if-not-running)."""
    spec = dict(_template(owner))
    spec["containers"] = [*spec.get("containers", []), *extra_containers]
    statuses = []
    for c in spec["containers"]:
        image_id, _ = images.get(c["image"], ("", ""))
        st: dict[str, Any] = {"running": {"startedAt": "2026-01-01T00:00:00Z"}} if state == "running" else \
            {"waiting": {"reason": state}}
        statuses.append({"name": c["name"], "image": c["image"], "imageID": image_id if state == "running" else "",
                         "ready": state == "running", "restartCount": 0 if state == "running" else 7, "state": st})
    init_statuses = [{"name": c["name"], "image": c["image"], "imageID": images.get(c["image"], ("", ""))[0],
                      "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}
                     for c in spec.get("initContainers", [])]
    meta = owner["metadata"]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": meta.get("namespace", "default"),
                         "labels": dict((owner.get("spec", {}).get("template", {}).get("metadata", {}) or {})
                                        .get("labels", {}) or {}),
                         "ownerReferences": [{"apiVersion": owner.get("apiVersion", "v1"), "kind": owner_kind,
                                              "name": meta["name"], "uid": meta.get("uid", meta["name"]),
                                              "controller": True}]},
            "spec": spec,
            "status": {"phase": "Running" if state == "running" else "Pending", "containerStatuses": statuses,
                       "initContainerStatuses": init_statuses}}


def _template(o: dict[str, Any]) -> dict[str, Any]:
    spec = o.get("spec", {})
    if o["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec.get("template", {}).get("spec", {}))


def replicaset_for(dep: dict[str, Any], revision: int, suffix: str) -> dict[str, Any]:
    meta = dep["metadata"]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{meta['name']}-{suffix}", "namespace": meta.get("namespace", "default"),
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                                              "uid": meta.get("uid", meta["name"]), "controller": True}]},
            "spec": {"replicas": 1, "template": dep["spec"]["template"]}}
