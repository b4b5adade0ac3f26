"""The typed records of a cluster inventory (frozen msgspec structs: one schema for memory, cache and wire).

An `Inventory` is what a cluster holds that a scan needs: the workloads with the images that actually run in them,
the other audited objects (Services, Ingresses, NetworkPolicies, RBAC, ServiceAccounts; ConfigMaps by name only),
the Nodes, the control-plane components, and the gaps (what could not be read, and why). Manifests kept for the
configuration checks are the live objects as JSON with `status`, `metadata.managedFields` and the
`kubectl.kubernetes.io/last-applied-configuration` annotation stripped, as YAML.
"""

from __future__ import annotations

from typing import Literal

import msgspec

ContainerType = Literal["container", "init", "ephemeral"]


class ContainerImage(msgspec.Struct, frozen=True, kw_only=True):
    """One container of a workload and the image it runs. `digest` is the manifest digest the kubelet pulled
    (from status.containerStatuses[].imageID); "" when the pod is not running yet (then `pull_ref` is the spec
    reference). `in_spec` is False for a container the workload's template does not declare (a sidecar injected
    by a mutating webhook)."""

    container: str
    container_type: ContainerType = "container"
    spec_image: str  # the reference as written in the pod spec
    image_id: str = ""  # status imageID as the runtime reports it
    digest: str = ""  # "sha256:…" manifest digest, or ""
    pull_ref: str = ""  # what a scan pulls: "repo@sha256:…" when the digest is known, else the spec reference
    in_spec: bool = True
    state: str = ""  # "running", or the waiting/terminated reason (CrashLoopBackOff, ImagePullBackOff, …)
    pods: int = 1  # pods of the workload running this (container, digest)
    # os/arch of the node the pod runs on ("" when unknown): a multi-platform image's digest names an index, and
    # the image that runs is the node's platform of it
    platform: str = ""

    @property
    def key(self) -> str:
        """What identifies the image cluster-wide: the digest (with the node's platform), else the reference that
        would be pulled."""
        base = self.digest or self.pull_ref or self.spec_image
        return f"{base} {self.platform}" if self.platform else base


class Workload(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet, ReplicationController, Pod
    namespace: str
    name: str
    uid: str = ""
    current_replicaset: str = ""  # a Deployment's current revision (its pods are what runs)
    service_account: str = ""
    pull_secrets: tuple[str, ...] = ()  # names of imagePullSecrets (pod spec, then its service account's)
    containers: tuple[ContainerImage, ...] = ()
    manifest: bytes = b""  # YAML, stripped (see module docstring)


class Resource(msgspec.Struct, frozen=True, kw_only=True):
    """A non-workload object: Service, Ingress, NetworkPolicy, ConfigMap (manifest empty: names only), Role,
    ClusterRole, RoleBinding, ClusterRoleBinding, ServiceAccount."""

    kind: str
    namespace: str = ""
    name: str
    api_version: str = ""
    manifest: bytes = b""


class NodeInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kubelet_version: str = ""
    kube_proxy_version: str = ""
    container_runtime: str = ""  # e.g. containerd://1.7.2
    kernel_version: str = ""
    os_image: str = ""
    operating_system: str = ""
    architecture: str = ""


class Component(msgspec.Struct, frozen=True, kw_only=True):
    """A control-plane or node component found as a pod in kube-system (kube-apiserver, etcd, coredns, …)."""

    name: str
    namespace: str
    pod: str
    image: str
    digest: str = ""
    version: str = ""  # from the image tag (v1.29.0)


class Gap(msgspec.Struct, frozen=True, kw_only=True):
    """Something the scan could not read; reported, never silently dropped."""

    verb: str
    resource: str
    namespace: str = ""
    reason: str


class PullSecret(msgspec.Struct, frozen=True, kw_only=True):
    """A kubernetes.io/dockerconfigjson (or legacy dockercfg) secret a workload names, as docker config.json."""

    namespace: str
    name: str
    docker_config: bytes  # {"auths": {...}}


class ImageUse(msgspec.Struct, frozen=True, kw_only=True):
    """Where one image runs: a workload and a container."""

    namespace: str
    kind: str
    name: str
    container: str


class Inventory(msgspec.Struct, frozen=True, kw_only=True):
    cluster_name: str
    server: str = ""
    server_version: str = ""  # gitVersion of /version
    namespaces: tuple[str, ...] = ()  # the namespaces scanned (after --include/--exclude-namespaces)
    workloads: tuple[Workload, ...] = ()
    resources: tuple[Resource, ...] = ()
    nodes: tuple[NodeInfo, ...] = ()
    components: tuple[Component, ...] = ()
    gaps: tuple[Gap, ...] = ()
    pull_secrets: tuple[PullSecret, ...] = ()

    def images_by_key(self) -> dict[str, list[tuple[Workload, ContainerImage]]]:
        """image key (digest, else reference) -> every (workload, container) running it: each is scanned once."""
        out: dict[str, list[tuple[Workload, ContainerImage]]] = {}
        for w in self.workloads:
            for c in w.containers:
                out.setdefault(c.key, []).append((w, c))
        return out
