"""--k8s-version: the Kubernetes release each deprecated (apiVersion, kind) was removed in (the Kubernetes
deprecation guide, https://kubernetes.io/docs/reference/using-api/deprecation-guide/), so that the deprecated-API
check (KSV-0107) reports only what no longer works on the cluster version the user names."""

from __future__ import annotations

import re
from collections.abc import Iterable

import msgspec

from vigil.findings.records import Misconfiguration, Result

DEPRECATED_API_CHECK = "KSV-0107"

_APPS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
_STORAGE = ("CSIDriver", "CSINode", "StorageClass", "VolumeAttachment")
_RBAC = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
_WEBHOOKS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_FLOW = ("FlowSchema", "PriorityLevelConfiguration")

REMOVED_IN: dict[tuple[str, str], tuple[int, int]] = {
    **{("extensions/v1beta1", k): (1, 16) for k in ("Deployment", "DaemonSet", "ReplicaSet", "NetworkPolicy",
                                                    "PodSecurityPolicy")},
    ("extensions/v1beta1", "Ingress"): (1, 22),
    **{(v, k): (1, 16) for v in ("apps/v1beta1", "apps/v1beta2") for k in _APPS},
    ("policy/v1beta1", "PodSecurityPolicy"): (1, 25),
    ("policy/v1beta1", "PodDisruptionBudget"): (1, 25),
    ("batch/v1beta1", "CronJob"): (1, 25),
    ("batch/v2alpha1", "CronJob"): (1, 21),
    **{("rbac.authorization.k8s.io/v1beta1", k): (1, 22) for k in _RBAC},
    ("networking.k8s.io/v1beta1", "Ingress"): (1, 22),
    ("networking.k8s.io/v1beta1", "IngressClass"): (1, 22),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"): (1, 22),
    ("apiregistration.k8s.io/v1beta1", "APIService"): (1, 22),
    **{("admissionregistration.k8s.io/v1beta1", k): (1, 22) for k in _WEBHOOKS},
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): (1, 25),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): (1, 26),
    **{("storage.k8s.io/v1beta1", k): (1, 22) for k in _STORAGE},
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): (1, 27),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"): (1, 22),
    ("coordination.k8s.io/v1beta1", "Lease"): (1, 22),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"): (1, 22),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): (1, 25),
    ("events.k8s.io/v1beta1", "Event"): (1, 25),
    ("node.k8s.io/v1beta1", "RuntimeClass"): (1, 25),
    **{("flowcontrol.apiserver.k8s.io/v1beta1", k): (1, 26) for k in _FLOW},
    **{("flowcontrol.apiserver.k8s.io/v1beta2", k): (1, 29) for k in _FLOW},
    **{("flowcontrol.apiserver.k8s.io/v1beta3", k): (1, 32) for k in _FLOW},
}

# The deprecated-API check's message: "<apiVersion> <kind> is deprecated, use … instead"
_MESSAGE = re.compile(r"^(\S+) (\S+) is deprecated")


def parse_version(text: str) -> tuple[int, int]:
    """"1.21.0", "v1.29", "1.27" -> (major, minor). ValueError on anything else."""
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?", text.strip())
    if m is None:
        raise ValueError(f"invalid Kubernetes version {text!r} (expected e.g. 1.29.0)")
    return int(m.group(1)), int(m.group(2))


def still_served(m: Misconfiguration, version: tuple[int, int]) -> bool:
    """A KSV-0107 failure for an API that the cluster version still serves."""
    hit = _MESSAGE.match(m.message) if m.id == DEPRECATED_API_CHECK and m.status == "FAIL" else None
    if hit is None:
        return False
    removed = REMOVED_IN.get((hit.group(1), hit.group(2)))
    return removed is not None and version < removed


def judge(results: Iterable[Result], version: tuple[int, int]) -> tuple[Result, ...]:
    """The deprecated-API failures for APIs still served by `version` become passes (the check ran and the
    resource works on that cluster)."""
    out = []
    for r in results:
        if r.class_ == "config" and any(still_served(m, version) for m in r.misconfigurations):
            ms = tuple(msgspec.structs.replace(m, status="PASS", message="No issues found")
                       if still_served(m, version) else m for m in r.misconfigurations)
            r = msgspec.structs.replace(r, misconfigurations=ms)
        out.append(r)
    return tuple(out)
