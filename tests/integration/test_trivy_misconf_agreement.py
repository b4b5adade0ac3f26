"""Misconfiguration results measured against the real Trivy (0.76, a locked dev dependency) on the shared corpus.

For each kind (Dockerfiles, Kubernetes manifests, Helm charts) both tools scan the same directory; the FAIL findings
are compared as sets of (file, check ID) and their Jaccard index must be at least 0.98 once the deliberate
differences are set aside. Every entry of DELIBERATE is one documented difference (docs/trivy-differences.md,
"Misconfiguration"); an entry that no longer matches anything fails the test, so the list cannot go stale.

Work is bounded: one `trivy config` and one `vigil config` per kind (about 1,000 files in all).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.conftest import CORPUS
from tests.trivy_cli_ref import trivy_bin

KINDS = ("dockerfiles", "kubernetes", "helm")
MIN_AGREEMENT = 0.98


@dataclass(frozen=True)
class Deliberate:
    """Findings one tool reports and the other does not, on purpose. `side` is the tool that reports them;
    `check` and `message` (a regex over that tool's message) narrow it down; `kinds` limits the corpus parts."""

    why: str
    side: str  # "vigil" | "trivy" | "both"
    check: str = ""  # "" = any check
    message: str = ""
    kinds: tuple[str, ...] = KINDS


DELIBERATE = (
    Deliberate("files Trivy cannot read (duplicate YAML keys, a chart whose dependencies are not vendored or that "
               "includes a .txt template, Dockerfile.<a>.<b> names): Vigil scans them", "vigil", message=r"",
               kinds=KINDS),
    Deliberate("KSV-0107 (removed API versions) runs in `config` too; Trivy runs it only in cluster scans",
               "vigil", "KSV-0107"),
    Deliberate("KSV-0036 reads the pod template's spec; Trivy reads the workload's top-level spec", "vigil",
               "KSV-0036", kinds=("kubernetes", "helm")),
    Deliberate("KSV-0117 also judges hostPort, the port opened on the node", "vigil", "KSV-0117",
               message=r"hostPort", kinds=("kubernetes", "helm")),
    Deliberate("KSV-0028 knows the `cephfs` volume (Trivy's list spells it cephFS, which never matches)", "vigil",
               "KSV-0028", message=r"'cephfs'", kinds=("kubernetes", "helm")),
    Deliberate("KSV-0022 allows adding NET_BIND_SERVICE, as the restricted Pod Security Standard does", "trivy",
               "KSV-0022", kinds=("kubernetes", "helm")),
    Deliberate("KSV-0109/KSV-01010 judge ConfigMap values (real credentials; sensitive keys holding more than a "
               "switch), not key names alone", "both", "KSV-0109", kinds=("kubernetes", "helm")),
    Deliberate("KSV-0109/KSV-01010 (as above)", "both", "KSV-01010", kinds=("kubernetes", "helm")),
    Deliberate("DS-0031: GPG_KEY holds a public key fingerprint", "trivy", "DS-0031", message=r'"GPG_KEY"',
               kinds=("dockerfiles",)),
    Deliberate("DS-0029 judges each apt-get install on its own, and `$pkgs`/`pkg:arch` arguments", "both",
               "DS-0029", kinds=("dockerfiles",)),
    Deliberate("DS-0013: a cd inside a ( … ) subshell changes nothing for later commands", "trivy", "DS-0013",
               message=r"&& \( ", kinds=("dockerfiles",)),
)

Finding = tuple[str, str, str]  # (target, check ID, message)


def _fails(report: dict[str, Any]) -> tuple[set[Finding], set[str]]:
    """FAIL findings, and the targets the tool reported at all (those it could read)."""
    out: set[Finding] = set()
    targets: set[str] = set()
    for r in report.get("Results") or []:
        if r.get("Class") != "config" or r.get("Error"):
            continue
        targets.add(r["Target"])
        for m in r.get("Misconfigurations") or []:
            if m.get("Status") == "FAIL":
                out.add((r["Target"], m["ID"], m.get("Message", "")))
    return out, targets


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    trivy = trivy_bin()
    if not CORPUS.is_dir():
        pytest.skip("../shared corpus not present")
    tmp = tmp_path_factory.mktemp("trivy")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIVY_")}
    for kind in KINDS:
        t_out = tmp / f"trivy-{kind}.json"
        p = subprocess.run([trivy, "config", "--skip-check-update", "--cache-dir", str(tmp / "cache"), "--quiet",
                            "--format", "json", "--output", str(t_out), str(CORPUS / kind)],
                           capture_output=True, text=True, timeout=600, env=env)
        assert p.returncode == 0, p.stderr[-2000:]
        # Trivy leaves Helm hooks and tests out of the release it renders; Vigil scans them unless asked not to.
        v = run("config", "--quiet", "--helm-skip-hooks", "--format", "json", "--cache-dir", str(tmp / "vcache"),
                str(CORPUS / kind))
        assert v.returncode == 0, v.stderr[-2000:]
        out[kind] = {"trivy": json.loads(t_out.read_text()), "vigil": json.loads(v.stdout)}
    return out


def _set_aside(kind: str, side: str, f: Finding, other_targets: set[str], used: set[int]) -> bool:
    target, check, message = f
    for n, d in enumerate(DELIBERATE):
        if kind not in d.kinds or d.side not in (side, "both"):
            continue
        if n == 0:  # files the other tool could not read at all
            if target in other_targets:
                continue
        elif (d.check and d.check != check) or (d.message and not re.search(d.message, message)):
            continue
        used.add(n)
        return True
    return False


def _agreement(kind: str, rep: dict[str, dict[str, Any]], used: set[int]) -> tuple[float, list[str]]:
    t, t_targets = _fails(rep["trivy"])
    v, v_targets = _fails(rep["vigil"])
    t_keys = {(a, b) for a, b, _ in t}
    v_keys = {(a, b) for a, b, _ in v}
    t_only = {f for f in t if (f[0], f[1]) not in v_keys and not _set_aside(kind, "trivy", f, v_targets, used)}
    v_only = {f for f in v if (f[0], f[1]) not in t_keys and not _set_aside(kind, "vigil", f, t_targets, used)}
    both = t_keys & v_keys
    t_only_keys = {(a, b) for a, b, _ in t_only}
    v_only_keys = {(a, b) for a, b, _ in v_only}
    union = len(both) + len(t_only_keys) + len(v_only_keys)
    diff = [f"trivy only: {k}" for k in sorted(t_only_keys)] + [f"vigil only: {k}" for k in sorted(v_only_keys)]
    return (len(both) / union if union else 1.0), diff


def test_agreement_per_kind(reports: dict[str, dict[str, dict[str, Any]]]) -> None:
    used: set[int] = set()
    for kind in KINDS:
        score, diff = _agreement(kind, reports[kind], used)
        assert score >= MIN_AGREEMENT, f"{kind}: agreement {score:.3f} < {MIN_AGREEMENT}:\n" + "\n".join(diff[:40])
        # both tools found something: an empty comparison would pass trivially
        assert _fails(reports[kind]["trivy"])[0] and _fails(reports[kind]["vigil"])[0]
    stale = [DELIBERATE[n].why for n in range(len(DELIBERATE)) if n not in used]
    assert not stale, f"deliberate differences that no longer occur (remove them here and in the docs): {stale}"


def test_release_namespace_is_not_the_default_namespace(reports: dict[str, dict[str, dict[str, Any]]]) -> None:
    """A chart writing `namespace: {{ .Release.Namespace }}` is not flagged by KSV-0110 (default namespace): the
    installer chooses the namespace. Trivy renders it empty, Vigil as <release-namespace>; same verdict."""
    v, _ = _fails(reports["helm"]["vigil"])
    grafana = {(c, m) for t, c, m in v if t == "helm__charts/stable/grafana/templates/deployment.yaml"}
    assert grafana, "the grafana chart's deployment has findings"
    assert not any(c == "KSV-0110" for c, _ in grafana)


def test_helm_findings_carry_rendered_snippets_and_document_lines(
        reports: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Helm findings count lines per rendered YAML document, line 1 being Helm's `# Source:` comment, as Trivy
    does; so both tools report the same start line for the same whole-object finding, with a code snippet."""
    def starts(rep: dict[str, Any], target: str, check: str) -> list[tuple[int, list[str]]]:
        out = []
        for r in rep["Results"]:
            if r["Target"] == target:
                for m in r.get("Misconfigurations") or []:
                    if m["ID"] == check and m["Status"] == "FAIL":
                        cm = m["CauseMetadata"]
                        out.append((cm["StartLine"], [ln["Content"] for ln in (cm.get("Code") or {}).get("Lines", [])]))
        return out

    target = "aquasecurity__trivy-operator/deploy/helm/templates/rbac/clusterrole.yaml"
    t = starts(reports["helm"]["trivy"], target, "KSV-0048")
    v = starts(reports["helm"]["vigil"], target, "KSV-0048")
    assert t and v
    assert {s for s, _ in v} == {s for s, _ in t}
    assert all(lines for _, lines in v)
    assert any("apiGroups" in line for _, lines in v for line in lines)


def test_hooks_are_scanned_by_default(tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared corpus not present")
    chart = CORPUS / "helm" / "helm__charts" / "stable" / "grafana"
    with_hooks = run("config", "--quiet", "--format", "json", "--cache-dir", str(tmp_path), str(chart))
    without = run("config", "--quiet", "--helm-skip-hooks", "--format", "json", "--cache-dir", str(tmp_path),
                  str(chart))
    assert with_hooks.returncode == 0 and without.returncode == 0, with_hooks.stderr + without.stderr
    hook_targets = {r["Target"] for r in json.loads(with_hooks.stdout)["Results"] if "/tests/" in r["Target"]}
    assert "templates/tests/test.yaml" in hook_targets
    # templates/tests/test.yaml is a `helm.sh/hook: test` Pod; the other files under tests/ are plain templates
    # (no hook annotation) and stay.
    left = {r["Target"] for r in json.loads(without.stdout)["Results"] if "/tests/" in r["Target"]}
    assert "templates/tests/test.yaml" not in left
    assert "templates/tests/test-configmap.yaml" in left
