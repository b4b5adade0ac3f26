"""The vigil-operator Helm chart, rendered by the real Helm engine: lint, every object against the Kubernetes
OpenAPI schemas of two minor versions, the restricted pod security settings, the operator's config as the operator
reads it, `vigil config` on the chart (no HIGH/CRITICAL), and the generated files (CRDs, values table, rules,
dashboard) current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.chart import CHART, NAMESPACE, REPO, crds, find, objects, render

KUBE_VERSIONS = ("1.29.0", "1.33.0")  # two minor versions the rendered objects must validate against

# Non-default values: each renders, validates and gives a config the operator accepts.
MATRIX: dict[str, dict[str, Any]] = {
    "list-of-namespaces": {"operator": {"installMode": "ListOfNamespaces", "targetNamespaces": ["shop", "web"]}},
    "own-namespace": {"operator": {"installMode": "OwnNamespace", "configAudit": False}},
    "external-server": {"server": {"enabled": False}, "externalServer": {"url": "https://vigil.example.com"},
                        "auth": {"existingSecret": "vigil-token"}},
    "postgres-redis-no-pvc": {"server": {"persistence": {"enabled": False},
                                         "externalDatabase": {"existingSecret": "vigil-store"},
                                         "externalRedis": {"url": "redis://redis.cache:6379/0"}}},
    "air-gapped-mirrors": {"server": {"dbRepositories": ["oci://mirror.internal/vigil/db:1",
                                                         "https://mirror.internal/vigil-db/"],
                                      "skipDbUpdate": True},
                           "image": {"repository": "mirror.internal/vigil/vigil", "tag": "0.1.0"},
                           "imagePullSecrets": ["mirror-cred"]},
    "scan-jobs": {"scanJob": {
        "nodeSelector": {"pool": "scanners"},
        "tolerations": [{"key": "scanners", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}]}}},
        "resources": {"limits": {"cpu": "2", "memory": "2Gi"}}, "priorityClassName": "low",
        "concurrentLimit": 3, "timeoutSeconds": 900, "retries": 5, "retryBackoffSeconds": 60}},
    "private-registries": {"privateRegistry": {"readPullSecrets": True, "secretNames": ["regcred"]}},
    "standalone-schedule": {"scanJob": {"mode": "Standalone"}, "reports": {"rescanSchedule": "0 3 * * *"},
                            "server": {"dbRepositories": ["oci://mirror.internal/vigil/db:1"]},
                            "metrics": {"vulnerabilityIdInfo": True}},
    "metrics-options": {"metrics": {"trivyMetricNames": True,
                                    "serviceMonitor": {"labels": {"release": "kube-prometheus"}},
                                    "prometheusRule": {"labels": {"release": "kube-prometheus"},
                                                       "disabled": ["VigilCriticalVulnerabilities"],
                                                       "alertLabels": {"team": "security"},
                                                       "runbookBaseUrl": "https://runbooks.example.com/vigil"},
                                    "grafanaDashboard": {"namespace": "monitoring", "folder": "Vigil"}},
                        "reports": {"ttlSeconds": 43200}},
    "ingress": {"server": {"ingress": {"enabled": True, "className": "nginx", "host": "vigil.example.com",
                                       "tlsSecretName": "vigil-tls",
                                       "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}}}},
    "two-replicas": {"operator": {"replicas": 2}},
    "peering-own-namespace": {"operator": {"installMode": "OwnNamespace", "peering": {"enabled": True}}},
    "no-monitoring": {"metrics": {"serviceMonitor": {"enabled": False}, "prometheusRule": {"enabled": False},
                                  "grafanaDashboard": {"enabled": False}}},
}


def _validate(obj: dict[str, Any], version: str) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(obj, version, strict=True)


PROMETHEUS_OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}
KOPF_PEERING_KINDS = {"ClusterKopfPeering", "KopfPeering"}  # checked against their CRDs by test_peering_objects


def _check_all(objs: list[dict[str, Any]]) -> None:
    for version in KUBE_VERSIONS:
        for obj in objs:
            if obj["kind"] in PROMETHEUS_OPERATOR_KINDS | KOPF_PEERING_KINDS:
                continue  # not Kubernetes' own kinds: checked by test_monitoring_objects, test_peering_objects
            try:
                _validate(obj, version)
            except Exception as e:  # the validator's message names the field
                raise AssertionError(f"{obj['kind']}/{obj['metadata']['name']} on {version}: {e}") from None


def test_default_values_render_and_validate() -> None:
    objs = objects(render())
    kinds = sorted({o["kind"] for o in objs})
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "PrometheusRule", "Role",
                     "RoleBinding", "Secret", "Service", "ServiceAccount", "ServiceMonitor", "StatefulSet"]
    _check_all(objs + crds())
    for o in objs:
        if o["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert o["metadata"]["namespace"] == NAMESPACE, o["metadata"]["name"]


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_values_matrix_renders_and_validates(case: str) -> None:
    objs = objects(render(MATRIX[case]))
    _check_all(objs)
    _operator_config(objs)  # the operator accepts its config file


def test_a_broken_object_fails_validation() -> None:
    """The validation is strict: an unknown field or a wrong type in a rendered object is an error."""
    dep = find(objects(render()), "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = "yes"
    with pytest.raises(Exception, match="yes"):
        _validate(dep, KUBE_VERSIONS[0])
    dep = find(objects(render()), "Deployment")
    dep["spec"]["replica"] = 2
    with pytest.raises(Exception, match="replica"):
        _validate(dep, KUBE_VERSIONS[1])


def test_bad_values_are_one_line_errors() -> None:
    import helm_python as helm

    with pytest.raises(helm.HelmError, match="targetNamespaces is required"):
        render({"operator": {"installMode": "ListOfNamespaces"}})
    with pytest.raises(helm.HelmError, match="is a glob"):
        render({"operator": {"installMode": "ListOfNamespaces", "targetNamespaces": ["team-*"]}})
    with pytest.raises(helm.HelmError, match=r"externalServer\.url is required"):
        render({"server": {"enabled": False}})
    # values.schema.json: Helm checks types, enums and key names before rendering
    for values, says in (({"operator": {"installMode": "All"}}, "installMode"),
                         ({"scanJob": {"concurrentLimit": 0}}, "concurrentLimit"),
                         ({"scanJob": {"timeoutSeconds": "5m"}}, "timeoutSeconds"),
                         ({"operater": {"installMode": "AllNamespaces"}}, "operater"),
                         ({"metrics": {"serviceMonitor": {"enable": True}}}, "enable")):
        with pytest.raises(helm.HelmError, match=says) as err:
            render(values)
        assert "schema" in str(err.value), err.value


def test_helm_lint() -> None:
    import helm_python as helm

    for values in ({}, *MATRIX.values()):
        report = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE, kube_version="v1.31.0")
        problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
        assert not problems, problems


def test_chart_metadata() -> None:
    import vigil

    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["name"] == CHART.name == "vigil-operator"
    assert meta["type"] == "application" and meta["description"] and meta["kubeVersion"]
    assert meta["appVersion"] == vigil.__version__  # the image tag by default
    parts = str(meta["version"]).split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def _operator_config(objs: list[dict[str, Any]]) -> Any:
    from vigil.operator.config import OperatorConfig, load_config

    text = find(objs, "ConfigMap", "-config")["data"]["operator.yaml"]
    data = yaml.safe_load(text)
    for key, field in NEWER_OPERATOR_KEYS.items():
        if key in data and field not in OperatorConfig.__struct_fields__:
            data.pop(key)  # not in this operator version yet: the chart writes it only when the value is set
    return load_config(yaml.safe_dump(data).encode(), {})


# config keys of operator features the chart can switch on (written only when set): camelCase -> field name
NEWER_OPERATOR_KEYS = {"metricsVulnId": "metrics_vuln_id", "mode": "mode", "dbRepository": "db_repository",
                       "rescanSchedule": "rescan_schedule"}


def test_newer_operator_keys_only_when_set() -> None:
    default = yaml.safe_load(find(objects(render()), "ConfigMap", "-config")["data"]["operator.yaml"])
    assert not set(default) & set(NEWER_OPERATOR_KEYS)
    data = yaml.safe_load(find(objects(render(MATRIX["standalone-schedule"])), "ConfigMap", "-config")["data"][
        "operator.yaml"])
    assert {k: data[k] for k in NEWER_OPERATOR_KEYS} == {
        "metricsVulnId": True, "mode": "Standalone", "dbRepository": "oci://mirror.internal/vigil/db:1",
        "rescanSchedule": "0 3 * * *"}


def test_operator_config_follows_the_values() -> None:
    objs = objects(render(MATRIX["scan-jobs"] | MATRIX["list-of-namespaces"]))
    cfg = _operator_config(objs)
    assert cfg.namespace == NAMESPACE and cfg.install_mode == "ListOfNamespaces"
    assert cfg.target_namespaces == ["shop", "web"]
    assert cfg.scan_job_node_selector == {"pool": "scanners"} and cfg.scan_jobs_concurrent_limit == 3
    assert cfg.scan_job_timeout_seconds == 900 and cfg.scan_job_retries == 5
    assert cfg.scan_job_priority_class_name == "low" and cfg.scan_job_tolerations[0]["key"] == "scanners"
    # the scan Jobs run as the chart's scanner account with the shared token, against the chart's server
    sa = find(objs, "ServiceAccount", "-scanner")
    assert cfg.scan_job_service_account == sa["metadata"]["name"] and sa["automountServiceAccountToken"] is False
    assert cfg.server == f"http://vigil-operator-server.{NAMESPACE}.svc:4954"
    assert cfg.server_token_secret == find(objs, "Secret")["metadata"]["name"]
    assert find(objs, "Service", "-server")["spec"]["ports"][0]["port"] == 4954


PSS_CONTAINER = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                 "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


@pytest.mark.parametrize("case", ["default", "postgres-redis-no-pvc"])
def test_pods_are_restricted_with_probes_and_resources(case: str) -> None:
    objs = objects(render(MATRIX.get(case, {})))
    for kind in ("Deployment", "StatefulSet"):
        pod = find(objs, kind)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for c in pod["containers"]:
            assert c["securityContext"] == PSS_CONTAINER, (kind, c["name"])
            assert c["livenessProbe"] and c["readinessProbe"], (kind, c["name"])
            assert c["resources"]["requests"] and c["resources"]["limits"], (kind, c["name"])
            # a read-only root filesystem: every place written to is a volume
            assert "/tmp" in {m["mountPath"] for m in c["volumeMounts"]}


def test_server_storage_and_externals() -> None:
    sts = find(objects(render()), "StatefulSet")
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data" and claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    sts = find(objects(render(MATRIX["postgres-redis-no-pvc"])), "StatefulSet")
    assert "volumeClaimTemplates" not in sts["spec"]
    c = sts["spec"]["template"]["spec"]["containers"][0]
    assert "--cache-backend=redis://redis.cache:6379/0" in c["args"]
    assert {"name": "VIGIL_STORE", "valueFrom": {"secretKeyRef": {"name": "vigil-store", "key": "url"}}} in c["env"]
    c = find(objects(render(MATRIX["air-gapped-mirrors"])), "StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    assert "--db-repository=oci://mirror.internal/vigil/db:1,https://mirror.internal/vigil-db/" in c["args"]
    assert "--skip-db-update" in c["args"] and c["image"] == "mirror.internal/vigil/vigil:0.1.0"
    # the server's own CLI accepts the arguments the chart gives it
    from vigil.shells.cli.main import cli

    cmd = cli.get_command(None, "server")  # type: ignore[arg-type]
    ctx = cmd.make_context("server", list(c["args"][1:]), resilient_parsing=True)
    assert ctx.params["skip_db_update"] is True and ctx.params["listen"] == "0.0.0.0:4954"


def test_token_secret_generated_once_and_kept() -> None:
    objs = objects(render())
    secret = find(objs, "Secret")
    import base64

    token = base64.b64decode(secret["data"]["token"]).decode()
    assert len(token) == 40 and token.isalnum()
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    # on upgrade the template reads the Secret already in the cluster (offline rendering has no cluster: a new one)
    tpl = (CHART / "templates" / "token-secret.yaml").read_text()
    assert 'lookup "v1" "Secret" .Release.Namespace $name' in tpl
    # everything that uses the token names this Secret
    name = secret["metadata"]["name"]
    dep = find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "VIGIL_TOKEN", "valueFrom": {"secretKeyRef": {"name": name, "key": "token"}}} in dep["env"]
    sts = find(objs, "StatefulSet")["spec"]["template"]["spec"]
    assert {v["name"]: v for v in sts["volumes"]}["token"]["secret"]["secretName"] == name
    # an existing Secret instead: none generated, the same references
    objs = objects(render({"auth": {"existingSecret": "mine"}}))
    assert not [o for o in objs if o["kind"] == "Secret"]
    assert _operator_config(objs).server_token_secret == "mine"


def test_monitoring_objects_follow_the_cluster_and_the_values() -> None:
    kinds = {o["kind"] for o in objects(render(monitoring=False))}
    assert not kinds & PROMETHEUS_OPERATOR_KINDS  # no CRD to create them against: left out, not failing
    forced = {"metrics": {"serviceMonitor": {"force": True}, "prometheusRule": {"force": True}}}
    assert {o["kind"] for o in objects(render(forced, monitoring=False))} >= PROMETHEUS_OPERATOR_KINDS
    objs = objects(render())
    sm = find(objs, "ServiceMonitor")
    assert sm["spec"]["jobLabel"] == "vigil.dev/job"
    jobs = {s["metadata"]["labels"]["vigil.dev/job"]: s for s in objs if s["kind"] == "Service"}
    assert set(jobs) == {"vigil-operator", "vigil-server"}
    for ep in sm["spec"]["endpoints"]:
        assert any(p["name"] == ep["port"] for s in jobs.values() for p in s["spec"]["ports"])
        assert {"targetLabel": "cluster", "replacement": "cluster"} in ep["relabelings"]
    cm = find(objs, "ConfigMap", "-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"]["vigil-operator.json"]) == json.loads(
        (CHART / "files" / "vigil-dashboard.json").read_text())


def test_prometheus_rule_is_the_rules_file() -> None:
    """One source: the PrometheusRule of the default values is the plain rules file, rule for rule."""
    plain = yaml.safe_load((CHART / "files" / "vigil-alerts.rules.yaml").read_text())
    rule = find(objects(render()), "PrometheusRule")
    assert rule["spec"] == plain
    # the values change it: TTL, left-out alerts, labels, runbooks
    objs = objects(render(MATRIX["metrics-options"]))
    rules = {r["alert"]: r for r in find(objs, "PrometheusRule")["spec"]["groups"][0]["rules"]}
    assert "VigilCriticalVulnerabilities" not in rules and len(rules) == len(plain["groups"][0]["rules"]) - 1
    assert rules["VigilWorkloadNotScanned"]["expr"].endswith("> 2 * 43200")
    assert all(r["labels"]["team"] == "security" and r["labels"]["severity"] for r in rules.values())
    assert rules["VigilExposedSecret"]["annotations"]["runbook_url"] == \
        "https://runbooks.example.com/vigil#vigilexposedsecret"
    assert find(objs, "PrometheusRule")["metadata"]["labels"]["release"] == "kube-prometheus"
    assert find(objs, "ConfigMap", "-dashboard")["metadata"]["namespace"] == "monitoring"


def _vigil_config(sets: list[str], tmp: Path) -> list[tuple[str, str, str]]:
    args = [sys.executable, "-m", "vigil.shells.cli.main", "config", str(CHART), "--format", "json",
            "--severity", "HIGH,CRITICAL", "--cache-dir", str(tmp), "--quiet"]
    if sets:
        args += ["--helm-set", ",".join(sets)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    scanned = [r["Target"] for r in report.get("Results", [])]
    assert "templates/rbac.yaml" in scanned and "templates/operator-deployment.yaml" in scanned, scanned
    return [(r["Target"], m["ID"], m["Message"]) for r in report["Results"]
            for m in r.get("Misconfigurations") or [] if m.get("Status") == "FAIL"]


@pytest.mark.parametrize("sets", [[], ["privateRegistry.readPullSecrets=true", "server.ingress.enabled=true",
                                       "operator.installMode=ListOfNamespaces", "operator.targetNamespaces={shop}"],
                                  ["server.enabled=false", "externalServer.url=https://vigil.example.com",
                                   "metrics.serviceMonitor.force=true", "metrics.prometheusRule.force=true"],
                                  ["operator.replicas=2"],
                                  ["operator.installMode=ListOfNamespaces", "operator.targetNamespaces={shop}",
                                   "operator.peering.enabled=true"]])
def test_vigil_config_finds_nothing_high_on_the_chart(sets: list[str], tmp_path: Path) -> None:
    """Dogfooding: `vigil config` on the chart (rendered by its Helm engine) reports no HIGH or CRITICAL."""
    assert _vigil_config(sets, tmp_path) == []


def test_vigil_config_names_the_cluster_wide_pull_secret_opt_in(tmp_path: Path) -> None:
    """Reading pull secrets in every namespace is a cluster-wide get on Secrets: the one CRITICAL finding, only when
    that is asked for (resourceNames do not change the check's verdict, as in Trivy)."""
    found = _vigil_config(["privateRegistry.readPullSecrets=true"], tmp_path)
    assert [(t, i) for t, i, _ in found] == [("templates/rbac.yaml", "KSV-0041")]
    assert "vigil-operator-pull-secrets" in found[0][2]


def test_generated_files_are_current() -> None:
    from tools.gen_crds import KINDS, file_name
    from tools.gen_crds import render as render_crd

    for kind in KINDS:
        committed = (CHART / "crds" / file_name(kind)).read_text()
        assert committed == (REPO / "deploy" / "crds" / file_name(kind)).read_text() == render_crd(kind), \
            f"{kind}: run tools/gen_crds.py"
    # besides them only kopf's two peering CRDs
    assert len(list((CHART / "crds").glob("*.yaml"))) == len(KINDS) + 2
    for tool in ("gen_observability.py", "gen_chart_docs.py"):
        proc = subprocess.run([sys.executable, str(REPO / "tools" / tool), "--check"], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr


def test_every_value_is_documented() -> None:
    from tools.gen_chart_docs import documented, undocumented

    text = (CHART / "values.yaml").read_text()
    assert undocumented(yaml.safe_load(text), documented(text)) == []
    # the schema's hand-given facts name real keys of the right kinds
    from tools.gen_chart_docs import ENUMS, NUMBERS, POSITIVE, STRING_LISTS, _get

    values = yaml.safe_load(text)
    assert all(isinstance(_get(values, k), list) for k in STRING_LISTS)
    assert all(isinstance(_get(values, k), int) for k in NUMBERS | POSITIVE)
    assert all(_get(values, k) in allowed for k, allowed in ENUMS.items())
    # and the check catches a key without a comment
    bad = text.replace("  # -- Seconds between reconcile passes", "  # Seconds between reconcile passes")
    assert undocumented(yaml.safe_load(bad), documented(bad)) == ["operator.interval"]


@pytest.mark.parametrize("case", ["default", "metrics-options"])
def test_rendered_prometheus_rule_passes_promtool(case: str, tmp_path: Path) -> None:
    """What the PrometheusRule carries (after the values changed it) is a valid rules file."""
    import shutil

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian prometheus) not installed")
    spec = find(objects(render(MATRIX.get(case, {}))), "PrometheusRule")["spec"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec))
    proc = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yaml")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# The ServiceMonitor fields the chart writes, as the Prometheus Operator's monitoring.coreos.com/v1 API defines
