"""Every KSV check against its passing and failing fixture (tests/fixtures/misconf/kubernetes/<ID>/), plus the
catalogue: IDs, aliases and severities as in Trivy's KSV list (../shared/reference/trivy-cli.md §6)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import vigil.analyzers.misconf.checks as checks_pkg
from vigil.analyzers.misconf.checks.base import Check
from vigil.analyzers.misconf.checks.registry import KUBERNETES_CHECK_MODULES, checks_for
from vigil.analyzers.misconf.kubernetes import parse_kubernetes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "misconf" / "kubernetes"
KSV = {c.meta.id: c for c in checks_for("kubernetes")}

# Trivy's catalogue: number -> severity (reference §6). 79 checks, 4 of them deprecated.
TRIVY_SEVERITY = {
    "1": "MEDIUM", "2": "LOW", "3": "LOW", "4": "LOW", "5": "HIGH", "6": "HIGH", "7": "LOW", "8": "HIGH",
    "9": "HIGH", "10": "HIGH", "11": "LOW", "12": "MEDIUM", "13": "MEDIUM", "14": "HIGH", "15": "LOW",
    "16": "LOW", "17": "HIGH", "18": "LOW", "20": "LOW", "21": "LOW", "22": "MEDIUM", "23": "MEDIUM",
    "24": "HIGH", "25": "MEDIUM", "26": "MEDIUM", "27": "MEDIUM", "28": "LOW", "30": "LOW", "32": "MEDIUM",
    "33": "MEDIUM", "34": "MEDIUM", "35": "MEDIUM", "36": "MEDIUM", "37": "MEDIUM", "38": "MEDIUM", "39": "LOW",
    "40": "LOW", "41": "CRITICAL", "42": "MEDIUM", "43": "CRITICAL", "44": "CRITICAL", "45": "CRITICAL",
    "46": "CRITICAL", "47": "HIGH", "48": "MEDIUM", "49": "MEDIUM", "50": "CRITICAL", "51": "HIGH", "52": "HIGH",
    "53": "HIGH", "54": "HIGH", "55": "LOW", "56": "HIGH", "01010": "MEDIUM", "01011": "CRITICAL",
    "102": "CRITICAL", "103": "MEDIUM", "104": "MEDIUM", "105": "LOW", "106": "LOW", "107": "LOW", "108": "HIGH",
    "109": "HIGH", "110": "LOW", "111": "MEDIUM", "112": "CRITICAL", "113": "MEDIUM", "114": "CRITICAL",
    "115": "CRITICAL", "116": "LOW", "117": "MEDIUM", "118": "HIGH", "119": "HIGH", "120": "HIGH", "121": "HIGH",
    "122": "CRITICAL", "123": "CRITICAL", "124": "HIGH", "125": "MEDIUM",
}


def _id(num: str) -> str:
    return f"KSV-{num}" if len(num) == 5 else f"KSV-{int(num):04d}"


def _failures(check: Check, path: Path) -> list[object]:
    resources = parse_kubernetes(path.read_bytes(), str(path))
    assert resources, f"{path} holds no Kubernetes object"
    return [f for r in resources for f in check.run(r)]


def test_catalogue_matches_trivy() -> None:
    assert sorted(KSV) == sorted(_id(n) for n in TRIVY_SEVERITY)
    for num, sev in TRIVY_SEVERITY.items():
        meta = KSV[_id(num)].meta
        assert meta.severity == sev, meta.id
        short = f"KSV{num}" if len(num) == 5 else f"KSV{int(num):03d}"
        assert meta.aliases == (short, f"AVD-{meta.id}")
        assert meta.title and meta.description and meta.resolution and meta.references
        assert meta.input_type == "kubernetes"
    assert {i for i, c in KSV.items() if c.meta.deprecated} == {"KSV-0032", "KSV-0033", "KSV-0034", "KSV-0035"}


def test_every_ksv_module_is_registered() -> None:
    mods = {
        f"{checks_pkg.__name__}.{m.name}"
        for m in pkgutil.iter_modules(checks_pkg.__path__)
        if m.name.startswith("ksv_")
    }
    assert mods == set(KUBERNETES_CHECK_MODULES)
    for m in mods:
        assert importlib.import_module(m).CHECKS


def test_every_ksv_check_has_both_fixtures() -> None:
    missing = [f"{cid}/{k}.yaml" for cid in KSV for k in ("pass", "fail") if not (FIXTURES / cid / f"{k}.yaml").is_file()]
    assert not missing
    assert {d.name for d in FIXTURES.iterdir() if d.is_dir()} == set(KSV), "fixture folder without a check"


@pytest.mark.parametrize("cid", sorted(KSV))
def test_passing_fixture(cid: str) -> None:
    assert _failures(KSV[cid], FIXTURES / cid / "pass.yaml") == []


@pytest.mark.parametrize("cid", sorted(KSV))
def test_failing_fixture(cid: str) -> None:
    path = FIXTURES / cid / "fail.yaml"
    failures = _failures(KSV[cid], path)
    assert failures
    n_lines = len(path.read_text().splitlines())
    for f in failures:
        assert f.message and "/" in f.resource  # type: ignore[attr-defined]
        assert f.start_line >= 1 and f.start_line <= f.end_line <= n_lines  # type: ignore[attr-defined]


def test_trivy_message_and_offending_line() -> None:
    path = FIXTURES / "KSV-0014" / "fail.yaml"
    (f,) = _failures(KSV["KSV-0014"], path)
    assert f.message == (  # type: ignore[attr-defined]
        "Container 'my-app' of Deployment 'my-deployment' should set 'securityContext.readOnlyRootFilesystem' to true"
    )
    assert f.resource == "Deployment/my-deployment"  # type: ignore[attr-defined]
    line = path.read_text().splitlines()[f.start_line - 1]  # type: ignore[attr-defined]
    assert "readOnlyRootFilesystem: false" in line


WORKLOADS = {
    "Pod": "spec",
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "ReplicationController": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
@pytest.mark.parametrize("field", ["containers", "initContainers", "ephemeralContainers"])
def test_every_workload_kind_and_container_list(kind: str, field: str) -> None:
    spec_lines = [f"{field}:", "- name: c1", "  image: nginx", "  securityContext:", "    privileged: true"]
    if field != "containers":
        spec_lines = ["containers:", "- name: main", "  image: nginx:1.0", *spec_lines]
    path = WORKLOADS[kind].split(".")
    doc = ["apiVersion: v1", f"kind: {kind}", "metadata:", "  name: w"]
    indent = ""
    for p in path:
        doc.append(f"{indent}{p}:")
        indent += "  "
    doc += [indent + s for s in spec_lines]
    (res,) = parse_kubernetes(("\n".join(doc) + "\n").encode(), "w.yaml")
    failures = list(KSV["KSV-0017"].run(res))
    assert [f.message for f in failures] == [f"Container 'c1' of {kind} 'w' should set 'securityContext.privileged' to false"]
    assert failures[0].start_line == len(doc)


def test_wildcard_resources_are_left_to_the_wildcard_checks() -> None:
    def role(groups: str) -> bytes:
        return (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n"
            f"rules:\n- apiGroups: {groups}\n  resources: ['*']\n  verbs: ['*']\n"
        ).encode()

    def failing(data: bytes) -> set[str]:
        (res,) = parse_kubernetes(data, "r.yaml")
        return {cid for cid, c in KSV.items() if list(c.run(res))}

    # a '*' resource is reported by the wildcard checks, not as "manage secrets"/"manage webhooks" (as in Trivy)
    for groups in ("[custom.metrics.k8s.io]", "['*']"):
        got = failing(role(groups))
        assert "KSV-0046" in got
        assert not {"KSV-0041", "KSV-0114", "KSV-0050"} & got
        # '*' on '*' is cluster-admin only across every API group (KSV-0044); KSV-0045 is about a wildcard verb on
        # named sensitive resources (both as in Trivy)
        assert ("KSV-0044" in got) == (groups == "['*']")
        assert "KSV-0045" not in got
    secrets_any_verb = (b"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\n"
                        b"rules:\n- apiGroups: ['']\n  resources: [secrets]\n  verbs: ['*']\n")
    assert "KSV-0045" in failing(secrets_any_verb)
