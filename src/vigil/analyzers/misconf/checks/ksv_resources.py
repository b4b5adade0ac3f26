"""KSV resource-management checks: container requests/limits, LimitRange and ResourceQuota objects."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from vigil.analyzers.misconf.checks._ksv_common import Container, as_list, container_check, fail, get, ksv
from vigil.analyzers.misconf.checks.base import Failure
from vigil.analyzers.misconf.kubernetes import K8sResource

RES_DOC = "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"


def _missing(section: str, key: str) -> Callable[[Container, K8sResource], bool]:
    def pred(c: Container, res: K8sResource) -> bool:
        return get(c.c, "resources", section, key) in (None, "")

    return pred


def _limit_range(res: K8sResource) -> Iterator[Failure]:
    if res.kind != "LimitRange":
        return
    limits = [x for x in as_list(get(res.obj, "spec", "limits")) if isinstance(x, dict)]
    ok = any(all(k in x for k in ("type", "max", "min", "default", "defaultRequest")) for x in limits)
    if not ok:
        yield fail(res, "limit range policy with a default request and limit, min and max request, for each "
                        "container should be configured", ("spec",))


def _resource_quota(res: K8sResource) -> Iterator[Failure]:
    if res.kind != "ResourceQuota":
        return
    hard = get(res.obj, "spec", "hard")
    keys = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
    if not isinstance(hard, dict) or not all(k in hard for k in keys):
        yield fail(res, "resource quota policy with hard memory and cpu quota per namespace should be configured",
                   ("spec",))


CHECKS = (
    ksv("11", "CPU not limited", "LOW",
        "Enforcing CPU limits prevents a container from starving the node (DoS).",
        "Set 'resources.limits.cpu'.",
        container_check(_missing("limits", "cpu"), "should set 'resources.limits.cpu'", ("resources",)),
        (RES_DOC,)),
    ksv("15", "CPU requests not specified", "LOW",
        "CPU requests let the scheduler place the pod on a node with enough capacity.",
        "Set 'resources.requests.cpu'.",
        container_check(_missing("requests", "cpu"), "should set 'resources.requests.cpu'", ("resources",)),
        (RES_DOC,)),
    ksv("16", "Memory requests not specified", "LOW",
        "Memory requests let the scheduler place the pod on a node with enough memory.",
        "Set 'resources.requests.memory'.",
        container_check(_missing("requests", "memory"), "should set 'resources.requests.memory'", ("resources",)),
        (RES_DOC,)),
    ksv("18", "Memory not limited", "LOW",
        "Enforcing memory limits prevents a container from exhausting the node's memory (DoS).",
        "Set 'resources.limits.memory'.",
        container_check(_missing("limits", "memory"), "should set 'resources.limits.memory'", ("resources",)),
        (RES_DOC,)),
    ksv("39", "limit range usage", "LOW",
        "A LimitRange should define default requests and limits and min/max for containers in the namespace.",
        "Configure 'spec.limits[*]' with type, max, min, default and defaultRequest.",
        _limit_range, ("https://kubernetes.io/docs/concepts/policy/limit-range/",)),
    ksv("40", "resource quota usage", "LOW",
        "A ResourceQuota should cap CPU and memory requests and limits per namespace.",
        "Set 'spec.hard' requests.cpu, requests.memory, limits.cpu and limits.memory.",
        _resource_quota, ("https://kubernetes.io/docs/concepts/policy/resource-quotas/",)),
)
