"""Kubernetes RBAC authorization, as the API server decides it, over the objects a chart renders: whether a service
account may make an API call, and which grants exist at all (to find those no call uses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.deploy.scenario import ApiCall


@dataclass(frozen=True)
class Grant:
    verb: str
    group: str
    resource: str
    scope: str  # "*" (a ClusterRoleBinding: every namespace and cluster-scoped objects) or the RoleBinding's namespace
    names: tuple[str, ...] = ()  # resourceNames; () = any
    role: str = ""


def grants(objs: list[dict[str, Any]], sa: str, sa_namespace: str) -> list[Grant]:
    roles = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objs
             if o["kind"] in ("Role", "ClusterRole")}
    out: list[Grant] = []
    for b in objs:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == sa and s.get("namespace") == sa_namespace
                   for s in b.get("subjects") or ()):
            continue
        ns = b["metadata"].get("namespace", "") if b["kind"] == "RoleBinding" else ""
        ref = b["roleRef"]
        role = roles.get((ref["kind"], ns if ref["kind"] == "Role" else "", ref["name"]))
        assert role is not None, f"{b['kind']} {b['metadata']['name']} refers to a missing {ref['kind']}"
        for rule in role.get("rules") or ():
            for group in rule.get("apiGroups") or ():
                for resource in rule.get("resources") or ():
                    for verb in rule.get("verbs") or ():
                        out.append(Grant(verb, group, resource, ns or "*", tuple(rule.get("resourceNames") or ()),
                                         f"{ref['kind']}/{ref['name']}"))
    return out


def allows(g: Grant, call: ApiCall) -> bool:
    if g.verb not in (call.verb, "*") or g.group not in (call.group, "*") or g.resource not in (call.resource, "*"):
        return False
    if g.scope != "*" and call.namespace != g.scope:  # a RoleBinding: only that namespace, never cluster-wide
        return False
    # resourceNames restrict requests that name one object; list/watch/create/deletecollection name none
    return not g.names or (bool(call.name) and call.name in g.names)


def allowed(gs: list[Grant], call: ApiCall) -> bool:
    return any(allows(g, call) for g in gs)
