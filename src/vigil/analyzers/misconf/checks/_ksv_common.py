"""Shared helpers for the KSV (Kubernetes) check families: where the pod spec lives for each workload kind, how to
walk every container (init and ephemeral included), and how to build Trivy-shaped metadata and failures.

Not a check module (no CHECKS): the registry lists only the family modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from vigil.analyzers.misconf.checks.base import Check, CheckMeta, Failure
from vigil.analyzers.misconf.kubernetes import K8sResource, PathKey

Severity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]

# Where the pod spec lives, per workload kind (Trivy's lib.kubernetes `pods`).
POD_SPEC_PATHS: dict[str, PathKey] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "DeploymentConfig": ("spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")
K8S_DOCS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"


def get(obj: Any, *path: str | int) -> Any:
    """obj[path…] or None; tolerant of wrong types anywhere along the way (manifests are user input)."""
    cur = obj
    for p in path:
        if isinstance(p, int):
            if not isinstance(cur, list) or p >= len(cur):
                return None
        elif not isinstance(cur, dict):
            return None
        cur = cur[p] if isinstance(p, int) else cur.get(p)
    return cur


def as_dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


@dataclass(frozen=True)
class Pod:
    spec: dict[str, Any]
    path: PathKey  # path of the pod spec within the resource
    metadata: dict[str, Any]  # the pod template's metadata (the object's own for a Pod)


@dataclass(frozen=True)
class Container:
    c: dict[str, Any]
    path: PathKey  # e.g. ("spec","template","spec","containers",0)
    pod: Pod

    @property
    def name(self) -> str:
        return str(self.c.get("name") or "")

    @property
    def sc(self) -> dict[str, Any]:
        return as_dict(self.c.get("securityContext"))


def pod_of(res: K8sResource) -> Pod | None:
    path = POD_SPEC_PATHS.get(res.kind)
    if path is None:
        return None
    spec = get(res.obj, *path)
    if not isinstance(spec, dict):
        return None
    meta = get(res.obj, "metadata") if len(path) == 1 else get(res.obj, *path[:-1], "metadata")
    return Pod(spec=spec, path=path, metadata=as_dict(meta))


def containers(res: K8sResource) -> Iterator[Container]:
    pod = pod_of(res)
    if pod is None:
        return
    for f in CONTAINER_FIELDS:
        for i, c in enumerate(as_list(pod.spec.get(f))):
            if isinstance(c, dict):
                yield Container(c=c, path=(*pod.path, f, i), pod=pod)


def pod_sc(pod: Pod) -> dict[str, Any]:
    return as_dict(pod.spec.get("securityContext"))


def fail(res: K8sResource, message: str, path: PathKey = ()) -> Failure:
    start, end = res.lines_of(path) if path else (res.start_line, res.end_line)
    return Failure(message=message, start_line=start, end_line=end, resource=res.ref)


def cfail(res: K8sResource, c: Container, message: str, sub: PathKey = ()) -> Failure:
    """A container failure pointing at the offending field when present, the container otherwise."""
    return fail(res, message, (*c.path, *sub))


def cmsg(c: Container, res: K8sResource, tail: str) -> str:
    return f"Container '{c.name}' of {res.kind} '{res.name}' {tail}"


def rmsg(res: K8sResource, tail: str) -> str:
    return f"{res.kind} '{res.name}' {tail}"


def ksv(
    num: str,
    title: str,
    severity: Severity,
    description: str,
    resolution: str,
    run: Callable[[K8sResource], Iterable[Failure]],
    references: tuple[str, ...] = (),
    *,
    deprecated: bool = False,
) -> Check:
    """num is Trivy's number as written in the check catalogue: "14" -> KSV-0014 (aliases KSV014, AVD-KSV-0014);
    "01010" -> KSV-01010 (aliases KSV01010, AVD-KSV-01010)."""
    if len(num) >= 5:
        cid, short = f"KSV-{num}", f"KSV{num}"
    else:
        cid, short = f"KSV-{int(num):04d}", f"KSV{int(num):03d}"
    meta = CheckMeta(
        id=cid,
        title=title,
        severity=severity,
        input_type="kubernetes",
        aliases=(short, f"AVD-{cid}"),
        description=description,
        resolution=resolution,
        references=references or (K8S_DOCS,),
        namespace=f"builtin.kubernetes.{short}",
        deprecated=deprecated,
    )

    def guarded(doc: K8sResource) -> list[Failure]:
        return list(run(doc))

    return Check(meta=meta, run=guarded)


def container_check(
    pred: Callable[[Container, K8sResource], bool],
    tail: str,
    sub: PathKey = (),
) -> Callable[[K8sResource], Iterator[Failure]]:
    """A check that fails once per container for which `pred` holds."""

    def run(res: K8sResource) -> Iterator[Failure]:
        for c in containers(res):
            if pred(c, res):
                yield cfail(res, c, cmsg(c, res, tail), sub)

    return run


def pod_check(
    pred: Callable[[Pod, K8sResource], bool],
    tail: str,
    sub: PathKey = (),
) -> Callable[[K8sResource], Iterator[Failure]]:
    """A check that fails once per workload whose pod spec satisfies `pred`."""

    def run(res: K8sResource) -> Iterator[Failure]:
        pod = pod_of(res)
        if pod is not None and pred(pod, res):
            yield fail(res, rmsg(res, tail), (*pod.path, *sub))

    return run


def caps(c: Container, which: str) -> list[str]:
    return [str(x).upper() for x in as_list(get(c.sc, "capabilities", which))]


def effective(c: Container, key: str) -> Any:
    """A securityContext field, the container's value overriding the pod's."""
    if key in c.sc:
        return c.sc[key]
    return pod_sc(c.pod).get(key)
