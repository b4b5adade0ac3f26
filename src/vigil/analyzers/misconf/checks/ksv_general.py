"""KSV general checks: service account tokens, namespaces, network policies, deprecated APIs, services and
ConfigMaps carrying secrets."""

from __future__ import annotations

import re
from collections.abc import Iterator

from vigil.analyzers.misconf.checks._ksv_common import (
    POD_SPEC_PATHS,
    as_dict,
    as_list,
    containers,
    fail,
    get,
    ksv,
    pod_of,
)
from vigil.analyzers.misconf.checks.base import Failure
from vigil.analyzers.misconf.kubernetes import K8sResource

SA_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
CORE_COMPONENTS = frozenset({"kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler"})
# (apiVersion, kind) pairs removed from Kubernetes, with the replacement apiVersion (Kubernetes deprecation guide).
_BETA_RBAC = "rbac.authorization.k8s.io/v1beta1"
DEPRECATED_APIS: dict[tuple[str, str], str] = {
    **{("extensions/v1beta1", k): "apps/v1" for k in ("Deployment", "DaemonSet", "ReplicaSet")},
    ("extensions/v1beta1", "Ingress"): "networking.k8s.io/v1",
    ("extensions/v1beta1", "NetworkPolicy"): "networking.k8s.io/v1",
    ("extensions/v1beta1", "PodSecurityPolicy"): "(removed; use Pod Security Admission)",
    **{(v, k): "apps/v1" for v in ("apps/v1beta1", "apps/v1beta2")
       for k in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")},
    ("policy/v1beta1", "PodSecurityPolicy"): "(removed; use Pod Security Admission)",
    ("policy/v1beta1", "PodDisruptionBudget"): "policy/v1",
    ("batch/v1beta1", "CronJob"): "batch/v1",
    ("batch/v2alpha1", "CronJob"): "batch/v1",
    **{(_BETA_RBAC, k): "rbac.authorization.k8s.io/v1"
       for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
    ("networking.k8s.io/v1beta1", "Ingress"): "networking.k8s.io/v1",
    ("networking.k8s.io/v1beta1", "IngressClass"): "networking.k8s.io/v1",
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"): "apiextensions.k8s.io/v1",
    ("apiregistration.k8s.io/v1beta1", "APIService"): "apiregistration.k8s.io/v1",
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"): "admissionregistration.k8s.io/v1",
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"): "admissionregistration.k8s.io/v1",
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): "autoscaling/v2",
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): "autoscaling/v2",
    **{("storage.k8s.io/v1beta1", k): "storage.k8s.io/v1"
       for k in ("CSIDriver", "CSINode", "StorageClass", "VolumeAttachment", "CSIStorageCapacity")},
    ("scheduling.k8s.io/v1beta1", "PriorityClass"): "scheduling.k8s.io/v1",
    ("coordination.k8s.io/v1beta1", "Lease"): "coordination.k8s.io/v1",
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"): "certificates.k8s.io/v1",
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): "discovery.k8s.io/v1",
    ("events.k8s.io/v1beta1", "Event"): "events.k8s.io/v1",
    ("node.k8s.io/v1beta1", "RuntimeClass"): "node.k8s.io/v1",
    **{(f"flowcontrol.apiserver.k8s.io/{v}", k): "flowcontrol.apiserver.k8s.io/v1"
       for v in ("v1beta1", "v1beta2", "v1beta3") for k in ("FlowSchema", "PriorityLevelConfiguration")},
}
# Key names that suggest credentials (KSV-01010) …
SENSITIVE_KEY = re.compile(
    r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential|auth)"
)
_PLAIN_SETTING = re.compile(r"(?i)true|false|yes|no|on|off|enabled|disabled|-?[0-9]+(\.[0-9]+)?[a-z]{0,2}|")
# … and values that ARE credentials (KSV-0109): well-known token formats and PEM private keys.
SECRET_VALUE = re.compile(
    r"(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|gh[pousr]_[A-Za-z0-9]{36}|"
    r"xox[baprs]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|"
    r"AIza[0-9A-Za-z_-]{35}|sk_live_[0-9a-zA-Z]{24,})"
)


def _sa_token(res: K8sResource) -> Iterator[Failure]:
    pod = pod_of(res)
    if pod is None:
        return
    if "automountServiceAccountToken" in pod.spec:
        mounted = pod.spec["automountServiceAccountToken"] is True
    else:
        mounted = any(
            get(m, "mountPath") == SA_TOKEN_PATH for c in containers(res) for m in as_list(c.c.get("volumeMounts"))
        )
    if mounted:
        yield fail(res, f"Container of {res.kind} '{res.name}' should set 'spec.automountServiceAccountToken' to "
                        "false", (*pod.path, "automountServiceAccountToken"))


def _kube_system(res: K8sResource) -> Iterator[Failure]:
    """Workloads only: RBAC objects and config in kube-system are routine (an extension API server's RoleBinding to
    extension-apiserver-authentication-reader must live there)."""
    if res.namespace != "kube-system":
        return
    pod = pod_of(res)
    if pod is None:
        return
    meta = pod.metadata if pod else as_dict(res.obj.get("metadata"))
    labels = as_dict(meta.get("labels"))
    spec = pod.spec if pod else as_dict(res.obj.get("spec"))
    core = (
        labels.get("tier") == "control-plane"
        and spec.get("priorityClassName") == "system-node-critical"
        and labels.get("component") in CORE_COMPONENTS
    )
    if not core:
        yield fail(res, f"{res.kind} '{res.name}' should not be set with 'kube-system' namespace",
                   ("metadata", "namespace"))


