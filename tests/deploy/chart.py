"""Rendering the vigil-operator chart with the real Helm engine (Helm v4's Go SDK through helm-python-sdk), as
`helm template` / `helm install --dry-run` would, and reading the objects back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "vigil-operator"
NAMESPACE = "vigil-system"
RELEASE = "vigil-operator"
MONITORING_API = "monitoring.coreos.com/v1"


def render(values: dict[str, Any] | None = None, *, kube_version: str = "v1.31.0", monitoring: bool = True,
           upgrade: bool = False) -> dict[str, str]:
    """{template path: rendered text}. `monitoring`: the cluster serves the Prometheus Operator's API (the
    ServiceMonitor and PrometheusRule are rendered only then, unless forced)."""
    import helm_python as helm
    from helm_python import _native

    opts: dict[str, Any] = {"name": RELEASE, "namespace": NAMESPACE, "kube_version": kube_version,
                            "is_install": not upgrade, "is_upgrade": upgrade}
    if monitoring:
        opts["api_versions"] = [MONITORING_API, f"{MONITORING_API}/ServiceMonitor", f"{MONITORING_API}/PrometheusRule"]
    with helm.Chart.load(str(CHART)) as chart:
        # Chart.render() has no kube_version/api_versions parameters; the native call takes them as JSON
        out: dict[str, str] = json.loads(_native.call_string("helm_render", chart._raw(), json.dumps(values or {}),
                                                             json.dumps(opts)))
    return out


def objects(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every object of the rendered templates (NOTES.txt left out)."""
    out: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                out.append(doc)
    return out


def crds() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((CHART / "crds").glob("*.yaml"))]


def find(objs: list[dict[str, Any]], kind: str, name_suffix: str = "") -> dict[str, Any]:
    matches = [o for o in objs if o["kind"] == kind and o["metadata"]["name"].endswith(name_suffix)]
    assert len(matches) == 1, (kind, name_suffix, [o["metadata"]["name"] for o in matches])
    return matches[0]
