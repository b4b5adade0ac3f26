"""Walk a cluster into an `Inventory`: namespaces, workloads with what runs in them, audited objects, nodes,
control-plane components, and the gaps.

Listing: each kind is listed cluster-wide in pages when allowed (a few requests for thousands of pods); when the
cluster-wide LIST is forbidden, or namespaces are filtered, it is listed per namespace, and a namespace that
refuses is a `Gap` (the rest is still scanned). Kinds are listed concurrently (at most `concurrency` requests).

Ownership: a Pod belongs to its top controller (Pod → ReplicaSet → Deployment, Pod → Job → CronJob); a
Deployment's images come from the pods of its *current* ReplicaSet (the one whose revision annotation matches
the Deployment's); a workload without running pods (scaled to zero, a CronJob between runs) falls back to the
images of its pod template, with no digest.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import yaml

from vigil.log import get_logger
from vigil.sources.k8s import AccessDenied, ClusterError
from vigil.sources.k8s.client import ClusterClient, Kind
from vigil.sources.k8s.images import normalise_pull_secret, resolve
from vigil.sources.k8s.model import (
    Component,
    ContainerImage,
    ContainerType,
    Gap,
    Inventory,
    NodeInfo,
    PullSecret,
    Resource,
    Workload,
)

log = get_logger(__name__)

NAMESPACES = Kind("", "v1", "Namespace", "namespaces", namespaced=False)
PODS = Kind("", "v1", "Pod", "pods")
REPLICASETS = Kind("apps", "v1", "ReplicaSet", "replicasets")
DEPLOYMENTS = Kind("apps", "v1", "Deployment", "deployments")
STATEFULSETS = Kind("apps", "v1", "StatefulSet", "statefulsets")
DAEMONSETS = Kind("apps", "v1", "DaemonSet", "daemonsets")
JOBS = Kind("batch", "v1", "Job", "jobs")
CRONJOBS = Kind("batch", "v1", "CronJob", "cronjobs")
REPLICATIONCONTROLLERS = Kind("", "v1", "ReplicationController", "replicationcontrollers")
SERVICES = Kind("", "v1", "Service", "services")
INGRESSES = Kind("networking.k8s.io", "v1", "Ingress", "ingresses")
NETWORKPOLICIES = Kind("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies")
CONFIGMAPS = Kind("", "v1", "ConfigMap", "configmaps")
SERVICEACCOUNTS = Kind("", "v1", "ServiceAccount", "serviceaccounts")
ROLES = Kind("rbac.authorization.k8s.io", "v1", "Role", "roles")
ROLEBINDINGS = Kind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings")
CLUSTERROLES = Kind("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False)
CLUSTERROLEBINDINGS = Kind("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
                           namespaced=False)
NODES = Kind("", "v1", "Node", "nodes", namespaced=False)
SECRETS = Kind("", "v1", "Secret", "secrets")

WORKLOAD_KINDS = (PODS, REPLICASETS, DEPLOYMENTS, STATEFULSETS, DAEMONSETS, JOBS, CRONJOBS, REPLICATIONCONTROLLERS)
OTHER_KINDS = (SERVICES, INGRESSES, NETWORKPOLICIES, CONFIGMAPS, SERVICEACCOUNTS, ROLES, ROLEBINDINGS)
CLUSTER_KINDS = (CLUSTERROLES, CLUSTERROLEBINDINGS, NODES)
ALL_KINDS = (*WORKLOAD_KINDS, *OTHER_KINDS, *CLUSTER_KINDS)
KIND_NAMES = {k.kind.lower(): k for k in ALL_KINDS}

_REVISION = "deployment.kubernetes.io/revision"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# kube-system pods that are cluster components (kubeadm's static pods label them `component`, addons `k8s-app`)
_COMPONENT_LABELS = ("component", "k8s-app", "app.kubernetes.io/name")


@dataclass(frozen=True)
class InventoryOptions:
    include_namespaces: tuple[str, ...] = ()  # globs; () = all
    exclude_namespaces: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset(KIND_NAMES)  # lower-case kind names to read
    skip_init_containers: bool = False
    scan_pull_secrets: bool = False  # read the pull secrets the workloads name (else Secrets are never read)
    concurrency: int = 8


def strip_manifest(obj: dict[str, Any]) -> dict[str, Any]:
    """The live object as a user wrote it: no status, managedFields or last-applied-configuration."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = dict(out.get("metadata") or {})
    meta.pop("managedFields", None)
    ann = meta.get("annotations")
    if isinstance(ann, dict) and _LAST_APPLIED in ann:
        ann = {k: v for k, v in ann.items() if k != _LAST_APPLIED}
        if ann:
            meta["annotations"] = ann
        else:
            meta.pop("annotations")
    out["metadata"] = meta
    return out


