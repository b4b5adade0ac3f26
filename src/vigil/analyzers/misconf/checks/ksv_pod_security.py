"""KSV pod/container security-context checks (Pod Security Standards baseline and restricted)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from vigil.analyzers.misconf.checks._ksv_common import (
    Container,
    as_dict,
    cfail,
    cmsg,
    container_check,
    containers,
    effective,
    fail,
    get,
    ksv,
    pod_of,
    pod_sc,
)
from vigil.analyzers.misconf.checks.base import Failure
from vigil.analyzers.misconf.kubernetes import K8sResource

PSS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
SC_DOC = "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"
APPARMOR_KEY = "container.apparmor.security.beta.kubernetes.io/"
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})


def _ape(c: Container, res: K8sResource) -> bool:
    return c.sc.get("allowPrivilegeEscalation") is not False


def _apparmor(res: K8sResource) -> Iterator[Failure]:
    for c in containers(res):
        ann = as_dict(c.pod.metadata.get("annotations"))
        val = ann.get(APPARMOR_KEY + c.name)
        prof = str(get(c.sc, "appArmorProfile", "type") or "")
        if (val is not None and val != "runtime/default") or prof == "Unconfined":
            yield cfail(res, c, cmsg(c, res, "should specify an AppArmor profile"))


def _runs_as_root(c: Container, res: K8sResource) -> bool:
    return effective(c, "runAsNonRoot") is not True


def _ro_root(c: Container, res: K8sResource) -> bool:
    return c.sc.get("readOnlyRootFilesystem") is not True


def _privileged(c: Container, res: K8sResource) -> bool:
    return c.sc.get("privileged") is True


def _low_id(key: str) -> Callable[[Container, K8sResource], bool]:
    def pred(c: Container, res: K8sResource) -> bool:
        v = effective(c, key)
        return not isinstance(v, int) or isinstance(v, bool) or v <= 10000

    return pred


def _selinux(res: K8sResource) -> Iterator[Failure]:
    pod = pod_of(res)
    if pod is None:
        return
    tail = (
        "uses invalid seLinux options. User may NOT be set. Role may NOT be set. Type must be one of "
        "['', 'container_t', 'container_init_t', 'container_kvm_t']"
    )

    def bad(opts: dict[str, object]) -> bool:
        return bool(opts.get("user")) or bool(opts.get("role")) or str(opts.get("type") or "") not in SELINUX_TYPES

    if bad(as_dict(pod_sc(pod).get("seLinuxOptions"))):
        yield fail(res, f"{res.kind} '{res.name}' {tail}", (*pod.path, "securityContext", "seLinuxOptions"))
    for c in containers(res):
        if bad(as_dict(c.sc.get("seLinuxOptions"))):
            yield cfail(res, c, cmsg(c, res, tail), ("securityContext", "seLinuxOptions"))


def _proc_mount(c: Container, res: K8sResource) -> bool:
    v = c.sc.get("procMount")
    return v is not None and v != "Default"


def _seccomp_type(c: Container) -> str:
    """Effective seccomp profile type: container field > pod field > container annotation > pod annotation."""
    t = get(c.sc, "seccompProfile", "type")
    if t is None:
        t = get(pod_sc(c.pod), "seccompProfile", "type")
    if t is None:
        ann = as_dict(c.pod.metadata.get("annotations"))
        a = ann.get(f"container.seccomp.security.alpha.kubernetes.io/{c.name}") or ann.get(
            "seccomp.security.alpha.kubernetes.io/pod"
        )
        if a is not None:
            a = str(a)
            t = "RuntimeDefault" if a in ("runtime/default", "docker/default") else (
                "Localhost" if a.startswith("localhost/") else "Unconfined"
            )
    return str(t or "")


def _seccomp_default(c: Container, res: K8sResource) -> bool:
    return _seccomp_type(c) not in ("RuntimeDefault", "Localhost")


def _seccomp_unconfined(res: K8sResource) -> Iterator[Failure]:
    for c in containers(res):
        if _seccomp_type(c).lower() in ("", "unconfined"):
            msg = (
                f"container \"{c.name}\" of {res.kind.lower()} \"{res.name}\" in \"{res.namespace or 'default'}\" "
                "namespace should specify a seccomp profile"
            )
            yield cfail(res, c, msg)


def _host_process(res: K8sResource) -> Iterator[Failure]:
    pod = pod_of(res)
    if pod is None:
        return
    if get(pod_sc(pod), "windowsOptions", "hostProcess") is True:
        yield fail(res, f"{res.kind} '{res.name}' should not set 'securityContext.windowsOptions.hostProcess' to true",
                   (*pod.path, "securityContext", "windowsOptions"))
    for c in containers(res):
        if get(c.sc, "windowsOptions", "hostProcess") is True:
            yield cfail(res, c, cmsg(c, res, "should not set 'securityContext.windowsOptions.hostProcess' to true"),
                        ("securityContext", "windowsOptions"))


def _uid_zero(res: K8sResource) -> Iterator[Failure]:
    msg = "securityContext.runAsUser should be set to a value greater than 0"
    pod = pod_of(res)
    if pod is not None and pod_sc(pod).get("runAsUser") == 0:
        yield fail(res, msg, (*pod.path, "securityContext", "runAsUser"))
    for c in containers(res):
        if c.sc.get("runAsUser") == 0:
            yield cfail(res, c, msg, ("securityContext", "runAsUser"))


def _root_gid(res: K8sResource) -> Iterator[Failure]:
    pod = pod_of(res)
    if pod is None:
        return
    sc = pod_sc(pod)
    groups = sc.get("supplementalGroups")
    bad = (
        sc.get("runAsGroup") == 0
        or sc.get("fsGroup") == 0
        or (isinstance(groups, list) and 0 in groups)
    )
    if bad:
        yield fail(res, f"{res.kind} '{res.name}' should set 'spec.securityContext.runAsGroup', "
                        "'spec.securityContext.supplementalGroups[*]' and 'spec.securityContext.fsGroup' "
                        "to integer greater than 0", (*pod.path, "securityContext"))
    for c in containers(res):
        if c.sc.get("runAsGroup") == 0:
            yield cfail(res, c, cmsg(c, res, "should set 'securityContext.runAsGroup' to integer greater than 0"),
                        ("securityContext", "runAsGroup"))


# Pod securityContext fields a container inherits (the fields PodSecurityContext shares with SecurityContext): a
# container without its own securityContext still runs with these, so it is not "default" (as in Trivy).
_INHERITED_SC_FIELDS = ("runAsGroup", "runAsNonRoot", "runAsUser", "seLinuxOptions", "seccompProfile",
                        "windowsOptions")
# Kinds KSV-0118 judges (Trivy's selector: workloads, not PodTemplate).
_WORKLOAD_KINDS = frozenset({"Pod", "ReplicaSet", "ReplicationController", "Deployment", "DeploymentConfig",
                             "StatefulSet", "DaemonSet", "CronJob", "Job"})


def _default_sc(res: K8sResource) -> Iterator[Failure]:
    """KSV-0118: the pod's or a container's securityContext is absent or empty, so the runtime's permissive
    defaults apply. Init containers count, ephemeral (debug) containers do not, as in Trivy. The pod failure points
    at the pod spec, a container's at the container (there is no securityContext field to point at). A container
    without its own securityContext passes when the pod sets a field it inherits."""
    if res.kind not in _WORKLOAD_KINDS:
        return
    pod = pod_of(res)
    if pod is None:
        return
    if not pod_sc(pod):
        yield fail(res, f"{res.kind.lower()} {res.name} in {res.namespace or 'default'} namespace is using the "
                        "default security context, which allows root privileges", pod.path)
    inherited = [k for k in _INHERITED_SC_FIELDS if k in pod_sc(pod)]
    for c in containers(res):
        if c.path[-2] == "ephemeralContainers":
            continue
        if not c.sc and not inherited:
            yield cfail(res, c, f"container {c.name} of {res.kind} '{res.name}' in {res.namespace or 'default'} "
                                "namespace is using the default security context")


CHECKS = (
    ksv("1", "Can elevate its own privileges", "MEDIUM",
        "A program inside the container can gain more privileges than its parent process (setuid binaries, "
        "file capabilities) unless privilege escalation is switched off.",
        "Set 'securityContext.allowPrivilegeEscalation' to false.",
        container_check(_ape, "should set 'securityContext.allowPrivilegeEscalation' to false",
                        ("securityContext", "allowPrivilegeEscalation")),
        (PSS + "#restricted",)),
    ksv("2", "Runtime/Default AppArmor profile not set", "LOW",
        "The AppArmor profile of a container should be the runtime default or left undefined; a custom or "
        "'unconfined' profile can weaken the confinement.",
        "Set 'container.apparmor.security.beta.kubernetes.io/<container>' to 'runtime/default' or remove it.",
        _apparmor, (PSS + "#baseline",)),
    ksv("12", "Runs as root user", "MEDIUM",
        "A container running as root can more easily escape to the host if another vulnerability exists.",
        "Set 'securityContext.runAsNonRoot' to true (on the container or the pod).",
        container_check(_runs_as_root, "should set 'securityContext.runAsNonRoot' to true",
                        ("securityContext", "runAsNonRoot")),
        (PSS + "#restricted",)),
    ksv("14", "Root file system is not read-only", "HIGH",
        "An immutable root file system stops an attacker from writing binaries or configuration into the "
        "container; writable paths should be explicit volumes.",
        "Set 'securityContext.readOnlyRootFilesystem' to true and mount volumes where writes are needed.",
        container_check(_ro_root, "should set 'securityContext.readOnlyRootFilesystem' to true",
                        ("securityContext", "readOnlyRootFilesystem")),
        (SC_DOC,)),
    ksv("17", "Privileged", "HIGH",
        "A privileged container has all capabilities and access to every host device: it is root on the node.",
        "Set 'securityContext.privileged' to false (or remove it).",
        container_check(_privileged, "should set 'securityContext.privileged' to false",
                        ("securityContext", "privileged")),
        (PSS + "#baseline",)),
    ksv("20", "Runs with UID <= 10000", "LOW",
        "A container whose UID is low may collide with a privileged host user; use a UID above 10000.",
        "Set 'securityContext.runAsUser' to an integer > 10000.",
        container_check(_low_id("runAsUser"), "should set 'securityContext.runAsUser' > 10000",
                        ("securityContext", "runAsUser")),
        (SC_DOC,)),
    ksv("21", "Runs with GID <= 10000", "LOW",
        "A container whose GID is low may share a group with privileged host users; use a GID above 10000.",
        "Set 'securityContext.runAsGroup' to an integer > 10000.",
        container_check(_low_id("runAsGroup"), "should set 'securityContext.runAsGroup' > 10000",
                        ("securityContext", "runAsGroup")),
        (SC_DOC,)),
    ksv("25", "SELinux custom options set", "MEDIUM",
        "Setting a custom SELinux user or role, or a type outside the container types, can bypass the "
        "SELinux confinement.",
        "Do not set 'seLinuxOptions.user'/'role'; use only the container_* types.",
        _selinux, (PSS + "#baseline",)),
    ksv("27", "Non-default /proc masks set", "MEDIUM",
        "The default /proc masks hide kernel interfaces from the container; 'Unmasked' exposes them.",
        "Do not set 'securityContext.procMount', or set it to 'Default'.",
        container_check(_proc_mount, "should not set 'securityContext.procMount'", ("securityContext", "procMount")),
        (PSS + "#baseline",)),
    ksv("30", "Runtime/Default Seccomp profile not set", "LOW",
        "Without the runtime's default seccomp profile (or a localhost one) every syscall is allowed.",
        "Set 'securityContext.seccompProfile.type' to 'RuntimeDefault' on the pod or the container.",
        container_check(_seccomp_default, "should set 'securityContext.seccompProfile.type' to 'RuntimeDefault'",
                        ("securityContext", "seccompProfile")),
        (PSS + "#restricted",)),
    ksv("103", "HostProcess container defined", "MEDIUM",
        "Windows HostProcess containers get privileged access to the Windows node.",
        "Do not set 'securityContext.windowsOptions.hostProcess' to true.",
        _host_process, (PSS + "#baseline",)),
    ksv("104", "Seccomp policies disabled", "MEDIUM",
        "A program inside the container can bypass seccomp protection when no profile (or 'Unconfined') is set.",
        "Specify a seccomp profile (RuntimeDefault or Localhost) by field or annotation.",
        _seccomp_unconfined, (PSS + "#baseline",)),
    ksv("105", "Containers must not set runAsUser to 0", "LOW",
        "Containers should be forbidden from running with a root UID.",
        "Set 'securityContext.runAsUser' to a non-zero integer or leave it undefined.",
        _uid_zero, (PSS + "#restricted",)),
    ksv("116", "Runs with a root primary or supplementary GID", "LOW",
        "The root group (GID 0) as primary, fs or supplementary group gives access to root-owned files.",
        "Set 'runAsGroup', 'fsGroup' and 'supplementalGroups' to non-zero GIDs.",
        _root_gid, (SC_DOC,)),
    ksv("118", "Default security context configured", "HIGH",
        "A pod or container without a securityContext (or with an empty one) runs with the runtime's permissive "
        "defaults.",
        "Set the security parameters you need (runAsNonRoot, capabilities, readOnlyRootFilesystem, …) instead of an "
        "empty securityContext.",
        _default_sc, (SC_DOC,)),
)
