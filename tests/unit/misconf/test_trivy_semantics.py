"""Check semantics aligned with Trivy 0.76's built-in checks where Vigil used to differ (see the corpus comparison in
tests/integration/test_trivy_misconf_agreement.py), each case stated on a small manifest or Dockerfile."""

from __future__ import annotations

import pytest

from vigil.analyzers.misconf.checks.registry import checks_for
from vigil.analyzers.misconf.dockerfile import parse_dockerfile
from vigil.analyzers.misconf.kubernetes import parse_kubernetes

KSV = {c.meta.id: c for c in checks_for("kubernetes")}
DS = {c.meta.id: c for c in checks_for("dockerfile")}


def _k8s(cid: str, text: str) -> list[str]:
    out: list[str] = []
    for res in parse_kubernetes(text.encode(), "m.yaml"):
        out.extend(f.message for f in KSV[cid].run(res))
    return out


def _ds(cid: str, text: str) -> list[str]:
    return [f.message for f in DS[cid].run(parse_dockerfile(text.encode(), "Dockerfile"))]


def _pod(pod_sc: str = "", container: str = "", kind: str = "Pod") -> str:
    head = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: p}}\n"
    spec = "spec:\n" + (f"  securityContext: {pod_sc}\n" if pod_sc else "")
    spec += "  containers:\n  - name: c\n    image: nginx:1.25\n" + (f"    securityContext: {container}\n"
                                                                   if container else "")
    return head + spec


@pytest.mark.parametrize(
    ("pod_sc", "container", "n"),
    [
        ("", "", 2),  # both absent: the pod and the container
        ("{}", "{}", 2),  # both empty
        ("{runAsNonRoot: true}", "", 0),  # the container inherits runAsNonRoot
        ("{fsGroup: 2000}", "", 1),  # fsGroup is pod-only: the container still runs with defaults
        ("", "{readOnlyRootFilesystem: true}", 1),  # only the pod is default
    ],
)
def test_ksv0118_absent_or_empty_security_context(pod_sc: str, container: str, n: int) -> None:
    assert len(_k8s("KSV-0118", _pod(pod_sc, container))) == n


def test_ksv0118_judges_workloads_only() -> None:
    template = ("apiVersion: v1\nkind: PodTemplate\nmetadata: {name: t}\ntemplate:\n  spec:\n    containers:\n"
                "    - name: c\n      image: nginx:1.25\n")
    assert _k8s("KSV-0118", template) == []


@pytest.mark.parametrize(
    ("image", "fails"),
    [
        ("nginx:1.25", False),  # a bare name: resolved by the node's runtime (mirrors), not judged
        ("bitnami/nginx:1.25", True),  # Docker Hub
        ("quay.io/org/app:1", True),
        ("ghcr.io/org/app:1", True),
        ("registry.k8s.io/pause:3.9", True),
        ("gcr.io/proj/app:1", False),
        ("eu.gcr.io/proj/app:1", False),
        ("myacr.azurecr.io/app:1", False),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1", False),
        ("evilgcr.io/app:1", True),  # a look-alike host is not a subdomain
    ],
)
def test_ksv0125_trivys_default_trusted_registries(image: str, fails: bool) -> None:
    text = f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    image: {image}\n"
    assert bool(_k8s("KSV-0125", text)) is fails


@pytest.mark.parametrize(
    ("role", "subject", "fails"),
    [
        ("cluster-admin", "{kind: ServiceAccount, name: app, namespace: ns}", True),
        ("cluster-admin", "{kind: User, name: jane}", True),
        ("admin", "{kind: Group, name: ops}", True),
        ("edit", "{kind: Group, name: devs}", True),
        ("view", "{kind: ServiceAccount, name: app, namespace: ns}", False),
    ],
)
def test_ksv0111_bindings_to_admin_roles_whoever_the_subject(role: str, subject: str, fails: bool) -> None:
    text = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
            f"subjects:\n- {subject}\n- {subject}\nroleRef: {{kind: ClusterRole, name: {role}, "
            "apiGroup: rbac.authorization.k8s.io}\n")
    got = _k8s("KSV-0111", text)
    assert len(got) == (1 if fails else 0)  # one finding per binding, not per subject


def _volume(volume: str) -> str:
    return ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
            f"    image: nginx:1.25\n  volumes:\n  - name: v\n    {volume}\n")


def test_ksv0028_leaves_hostpath_to_ksv0023() -> None:
    host = _volume("hostPath: {path: /var/log}")
    assert _k8s("KSV-0028", host) == []
    assert _k8s("KSV-0023", host)
    assert _k8s("KSV-0028", _volume("nfs: {server: s, path: /x}"))


@pytest.mark.parametrize(
    ("path", "fails"),
    [("/etc", True), ("/etc/", True), ("/", True), ("/var/run/docker.sock", True), ("/etc/ssl/certs", False),
     ("/dev/log", False), ("/usr/libexec/kubernetes/kubelet-plugins/volume/exec/", False)],
)
def test_ksv0121_named_host_paths_only(path: str, fails: bool) -> None:
    assert bool(_k8s("KSV-0121", _volume(f"hostPath: {{path: {path}}}"))) is fails


def test_ksv0037_workloads_only() -> None:
    binding = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: "
               "kube-system}\nroleRef: {kind: Role, name: extension-apiserver-authentication-reader, apiGroup: "
               "rbac.authorization.k8s.io}\nsubjects:\n- {kind: ServiceAccount, name: a, namespace: m}\n")
    assert _k8s("KSV-0037", binding) == []
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: kube-system}\nspec:\n  containers:\n"
           "  - name: c\n    image: nginx:1.25\n")
    assert _k8s("KSV-0037", pod)


def test_ksv01010_ignores_switches_and_numbers() -> None:
    cm = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  EXPOSED_SECRET_SCANNER_ENABLED: 'true'\n"
          "  SECRET_TTL: '30'\n  DB_PASSWORD: hunter2hunter2\n")
    got = _k8s("KSV-01010", cm)
    assert len(got) == 1 and "DB_PASSWORD" in got[0]


@pytest.mark.parametrize(
    ("run", "fails"),
    [
        ("cd /src && make", True),
        ("set -x && cd /src && make", True),
        ("( cd /src && make )", False),
        ("git clone x /src && ( cd /src && mkdir b && cd b && cmake .. ) && rm -rf /src", False),
        ("echo '&& cd /x' && make", False),
    ],
)
def test_ds0013_cd_outside_subshells(run: str, fails: bool) -> None:
    assert bool(_ds("DS-0013", f"FROM alpine:3.20\nRUN {run}\n")) is fails


def test_ds0025_no_network_installs_leave_no_index() -> None:
    assert _ds("DS-0025", "FROM alpine:3.20\nRUN apk add curl\n")
    assert not _ds("DS-0025", "FROM alpine:3.20\nRUN xargs -rt apk add --no-network --virtual .deps < list\n")
