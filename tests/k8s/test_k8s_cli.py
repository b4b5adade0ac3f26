"""`vigil k8s` end to end: the CLI in a subprocess against kmock (HTTP) and a private docker-registry."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from tests.cli_helpers import run
from tests.k8s.conftest import Images
from tests.k8s_helpers import KCluster
from tests.registry_helpers import free_port


def k8s(kc: KCluster, tmp_path: Path, *args: str, server: bool = True) -> Any:
    common = ["--cache-dir", str(tmp_path / "cache"), "--insecure"]
    return run("k8s", *(["--api-server", kc.url] if server else []), *common, *args)


def resource(report: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    return next(r for r in report["Resources"] if r["Kind"] == kind and r["Name"] == name)


def test_json_report_one_scan_per_digest(cluster: KCluster, images: Images, tmp_path: Path) -> None:
    p = k8s(cluster, tmp_path, "--scan-pull-secrets", "--scanners", "secret,misconfig,rbac", "--format", "json")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert rep["ClusterName"] == cluster.url and rep["ServerVersion"] == "v1.26.4+k3s1"
    stats = rep["Stats"]
    # alpine by digest (frontend x3, redis-master, trivy-operator), alpine by tag (the crashlooping replica),
    # the proxy/init image by digest, the missing control-plane image: 4 images for 7 containers
    assert (stats["DistinctImages"], stats["ImagesScanned"], stats["ImagesFailed"]) == (4, 3, 1)
    fe = resource(rep, "Deployment", "frontend")
    assert [(i["Container"], i["Digest"]) for i in fe["Images"]] == [("php-redis", images.alpine_digest)]
    assert "Error" not in fe
    master = resource(rep, "Deployment", "redis-master")
    proxy = next(i for i in master["Images"] if i["Container"] == "istio-proxy")
    assert proxy["Injected"] is True and proxy["Digest"] == images.rhel_digest
    # live-object checks on the Deployment (KSV), attached to it
    ids = {m["ID"] for r in fe["Results"] for m in r.get("Misconfigurations", ())}
    assert {"KSV-0001", "KSV-0012", "KSV-0014"} <= ids, ids  # privilege escalation, runs as root, writable root fs
    assert {r["Class"] for r in fe["Results"]} >= {"config"}
    # RBAC checks on the operator's ClusterRole
    cr = [r for r in rep["Resources"] if r["Kind"] == "ClusterRole"]
    assert any(m for r in cr for res in r["Results"] for m in res.get("Misconfigurations", ())), cr
    # the missing image is an error on its pod; the scan went on
    api = resource(rep, "Pod", "kube-apiserver-node1")
    assert api["Error"].startswith("kube-apiserver: unauthorized")  # no pull secret names that registry
    assert [(g["Resource"], g["Namespace"]) for g in rep["Gaps"]] == [("pods", "restricted")]
    assert [c["Name"] for c in rep["Components"]] == ["kube-apiserver"]
    assert rep["Nodes"][0]["KubeletVersion"] == "v1.29.0"


def test_private_images_without_pull_secrets_fail_per_workload(cluster: KCluster, tmp_path: Path) -> None:
    p = k8s(cluster, tmp_path, "--scanners", "secret", "--format", "json",
            "--include-namespaces", "shop", "--include-kinds", "Deployment")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert {r["Name"] for r in rep["Resources"]} == {"frontend", "redis-master", "redis-replica"}
    for r in rep["Resources"]:
        assert "unauthorized" in r["Error"].lower(), r
        assert r["Error"].endswith("(the workload names imagePullSecrets: --scan-pull-secrets uses them)")
    assert not [r for r in cluster.km if "secrets" in str(r.url)]


def test_summary_table_and_all(cluster: KCluster, tmp_path: Path) -> None:
    p = k8s(cluster, tmp_path, "--scan-pull-secrets", "--scanners", "misconfig,rbac,secret")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "Summary Report for" in out and "Namespace" in out and "Deployment/frontend" in out
    assert "Not scanned (the scan is incomplete):" in out and "restricted" in out
    assert "Images that could not be scanned:" in out and "kube-apiserver" in out
    p = k8s(cluster, tmp_path, "--scan-pull-secrets", "--scanners", "misconfig", "--report", "all",
            "--include-namespaces", "shop")
    assert p.returncode == 0, p.stderr
    assert "shop/Deployment/frontend" in p.stdout and "KSV" in p.stdout


def test_exit_code_severity_and_formats(cluster: KCluster, tmp_path: Path) -> None:
    args = ("--scanners", "misconfig", "--include-namespaces", "shop")
    p = k8s(cluster, tmp_path, *args, "--exit-code", "5")
    assert p.returncode == 5, p.stderr
    p = k8s(cluster, tmp_path, *args, "--exit-code", "5", "--severity", "CRITICAL", "--format", "json")
    rep = json.loads(p.stdout)
    sev = {m["Severity"] for r in rep["Resources"] for res in r["Results"] for m in res.get("Misconfigurations", ())}
    assert sev <= {"CRITICAL"}
    assert p.returncode == (5 if sev else 0)
    p = k8s(cluster, tmp_path, *args, "--format", "sarif")
    assert p.returncode == 0, p.stderr
    sarif = json.loads(p.stdout)
    assert sarif["runs"][0]["results"]
    p = k8s(cluster, tmp_path, "--scan-pull-secrets", "--scanners", "secret", "--format", "cyclonedx",
            "--include-namespaces", "shop,kube-system")
    assert p.returncode == 0, p.stderr
    bom = json.loads(p.stdout)
    assert bom["metadata"]["component"]["type"] == "platform"
    types = {c["type"] for c in bom["components"]}
    assert {"platform", "application", "container"} <= types
    hashes = {h["content"] for c in bom["components"] for h in c.get("hashes", ())}
    assert any(len(h) == 64 for h in hashes)
    p = k8s(cluster, tmp_path, "--format", "spdx")
    assert p.returncode == 2 and "vigil k8s writes" in p.stderr


def test_unreachable_cluster(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    p = run("k8s", "--api-server", url, "--scanners", "misconfig", "--cache-dir", str(tmp_path))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: cannot reach the Kubernetes API server at {url}: ")


def _exec_kubeconfig(tmp_path: Path, url: str, token: str) -> Path:
    plugin = tmp_path / "bin" / "fake-get-token"
    plugin.parent.mkdir()
    plugin.write_text("#!/bin/sh\n"
                      'echo \'{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", '
                      f'"status": {{"token": "{token}"}}}}\'\n')
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: kmock
  cluster: {{server: "{url}"}}
users:
- name: eks-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: bin/fake-get-token
      interactiveMode: Never
contexts:
- name: eks
  context: {{cluster: kmock, user: eks-user}}
current-context: eks
""")
    return cfg


