"""The operator's settings, read from a YAML file (`vigil operator --config`) and flags.

Names follow Trivy Operator's Helm values where one exists (`excludeNamespaces`, `scanJobNodeSelector`,
`scanJobTolerations`, `scanJobsConcurrentLimit`, …) so a Trivy Operator user finds them; decoding is strict (an
unknown key is an error, not silently ignored)."""

from __future__ import annotations

import copy
import fnmatch
from typing import Any, Literal

import msgspec

from vigil.errors import UserError

InstallMode = Literal["AllNamespaces", "ListOfNamespaces", "OwnNamespace"]
ScanMode = Literal["ClientServer", "Standalone"]

# What a scan Job's containers run with unless the config says otherwise: no root, nothing writable but the
# emptyDir volumes, no capabilities, the runtime's default seccomp profile (the restricted Pod Security Standard).
DEFAULT_POD_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
    "seccompProfile": {"type": "RuntimeDefault"}}
DEFAULT_CONTAINER_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False, "privileged": False,
    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
DEFAULT_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "4Gi"}}


class OperatorConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    # where the operator runs and what it watches
    namespace: str = "vigil-system"  # its own namespace: scan Jobs run here
    install_mode: InstallMode = "AllNamespaces"
    target_namespaces: list[str] = []  # ListOfNamespaces
    exclude_namespaces: list[str] = []  # globs, in every mode
    skip_label: str = "vigil.dev/skip"  # a workload or namespace labelled <skip_label>=true is not scanned
    # Trivy Operator's skipResourceByLabels: a workload or namespace carrying any of these label keys (whatever
    # the value) is not scanned
    skip_resource_by_labels: list[str] = []
    cluster_name: str = "cluster"
    # the vigil server: shared DB, layer cache and report store
    server: str = "http://vigil-server.vigil-system:4954"
    server_token_secret: str = ""  # Secret in `namespace` with key "token": sent to the server by the scan Jobs
    # how often the server's DB version is read: a new DB re-matches every scanned digest's packages (no Job)
    db_poll_seconds: float = 30.0
    # scan Jobs. ClientServer: detection on the server, no DB in the Job. Standalone: an init container downloads
    # the DB (from db_repository) into an emptyDir the scan then reads, as Trivy Operator's Standalone mode does;
    # the report still goes to the server's store.
    mode: ScanMode = "ClientServer"
    db_repository: str = ""  # Standalone: where the init container pulls the DB from ("": vigil's default)
    scanner_image: str = "ghcr.io/vigil-scanner/vigil:latest"
    scan_job_node_selector: dict[str, str] = {}
    scan_job_tolerations: list[dict[str, Any]] = []
    scan_job_affinity: dict[str, Any] = {}
    scan_job_resources: dict[str, Any] = msgspec.field(default_factory=lambda: copy.deepcopy(DEFAULT_RESOURCES))
    scan_job_priority_class_name: str = ""
    scan_job_service_account: str = "vigil-scanner"
    scan_job_pod_security_context: dict[str, Any] = msgspec.field(default_factory=lambda: copy.deepcopy(DEFAULT_POD_SECURITY))
    scan_job_container_security_context: dict[str, Any] = msgspec.field(default_factory=lambda: copy.deepcopy(DEFAULT_CONTAINER_SECURITY))
    scan_job_timeout_seconds: int = 300  # activeDeadlineSeconds
    scan_jobs_concurrent_limit: int = 10  # counts running Jobs only; finished ones are deleted at once
    scan_job_retries: int = 3  # failed scans of one digest before its workloads get a failure report
    scan_job_retry_backoff_seconds: float = 30.0  # doubled after each failure
    # reports
    config_audit: bool = True  # ConfigAuditReports and RBAC assessments, in-process (no Jobs)
    # custom Rego checks (keys *.rego; *.json / *.yaml: their data) in this ConfigMap of `namespace`, beside the
    # built-in ones; a change re-evaluates every object (only reports whose result changed are rewritten)
    policies_config_map: str = "vigil-policies"
    check_namespaces: list[str] = msgspec.field(default_factory=lambda: ["user"])
    report_ttl_seconds: int = 86400  # a digest's scan is redone after this long
    rescan_schedule: str = ""  # cron (5 fields, UTC): every digest scanned again by a Job when it fires
    report_max_findings: int = 100  # findings kept in a custom resource; the full report is in the store
    embed_full_reports: bool = False  # keep every finding in the CR, up to report_max_bytes
    report_max_bytes: int = 512 * 1024  # well under etcd's 1.5 MiB object limit
    sbom_reports: bool = True  # SbomReports: the first report_max_components components; every one in the store
    report_max_components: int = 200
    trivy_metric_names: bool = False  # also export Trivy Operator's metric names
    metrics_vuln_id: bool = False  # vigil_vulnerability_id_info: one series per (container, vulnerability)

    def __post_init__(self) -> None:
        if self.install_mode == "ListOfNamespaces" and not self.target_namespaces:
            raise UserError("operator config: installMode ListOfNamespaces needs targetNamespaces")
        if self.scan_jobs_concurrent_limit < 1:
            raise UserError("operator config: scanJobsConcurrentLimit must be at least 1")
        if self.rescan_schedule:
            from vigil.operator.schedule import Cron

            try:
                Cron.parse(self.rescan_schedule)
            except UserError as e:
                raise UserError(f"operator config: rescanSchedule: {e}") from None
        if self.db_poll_seconds <= 0:
            raise UserError("operator config: dbPollSeconds must be positive")
        if self.report_max_bytes > 1_400_000:
            raise UserError("operator config: reportMaxBytes must stay under etcd's 1.5 MiB object limit "
                            "(at most 1400000)")

    def watched(self, namespace: str) -> bool:
        """Whether workloads in `namespace` are scanned (install mode, then the exclusion globs)."""
        if self.install_mode == "OwnNamespace" and namespace != self.namespace:
            return False
        if self.install_mode == "ListOfNamespaces" and not any(fnmatch.fnmatchcase(namespace, g)
                                                               for g in self.target_namespaces):
            return False
        return not any(fnmatch.fnmatchcase(namespace, g) for g in self.exclude_namespaces)

    @property
    def include_globs(self) -> tuple[str, ...]:
        if self.install_mode == "OwnNamespace":
            return (self.namespace,)
        if self.install_mode == "ListOfNamespaces":
            return tuple(self.target_namespaces)
        return ()


def load_config(text: bytes | None, overrides: dict[str, Any]) -> OperatorConfig:
    """The config from YAML `text` (None: defaults) with `overrides` (camelCase keys) on top; one-line errors."""
    import yaml

    data: Any = {}
    if text:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise UserError(f"operator config: not YAML: {str(e).splitlines()[0]}") from e
        if not isinstance(data, dict):
            raise UserError("operator config: expected a mapping at the top level")
    data = {**data, **{k: v for k, v in overrides.items() if v not in (None, "", ())}}
    try:
        return msgspec.convert(data, OperatorConfig)
    except msgspec.ValidationError as e:
        raise UserError(f"operator config: {e}") from e