# them (a subset: an unknown or misspelt field fails, as the CRD's structural schema would prune or reject it).
_SERVICE_MONITOR = {
    "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"const": "ServiceMonitor"},
        "metadata": {"type": "object"},
        "spec": {"type": "object", "additionalProperties": False, "required": ["selector", "endpoints"], "properties": {
            "jobLabel": {"type": "string"},
            "selector": {"type": "object", "additionalProperties": False, "properties": {
                "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "namespaceSelector": {"type": "object", "additionalProperties": False, "properties": {
                "matchNames": {"type": "array", "items": {"type": "string"}}}},
            "endpoints": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False, "required": ["port"], "properties": {
                    "port": {"type": "string"}, "path": {"type": "string"},
                    "interval": {"type": "string", "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?"
                                                              "(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"},
                    "relabelings": {"type": "array", "items": {
                        "type": "object", "additionalProperties": False, "properties": {
                            "targetLabel": {"type": "string"}, "replacement": {"type": "string"},
                            "sourceLabels": {"type": "array"}, "action": {"type": "string"}}}}}}}}}}}


def test_service_monitor_fields() -> None:
    import jsonschema

    for case in ("default", "metrics-options", "external-server"):
        sm = find(objects(render(MATRIX.get(case, {}))), "ServiceMonitor")
        jsonschema.validate(sm, _SERVICE_MONITOR)
    sm["spec"]["endpoints"][0]["scrapeInterval"] = "30s"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sm, _SERVICE_MONITOR)


