"""What the operator writes, checked without a cluster: scan Job specs (Kubernetes schema, `vigil config` finds
nothing HIGH/CRITICAL in them), report CRs against the committed CRDs and under the size cap, the CRD files
current, the config's one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from vigil.errors import UserError
from vigil.operator import jobs, reports
from vigil.operator.config import OperatorConfig, load_config
from vigil.operator.crds import KINDS, crd

REPO = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "ab" * 32
REF = f"registry.example.com/shop/app@{DIGEST}"


def full_job(**overrides: Any) -> dict[str, Any]:
    cfg = OperatorConfig(scan_job_node_selector={"pool": "scanners"},
                         scan_job_tolerations=[{"key": "scan", "operator": "Exists", "effect": "NoSchedule"}],
                         scan_job_priority_class_name="low", server_token_secret="vigil-token", **overrides)
    return jobs.scan_job(cfg, DIGEST, REF, pull_config=b'{"auths": {}}')


def test_job_spec_is_valid_kubernetes_and_carries_the_settings() -> None:
    job = full_job()
    kubernetes_validate.validate(job, "1.30.0", strict=True)
    kubernetes_validate.validate(jobs.pull_secret(OperatorConfig(), DIGEST, b"{}"), "1.30.0", strict=True)
    pod = job["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert pod["nodeSelector"] == {"pool": "scanners"} and pod["priorityClassName"] == "low"
    assert pod["tolerations"][0]["key"] == "scan" and pod["automountServiceAccountToken"] is False
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"]["type"] == \
        "RuntimeDefault"
    assert job["spec"]["activeDeadlineSeconds"] == 300 and job["spec"]["backoffLimit"] == 0
    # ClientServer: detection and the report on the server, the digest (not the tag) scanned
    assert c["args"][:2] == ["image", REF] and "--server" in c["args"] and "--publish" in c["args"]
    assert {e["name"] for e in c["env"]} >= {"VIGIL_TOKEN", "VIGIL_PUBLISH_TOKEN", "DOCKER_CONFIG"}


@pytest.mark.parametrize("mode", ["ClientServer", "Standalone"])
def test_vigil_config_finds_nothing_high_in_the_job_spec(tmp_path: Path, mode: str) -> None:
    job = full_job(mode=mode, db_repository="registry.example.com/vigil/db:1")
    kubernetes_validate.validate(job, "1.30.0", strict=True)
    assert bool(job["spec"]["template"]["spec"].get("initContainers")) == (mode == "Standalone")
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    p = subprocess.run([sys.executable, "-m", "vigil.shells.cli.main", "config", str(tmp_path), "--format", "json",
                        "--cache-dir", str(tmp_path / "cache")], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    checked = [r for r in rep.get("Results") or () if r.get("Class") == "config"]
    assert checked and checked[0].get("MisconfSummary", {}).get("Successes", 0) > 10  # the checks did run
    bad = [(m["ID"], m["Title"]) for r in checked for m in r.get("Misconfigurations") or ()
           if m["Status"] == "FAIL" and m["Severity"] in ("HIGH", "CRITICAL")]
    assert bad == []


def big_report(n: int) -> dict[str, Any]:
    sev = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
    return {"ArtifactName": REF, "Results": [{"Target": "app (debian 12)", "Vulnerabilities": [
        {"VulnerabilityID": f"CVE-2024-{i:05d}", "PkgName": f"pkg{i % 300}", "InstalledVersion": "1.0",
         "FixedVersion": "1.1", "Severity": sev[i % 5], "Title": "t" * 200, "PrimaryURL": "https://x/" + "y" * 80,
         "PURL": f"pkg:deb/debian/pkg{i}@1.0"} for i in range(n)]}]}


OWNER = {"kind": "Deployment", "namespace": "shop", "name": "web", "uid": "u1", "apiVersion": "apps/v1"}


@pytest.mark.parametrize("embed", [False, True])
def test_report_for_5000_findings_stays_under_the_cap(embed: bool) -> None:
    cfg = OperatorConfig(embed_full_reports=embed)
    cr = reports.vulnerability_report(cfg, big_report(5000), owner=OWNER, container="app", ref=REF, digest=DIGEST,
                                      full_report_url="http://vigil/v1/scans/1/report", now="2026-01-01T00:00:00Z")
    size = len(json.dumps(cr))
    assert size < cfg.report_max_bytes < 1_500_000
    s = cr["report"]["summary"]
    assert (s["criticalCount"], s["highCount"], s["unknownCount"]) == (1000, 1000, 1000)  # every finding counted
    kept = cr["report"]["vulnerabilities"]
    assert cr["report"]["truncated"]["omitted"] == 5000 - len(kept)
    assert {v["severity"] for v in kept} == {"CRITICAL"} or embed  # the most severe first
    assert len(kept) == 100 if not embed else len(kept) > 100
    jsonschema.validate(cr, crd("VulnerabilityReport")["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    assert cr["metadata"]["ownerReferences"][0] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                                    "uid": "u1", "controller": True, "blockOwnerDeletion": False}
    assert cr["metadata"]["name"] == "deployment-web-app"
    assert cr["metadata"]["labels"]["trivy-operator.resource.kind"] == "Deployment"


def test_small_report_is_whole_and_valid() -> None:
    cr = reports.vulnerability_report(OperatorConfig(), big_report(7), owner=OWNER, container="app", ref=REF,
                                      digest=DIGEST, full_report_url="u", now="2026-01-01T00:00:00Z")
    assert len(cr["report"]["vulnerabilities"]) == 7 and "truncated" not in cr["report"]
    assert cr["report"]["artifact"] == {"repository": "shop/app", "digest": DIGEST, "tag": ""}


def test_long_names_are_hashed_like_trivy_operator() -> None:
    name = reports.report_name("ReplicaSet", "x" * 70, "app")
    assert name.startswith("replicaset-") and len(name) <= 63


def test_committed_crds_are_current() -> None:
    for kind in KINDS:
        path = REPO / "deploy" / "crds" / f"aquasecurity.github.io_{kind.lower()}s.yaml"
        assert yaml.safe_load(path.read_text()) == crd(kind), f"{path.name}: run tools/gen_crds.py"


def test_crd_printer_columns_read_like_trivy_operators() -> None:
    cols = [(c["name"], c.get("priority", 0)) for c in
            crd("VulnerabilityReport")["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert cols == [("Repository", 0), ("Tag", 0), ("Scanner", 0), ("Age", 0), ("Critical", 1), ("High", 1),
                    ("Medium", 1), ("Low", 1), ("Unknown", 1)]
    assert crd("ClusterRbacAssessmentReport")["spec"]["scope"] == "Cluster"


@pytest.mark.parametrize(("text", "msg"), [
    (b"installMode: ListOfNamespaces\n", "needs targetNamespaces"),
    (b"scanJobsConcurentLimit: 3\n", "unknown field"),
    (b"reportMaxBytes: 2000000\n", "etcd"),
    (b"[1, 2", "not YAML"),
    (b"rescanSchedule: '0 3 * *'\n", "rescanSchedule"),
    (b"mode: Remote\n", "mode"),
])
def test_config_errors_are_one_line(text: bytes, msg: str) -> None:
    with pytest.raises(UserError) as e:
        load_config(text, {})
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_install_modes_and_exclusions() -> None:
    c = load_config(b"installMode: ListOfNamespaces\ntargetNamespaces: [team-*]\nexcludeNamespaces: [team-x]\n", {})
    assert c.watched("team-a") and not c.watched("team-x") and not c.watched("default")
    own = load_config(b"installMode: OwnNamespace\nnamespace: ops\n", {})
    assert own.watched("ops") and not own.watched("default") and own.include_globs == ("ops",)
    assert load_config(None, {"excludeNamespaces": ["kube-*"]}).watched("default")


@pytest.mark.parametrize("embed", [False, True])
def test_sbom_report_for_20000_components_stays_under_the_cap(embed: bool) -> None:
    cfg = OperatorConfig(embed_full_reports=embed)
    rep = {"ArtifactName": REF, "Metadata": {"OS": {"Family": "debian", "Name": "12.5"}}, "Results": [
        {"Target": "app (debian 12.5)", "Class": "os-pkgs", "Packages": [
            {"ID": f"pkg{i}@1.0-{i}", "Name": f"pkg{i:05d}", "Version": "1.0", "Release": str(i),
             "PURL": f"pkg:deb/debian/pkg{i:05d}@1.0-{i}", "DependsOn": [f"pkg{i + 1}@1.0-{i + 1}"],
             "Licenses": ["GPL-2.0-or-later"]} for i in range(20000)]}]}
    cr = reports.sbom_report(cfg, rep, owner=OWNER, container="app", ref=REF, digest=DIGEST,
                             full_report_url="http://vigil/v1/scans/1/report", now="2026-01-01T00:00:00Z")
    assert len(json.dumps(cr)) < cfg.report_max_bytes
    assert cr["report"]["summary"] == {"componentsCount": 20000, "dependenciesCount": 20000}
    kept = cr["report"]["components"]["components"]
    assert len(kept) == 200 if not embed else len(kept) > 200
    assert cr["report"]["truncated"]["omitted"] == 20000 - len(kept)
    assert kept[0]["name"] == "pkg00000" and kept[0]["version"] == "1.0-0"
    jsonschema.validate(cr, crd("SbomReport")["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
