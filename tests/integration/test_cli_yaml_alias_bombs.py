"""YAML alias bombs ("billion laughs") through the real CLI: every YAML input that Vigil parses from a scanned tree
is refused at parse time with a clear error, and the scan goes on with bounded work.

The CLI runs with its data segment capped at 1 GiB (so an unguarded expansion fails with MemoryError instead of
taking the machine), and the assertions are on what it reports and on its peak memory, never on wall-clock time."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
# 1 GiB: the unguarded expansion of these 600-byte files needs far more. RLIMIT_DATA rather than RLIMIT_AS: the
# address-space limit also counts the large PROT_NONE reservations of the Go runtime inside the Helm SDK, which
# then aborts now and then ("fatal error: out of memory") even when the scan itself is small.
DATA_LIMIT = 1 << 30
CPU_SECONDS = 300  # only a safety net so that a regression cannot hang the test run
MAX_RSS_MB = 400  # a refused bomb costs no more than an ordinary scan (about 30-110 MB with Helm loaded)
MESSAGE = "YAML aliases expand beyond"


def laughs(indent: str = "", depth: int = 8) -> str:
    """The classic nested aliases: `a{depth}` stands for 10**depth copies of "lol", in about 60 bytes a level."""
    out = [f'{indent}a0: &a0 "lol"']
    for i in range(1, depth + 1):
        out.append(f"{indent}a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(out) + "\n"


K8S_BOMB = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: lol\n  annotations:\n" + laughs("    ")
            + "spec:\n  containers:\n  - name: c\n    image: nginx:1.25\n    args: *a8\n")
CHART = "apiVersion: v2\nname: bomb\nversion: 0.1.0\n"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\ndata:\n  a: {{ .Values.x | default \"b\" | quote }}\n"


def inline_laughs(depth: int = 8) -> str:
    """The same bomb as one flow value, anchors defined inline (fits where only known keys are accepted)."""
    inner = "&a0 lol"
    for i in range(1, depth + 1):
        inner = f"&a{i} [{inner}, " + ", ".join([f"*a{i - 1}"] * 9) + "]"
    return inner


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (DATA_LIMIT, DATA_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def run_capped(*args: str, cwd: Path) -> tuple[int, str, str, float]:
    """Run the CLI under the limits: (exit code, stdout, stderr, peak RSS of that one process in MB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    # This tree's sources, whatever the cwd (a relative PYTHONPATH=src would resolve against tmp_path).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    out, err = cwd / ".stdout", cwd / ".stderr"
    with out.open("wb") as o, err.open("wb") as e:
        p = subprocess.Popen([sys.executable, "-m", "vigil.shells.cli.main", *args], stdout=o, stderr=e, cwd=cwd,
                             env=env, preexec_fn=_limits)
        # wait4 gives the resource usage of this child alone (RUSAGE_CHILDREN would mix in every earlier test's).
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
    out.unlink()
    err.unlink()
    return p.returncode, stdout, stderr, usage.ru_maxrss / 1024


def results(stdout: str) -> dict[str, dict[str, Any]]:
    return {r["Target"]: r for r in json.loads(stdout)["Results"]}


def test_kubernetes_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(K8S_BOMB)
    (tmp_path / "ok.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: ok\nspec:\n  containers:\n"
                                      "  - name: c\n    image: nginx:1.25\n")
    assert len(K8S_BOMB) < 700
    rc, out, err, rss = run_capped("config", "-f", "json", str(tmp_path), cwd=tmp_path)
    assert rc == 0, err[-2000:]
    res = results(out)
    assert MESSAGE in res["pod.yaml"]["Error"] and "alias bomb" in res["pod.yaml"]["Error"]
    assert "Misconfigurations" not in res["pod.yaml"]
    assert res["ok.yaml"]["Misconfigurations"]  # the other manifest is still checked
    assert f"pod.yaml: not scanned: {MESSAGE}" in err
    assert rss < MAX_RSS_MB, f"peak RSS {rss:.0f} MB"


def test_compose_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "x-lol:\n" + laughs("  ") + "services:\n  web:\n    image: nginx:1.27\n    command: *a8\n")
    rc, out, err, rss = run_capped("config", "-f", "json", str(tmp_path), cwd=tmp_path)
    assert rc == 0, err[-2000:]
    assert MESSAGE in results(out)["docker-compose.yml"]["Error"]
    assert rss < MAX_RSS_MB, f"peak RSS {rss:.0f} MB"


