"""Choosing the cluster and credentials: kubeconfig merging (KUBECONFIG with several files), contexts, the
in-cluster service account, client certificates, exec plugins; mistakes are one-line ClusterErrors."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from vigil.sources.k8s import ClusterError
from vigil.sources.k8s.client import ClusterClient
from vigil.sources.k8s.kubeconfig import KubeconfigOptions, load_config


def write(path: Path, doc: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def kubeconfig(ctx: str, server: str, user: Mapping[str, object], current: str | None = None,
               cluster_extra: dict[str, object] | None = None) -> dict[str, object]:
    doc: dict[str, object] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": ctx, "cluster": {"server": server, **(cluster_extra or {})}}],
        "users": [{"name": ctx, "user": user}],
        "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": ctx}}]}
    if current:
        doc["current-context"] = current
    return doc


def test_kubeconfig_env_with_several_files_merges_like_kubectl(tmp_path: Path) -> None:
    a = write(tmp_path / "a" / "config", kubeconfig("dev", "https://dev:6443", {"tokenFile": "dev.token"}))
    b = write(tmp_path / "b" / "config", kubeconfig("prod", "https://prod:6443", {"token": "t"}, current="prod"))
    # a third file redefines "dev": the first definition wins
    c = write(tmp_path / "c" / "config", kubeconfig("dev", "https://evil:6443", {"token": "x"}, current="dev"))
    env = {"KUBECONFIG": os.pathsep.join(map(str, (a, tmp_path / "absent", b, c)))}
    cfg = load_config(KubeconfigOptions(), env=env)
    assert (cfg.context, cfg.server) == ("prod", "https://prod:6443")  # current-context: first file that sets one
    dev = load_config(KubeconfigOptions(context="dev"), env=env)
    assert dev.server == "https://dev:6443"
    assert dev.single.user.token_file == str(tmp_path / "a" / "dev.token")  # relative to its own file
    over = load_config(KubeconfigOptions(context="dev", server="https://other:6443"), env=env)
    assert over.server == "https://other:6443" and over.single.cluster.server == "https://other:6443"


def test_kubeconfig_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    a = write(tmp_path / "config", kubeconfig("dev", "https://dev:6443", {"token": "t"}))
    with pytest.raises(ClusterError, match=r"^kubeconfig sets no current-context: give --context$"):
        load_config(KubeconfigOptions(kubeconfig=(str(a),)), env={})
    with pytest.raises(ClusterError, match=r"^context 'nope' not found in kubeconfig \(have: dev\)$"):
        load_config(KubeconfigOptions(kubeconfig=(str(a),), context="nope"), env={})
    with pytest.raises(ClusterError, match="no such file"):
        load_config(KubeconfigOptions(kubeconfig=(str(tmp_path / "missing"),)), env={})
    (tmp_path / "bad").write_text("clusters: [\n")
    with pytest.raises(ClusterError, match="not valid YAML"):
        load_config(KubeconfigOptions(kubeconfig=(str(tmp_path / "bad"),)), env={})


def test_in_cluster_service_account(tmp_path: Path) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token")
    (sa / "namespace").write_text("vigil")
    (sa / "ca.crt").write_text("")
    cfg = load_config(KubeconfigOptions(service_account_dir=str(sa)),
                      env={"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"})
    assert cfg.server == "https://10.0.0.1:443"
    assert cfg.single.user.token_file == str(sa / "token")


def test_exec_plugin_v1_runs_as_v1beta1(tmp_path: Path) -> None:
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "bin/get-token",
                     "args": ["--cluster", "x"], "interactiveMode": "Never"}}
    a = write(tmp_path / "config", kubeconfig("eks", "https://eks:443", user, current="eks"))
    cfg = load_config(KubeconfigOptions(kubeconfig=(str(a),)), env={})
    ex = cfg.single.user.exec
    assert ex.apiVersion == "client.authentication.k8s.io/v1beta1"
    assert ex.command == str(tmp_path / "bin" / "get-token") and ex.args == ["--cluster", "x"]


def test_client_certificates(tmp_path: Path) -> None:
    key, crt = tmp_path / "client.key", tmp_path / "client.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=u",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    user = {"client-certificate": "client.crt", "client-key": "client.key"}
    a = write(tmp_path / "config", kubeconfig("c", "https://127.0.0.1:1", user, current="c",
                                             cluster_extra={"certificate-authority": "client.crt"}))
    cfg = load_config(KubeconfigOptions(kubeconfig=(str(a),)), env={})
    assert cfg.single.user.client_cert == str(crt)

    async def build() -> None:
        async with ClusterClient(cfg):  # the TLS context loads the CA and the client key pair
            pass

    asyncio.run(build())
    crt.write_text("not a certificate")
    with pytest.raises(ClusterError, match="cannot set up TLS"):
        asyncio.run(build())
