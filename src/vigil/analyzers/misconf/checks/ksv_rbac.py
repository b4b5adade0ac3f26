"""KSV RBAC checks on Role / ClusterRole rules and RoleBinding / ClusterRoleBinding subjects.

A rule matches when one of its resources is in the check's set and one of its verbs is in the check's verb set
(or is '*'). Failures point at the offending rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from vigil.analyzers.misconf.checks._ksv_common import Severity, as_dict, as_list, fail, ksv
from vigil.analyzers.misconf.checks.base import Check, Failure
from vigil.analyzers.misconf.kubernetes import K8sResource

RBAC_DOC = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"
GOOD_PRACTICE = "https://kubernetes.io/docs/concepts/security/rbac-good-practices/"
ROLE_KINDS = frozenset({"Role", "ClusterRole"})
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})
WRITE = frozenset({"create", "update", "patch", "delete", "deletecollection", "impersonate", "*"})
READ_WRITE = WRITE | {"get", "list", "watch"}
WORKLOADS = frozenset({"deployments", "daemonsets", "statefulsets", "replicationcontrollers", "replicasets", "jobs",
                       "cronjobs", "pods"})
NETWORKING = frozenset({"services", "endpoints", "endpointslices", "networkpolicies", "ingresses"})
# Trivy's verb list for the "manage all resources" checks (reading everything is as bad as writing it).
ALL_RES_VERBS = frozenset({"create", "update", "delete", "deletecollection", "impersonate", "*", "list", "get"})
RBAC_RES = frozenset({"roles", "rolebindings", "clusterroles", "clusterrolebindings"})
WEBHOOKS = frozenset({"mutatingwebhookconfigurations", "validatingwebhookconfigurations"})


def _strs(v: object) -> list[str]:
    return [str(x) for x in as_list(v)]


def _rules(res: K8sResource, kinds: frozenset[str]) -> Iterator[tuple[int, dict[str, object]]]:
    if res.kind not in kinds:
        return
    for i, r in enumerate(as_list(res.obj.get("rules"))):
        if isinstance(r, dict):
            yield i, r


def _matches(rule: dict[str, object], resources: frozenset[str] | None, verbs: frozenset[str]) -> bool:
    """As in Trivy's RBAC checks, a resource set matches only the NAMED resources: a '*' resource is the business
    of the wildcard checks (KSV-0044/0045/0046/0112), not of e.g. "manage secrets"."""
    rs, vs = _strs(rule.get("resources")), _strs(rule.get("verbs"))
    res_ok = resources is None or any(r in resources for r in rs)
    return res_ok and any(v == "*" or v in verbs for v in vs)


def _role_msg(res: K8sResource, what: str) -> str:
    return f"{res.kind} '{res.name}' {what}"


def rule_check(
    resources: frozenset[str] | None,
    verbs: frozenset[str],
    what: str,
    kinds: frozenset[str] = ROLE_KINDS,
    extra: Callable[[dict[str, object]], bool] | None = None,
) -> Callable[[K8sResource], Iterator[Failure]]:
    def run(res: K8sResource) -> Iterator[Failure]:
        for i, r in _rules(res, kinds):
            if _matches(r, resources, verbs) and (extra is None or extra(r)):
                yield fail(res, _role_msg(res, what), ("rules", i))

    return run


def _two_rule_check(
    first: tuple[frozenset[str], frozenset[str]], second: tuple[frozenset[str], frozenset[str]], what: str,
) -> Callable[[K8sResource], Iterator[Failure]]:
    """Fails when the role combines both permissions (possibly in different rules)."""

    def run(res: K8sResource) -> Iterator[Failure]:
        rules = list(_rules(res, ROLE_KINDS))
        a = [i for i, r in rules if _matches(r, *first)]
        b = [i for i, r in rules if _matches(r, *second)]
        if a and b:
            yield fail(res, _role_msg(res, what), ("rules", a[0]))

    return run


def _all_wild(rule: dict[str, object]) -> bool:
    """'*' verbs on '*' resources of '*' API groups: a wildcard inside one API group (custom.metrics.k8s.io) is
    that group only, not cluster-admin."""
    return all("*" in _strs(rule.get(k)) for k in ("apiGroups", "resources", "verbs"))


def _wild_resources(rule: dict[str, object]) -> bool:
    return "*" in _strs(rule.get("resources"))


# Resources KSV-0045 guards against a wildcard verb: workloads, secrets and RBAC objects (as Trivy). A wildcard verb
# on an aggregated metrics API or a CRD is routine for adapters and operators.
SENSITIVE_RESOURCES = frozenset({"secrets", "pods", "deployments", "daemonsets", "statefulsets",
                                 "replicationcontrollers", "replicasets", "cronjobs", "jobs", "roles", "clusterroles",
                                 "rolebindings", "clusterrolebindings", "users", "groups"})


def _wild_verb_on_sensitive(rule: dict[str, object]) -> bool:
    return "*" in _strs(rule.get("verbs")) and bool(SENSITIVE_RESOURCES & set(_strs(rule.get("resources"))))


def _aws_auth(rule: dict[str, object]) -> bool:
    return "aws-auth" in _strs(rule.get("resourceNames"))


def binding_check(
    pred: Callable[[dict[str, object], dict[str, object]], bool], what: str,
) -> Callable[[K8sResource], Iterator[Failure]]:
    def run(res: K8sResource) -> Iterator[Failure]:
        if res.kind not in BINDING_KINDS:
            return
        ref = as_dict(res.obj.get("roleRef"))
        for i, s in enumerate(as_list(res.obj.get("subjects"))):
            if isinstance(s, dict) and pred(s, ref):
                yield fail(res, _role_msg(res, what), ("subjects", i))

    return run


def _subject(*names: str, exclude_roles: tuple[str, ...] = ()) -> Callable[[dict[str, object], dict[str, object]], bool]:
    def pred(s: dict[str, object], ref: dict[str, object]) -> bool:
        return s.get("name") in names and ref.get("name") not in exclude_roles

    return pred


# Roles whose binding KSV-0111 reports: full control of the cluster or a namespace, or write access to nearly every
# namespaced resource.
ADMIN_ROLES = ("cluster-admin", "admin", "edit")


def _admin_binding(res: K8sResource) -> Iterator[Failure]:
    """KSV-0111: a (Cluster)RoleBinding to cluster-admin, admin or edit, whoever the subjects are: a ServiceAccount
    bound to cluster-admin is as dangerous as a user (any pod running as it owns the cluster). One failure per
    binding, at its metadata, as in Trivy."""
    if res.kind not in BINDING_KINDS:
        return
    ref = as_dict(res.obj.get("roleRef"))
    if ref.get("name") in ADMIN_ROLES:
        yield fail(res, f"{res.kind} '{res.name}' should not bind to roles {list(ADMIN_ROLES)}", ("metadata",))


def _c(num: str, title: str, sev: Severity, desc: str, resolution: str,
       run: Callable[[K8sResource], Iterator[Failure]]) -> Check:
    return ksv(num, title, sev, desc, resolution, run, (RBAC_DOC, GOOD_PRACTICE))


_fs = frozenset
CHECKS = (
    _c("41", "Manage secrets", "CRITICAL",
       "A cluster role that can read or write Secrets can read every credential in the cluster.",
       "Remove 'secrets' from the cluster role's resources, or limit it with resourceNames.",
       rule_check(_fs({"secrets"}), READ_WRITE, "shouldn't have access to manage secrets", _fs({"ClusterRole"}))),
    _c("42", "Delete pod logs", "MEDIUM",
       "Deleting pod logs lets an attacker cover their tracks.",
       "Remove 'delete'/'deletecollection' on 'pods/log'.",
       rule_check(_fs({"pods/log"}), _fs({"delete", "deletecollection", "*"}), "should not have access to resource "
                  "'pods/log' for verbs [\"delete\", \"deletecollection\", \"*\"]")),
    _c("43", "Impersonate privileged groups", "CRITICAL",
       "Impersonating groups (e.g. system:masters) grants the privileges of those groups.",
       "Remove the 'impersonate' verb on 'groups'.",
       rule_check(_fs({"groups"}), _fs({"impersonate", "*"}), "should not have access to resource 'groups' for "
                  "verbs [\"impersonate\", \"*\"]")),
    _c("44", "No wildcard verb and resource roles", "CRITICAL",
       "A role with '*' verbs on '*' resources is equivalent to cluster-admin in its scope.",
       "List the resources and verbs the role needs instead of '*'.",
       rule_check(None, _fs({"*"}), "shouldn't manage all resources", extra=_all_wild)),
    _c("45", "No wildcard verb roles", "CRITICAL",
       "A wildcard verb also grants verbs added in future Kubernetes versions and escalation verbs.",
       "List the verbs the role needs instead of '*'.",
       rule_check(None, _fs({"*"}), "shouldn't have access to manage all verbs",
                  extra=_wild_verb_on_sensitive)),
    _c("46", "Manage all resources", "CRITICAL",
       "A cluster role that can write every resource can take over the cluster.",
       "Do not use '*' as a resource together with write verbs.",
       rule_check(None, ALL_RES_VERBS, "shouldn't manage all resources", _fs({"ClusterRole"}), extra=_wild_resources)),
    _c("47", "Manage Kubernetes nodes/proxy", "HIGH",
       "Access to 'nodes/proxy' reaches the kubelet API directly, bypassing admission and audit.",
       "Remove access to 'nodes/proxy'.",
       rule_check(_fs({"nodes/proxy"}), _fs({"get", "create", "*"}), "should not have access to resource "
                  "'nodes/proxy' for verbs [\"get\", \"create\", \"*\"]")),
    _c("48", "Manage Kubernetes workloads and pods", "MEDIUM",
       "Creating or updating workloads lets a user run arbitrary (possibly privileged) pods.",
       "Limit write verbs on workload resources.",
       rule_check(WORKLOADS, WRITE,
                  "should not have access to resources [\"pods\", \"deployments\", \"jobs\", \"cronjobs\", "
                  "\"statefulsets\", \"daemonsets\", \"replicasets\", \"replicationcontrollers\"] for verbs "
                  "[\"create\", \"update\", \"patch\", \"delete\", \"deletecollection\", \"impersonate\", \"*\"]")),
    _c("49", "Manage configmaps", "MEDIUM",
       "ConfigMaps often drive application behaviour; writing them can change what workloads do.",
       "Limit write verbs on 'configmaps'.",
       rule_check(_fs({"configmaps"}), _fs({"create", "update", "patch", "delete", "deletecollection", "impersonate",
                                            "*"}), "should not have access to resource 'configmaps' for verbs "
                  "[\"create\", \"update\", \"delete\", \"deletecollection\", \"impersonate\", \"*\"]")),
    _c("50", "Manage RBAC resources", "CRITICAL",
       "Writing roles and bindings (or 'escalate'/'bind') lets a user grant themselves any permission.",
       "Remove write, 'escalate' and 'bind' verbs on RBAC resources.",
       rule_check(RBAC_RES, WRITE | {"escalate", "bind"}, "should not have access to resources [\"roles\", "
                  "\"rolebindings\"] for verbs [\"create\", \"update\", \"patch\", \"delete\", \"deletecollection\", "
                  "\"impersonate\", \"*\"]")),
    _c("51", "Allow role binding creation and association with privileged role", "HIGH",
       "Creating RoleBindings together with 'bind' on ClusterRoles lets a user bind privileged cluster roles.",
       "Do not combine 'create' on rolebindings with 'bind' on clusterroles.",
       _two_rule_check((_fs({"rolebindings"}), _fs({"create", "*"})), (_fs({"clusterroles"}), _fs({"bind", "*"})),
                       "should not have access to resources [\"rolebindings\"] for verbs [\"create\"] and "
                       "[\"clusterroles\"] for verbs [\"bind\"]")),
    _c("52", "Allow creation of ClusterRoleBindings and association with privileged role", "HIGH",
       "Creating ClusterRoleBindings together with 'bind' on ClusterRoles lets a user become cluster-admin.",
       "Do not combine 'create' on clusterrolebindings with 'bind' on clusterroles.",
       _two_rule_check((_fs({"clusterrolebindings"}), _fs({"create", "*"})),
                       (_fs({"clusterroles"}), _fs({"bind", "*"})),
                       "should not have access to resources [\"clusterrolebindings\"] for verbs [\"create\"] and "
                       "[\"clusterroles\"] for verbs [\"bind\"]")),
    _c("53", "Exec into Pods", "HIGH",
       "'create' on 'pods/exec' runs commands inside any pod (and reads its secrets).",
       "Remove 'create' on 'pods/exec'.",
       rule_check(_fs({"pods/exec"}), _fs({"create", "*"}), "should not have access to resource 'pods/exec' for "
                  "verbs [\"create\"]")),
    _c("54", "Attach to pods", "HIGH",
       "'create' on 'pods/attach' attaches to the console of running containers.",
       "Remove 'create' on 'pods/attach'.",
       rule_check(_fs({"pods/attach"}), _fs({"create", "*"}), "should not have access to resource 'pods/attach' "
                  "for verbs [\"create\"]")),
    _c("55", "Allow users in a rolebinding to add other users to their rolebindings", "LOW",
       "Updating RoleBindings lets a user add others (or themselves) to existing roles.",
       "Remove 'update'/'patch' on 'rolebindings'.",
       rule_check(_fs({"rolebindings"}), _fs({"update", "patch", "*"}), "should not have access to resource "
                  "'rolebindings' for verbs [\"get\", \"patch\"]")),
    _c("56", "Manage Kubernetes networking", "HIGH",
       "Writing services, endpoints, ingresses or network policies lets a user intercept or open traffic.",
       "Limit write verbs on networking resources.",
       rule_check(NETWORKING, WRITE, "should not have access to resources [\"services\", \"endpoints\", "
                  "\"endpointslices\", \"networkpolicies\", \"ingresses\"] for verbs [\"create\", \"update\", "
                  "\"patch\", \"delete\", \"deletecollection\", \"impersonate\", \"*\"]")),
    _c("111", "User with admin access", "MEDIUM",
       "Binding anyone (users, groups, service accounts) to cluster-admin, admin or edit gives them control of the "
       "cluster or namespace.",
       "Bind subjects to narrower roles.",
       _admin_binding),
    _c("112", "Manage all resources at the namespace", "CRITICAL",
       "A namespaced role that can write every resource controls everything in the namespace.",
       "Do not use '*' as a resource together with write verbs in a Role.",
       rule_check(None, ALL_RES_VERBS, "shouldn't manage all resources at the namespace", _fs({"Role"}),
                  extra=_wild_resources)),
    _c("113", "Manage namespace secrets", "MEDIUM",
       "A namespaced role that can read Secrets can read every credential in the namespace.",
       "Remove read verbs on 'secrets', or limit them with resourceNames.",
       rule_check(_fs({"secrets"}), _fs({"get", "list", "watch", "*"}), "shouldn't have access to manage secrets "
                  "in namespace", _fs({"Role"}))),
    _c("114", "Manage webhookconfigurations", "CRITICAL",
       "Webhook configurations see (and mutate) every API request: a malicious webhook owns the cluster.",
       "Remove write verbs on webhook configurations.",
       rule_check(WEBHOOKS, WRITE, "should not have access to resources [\"mutatingwebhookconfigurations\", "
                  "\"validatingwebhookconfigurations\"] for verbs [\"create\", \"update\", \"patch\", \"delete\", "
                  "\"deletecollection\", \"impersonate\", \"*\"]")),
    _c("115", "Manage EKS IAM Auth ConfigMap", "CRITICAL",
       "The aws-auth ConfigMap maps IAM identities to Kubernetes users; writing it grants any AWS principal "
       "cluster access.",
       "Remove write access to the 'aws-auth' ConfigMap.",
       rule_check(_fs({"configmaps"}), WRITE, "should not have access to resource 'configmaps' with resourceName "
                  "'aws-auth' for write verbs", extra=_aws_auth)),
    _c("01011", "No system:authenticated bindings", "CRITICAL",
       "Binding 'system:authenticated' grants the role to every authenticated identity, including any "
       "service account and (on some clouds) any cloud user.",
       "Bind specific users, groups or service accounts instead.",
       binding_check(_subject("system:authenticated", exclude_roles=("system:public-info-viewer",
                                                                      "system:basic-user", "system:discovery")),
                     "should not bind 'system:authenticated'")),
    _c("122", "No anonymous user bindings", "CRITICAL",
       "Binding 'system:anonymous' or 'system:unauthenticated' grants the role to unauthenticated requests.",
       "Remove the anonymous subjects.",
       binding_check(_subject("system:anonymous", "system:unauthenticated",
                              exclude_roles=("system:public-info-viewer",)),
                     "should not bind to anonymous user")),
    _c("123", "No system:masters group bindings", "CRITICAL",
       "'system:masters' bypasses RBAC entirely and cannot be revoked by removing bindings.",
       "Do not bind the 'system:masters' group.",
       binding_check(_subject("system:masters"), "should not bind to 'system:masters' group")),
)