def test_helm_template_is_refused_and_other_templates_checked(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "templates" / "pod.yaml").write_text(K8S_BOMB)  # no directives: renders to itself
    (chart / "templates" / "cm.yaml").write_text(CONFIGMAP)
    rc, out, err, rss = run_capped("config", "-f", "json", str(chart), cwd=tmp_path)
    assert rc == 0, err[-2000:]
    res = results(out)
    assert "templates/cm.yaml" in res and "templates/pod.yaml" not in res
    assert f"templates/pod.yaml rendered to invalid YAML: {MESSAGE}" in err
    assert rss < MAX_RSS_MB, f"peak RSS {rss:.0f} MB"


def test_helm_values_file_is_refused(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "templates" / "cm.yaml").write_text(CONFIGMAP)
    (tmp_path / "values.yaml").write_text("x: hi\n" + laughs())
    rc, out, err, rss = run_capped("config", "-f", "json", "--helm-values", str(tmp_path / "values.yaml"),
                                   str(chart), cwd=tmp_path)
    assert rc == 0, err[-2000:]
    [res] = results(out).values()
    assert res["Type"] == "helm" and res["Error"] == f"values file #1: {MESSAGE} 100000 nodes (alias bomb?)"
    assert rss < MAX_RSS_MB, f"peak RSS {rss:.0f} MB"


def test_pnpm_lock_is_refused_in_fs(tmp_path: Path, fixture_db: Path) -> None:
    (tmp_path / "pnpm-lock.yaml").write_text(
        "lockfileVersion: '9.0'\n\nimporters:\n  .:\n    dependencies:\n      foo:\n        specifier: ^1.0.0\n"
        "        version: 1.0.0\n\npackages:\n\n  foo@1.0.0:\n    resolution: {integrity: sha512-x}\n\n"
        "snapshots:\n\n  foo@1.0.0: {}\n\nx-lol:\n" + laughs("  "))
    rc, out, err, rss = run_capped("fs", "-f", "json", "--db-path", str(fixture_db), str(tmp_path), cwd=tmp_path)
    assert rc == 0, err[-2000:]
    res = results(out)
    assert MESSAGE in res["pnpm-lock.yaml"]["Error"]
    assert [u["FilePath"] for u in json.loads(out)["Metadata"]["Unknowns"]] == ["pnpm-lock.yaml"]
    assert rss < MAX_RSS_MB, f"peak RSS {rss:.0f} MB"


@pytest.mark.parametrize("name", ["environment.yml", "pubspec.lock", "Podfile.lock"])
def test_other_yaml_lockfiles_are_refused_in_fs(tmp_path: Path, fixture_db: Path, name: str) -> None:
    (tmp_path / name).write_text(laughs())
    rc, out, err, _ = run_capped("fs", "-f", "json", "--db-path", str(fixture_db), str(tmp_path), cwd=tmp_path)
    assert rc == 0, err[-2000:]
    assert MESSAGE in results(out)[name]["Error"]


def test_config_file_from_the_checkout_is_refused(tmp_path: Path) -> None:
    (tmp_path / "vigil.yaml").write_text("scan:\n  skip-dirs: " + inline_laughs() + "\n")
    rc, _, err, rss = run_capped("config", "-f", "json", ".", cwd=tmp_path)
    assert rc == 2, err[-2000:]
    assert f"config file vigil.yaml: {MESSAGE} 100000 nodes (alias bomb?)" in err
    assert rss < MAX_RSS_MB, f"peak RSS {rss:.0f} MB"
