"""Which cluster and which credentials: kubeconfig files, a context, an in-cluster service account.

Order (kubectl's): the files named with --kubeconfig, else those in $KUBECONFIG (os.pathsep-separated, merged),
else the in-cluster service account when running in a pod, else ~/.kube/config. Several files merge as kubectl
merges them: the first file that defines a cluster, user or context name wins, and `current-context` comes from the
first file that sets one. Relative paths (certificate files, token files, exec commands with a slash) are resolved
against the file that names them, so a merged config behaves like each file alone.

Authentication is lightkube's: client certificates (files or inline data), bearer tokens and token files, basic
auth, and exec credential plugins (EKS `aws eks get-token`, GKE `gke-gcloud-auth-plugin`, AKS `kubelogin`). An exec
plugin declared with apiVersion `client.authentication.k8s.io/v1` is run as v1beta1: both print the same
ExecCredential with `status.token`, and lightkube only accepts the beta names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.sources.k8s import ClusterError

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_KUBECONFIG = "~/.kube/config"
_PATH_KEYS = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key", "tokenFile")}


@dataclass(frozen=True)
class KubeconfigOptions:
    kubeconfig: tuple[str, ...] = ()  # --kubeconfig (repeatable); () = $KUBECONFIG, in-cluster, ~/.kube/config
    context: str = ""  # --context; "" = current-context
    server: str = ""  # --server: override the API server URL of the chosen context (or use it alone)
    service_account_dir: str = SERVICE_ACCOUNT


@dataclass(frozen=True)
class ClusterConfig:
    """The chosen context: what the client needs, plus a name for reports."""

    single: Any  # lightkube SingleConfig
    context: str
    cluster_name: str
    server: str


def _read_yaml(path: Path) -> dict[str, Any]:
    from vigil.yaml_safe import safe_load

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ClusterError(f"cannot read kubeconfig {path}: {e.strerror or e}") from e
    try:
        doc = safe_load(text)
    except Exception as e:
        raise ClusterError(f"kubeconfig {path} is not valid YAML: {str(e).splitlines()[0]}") from e
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ClusterError(f"kubeconfig {path} is not a kubeconfig (expected a mapping)")
    return doc


def _absolutise(entry: Mapping[str, Any], keys: Sequence[str], base: Path) -> dict[str, Any]:
    out = dict(entry)
    for k in keys:
        v = out.get(k)
        if isinstance(v, str) and v and not Path(v).expanduser().is_absolute():
            out[k] = str(base / v)
    return out


def _fix_user(user: Mapping[str, Any], base: Path) -> dict[str, Any]:
    u = _absolutise(user, _PATH_KEYS["user"], base)
    ex = u.get("exec")
    if isinstance(ex, dict):
        ex = dict(ex)
        cmd = ex.get("command")
        if isinstance(cmd, str) and "/" in cmd and not Path(cmd).is_absolute():
            ex["command"] = str(base / cmd)  # kubectl: a relative command with a slash is relative to the file
        if ex.get("apiVersion") == "client.authentication.k8s.io/v1":
            ex["apiVersion"] = "client.authentication.k8s.io/v1beta1"
        u["exec"] = ex
    return u


def merge_kubeconfigs(paths: Sequence[Path]) -> dict[str, Any]:
    """kubectl's merge of several kubeconfig files into one document (first definition of each name wins)."""
    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": []}
    seen: dict[str, set[str]] = {"clusters": set(), "users": set(), "contexts": set()}
    for path in paths:
        doc = _read_yaml(path)
        base = path.resolve().parent
        if not merged.get("current-context") and doc.get("current-context"):
            merged["current-context"] = doc["current-context"]
        for section, inner in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for item in doc.get(section) or ():
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    raise ClusterError(f"kubeconfig {path}: every entry of {section} needs a name")
                if item["name"] in seen[section]:
                    continue
                seen[section].add(item["name"])
                body = item.get(inner) or {}
                if not isinstance(body, dict):
                    raise ClusterError(f"kubeconfig {path}: {section} entry {item['name']!r} is not a mapping")
                if inner == "cluster":
                    body = _absolutise(body, _PATH_KEYS["cluster"], base)
                elif inner == "user":
                    body = _fix_user(body, base)
                merged[section].append({"name": item["name"], inner: body})
    return merged