def test_exec_plugin_kubeconfig(cluster: KCluster, tmp_path: Path) -> None:
    cluster.token = "token-from-plugin"
    cfg = _exec_kubeconfig(tmp_path, cluster.url, "token-from-plugin")
    p = run("k8s", "--kubeconfig", str(cfg), "--scanners", "rbac", "--format", "json", "--cache-dir",
            str(tmp_path / "c"))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ClusterName"] == "kmock"
    assert cluster.auth_headers and set(cluster.auth_headers) == {"Bearer token-from-plugin"}


def test_expired_token_is_one_line_exit_2(cluster: KCluster, tmp_path: Path) -> None:
    cluster.token = "the-new-token"
    cfg = _exec_kubeconfig(tmp_path, cluster.url, "an-expired-token")
    env = {"KUBECONFIG": f"{tmp_path / 'missing'}{os.pathsep}{cfg}"}  # KUBECONFIG with several files
    p = run("k8s", "--scanners", "rbac", "--cache-dir", str(tmp_path / "c"), env=env)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: unauthorized:") and "context eks" in lines[0]


def test_vulnerabilities_fan_out_to_every_workload_of_a_digest(cluster: KCluster, images: Images, fixture_db: Path,
                                                                tmp_path: Path) -> None:
    p = k8s(cluster, tmp_path, "--scan-pull-secrets", "--scanners", "vuln", "--format", "json",
            "--db-path", str(fixture_db), "--include-namespaces", "shop,trivy-system", "--parallel", "2")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert rep["Stats"]["ImagesScanned"] == rep["Stats"]["DistinctImages"] == 3

    def vulns(kind: str, name: str, container: str) -> list[tuple[str, str]]:
        r = resource(rep, kind, name)
        assert any(i["Container"] == container for i in r["Images"])
        return sorted((v["VulnerabilityID"], v["PkgName"]) for res in r["Results"]
                      for v in res.get("Vulnerabilities", ()) if images.alpine_digest in res["Target"])

    fe = vulns("Deployment", "frontend", "php-redis")
    assert fe, "the alpine-like image has known-vulnerable packages in the fixture DB"
    assert vulns("Deployment", "trivy-operator", "trivy-operator") == fe  # same digest: same findings, one scan


