"""Real manifests and charts from ../shared/data/corpus: every Kubernetes file parses (or is reported as
unparsable with ParseError), golden parses and findings, Helm findings mapped back to template files, and the
1,000-manifest speed budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.conftest import CORPUS, Golden
from tests.work_budget import line_budget

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.checks.registry import checks_for
from vigil.analyzers.misconf.helm import scan_chart
from vigil.analyzers.misconf.kubernetes import K8sResource, parse_kubernetes
from vigil.analyzers.misconf.kustomize import scan_kustomize

K8S = CORPUS / "kubernetes"
HELM = CORPUS / "helm"
CHECKS = checks_for("kubernetes")
# Go-template sources kept next to plain manifests in kubernetes/examples: not YAML until rendered.
KNOWN_UNPARSABLE = {
    "kubernetes__examples/_archived/newrelic-infrastructure/newrelic-config-template.yaml",
    "kubernetes__examples/_archived/storage/vitess/etcd-service-template.yaml",
    "kubernetes__examples/_archived/storage/vitess/etcd-controller-template.yaml",
    "kubernetes__examples/_archived/storage/vitess/vtgate-controller-template.yaml",
}

needs_corpus = pytest.mark.skipif(not K8S.is_dir() or not HELM.is_dir(), reason="../shared corpus not present")


def _manifests() -> list[Path]:
    return sorted(p for p in K8S.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))


def _findings(resources: list[K8sResource]) -> list[dict[str, Any]]:
    out = []
    for r in resources:
        for c in CHECKS:
            for f in c.run(r):
                out.append({"id": c.meta.id, "resource": f.resource, "lines": [f.start_line, f.end_line],
                            "message": f.message})
    return sorted(out, key=lambda d: (d["lines"], d["id"], d["message"]))


@needs_corpus
def test_every_corpus_manifest_parses_or_is_reported_unparsable() -> None:
    files = _manifests()
    assert len(files) > 200
    unparsable = set()
    n_resources = 0
    for p in files:
        try:
            resources = parse_kubernetes(p.read_bytes(), str(p))
        except ParseError as e:
            assert str(e)
            unparsable.add(str(p.relative_to(K8S)))
            continue
        n_resources += len(resources)
        for r in resources:
            assert r.start_line >= 1 and r.start_line <= r.end_line
            for c in CHECKS:  # no check may crash on real input
                list(c.run(r))
    assert unparsable == KNOWN_UNPARSABLE
    assert n_resources > 250


@needs_corpus
@pytest.mark.parametrize(
    "rel",
    [
        "kubernetes__examples/_archived/javaweb-tomcat-sidecar/javaweb.yaml",
        "kubernetes__examples/_archived/podsecuritypolicy/rbac/bindings.yaml",
        "kubernetes__examples/_archived/cockroachdb/cockroachdb-statefulset.yaml",
    ],
)
def test_golden_corpus_manifest(rel: str, golden: Golden) -> None:
    resources = parse_kubernetes((K8S / rel).read_bytes(), rel)
    golden.check(
        f"misconf/kubernetes/{Path(rel).stem}",
        {
            "resources": [[r.kind, r.name, r.namespace, r.api_version, r.start_line, r.end_line] for r in resources],
            "findings": _findings(resources),
        },
    )


def _chart_files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in d.rglob("*") if p.is_file()}


@needs_corpus
@pytest.mark.parametrize(
    ("name", "rel"),
    [("mysql", "helm__charts/stable/mysql"), ("trivy-operator", "aquasecurity__trivy-operator/deploy/helm")],
)
def test_golden_helm_chart_findings_map_to_templates(name: str, rel: str, golden: Golden) -> None:
    chart = HELM / rel
    results = scan_chart(_chart_files(chart))
    assert results
    out = []
    for tpl, resources in results:
        assert (chart / tpl).is_file(), f"{tpl} is not a template of the chart"
        assert tpl.startswith("templates/")
        out.append({"template": tpl, "findings": _findings([r for r, _ in resources])})
    golden.check(f"misconf/helm/{name}", out)


@needs_corpus
def test_kustomize_scans_referenced_resources() -> None:
    root = K8S / "aquasecurity__trivy-operator" / "deploy" / "static"
    scan = scan_kustomize(_chart_files(root))
    assert [p for p, _ in scan.results] == ["trivy-operator.yaml"]
    kinds = {r.kind for _, rs in scan.results for r in rs}
    assert {"Deployment", "ClusterRole", "ServiceAccount"} <= kinds


@needs_corpus
def test_manifest_work_is_bounded() -> None:
    """Parsing and checking a corpus manifest costs Vigil code in proportion to its length (today at most about
    3,500 lines plus 85 per manifest line: the checks' fixed cost, then the walk), and a batch costs the sum of its
    manifests (no state that grows from one manifest to the next)."""
    docs = []
    for p in _manifests():
        if str(p.relative_to(K8S)) in KNOWN_UNPARSABLE:
            continue
        docs.append(p.read_bytes())

    def parse_and_check(batch: list[bytes]) -> int:
        n = 0
        for i, data in enumerate(batch):
            for r in parse_kubernetes(data, f"m{i}.yaml"):
                for c in CHECKS:
                    n += len(list(c.run(r)))
        return n

    assert parse_and_check(docs) > 0  # first, untraced: lazy imports and caches are not the manifests' work
    singles = 0
    for data in docs:
        with line_budget(5_000 + 150 * data.count(b"\n")) as work:
            parse_and_check([data])
        singles += work.used
    with line_budget(2 * singles + 10_000):  # each manifest twice
        assert parse_and_check(docs + docs) > 0