def test_dashboard_shape() -> None:
    """Grafana's dashboard model: current schema version, the data source as a variable used by every panel and
    query, the cluster/namespace/severity variables, unique panel ids on a grid without overlaps."""
    board = json.loads((CHART / "files" / "vigil-dashboard.json").read_text())
    assert board["schemaVersion"] >= 39 and board["uid"] and board["title"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert list(variables) == ["datasource", "cluster", "namespace", "severity"]
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for name in ("cluster", "namespace", "severity"):
        assert variables[name]["multi"] and variables[name]["includeAll"] and variables[name]["allValue"] == ".*"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    titles = set()
    for p in board["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{p['title']} overlaps another panel"
        cells |= mine
        if p["type"] == "row":
            continue
        titles.add(p["title"])
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"] and all(t["datasource"] == p["datasource"] and t["expr"] for t in p["targets"])
        assert p["type"] in ("stat", "timeseries", "table"), p["type"]
    # what the dashboard is for
    for needed in ("Critical vulnerabilities", "Criticals now and 24 hours ago", "Top vulnerable images",
                   "Top vulnerable workloads", "Workloads with exposed secrets", "Config audit failures by severity",
                   "Config audit failures by check",
                   "Queue and running Jobs", "Scan Jobs and failures", "Scan duration"):
        assert needed in titles, needed
    # every finding query follows the namespace and cluster variables
    for p in board["panels"]:
        for t in p.get("targets", ()):
            if any(m in t["expr"] for m in ("vigil_image_", "vigil_resource_", "vigil_role_", "vigil_configaudit_")):
                assert 'namespace=~"$namespace"' in t["expr"] and 'cluster=~"$cluster"' in t["expr"], t["expr"]


def _peering_args(objs: list[dict[str, Any]]) -> list[str]:
    args = find(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    return [a for a in args if a.startswith(("--peering", "--priority"))]


def test_two_replicas_elect_a_leader_through_peering() -> None:
    """replicas > 1 turns kopf peering on: the pods share a peering name and each draws its own priority (kopf
    pauses every replica when two alive ones have the same)."""
    default = objects(render())
    assert find(default, "Deployment")["spec"]["replicas"] == 1 and _peering_args(default) == []
    objs = objects(render({"operator": {"replicas": 2}}))
    assert find(objs, "Deployment")["spec"]["replicas"] == 2
    args = _peering_args(objs)
    assert args == ["--peering=vigil-operator", "--priority=random"]
    # the operator's CLI accepts them, and two pods started with the same arguments get different priorities
    from vigil.shells.cli.main import cli

    cmd = cli.get_command(None, "operator")  # type: ignore[arg-type]
    params = [cmd.make_context("operator", list(args), resilient_parsing=True).params for _ in range(2)]
    assert params[0]["peering"] == params[1]["peering"] == "vigil-operator"
    assert isinstance(params[0]["priority"], int) and params[0]["priority"] != params[1]["priority"]
    assert cmd.make_context("operator", ["--priority=7"]).params["priority"] == 7
    # one replica with peering asked for: the same arguments
    assert _peering_args(objects(render({"operator": {"peering": {"enabled": True}}}))) == args


def test_bad_priority_is_a_one_line_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "vigil.shells.cli.main", "operator", "--peering=x",
                           "--priority=high"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "'high' is neither an integer nor 'random'" in proc.stderr


def test_peering_objects() -> None:
    """The peering object of each install mode, valid against kopf's CRD that the chart ships in crds/."""
    import jsonschema

    defs = {c["spec"]["names"]["kind"]: c for c in crds() if c["spec"]["group"] == "kopf.dev"}
    assert set(defs) == KOPF_PEERING_KINDS
    assert defs["ClusterKopfPeering"]["spec"]["scope"] == "Cluster"
    assert defs["KopfPeering"]["spec"]["scope"] == "Namespaced"
    assert not [o for o in objects(render()) if o["kind"] in KOPF_PEERING_KINDS]
    for values, expected in (({"operator": {"replicas": 2}}, {("ClusterKopfPeering", None)}),
                             (MATRIX["peering-own-namespace"], {("KopfPeering", NAMESPACE)}),
                             ({"operator": {"installMode": "ListOfNamespaces", "targetNamespaces": ["shop", "web"],
                                            "replicas": 3}},
                              {("KopfPeering", NAMESPACE), ("KopfPeering", "shop"), ("KopfPeering", "web")})):
        peerings = [o for o in objects(render(values)) if o["kind"] in KOPF_PEERING_KINDS]
        assert {(o["kind"], o["metadata"].get("namespace")) for o in peerings} == expected
        for o in peerings:
            # the name the Deployment passes to --peering
            assert o["metadata"]["name"] == "vigil-operator"
            crd = defs[o["kind"]]
            assert o["apiVersion"] == f"{crd['spec']['group']}/{crd['spec']['versions'][0]['name']}"
            jsonschema.validate(o, crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
            assert set(o) == {"apiVersion", "kind", "metadata"}  # kopf writes only its status