def test_kubelet_and_api_server_versions_matched_against_kubernetes_advisories(
        cluster: KCluster, full_db: Path, tmp_path: Path) -> None:
    cluster.add({"kind": "Node", "metadata": {"name": "old-node"}, "status": {"nodeInfo": {
        "kubeletVersion": "v1.20.0-eks-1234567", "kubeProxyVersion": "v1.20.0"}}})
    p = k8s(cluster, tmp_path, "--scanners", "vuln", "--format", "json", "--db-path", str(full_db),
            "--include-namespaces", "default")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    old = resource(rep, "Node", "old-node")
    assert {r["Target"] for r in old["Results"]} == {"Node/old-node (kubelet)", "Node/old-node (kube-proxy)"}
    kubelet = next(r for r in old["Results"] if r["Target"].endswith("(kubelet)"))
    assert kubelet["Vulnerabilities"] and {v["PkgName"] for v in kubelet["Vulnerabilities"]} == {"k8s.io/kubernetes"}
    assert {v["InstalledVersion"] for v in kubelet["Vulnerabilities"]} == {"v1.20.0"}
    api = [r for r in rep["Resources"] if r["Kind"] == "ControlPlane"]
    assert api and api[0]["Name"] == "kube-apiserver"  # v1.26.4+k3s1 as v1.26.4


def test_client_mode_detects_on_a_vigil_server(cluster: KCluster, fixture_db: Path, tmp_path: Path) -> None:
    import shutil

    from tests.integration.test_server import start_server

    db = tmp_path / "server-db" / "vigil.db"
    db.parent.mkdir()
    shutil.copy2(fixture_db, db)
    (tmp_path / "token").write_text("k8s-token\n")
    server = start_server(tmp_path, db, "--token-file", str(tmp_path / "token"))
    try:
        args = ("--scan-pull-secrets", "--scanners", "vuln", "--format", "json", "--include-namespaces", "shop")
        local = json.loads(k8s(cluster, tmp_path, *args, "--db-path", str(db)).stdout)
        p = k8s(cluster, tmp_path, *args, "--server", server.url, "--token", "k8s-token")
        assert p.returncode == 0, p.stderr
        remote = json.loads(p.stdout)
    finally:
        server.stop()

    def vulns(rep: dict[str, Any]) -> list[tuple[str, str, str]]:
        return sorted((r["Name"], v["VulnerabilityID"], v["PkgName"]) for r in rep["Resources"]
                      for res in r["Results"] for v in res.get("Vulnerabilities", ()))

    assert vulns(remote) and vulns(remote) == vulns(local)


def test_failing_exec_plugin_is_one_line_exit_2(cluster: KCluster, tmp_path: Path) -> None:
    cfg = _exec_kubeconfig(tmp_path, cluster.url, "unused")
    (tmp_path / "bin" / "fake-get-token").write_text("#!/bin/sh\necho 'the SSO session has expired' >&2\nexit 1\n")
    p = run("k8s", "--kubeconfig", str(cfg), "--scanners", "rbac", "--cache-dir", str(tmp_path / "c"))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: credentials of context eks: "), lines
    assert "returned 1" in lines[0]