def _kubeconfig_paths(opts: KubeconfigOptions, env: Mapping[str, str]) -> list[Path]:
    if opts.kubeconfig:
        raw = [p for item in opts.kubeconfig for p in item.split(os.pathsep) if p]
    elif env.get("KUBECONFIG"):
        raw = [p for p in env["KUBECONFIG"].split(os.pathsep) if p]
    else:
        raw = []
    paths = [Path(p).expanduser() for p in raw]
    if opts.kubeconfig:
        for p in paths:
            if not p.is_file():
                raise ClusterError(f"kubeconfig {p}: no such file")
        return paths
    return [p for p in paths if p.is_file()]  # kubectl ignores missing files in KUBECONFIG


def load_config(opts: KubeconfigOptions, env: Mapping[str, str] | None = None) -> ClusterConfig:
    """The context to talk to. Raises ClusterError (one line) for a missing file, an unknown context or a
    kubeconfig that names what it does not define."""
    from lightkube import KubeConfig
    from lightkube.config.models import Cluster, User
    from lightkube.core.exceptions import ConfigError

    env = os.environ if env is None else env
    paths = _kubeconfig_paths(opts, env)
    try:
        if paths:
            doc = merge_kubeconfigs(paths)
            if not doc["contexts"]:
                if opts.server:
                    return _server_only(opts.server)
                raise ClusterError(f"kubeconfig {', '.join(map(str, paths))}: no contexts defined")
            kc = KubeConfig.from_dict(doc, fname=paths[0])
        elif Path(opts.service_account_dir, "token").is_file() and env.get("KUBERNETES_SERVICE_HOST"):
            kc = _in_cluster(opts.service_account_dir, env)
        elif opts.server:
            return _server_only(opts.server)
        else:
            default = Path(DEFAULT_KUBECONFIG).expanduser()
            if not default.is_file():
                raise ClusterError("no kubeconfig: give --kubeconfig, set KUBECONFIG, or create ~/.kube/config")
            kc = KubeConfig.from_dict(merge_kubeconfigs([default]), fname=default)
        context = opts.context or kc.current_context or ""
        if not context:
            raise ClusterError("kubeconfig sets no current-context: give --context")
        if context not in kc.contexts:
            raise ClusterError(f"context {context!r} not found in kubeconfig (have: {', '.join(sorted(kc.contexts))})")
        ctx = kc.contexts[context]
        if ctx.cluster not in kc.clusters:
            raise ClusterError(f"context {context!r} names cluster {ctx.cluster!r}, which the kubeconfig does not define")
        if ctx.user and ctx.user not in kc.users:
            raise ClusterError(f"context {context!r} names user {ctx.user!r}, which the kubeconfig does not define")
        single = kc.get(context)
        assert single is not None  # get() with a context name returns it or raises
    except ConfigError as e:
        raise ClusterError(f"kubeconfig: {e}") from e
    if single.user is None:  # a context without a user: anonymous (lightkube wants a user object)
        single = single._replace(user=User())
    if opts.server:
        cluster: Cluster = single.cluster
        single = single._replace(cluster=_replace_server(cluster, opts.server))
    return ClusterConfig(single=single, context=context, cluster_name=ctx.cluster, server=single.cluster.server)


def _replace_server(cluster: Any, server: str) -> Any:
    import msgspec

    return msgspec.structs.replace(cluster, server=server)  # lightkube's config models are msgspec structs


def _in_cluster(sa_dir: str, env: Mapping[str, str]) -> Any:
    """The pod's service account (lightkube's from_service_account, but reading the given environment): the token
    file is re-read when the API server answers 401, as the kubelet rotates it."""
    from lightkube import KubeConfig
    from lightkube.config.models import Cluster, User

    d = Path(sa_dir)
    host, port = env["KUBERNETES_SERVICE_HOST"], env.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        namespace = (d / "namespace").read_text().strip()
    except OSError:
        namespace = "default"
    return KubeConfig.from_one(cluster=Cluster(server=f"https://{host}:{port}", certificate_auth=str(d / "ca.crt")),
                               user=User(token_file=str(d / "token")), namespace=namespace, context_name="in-cluster")


def _server_only(server: str) -> ClusterConfig:
    from lightkube import KubeConfig
    from lightkube.config.models import Cluster, User

    single = KubeConfig.from_one(cluster=Cluster(server=server), user=User()).get()
    return ClusterConfig(single=single, context="", cluster_name=server, server=server)
