"""The `vigil config` engine: type detection, one Result per file, summary at the selected severities,
--include-non-failures, inline and ignore-file suppression, unparsable files, deprecated checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.pipeline_helpers import ConfigOptions, scan_config

from vigil.analyzers.misconf.scan import inline_ignores, is_compose, is_dockerfile
from vigil.findings.records import Result

ROOT_DF = "FROM alpine:3.20\nRUN apk add --no-cache curl\nUSER root\nHEALTHCHECK CMD true\n"


def _scan(tmp_path: Path, **kw: object) -> dict[str, Result]:
    opts = ConfigOptions(target=tmp_path, ignorefile=tmp_path / ".vigilignore", **kw)  # type: ignore[arg-type]
    return {r.target: r for r in scan_config(opts).results}


@pytest.mark.parametrize("name,df,comp", [
    ("Dockerfile", True, False), ("Containerfile", True, False), ("api.Dockerfile", True, False),
    ("Dockerfile.prod", True, False), ("sub/dockerfile", True, False), ("Dockerfile.md", False, False),
    ("docker-compose.yml", False, True), ("docker-compose.override.yaml", False, True),
    ("compose.yaml", False, True), ("values.yaml", False, False),
])
def test_detection(name: str, df: bool, comp: bool) -> None:
    assert (is_dockerfile(name), is_compose(name)) == (df, comp)


def test_one_result_per_file_with_summary(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(ROOT_DF)
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x:1\n    read_only: true\n")
    (tmp_path / "README.md").write_text("# not config\n")
    res = _scan(tmp_path)
    assert set(res) == {"Dockerfile", "compose.yaml"}
    df = res["Dockerfile"]
    assert (df.class_, df.type) == ("config", "dockerfile")
    assert df.misconf_summary is not None
    assert df.misconf_summary.failures == 1 and df.misconf_summary.successes == 26  # 27 non-deprecated checks
    [m] = df.misconfigurations
    assert (m.id, m.status, m.cause_metadata.start_line) == ("DS-0002", "FAIL", 3)
    assert [(ln.number, ln.is_cause) for ln in m.cause_metadata.code.lines] == [(2, False), (3, True), (4, False)]
    assert res["compose.yaml"].misconf_summary.failures == 0  # type: ignore[union-attr]


def test_severity_filter_counts_only_selected(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(ROOT_DF)
    df = _scan(tmp_path, severities=("CRITICAL",))["Dockerfile"]
    assert df.misconfigurations == ()
    assert df.misconf_summary is not None and df.misconf_summary.failures == 0
    assert 0 < df.misconf_summary.successes < 27


def test_include_non_failures(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(ROOT_DF)
    df = _scan(tmp_path, include_non_failures=True)["Dockerfile"]
    statuses = [m.status for m in df.misconfigurations]
    assert statuses.count("FAIL") == 1 and statuses.count("PASS") == 26


def test_deprecated_checks_only_on_request(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:12\nRUN apt-get dist-upgrade -y\nUSER app\n"
                                         "HEALTHCHECK CMD true\n")
    assert "DS-0024" not in {m.id for m in _scan(tmp_path)["Dockerfile"].misconfigurations}
    ids = {m.id for m in _scan(tmp_path, include_deprecated_checks=True)["Dockerfile"].misconfigurations}
    assert "DS-0024" in ids


@pytest.mark.parametrize("comment", ["# vigil:ignore:DS-0002", "# trivy:ignore:DS002", "#trivy:ignore:AVD-DS-0002"])
def test_inline_ignore(tmp_path: Path, comment: str) -> None:
    (tmp_path / "Dockerfile").write_text(ROOT_DF.replace("USER root", f"{comment}\nUSER root"))
    opts = ConfigOptions(target=tmp_path)
    report = scan_config(opts)
    [df] = report.results
    assert df.misconfigurations == ()
    assert df.misconf_summary is not None and df.misconf_summary.failures == 0
    [sup] = report.metadata.suppressed
    assert sup.kind == "misconfiguration" and sup.vulnerability_id == "DS-0002" and "inline" in sup.reason


def test_inline_ignore_map() -> None:
    lines = ["# vigil:ignore:A", "# trivy:ignore:B", "X", "Y  # vigil:ignore:C", "Z"]
    assert inline_ignores(lines) == {3: {"A", "B"}, 4: {"C"}}


def test_ignorefile_ids_and_aliases(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(ROOT_DF)
    (tmp_path / ".vigilignore").write_text("AVD-DS-0002\n")
    report = scan_config(ConfigOptions(target=tmp_path, ignorefile=tmp_path / ".vigilignore"))
    [df] = report.results
    assert df.misconfigurations == ()
    assert [s.vulnerability_id for s in report.metadata.suppressed] == ["DS-0002"]


def test_unparsable_file_is_reported_and_scan_goes_on(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("RUN echo no from\n")
    (tmp_path / "docker-compose.yml").write_text("services: [\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "Dockerfile").write_text(ROOT_DF)
    report = scan_config(ConfigOptions(target=tmp_path))
    res = {r.target: r for r in report.results}
    assert "before the first FROM" in res["Dockerfile"].error
    assert "invalid YAML" in res["docker-compose.yml"].error
    assert res["b/Dockerfile"].misconf_summary is not None
    assert len(report.metadata.warnings) == 2
    assert report.findings_count() == 1


def test_single_file_target(tmp_path: Path) -> None:
    p = tmp_path / "prod.Dockerfile"
    p.write_text(ROOT_DF)
    [r] = scan_config(ConfigOptions(target=p)).results
    assert (r.target, r.type) == ("prod.Dockerfile", "dockerfile")


def test_kustomize_remote_refs_become_warnings(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - https://github.com/x/y//base\n")
    report = scan_config(ConfigOptions(target=tmp_path))
    assert any("remote resource" in w for w in report.metadata.warnings)