def _netpol_selector(res: K8sResource) -> Iterator[Failure]:
    if res.kind != "NetworkPolicy":
        return
    spec = as_dict(res.obj.get("spec"))
    has = "podSelector" in spec or "namespaceSelector" in spec
    for direction, peer in (("ingress", "from"), ("egress", "to")):
        for rule in as_list(spec.get(direction)):
            for p in as_list(get(rule, peer)):
                if isinstance(p, dict) and ("podSelector" in p or "namespaceSelector" in p):
                    has = True
    if not has:
        yield fail(res, "Network policy should uses podSelector and/or the namespaceSelector to restrict ingress "
                        "and egress traffic within the Pod network", ("spec",))


def _deprecated_api(res: K8sResource) -> Iterator[Failure]:
    repl = DEPRECATED_APIS.get((res.api_version, res.kind))
    if repl is not None:
        yield fail(res, f"{res.api_version} {res.kind} is deprecated, use {repl} instead", ("apiVersion",))


def _external_ips(res: K8sResource) -> Iterator[Failure]:
    if res.kind == "Service" and as_list(get(res.obj, "spec", "externalIPs")):
        yield fail(res, f"Service '{res.name}' should not set 'spec.externalIPs' (CVE-2020-8554)",
                   ("spec", "externalIPs"))


def _configmap_items(res: K8sResource) -> Iterator[tuple[str, str]]:
    if res.kind != "ConfigMap":
        return
    for k, v in as_dict(res.obj.get("data")).items():
        yield str(k), "" if v is None else str(v)


def _configmap_secret_values(res: K8sResource) -> Iterator[Failure]:
    for k, v in _configmap_items(res):
        if SECRET_VALUE.search(v):
            yield fail(res, f"ConfigMap '{res.name}' contains a secret in key '{k}'; store it in a Secret",
                       ("data", k))


def _configmap_sensitive_keys(res: K8sResource) -> Iterator[Failure]:
    for k, v in _configmap_items(res):
        # A switch or a number under a sensitive-sounding name (EXPOSED_SECRET_SCANNER_ENABLED: "true") holds no
        # secret.
        if v and SENSITIVE_KEY.search(k) and not _PLAIN_SETTING.fullmatch(v.strip()):
            yield fail(res, f"ConfigMap '{res.name}' has sensitive content in key '{k}'", ("data", k))


def _default_ns(res: K8sResource) -> Iterator[Failure]:
    if res.kind in POD_SPEC_PATHS and res.namespace in ("", "default"):
        yield fail(res, f"{res.kind.lower()} {res.name} in default namespace should set metadata.namespace to a "
                        "non-default namespace", ("metadata", "namespace"))


CHECKS = (
    ksv("36", "Protecting Pod service account tokens", "MEDIUM",
        "Pods that do not talk to the API server should not have the service account token mounted.",
        "Set 'automountServiceAccountToken' to false in the pod spec.",
        _sa_token, ("https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/",)),
    ksv("37", "User Pods should not be placed in kube-system namespace", "MEDIUM",
        "kube-system is for the control plane; user workloads there get its privileges and blend in.",
        "Deploy user workloads into a dedicated namespace.",
        _kube_system, ("https://kubernetes.io/docs/reference/setup-tools/kubeadm/implementation-details/",)),
    ksv("38", "Selector usage in network policies", "MEDIUM",
        "Network policies should select pods or namespaces so that they actually restrict traffic.",
        "Use podSelector and/or namespaceSelector in the NetworkPolicy.",
        _netpol_selector, ("https://kubernetes.io/docs/concepts/services-networking/network-policies/",)),
    ksv("107", "Deprecated Kubernetes API version or kind", "LOW",
        "Removed API versions stop working on cluster upgrade.",
        "Migrate to the supported apiVersion.",
        _deprecated_api, ("https://kubernetes.io/docs/reference/using-api/deprecation-guide/",)),
    ksv("108", "Restrict Service externalIPs", "HIGH",
        "A Service with externalIPs can intercept traffic to any IP in the cluster (CVE-2020-8554).",
        "Do not set 'spec.externalIPs'; use an admission controller that denies it.",
        _external_ips, ("https://github.com/kubernetes/kubernetes/issues/97076",)),
    ksv("109", "ConfigMap with secrets", "HIGH",
        "ConfigMaps are not encrypted at rest nor access-restricted like Secrets; credentials must not live there.",
        "Move credentials to a Secret (or an external secret store).",
        _configmap_secret_values, ("https://kubernetes.io/docs/concepts/configuration/secret/",)),
    ksv("110", "Workloads in the default namespace", "LOW",
        "Using the default namespace mixes unrelated workloads and makes RBAC and quotas harder to scope.",
        "Set 'metadata.namespace' to a dedicated namespace.",
        _default_ns, ("https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/",)),
    ksv("01010", "ConfigMap with sensitive content", "MEDIUM",
        "ConfigMap keys named like passwords, tokens or keys suggest sensitive content stored unprotected.",
        "Move sensitive values to a Secret.",
        _configmap_sensitive_keys, ("https://kubernetes.io/docs/concepts/configuration/secret/",)),
)
