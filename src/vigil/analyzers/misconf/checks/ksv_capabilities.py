"""KSV Linux-capability checks."""

from __future__ import annotations

from collections.abc import Callable

from vigil.analyzers.misconf.checks._ksv_common import Container, caps, container_check, ksv
from vigil.analyzers.misconf.kubernetes import K8sResource

CAPS_DOC = "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#set-capabilities-for-a-container"
PSS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
# Pod Security Standards "baseline": the capabilities a container may add.
BASELINE_CAPS = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})


def _norm(cap: str) -> str:
    return cap[4:] if cap.startswith("CAP_") else cap


def _no_drop_all(c: Container, res: K8sResource) -> bool:
    return "ALL" not in caps(c, "drop")


def _no_drop(c: Container, res: K8sResource) -> bool:
    return not caps(c, "drop")


def _adds(cap: str) -> Callable[[Container, K8sResource], bool]:
    def pred(c: Container, res: K8sResource) -> bool:
        added = {_norm(x) for x in caps(c, "add")}
        return cap in added or "ALL" in added

    return pred


def _adds_non_baseline(c: Container, res: K8sResource) -> bool:
    return any(_norm(x) not in BASELINE_CAPS for x in caps(c, "add"))


def _restricted_caps(c: Container, res: K8sResource) -> bool:
    return "ALL" not in caps(c, "drop") or any(_norm(x) != "NET_BIND_SERVICE" for x in caps(c, "add"))


ADD = ("securityContext", "capabilities", "add")
DROP = ("securityContext", "capabilities", "drop")

CHECKS = (
    ksv("3", "Default capabilities: some containers do not drop all", "LOW",
        "Containers should drop every capability and add back only those they need.",
        "Add 'ALL' to 'securityContext.capabilities.drop'.",
        container_check(_no_drop_all, "should add 'ALL' to 'securityContext.capabilities.drop'", DROP),
        (CAPS_DOC,)),
    ksv("4", "Default capabilities: some containers do not drop any", "LOW",
        "Security best practices require containers to run with the minimal capabilities: drop at least one.",
        "Specify at least one capability in 'securityContext.capabilities.drop'.",
        container_check(_no_drop, "should set 'securityContext.capabilities.drop'", DROP),
        (CAPS_DOC,)),
    ksv("5", "SYS_ADMIN capability added", "HIGH",
        "SYS_ADMIN is the most privileged capability: it is close to root on the host.",
        "Remove 'SYS_ADMIN' from 'securityContext.capabilities.add'.",
        container_check(_adds("SYS_ADMIN"), "should not include 'SYS_ADMIN' in 'securityContext.capabilities.add'",
                        ADD),
        (CAPS_DOC,)),
    ksv("22", "Non-default capabilities added", "MEDIUM",
        "Adding capabilities beyond the baseline set (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, "
        "MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT) widens the attack surface.",
        "Do not add capabilities outside the baseline set.",
        container_check(_adds_non_baseline, "should not set 'securityContext.capabilities.add'", ADD),
        (PSS + "#baseline",)),
    ksv("106", "Container capabilities must only include NET_BIND_SERVICE", "LOW",
        "The restricted profile requires dropping ALL capabilities and adding back only NET_BIND_SERVICE.",
        "Drop 'ALL' and add only 'NET_BIND_SERVICE' if needed.",
        container_check(_restricted_caps, "should drop all capabilities and add only NET_BIND_SERVICE",
                        ("securityContext", "capabilities")),
        (PSS + "#restricted",)),
    ksv("119", "NET_RAW capability added", "HIGH",
        "NET_RAW lets a container craft raw packets (ARP/DNS spoofing inside the cluster network).",
        "Remove 'NET_RAW' from 'securityContext.capabilities.add'.",
        container_check(_adds("NET_RAW"), "should not include 'NET_RAW' in 'securityContext.capabilities.add'", ADD),
        (CAPS_DOC,)),
    ksv("120", "SYS_MODULE capability added", "HIGH",
        "SYS_MODULE lets a container load kernel modules: full control of the node.",
        "Remove 'SYS_MODULE' from 'securityContext.capabilities.add'.",
        container_check(_adds("SYS_MODULE"),
                        "should not include 'SYS_MODULE' in 'securityContext.capabilities.add'", ADD),
        (CAPS_DOC,)),
)
