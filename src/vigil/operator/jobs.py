"""The scan Job for one image digest, and the Secret that carries its pull credentials.

ClientServer (the default): the Job's one container runs `vigil image <repo@digest> --server S --publish S`:
detection on the vigil server (its DB, no per-Job download; its layer cache), the report sent to the server's store
over HTTP. Standalone: as Trivy Operator's, an init container downloads the DB into the emptyDir the scan then
reads (`--skip-db-update`); the report still goes to the store. The
operator learns that the Job ended from its status and reads the report from the store; nothing is read from pod
logs. One Job per digest, named after it, so a restarted operator finds the Job it created before instead of
creating another. The workload's pull credentials (the first of its imagePullSecrets with an entry for the image's
registry) are copied into a Secret beside the Job, mounted as the scanner's docker config: a pod can mount only
Secrets of its own namespace.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import Any

from vigil.operator.config import OperatorConfig

MANAGED_BY = "vigil-operator"
LABEL_MANAGED = "app.kubernetes.io/managed-by"
LABEL_DIGEST = "vigil.dev/image-digest-hash"  # label values are at most 63 characters: a prefix of the hex
ANN_DIGEST = "vigil.dev/image-digest"
ANN_REF = "vigil.dev/image-ref"
ANN_ATTEMPT = "vigil.dev/attempt"
STORE_LABEL = "vigil.dev/image-digest"  # the store target label the Job publishes with; the operator looks it up
CACHE_DIR = "/tmp/vigil"
DOCKER_CONFIG_DIR = "/var/run/vigil/docker"


def digest_hash(digest: str) -> str:
    return digest.removeprefix("sha256:")[:40]


def job_name(digest: str) -> str:
    return f"vigil-scan-{digest_hash(digest)[:20]}"


def pull_secret_name(digest: str) -> str:
    return f"{job_name(digest)}-pull"


def scan_args(cfg: OperatorConfig, ref: str, digest: str) -> list[str]:
    """The scanner's command line (without the program name). ClientServer: detection on the server. Standalone:
    with the DB the init container put in the cache directory, never updated by the scan itself."""
    server = cfg.server.rstrip("/")
    detect = ["--server", server] if cfg.mode == "ClientServer" else ["--skip-db-update"]
    return ["image", ref, *detect, "--publish", server, "--publish-required", "--publish-name", ref,
            "--publish-label", f"{STORE_LABEL}={digest}", "--scanners", "vuln,secret",
            "--cache-dir", CACHE_DIR, "--format", "json", "--output", f"{CACHE_DIR}/report.json", "--quiet"]


def db_download_args(cfg: OperatorConfig) -> list[str]:
    """Standalone mode's init container: the DB into the cache directory (the emptyDir the scan reads)."""
    repo = ["--db-repository", cfg.db_repository] if cfg.db_repository else []
    return ["image", "--download-db-only", "--cache-dir", CACHE_DIR, *repo, "--quiet"]


def scan_job(cfg: OperatorConfig, digest: str, ref: str, *, attempt: int = 0, pull_config: bytes | None = None,
             workload_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The Job that scans `ref` (repo@digest). `pull_config`: a docker config.json for the registry (then the
    Secret from `pull_secret()` must exist beside the Job)."""
    labels = {LABEL_MANAGED: MANAGED_BY, LABEL_DIGEST: digest_hash(digest), **(workload_labels or {})}
    env: list[dict[str, Any]] = [{"name": "HOME", "value": CACHE_DIR}]
    if cfg.server_token_secret:
        ref_token = {"secretKeyRef": {"name": cfg.server_token_secret, "key": "token"}}
        env += [{"name": "VIGIL_TOKEN", "valueFrom": ref_token}, {"name": "VIGIL_PUBLISH_TOKEN", "valueFrom": ref_token}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": CACHE_DIR}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "4Gi"}}]
    if pull_config is not None:
        env.append({"name": "DOCKER_CONFIG", "value": DOCKER_CONFIG_DIR})
        mounts.append({"name": "docker-config", "mountPath": DOCKER_CONFIG_DIR, "readOnly": True})
        volumes.append({"name": "docker-config", "secret": {
            "secretName": pull_secret_name(digest), "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}})
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": cfg.scan_job_service_account,
        "automountServiceAccountToken": False,  # the scanner never talks to the API server
        "securityContext": copy.deepcopy(cfg.scan_job_pod_security_context),
        "affinity": copy.deepcopy(cfg.scan_job_affinity) or {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}},
        "containers": [{
            "name": "scan", "image": cfg.scanner_image, "imagePullPolicy": "IfNotPresent",
            "command": ["vigil"], "args": scan_args(cfg, ref, digest), "env": env,
            "resources": copy.deepcopy(cfg.scan_job_resources),
            "securityContext": copy.deepcopy(cfg.scan_job_container_security_context),
            "volumeMounts": mounts}],
        "volumes": volumes,
    }
    if cfg.mode == "Standalone":
        main = pod_spec["containers"][0]
        pod_spec["initContainers"] = [{
            "name": "download-db", "image": cfg.scanner_image, "imagePullPolicy": "IfNotPresent",
            "command": ["vigil"], "args": db_download_args(cfg),
            "env": [e for e in env if e["name"] == "HOME"],  # no pull credentials, no server token
            "resources": copy.deepcopy(cfg.scan_job_resources),
            "securityContext": copy.deepcopy(cfg.scan_job_container_security_context),
            "volumeMounts": [m for m in main["volumeMounts"] if m["name"] == "tmp"]}]
    if cfg.scan_job_node_selector:
        pod_spec["nodeSelector"] = dict(cfg.scan_job_node_selector)
    if cfg.scan_job_tolerations:
        pod_spec["tolerations"] = copy.deepcopy(cfg.scan_job_tolerations)
    if cfg.scan_job_priority_class_name:
        pod_spec["priorityClassName"] = cfg.scan_job_priority_class_name
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name(digest), "namespace": cfg.namespace, "labels": labels,
                     "annotations": {ANN_DIGEST: digest, ANN_REF: ref, ANN_ATTEMPT: str(attempt)}},
        "spec": {"backoffLimit": 0,  # retries are the operator's, with its backoff
                 "completions": 1, "activeDeadlineSeconds": cfg.scan_job_timeout_seconds,
                 "template": {"metadata": {"labels": labels}, "spec": pod_spec}},
    }


def pull_secret(cfg: OperatorConfig, digest: str, docker_config: bytes) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": pull_secret_name(digest), "namespace": cfg.namespace,
                         "labels": {LABEL_MANAGED: MANAGED_BY, LABEL_DIGEST: digest_hash(digest)}},
            "data": {".dockerconfigjson": base64.b64encode(docker_config).decode()}}


def job_state(job: dict[str, Any]) -> str:
    """"succeeded", "failed" or "running" from a Job's status (conditions first, then counters)."""
    status = job.get("status") or {}
    for cond in status.get("conditions") or ():
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "SuccessCriteriaMet"):
            return "succeeded"
        if cond.get("status") == "True" and cond.get("type") in ("Failed", "FailureTarget"):
            return "failed"
    if status.get("succeeded"):
        return "succeeded"
    if status.get("failed"):
        return "failed"
    return "running"


def failure_reason(job: dict[str, Any]) -> str:
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Failed" and cond.get("status") == "True":
            return str(cond.get("reason") or "Failed")
    return "Failed"


def spec_hash(obj: Any) -> str:
    import json

    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