def _manifest(obj: dict[str, Any], kind: Kind) -> bytes:
    o = strip_manifest(obj)
    o.setdefault("apiVersion", kind.api_version)  # LIST items may come without apiVersion/kind
    o.setdefault("kind", kind.kind)
    # YAML, one field a line: findings point at the line of the offending field and quote it, as for a file
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(o, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True).encode()


def _name_only(obj: dict[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata") or {}
    return {"metadata": {"name": m.get("name", ""), "namespace": m.get("namespace", "")}}


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def _owner(obj: dict[str, Any]) -> tuple[str, str] | None:
    for ref in _meta(obj).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("kind", "")), str(ref.get("name", ""))
    return None


def _pod_spec(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec if isinstance(spec, dict) else {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    tpl = (spec.get("template") or {}).get("spec") if isinstance(spec, dict) else None
    return tpl if isinstance(tpl, dict) else {}


def _selected(ns: str, opts: InventoryOptions) -> bool:
    if opts.include_namespaces and not any(fnmatch.fnmatchcase(ns, g) for g in opts.include_namespaces):
        return False
    return not any(fnmatch.fnmatchcase(ns, g) for g in opts.exclude_namespaces)


def _version_of(image: str) -> str:
    ref = image.split("@", 1)[0]
    slash, colon = ref.rfind("/"), ref.rfind(":")
    return ref[colon + 1:] if colon > slash else ""


@dataclass
class _Lister:
    client: ClusterClient
    opts: InventoryOptions
    namespaces: list[str]
    cluster_wide: bool
    gaps: list[Gap] = field(default_factory=list)
    sem: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))

    async def _guard(self, call: Callable[[], Awaitable[list[dict[str, Any]]]], kind: Kind,
                     namespace: str) -> list[dict[str, Any]] | None:
        async with self.sem:
            try:
                return await call()
            except AccessDenied as e:
                if e.status == 401:
                    raise  # the credentials are refused everywhere: nothing else will work
                if namespace or not kind.namespaced:  # a cluster-wide refusal falls back to per-namespace lists
                    self.gaps.append(Gap(verb="list", resource=kind.plural, namespace=namespace, reason=str(e)))
                    log.warning("%s", e)
                return None

    async def objects(self, kind: Kind) -> list[dict[str, Any]]:
        """Every object of `kind` in the selected namespaces (cluster-wide kinds: all)."""
        each = _name_only if kind is CONFIGMAPS else None  # a ConfigMap's data is never kept
        if not kind.namespaced:
            got = await self._guard(functools.partial(self.client.list_all, kind, "", each), kind, "")
            return got or []
        if self.cluster_wide:
            got = await self._guard(functools.partial(self.client.list_all, kind, "", each), kind, "")
            if got is not None:
                sel = set(self.namespaces)
                return [o for o in got if _meta(o).get("namespace", "") in sel]
        parts = await asyncio.gather(*(self._guard(functools.partial(self.client.list_all, kind, ns, each), kind, ns)
                                       for ns in self.namespaces))
        return [o for p in parts if p for o in p]


async def _namespaces(client: ClusterClient, opts: InventoryOptions, gaps: list[Gap]) -> tuple[list[str], bool]:
    """The namespaces to scan, and whether the namespace list itself could be read."""
    try:
        names = [str(_meta(o).get("name", "")) for o in await client.list_all(NAMESPACES)]
    except AccessDenied as e:
        if e.status == 401:
            raise
        literal = [g for g in opts.include_namespaces if not any(c in g for c in "*?[")]
        if not literal:
            raise ClusterError(f"{e}; give --include-namespaces with the namespaces you may read") from e
        gaps.append(Gap(verb="list", resource="namespaces", reason=str(e)))
        return sorted(n for n in literal if _selected(n, opts)), False
    return sorted(n for n in names if n and _selected(n, opts)), True


def _container_images(template: dict[str, Any], pods: list[dict[str, Any]], opts: InventoryOptions,
                      platforms: dict[str, str]) -> tuple[ContainerImage, ...]:
    """One entry per (container, running digest) over the workload's pods; the template when none runs."""
    declared = {str(c.get("name")) for key in ("containers", "initContainers") for c in template.get(key) or ()
                if isinstance(c, dict)}
    groups: list[tuple[str, ContainerType, str]] = [("containers", "container", "containerStatuses"),
                                                    ("initContainers", "init", "initContainerStatuses"),
                                                    ("ephemeralContainers", "ephemeral", "ephemeralContainerStatuses")]
    if opts.skip_init_containers:
        groups = [g for g in groups if g[1] != "init"]
    seen: dict[tuple[str, str, str, str], ContainerImage] = {}
    sources = pods if pods else [{"spec": template, "status": {}}]
    for pod in sources:
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        for key, ctype, status_key in groups:
            statuses = {str(s.get("name")): s for s in status.get(status_key) or () if isinstance(s, dict)}
            for c in spec.get(key) or ():
                if not isinstance(c, dict) or not c.get("image"):
                    continue
                name, image = str(c.get("name", "")), str(c["image"])
                st = statuses.get(name, {})
                digest, pull_ref = resolve(image, str(st.get("imageID") or ""))
                state = st.get("state") or {}
                if "running" in state:
                    how = "running"
                else:
                    inner = state.get("waiting") or state.get("terminated") or {}
                    how = str(inner.get("reason") or ("pending" if pods else "not running"))
                platform = platforms.get(str(spec.get("nodeName") or ""), "")
                k = (name, ctype, digest or pull_ref, platform)
                if k in seen:
                    seen[k] = msgspec.structs.replace(seen[k], pods=seen[k].pods + 1)
                    continue
                seen[k] = ContainerImage(container=name, container_type=ctype, spec_image=image,
                                         image_id=str(st.get("imageID") or ""), digest=digest, pull_ref=pull_ref,
                                         in_spec=(ctype == "ephemeral") or not pods or name in declared,
                                         state=how, pods=1, platform=platform)
    return tuple(seen.values())


async def collect_inventory(client: ClusterClient, opts: InventoryOptions,
                            progress: Callable[[str], None] | None = None) -> Inventory:
    """Read the cluster. Raises ClusterError when nothing can be read (unreachable, refused credentials); a kind or
    namespace that refuses becomes a Gap."""
    gaps: list[Gap] = []
    version = await client.version()
    namespaces, _ = await _namespaces(client, opts, gaps)
    lister = _Lister(client, opts, namespaces, cluster_wide=not opts.include_namespaces, gaps=gaps,
                     sem=asyncio.Semaphore(max(1, opts.concurrency)))
    wanted = [k for k in ALL_KINDS if k.kind.lower() in opts.kinds]
    if opts.kinds & {"deployment", "replicaset", "cronjob", "job"} or "pod" in opts.kinds:
        # ownership needs the pods and the intermediate controllers even when they are not reported themselves
        wanted = list(dict.fromkeys([*wanted, PODS, REPLICASETS, JOBS]))
    lists = await asyncio.gather(*(lister.objects(k) for k in wanted))
    by_kind: dict[str, list[dict[str, Any]]] = {k.kind: objs for k, objs in zip(wanted, lists, strict=True)}
    if progress:
        progress(f"listed {sum(len(v) for v in lists)} objects of {len(wanted)} kinds in {len(namespaces)} namespaces")

    workloads = _workloads(by_kind, opts)
    resources = []
    for k in (*OTHER_KINDS, CLUSTERROLES, CLUSTERROLEBINDINGS):
        if k.kind.lower() not in opts.kinds:
            continue
        for o in by_kind.get(k.kind, ()):
            m = _meta(o)
            resources.append(Resource(kind=k.kind, namespace=str(m.get("namespace", "")), name=str(m.get("name", "")),
                                      api_version=k.api_version,
                                      manifest=b"" if k is CONFIGMAPS else _manifest(o, k)))
    nodes = [_node(o) for o in by_kind.get("Node", ())]
    components = _components(by_kind.get("Pod", []))
    secrets: list[PullSecret] = []
    if opts.scan_pull_secrets:
        secrets, workloads = await _pull_secrets(client, workloads, by_kind.get("ServiceAccount", []), gaps)
    return Inventory(cluster_name=client.config.cluster_name, server=client.config.server,
                     server_version=str(version.get("gitVersion", "")), namespaces=tuple(namespaces),
                     workloads=tuple(w for w in workloads if w.kind.lower() in opts.kinds),
                     resources=tuple(resources), nodes=tuple(nodes), components=tuple(components),
                     gaps=tuple(gaps), pull_secrets=tuple(secrets))


def _workloads(by_kind: dict[str, list[dict[str, Any]]], opts: InventoryOptions) -> list[Workload]:
    platforms = {n.name: f"{n.operating_system}/{n.architecture}" for n in map(_node, by_kind.get("Node", []))
                 if n.operating_system and n.architecture}
    kinds = {k.kind: k for k in WORKLOAD_KINDS}
    objs: dict[tuple[str, str, str], dict[str, Any]] = {}
    for kname in kinds:
        for o in by_kind.get(kname, ()):
            m = _meta(o)
            objs[(kname, str(m.get("namespace", "")), str(m.get("name", "")))] = o

    def chain(kind: str, ns: str, name: str) -> list[tuple[str, str, str]]:
        """The object and its controllers, bottom up: Pod → ReplicaSet → Deployment, Pod → Job → CronJob."""
        out = [(kind, ns, name)]
        for _ in range(4):
            o = objs.get(out[-1])
            own = _owner(o) if o is not None else None
            if own is None or own[0] not in kinds or (own[0], ns, own[1]) not in objs:
                break
            out.append((own[0], ns, own[1]))
        return out

    def top(kind: str, ns: str, name: str) -> tuple[str, str, str] | None:
        """What the object is reported as: its highest controller among the kinds asked for (--include-kinds Pod
        reports pods one by one; the default reports a Deployment's pods under the Deployment)."""
        for key in reversed(chain(kind, ns, name)):
            if key[0].lower() in opts.kinds:
                return key
        return None

    current_rs = _current_replicasets(by_kind.get("ReplicaSet", ()), objs)
    pods_of: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for p in by_kind.get("Pod", []):
        m = _meta(p)
        ns, name = str(m.get("namespace", "")), str(m.get("name", ""))
        if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed") and len(chain("Pod", ns, name)) > 1:
            continue  # a finished pod of a controller no longer runs
        owner = top("Pod", ns, name)
        if owner is None:
            continue
        if owner[0] == "Deployment":
            own = _owner(p)
            if own and own[0] == "ReplicaSet" and current_rs.get((ns, owner[2])) not in (None, own[1]):
                continue  # an old revision still terminating
        pods_of.setdefault(owner, []).append(p)

    out = []
    for key, o in objs.items():
        kind, ns, name = key
        if top(kind, ns, name) != key:
            continue  # reported through its owner, or a kind not asked for
        m = _meta(o)
        pods = pods_of.get(key, [])
        template = _pod_spec(o, kind)
        containers = _container_images(template, pods, opts, platforms)
        spec = template if not pods else (pods[0].get("spec") or {})
        pull = tuple(str(s.get("name")) for s in spec.get("imagePullSecrets") or () if isinstance(s, dict))
        out.append(Workload(kind=kind, namespace=ns, name=name, uid=str(m.get("uid", "")),
                            current_replicaset=current_rs.get((ns, name), ""),
                            service_account=str(spec.get("serviceAccountName") or spec.get("serviceAccount") or ""),
                            pull_secrets=pull, containers=containers, manifest=_manifest(o, kinds[kind])))
    out.sort(key=lambda w: (w.namespace, w.kind, w.name))
    return out


def _revision(o: dict[str, Any]) -> int:
    try:
        return int((_meta(o).get("annotations") or {}).get(_REVISION, 0))
    except (TypeError, ValueError):
        return 0


def _current_replicasets(replicasets: Iterable[dict[str, Any]],
                         objs: dict[tuple[str, str, str], dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(namespace, deployment) -> its current ReplicaSet: the revision the Deployment carries, else the newest."""
    best: dict[tuple[str, str], tuple[int, str]] = {}
    for o in replicasets:
        own = _owner(o)
        ns = str(_meta(o).get("namespace", ""))
        if not own or own[0] != "Deployment" or ("Deployment", ns, own[1]) not in objs:
            continue
        dep_rev = _revision(objs[("Deployment", ns, own[1])])
        rank = (1 << 62) if dep_rev and _revision(o) == dep_rev else _revision(o)
        k = (ns, own[1])
        if k not in best or rank > best[k][0]:
            best[k] = (rank, str(_meta(o).get("name", "")))
    return {k: v[1] for k, v in best.items()}


def _node(o: dict[str, Any]) -> NodeInfo:
    info = (o.get("status") or {}).get("nodeInfo") or {}
    return NodeInfo(name=str(_meta(o).get("name", "")), kubelet_version=str(info.get("kubeletVersion", "")),
                    kube_proxy_version=str(info.get("kubeProxyVersion", "")),
                    container_runtime=str(info.get("containerRuntimeVersion", "")),
                    kernel_version=str(info.get("kernelVersion", "")), os_image=str(info.get("osImage", "")),
                    operating_system=str(info.get("operatingSystem", "")),
                    architecture=str(info.get("architecture", "")))


def _components(pods: Iterable[dict[str, Any]]) -> list[Component]:
    out = []
    for p in pods:
        m = _meta(p)
        if m.get("namespace") != "kube-system":
            continue
        labels = m.get("labels") or {}
        name = next((str(labels[k]) for k in _COMPONENT_LABELS if labels.get(k)), "")
        if not name:
            continue
        statuses = {str(s.get("name")): s for s in (p.get("status") or {}).get("containerStatuses") or ()}
        for c in (p.get("spec") or {}).get("containers") or ():
            image = str(c.get("image", ""))
            digest, _ = resolve(image, str((statuses.get(str(c.get("name"))) or {}).get("imageID") or ""))
            out.append(Component(name=name, namespace="kube-system", pod=str(m.get("name", "")), image=image,
                                 digest=digest, version=_version_of(image)))
    return sorted(out, key=lambda c: (c.name, c.pod, c.image))


async def _pull_secrets(client: ClusterClient, workloads: list[Workload], service_accounts: list[dict[str, Any]],
                        gaps: list[Gap]) -> tuple[list[PullSecret], list[Workload]]:
    """Read exactly the pull secrets the workloads name (pod spec, then the service account's), one GET each."""
    sa_secrets: dict[tuple[str, str], tuple[str, ...]] = {}
    for sa in service_accounts:
        m = _meta(sa)
        sa_secrets[(str(m.get("namespace", "")), str(m.get("name", "")))] = tuple(
            str(s.get("name")) for s in sa.get("imagePullSecrets") or () if isinstance(s, dict))
    out_w = []
    names: set[tuple[str, str]] = set()
    for w in workloads:
        extra = sa_secrets.get((w.namespace, w.service_account or "default"), ())
        ps = tuple(dict.fromkeys((*w.pull_secrets, *extra)))
        if ps != w.pull_secrets:
            w = msgspec.structs.replace(w, pull_secrets=ps)
        out_w.append(w)
        names.update((w.namespace, n) for n in ps)

    async def one(ns: str, name: str) -> PullSecret | None:
        try:
            obj = await client.get(SECRETS, name, ns)
        except AccessDenied as e:
            gaps.append(Gap(verb="get", resource="secrets", namespace=ns, reason=str(e)))
            return None
        except ClusterError as e:
            gaps.append(Gap(verb="get", resource="secrets", namespace=ns, reason=f"pull secret {name}: {e}"))
            return None
        cfg = normalise_pull_secret(obj)
        return PullSecret(namespace=ns, name=name, docker_config=cfg) if cfg else None

    got = await asyncio.gather(*(one(ns, n) for ns, n in sorted(names)))
    return [s for s in got if s is not None], out_w
