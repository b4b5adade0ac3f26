"""KSV host-namespace, host-path, volume, port and sysctl checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from vigil.analyzers.misconf.checks._ksv_common import (
    Pod,
    as_dict,
    as_list,
    cfail,
    cmsg,
    containers,
    fail,
    get,
    ksv,
    pod_check,
    pod_of,
    pod_sc,
)
from vigil.analyzers.misconf.checks.base import Failure
from vigil.analyzers.misconf.kubernetes import K8sResource

PSS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})
# Restricted profile: the only volume types allowed.
CORE_VOLUME_TYPES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
VOLUME_META_KEYS = frozenset({"name"})
# Host paths whose mount gives control of the node (KSV-0121).
DISALLOWED_HOST_PATHS = (
    "/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var/lib/docker",
    "/var/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/crio/crio.sock",
)


def _flag(field: str) -> tuple[Callable[[Pod, K8sResource], bool], str]:
    def pred(pod: Pod, res: K8sResource) -> bool:
        return pod.spec.get(field) is True

    return pred, f"should not set 'spec.template.spec.{field}' to true"


def _volumes(pod: Pod) -> Iterator[tuple[int, dict[str, object]]]:
    for i, v in enumerate(as_list(pod.spec.get("volumes"))):
        if isinstance(v, dict):
            yield i, v


def _docker_sock(res: K8sResource) -> Iterator[Failure]:
    pod = pod_of(res)
    if pod is None:
        return
    for i, v in _volumes(pod):
        p = str(get(v, "hostPath", "path") or "").rstrip("/")
        if p in ("/var/run/docker.sock", "/run/docker.sock"):
            yield fail(res, f"{res.kind} '{res.name}' should not specify '/var/run/docker.socker' in "
                            "'spec.template.volumes.hostPath.path'", (*pod.path, "volumes", i, "hostPath"))


def _host_path(res: K8sResource) -> Iterator[Failure]:
    pod = pod_of(res)
    if pod is None:
        return
    for i, v in _volumes(pod):
        if "hostPath" in v:
            yield fail(res, f"{res.kind} '{res.name}' should not set 'spec.template.volumes.hostPath'",
                       (*pod.path, "volumes", i, "hostPath"))


def _disallowed_host_path(res: K8sResource) -> Iterator[Failure]:
    pod = pod_of(res)
    if pod is None:
        return
    for i, v in _volumes(pod):
        p = get(v, "hostPath", "path")
        if not isinstance(p, str):
            continue
        # The named directories themselves, not everything below them: a read-only /etc/ssl/certs or /dev/log mount
        # is routine (as in Trivy, which compares the whole path).
        norm = "/" + p.strip("/")
        if norm in DISALLOWED_HOST_PATHS:
            yield fail(res, f"{res.kind} '{res.name}' should not set 'spec.template.volumes.hostPath' to "
                            f"'{p}'", (*pod.path, "volumes", i, "hostPath"))


def _host_ports(res: K8sResource) -> Iterator[Failure]:
    for c in containers(res):
        for i, p in enumerate(as_list(c.c.get("ports"))):
            if isinstance(p, dict) and p.get("hostPort") not in (None, 0):
                yield cfail(res, c, cmsg(c, res, "should not set host ports, 'ports[*].hostPort'"), ("ports", i))


def _privileged_ports(res: K8sResource) -> Iterator[Failure]:
    for c in containers(res):
        for i, p in enumerate(as_list(c.c.get("ports"))):
            if not isinstance(p, dict):
                continue
            for key in ("containerPort", "hostPort"):
                v = p.get(key)
                if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 1024:
                    yield cfail(res, c, cmsg(c, res, f"should not set '{key}' to a privileged port ({v} < 1024)"),
                                ("ports", i))
                    break


def _sysctls(res: K8sResource) -> Iterator[Failure]:
    pod = pod_of(res)
    if pod is None:
        return
    for i, s in enumerate(as_list(pod_sc(pod).get("sysctls"))):
        name = str(as_dict(s).get("name") or "")
        if name not in SAFE_SYSCTLS:
            yield fail(res, f"{res.kind} '{res.name}' should set 'securityContext.sysctl' to the allowed values "
                            f"('{name}' is not safe)", (*pod.path, "securityContext", "sysctls", i))


def _non_core_volumes(res: K8sResource) -> Iterator[Failure]:
    pod = pod_of(res)
    if pod is None:
        return
    for i, v in _volumes(pod):
        # hostPath is reported by KSV-0023 (baseline), not a second time here.
        kinds = [k for k in v if k not in VOLUME_META_KEYS and k != "hostPath"]
        bad = [k for k in kinds if k not in CORE_VOLUME_TYPES]
        if bad:
            yield fail(res, f"{res.kind} '{res.name}' should set 'spec.volumes[*]' to an allowed volume type "
                            f"('{bad[0]}' is not)", (*pod.path, "volumes", i))


def _hostaliases(pod: Pod, res: K8sResource) -> bool:
    return bool(pod.spec.get("hostAliases"))


_ipc, _ipc_msg = _flag("hostIPC")
_net, _net_msg = _flag("hostNetwork")
_pid, _pid_msg = _flag("hostPID")


CHECKS = (
    ksv("6", "hostPath volume mounted with docker.sock", "HIGH",
        "Mounting the Docker socket gives the container full control of the Docker daemon, hence of the node.",
        "Do not mount '/var/run/docker.sock' from the host.",
        _docker_sock, ("https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",)),
    ksv("7", "Manages /etc/hosts", "LOW",
        "Managing /etc/hosts through 'hostAliases' can override DNS resolution and hide traffic redirection.",
        "Do not set 'spec.template.spec.hostAliases'.",
        pod_check(_hostaliases, "should not set spec.template.spec.hostAliases", ("hostAliases",)),
        ("https://kubernetes.io/docs/tasks/network/customize-hosts-file-for-pods/",)),
    ksv("8", "Access to host IPC namespace", "HIGH",
        "Sharing the host's IPC namespace lets the container read and write shared memory of host processes.",
        "Do not set 'spec.template.spec.hostIPC' to true.",
        pod_check(_ipc, _ipc_msg, ("hostIPC",)), (PSS + "#baseline",)),
    ksv("9", "Access to host network", "HIGH",
        "Sharing the host's network namespace lets the container sniff traffic and reach node-local services.",
        "Do not set 'spec.template.spec.hostNetwork' to true.",
        pod_check(_net, _net_msg, ("hostNetwork",)), (PSS + "#baseline",)),
    ksv("10", "Access to host PID", "HIGH",
        "Sharing the host's PID namespace lets the container see and signal every process on the node.",
        "Do not set 'spec.template.spec.hostPID' to true.",
        pod_check(_pid, _pid_msg, ("hostPID",)), (PSS + "#baseline",)),
    ksv("23", "hostPath volumes mounted", "MEDIUM",
        "hostPath volumes expose the node's file system to the container.",
        "Do not set 'spec.volumes[*].hostPath'.",
        _host_path, (PSS + "#baseline",)),
    ksv("24", "Access to host ports", "HIGH",
        "Binding host ports ties the pod to a node and exposes it outside the cluster's network policy.",
        "Do not set 'ports[*].hostPort' (or set it to 0).",
        _host_ports, (PSS + "#baseline",)),
    ksv("26", "Unsafe sysctl options set", "MEDIUM",
        "Only the namespaced 'safe' sysctls may be set; others affect the whole node.",
        "Do not set 'securityContext.sysctls' outside the safe set.",
        _sysctls, (PSS + "#baseline",)),
    ksv("28", "Non-ephemeral volume types used", "LOW",
        "The restricted profile allows only configMap, csi, downwardAPI, emptyDir, ephemeral, "
        "persistentVolumeClaim, projected and secret volumes.",
        "Use only the allowed volume types.",
        _non_core_volumes, (PSS + "#restricted",)),
    ksv("117", "Prevent binding to privileged ports", "MEDIUM",
        "Ports below 1024 are privileged; binding them needs NET_BIND_SERVICE or root.",
        "Use container and host ports >= 1024.",
        _privileged_ports, (PSS + "#baseline",)),
    ksv("121", "Kubernetes resource with disallowed volumes mounted", "HIGH",
        "Mounting sensitive host paths (/, /etc, /proc, /sys, /var/lib/docker, runtime sockets …) gives the "
        "container control of the node.",
        "Do not mount sensitive host paths.",
        _disallowed_host_path, ("https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",)),
)
