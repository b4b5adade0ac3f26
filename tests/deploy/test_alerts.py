"""The alert rules under `promtool test rules` (Debian's prometheus package): every alert with series that cross its
threshold and series that do not, the "more criticals than a day ago" alerts across day boundaries. And the tests
bite: each mutation of a rule (a threshold, an offset, a filter) makes promtool fail."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.chart import CHART

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
RULES = CHART / "files" / "vigil-alerts.rules.yaml"
TESTS = Path(__file__).parent / "promtool" / "vigil-alerts.test.yaml"

pytestmark = pytest.mark.skipif(not Path(PROMTOOL).is_file(), reason="promtool (Debian prometheus) not installed")


def promtool_test(rules: dict[str, Any], alert: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """promtool test rules with `rules`, on the test cases that check `alert` (the others only cost time)."""
    path = tmp / "rules.yaml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    spec = yaml.safe_load(TESTS.read_text())
    spec["rule_files"] = [str(path)]
    spec["tests"] = [t for t in spec["tests"] if any(a["alertname"] == alert for a in t["alert_rule_test"])]
    test = tmp / "test.yaml"
    test.write_text(yaml.safe_dump(spec, sort_keys=False))
    return subprocess.run([PROMTOOL, "test", "rules", str(test)], capture_output=True, text=True, timeout=300)


def test_rules_file_is_valid() -> None:
    proc = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 8 rules found" in proc.stdout


def test_promtool_test_rules() -> None:
    proc = subprocess.run([PROMTOOL, "test", "rules", str(TESTS)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_every_alert_is_tested() -> None:
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    tested = {t["alertname"] for case in yaml.safe_load(TESTS.read_text())["tests"]
              for t in case.get("alert_rule_test", ())}
    assert tested == alerts
    # and each is also expected not to fire somewhere
    quiet = {t["alertname"] for case in yaml.safe_load(TESTS.read_text())["tests"]
             for t in case.get("alert_rule_test", ()) if not t.get("exp_alerts")}
    assert quiet == alerts


# alert -> (what the expression has, what it gets instead); "for" -> the rule loses its `for`
MUTATIONS = {
    "criticals: any severity": ("VigilCriticalVulnerabilities", '{severity="Critical"}', ""),
    "criticals: threshold": ("VigilCriticalVulnerabilities", ") > 0", ") > 2"),
    "criticals: no for": ("VigilCriticalVulnerabilities", "for", ""),
    "a day ago, namespace: offset 1h": ("VigilNamespaceCriticalVulnerabilitiesIncreased", "offset 1d", "offset 1h"),
    "a day ago, namespace: no fresh-Prometheus guard": (
        "VigilNamespaceCriticalVulnerabilitiesIncreased",
        " and on (cluster) count by (cluster) (vigil_image_vulnerabilities offset 1d) > 0", ""),
    "a day ago, namespace: new namespaces ignored": (
        "VigilNamespaceCriticalVulnerabilitiesIncreased",
        ' or on (cluster, namespace) 0 * sum by (cluster, namespace) (vigil_image_vulnerabilities{severity="Critical"})',
        ""),
    "a day ago, cluster: >=": ("VigilCriticalVulnerabilitiesIncreased", ") > sum", ") >= sum"),
    "a day ago, cluster: offset 1h": ("VigilCriticalVulnerabilitiesIncreased", "offset 1d", "offset 1h"),
    "new secret: offset 1d": ("VigilExposedSecret", "offset 1h", "offset 1d"),
    "new secret: any secret": ("VigilExposedSecret", " > (", " > 0 * ("),
    "not scanned: one TTL": ("VigilWorkloadNotScanned", "> 2 * 86400", "> 1 * 86400"),
    "failures: no ratio": ("VigilScanFailuresRising", "> 0.2 * sum", "> 0 * sum"),
    "failures: threshold": ("VigilScanFailuresRising", "[1h])) > 3", "[1h])) > 60"),
    "db: no grace": ("VigilDatabaseOutdated", "> 2 * 3600", "> 0"),
    "down: no absent": ("VigilOperatorDown", ' or absent(up{job="vigil-operator"})', ""),
    "down: any job": ("VigilOperatorDown", 'up{job="vigil-operator"} == 0', "up == 0"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_changed_rule_fails_the_tests(name: str, tmp_path: Path) -> None:
    alert, old, new = MUTATIONS[name]
    rules = yaml.safe_load(RULES.read_text())
    (rule,) = [r for g in rules["groups"] for r in g["rules"] if r["alert"] == alert]
    if old == "for":
        del rule["for"]
    else:
        assert old in rule["expr"], f"{name}: {old!r} not in {rule['expr']}"
        rule["expr"] = rule["expr"].replace(old, new)
    proc = promtool_test(rules, alert, tmp_path)
    assert proc.returncode != 0, f"{name}: promtool still passes"
    assert "FAILED" in proc.stdout + proc.stderr


def test_every_alert_has_a_runbook_section() -> None:
    """runbook_url points at a heading of docs/operator.md (GitHub's anchor: the heading in lower case)."""
    docs = (CHART.parents[2] / "docs" / "operator.md").read_text()
    headings = {line.removeprefix("#### ").strip().lower() for line in docs.splitlines() if line.startswith("#### ")}
    for g in yaml.safe_load(RULES.read_text())["groups"]:
        for r in g["rules"]:
            anchor = r["annotations"]["runbook_url"].rpartition("#")[2]
            assert anchor == r["alert"].lower() and anchor in headings, r["alert"]
            assert r["labels"]["severity"] in ("critical", "warning") and r["annotations"]["summary"]
            assert r["annotations"]["description"]
