"""`vigil fs --scanners secret` end to end through a real subprocess (issue 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.secret_corpus import planted_tree

TOKEN = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[tuple[str, str, int]], list[str]]:
    root = tmp_path_factory.mktemp("tree")
    expected, values = planted_tree(root)
    return root, expected, values


def _json(p: Any) -> dict[str, Any]:
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout)  # type: ignore[no-any-return]


def _found(report: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(r["Target"], s["RuleID"], s["StartLine"]) for r in report["Results"] for s in r.get("Secrets", [])}


@pytest.mark.parametrize("parallel", ["1", "2"])
def test_every_planted_secret_is_reported(planted: tuple[Path, Any, list[str]], parallel: str, tmp_path: Path) -> None:
    root, expected, values = planted
    p = run("fs", str(root), "--scanners", "secret", "--format", "json", "--parallel", parallel, cwd=tmp_path)
    report = _json(p)
    assert _found(report) == expected
    assert all(r["Class"] == "secret" for r in report["Results"])
    assert not any(v in p.stdout or v in p.stderr for v in values)


def test_exit_code_and_table(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    p = run("fs", str(tmp_path), "--scanners", "secret", "--exit-code", "1", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert "CRITICAL: GitHub (github-pat)" in p.stdout
    assert "Secrets" in p.stdout and TOKEN not in p.stdout
    (tmp_path / "app.env").write_text("GITHUB_TOKEN=${GITHUB_TOKEN}\n")
    assert run("fs", str(tmp_path), "--scanners", "secret", "--exit-code", "1", cwd=tmp_path).returncode == 0


def test_vigilignore_suppresses_a_rule(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "app.env").write_text(f"GITHUB_TOKEN={TOKEN}\nAWS=AKIAQZ7W3RT5YP2M6N4K\n")
    (tmp_path / ".vigilignore").write_text("github-pat\n")
    report = _json(run("fs", str(tree), "--scanners", "secret", "--format", "json", cwd=tmp_path))
    assert {r for _, r, _ in _found(report)} == {"aws-access-key-id"}
    sup = report["Metadata"]["Suppressed"]
    assert [(s["Kind"], s["VulnerabilityID"]) for s in sup] == [("secret", "github-pat")]


def test_severity_filter_applies_to_secrets(tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text(f"GITHUB_TOKEN={TOKEN}\nSTRIPE=pk_live_{'a1B2c3D4' * 3}\n")
    report = _json(run("fs", str(tmp_path), "--scanners", "secret", "--severity", "LOW", "--format", "json",
                       cwd=tmp_path))
    assert {r for _, r, _ in _found(report)} == {"stripe-publishable-token"}


def test_secret_config_file(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "a.env").write_text(f"GITHUB_TOKEN={TOKEN}\nINTERNAL=acme-int-7f3k9q2z8w1x\n")
    (tmp_path / "vigil-secret.yaml").write_text(
        "disable-rules: [github-pat]\nrules:\n  - id: acme\n    regex: 'acme-int-[a-z0-9]{12}'\n"
        "    keywords: [acme-int]\n    severity: HIGH\n")
    report = _json(run("fs", str(tree), "--scanners", "secret", "--format", "json", cwd=tmp_path))
    assert {r for _, r, _ in _found(report)} == {"acme"}
    other = tmp_path / "custom.yaml"
    other.write_text("enable-builtin-rules: [github-pat]\n")
    report = _json(run("fs", str(tree), "--scanners", "secret", "--secret-config", str(other), "--format", "json",
                       cwd=tmp_path))
    assert {r for _, r, _ in _found(report)} == {"github-pat"}


def test_bad_secret_config_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("rules: [{id: x, regex: '(oops'}]\n")
    p = run("fs", str(tmp_path), "--scanners", "secret", "--secret-config", str(tmp_path / "bad.yaml"), cwd=tmp_path)
    assert p.returncode == 2 and "invalid regex" in p.stderr
    p = run("fs", str(tmp_path), "--scanners", "secret", "--secret-config", str(tmp_path / "missing.yaml"),
            cwd=tmp_path)
    assert p.returncode == 2 and "not found" in p.stderr


def test_vuln_and_secret_together(tmp_path: Path, fixture_db: Path) -> None:
    (tmp_path / "requirements.txt").write_text("jinja2==2.10\n")
    (tmp_path / "a.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    report = _json(run("fs", str(tmp_path), "--scanners", "vuln,secret", "--db-path", str(fixture_db),
                       "--format", "json", cwd=tmp_path))
    classes = {r["Class"] for r in report["Results"]}
    assert classes == {"lang-pkgs", "secret"}


def test_binary_and_lockfiles_skipped(tmp_path: Path) -> None:
    (tmp_path / "blob.bin2").write_bytes(b"\x00\x00" + TOKEN.encode())
    (tmp_path / "package-lock.json").write_text(f'{{"t": "{TOKEN}"}}\n')
    nm = tmp_path / "node_modules" / "x"
    nm.mkdir(parents=True)
    (nm / "i.js").write_text(f"const t = '{TOKEN}'\n")
    report = _json(run("fs", str(tmp_path), "--scanners", "secret", "--format", "json", cwd=tmp_path))
    assert _found(report) == set()
