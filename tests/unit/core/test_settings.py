from pathlib import Path

import pytest

from vigil.settings import SettingsError, resolve


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    v = resolve("fs", {}, env={})
    assert v["severity"] == ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
    assert v["exit_code"] == 0 and v["ignore_unfixed"] is False and v["format"] == "table"


def test_precedence_flag_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vigil.yaml").write_text(
        "severity: LOW\nexit-code: 3\nvulnerability:\n  ignore-unfixed: true\nscan:\n  skip-dirs: [a, b]\n"
    )
    v = resolve("fs", {}, env={})
    assert v["severity"] == ("LOW",) and v["exit_code"] == 3 and v["ignore_unfixed"] is True
    assert v["skip_dirs"] == ("a", "b")
    v = resolve("fs", {}, env={"VIGIL_SEVERITY": "high,critical", "VIGIL_EXIT_CODE": "5"})
    assert v["severity"] == ("HIGH", "CRITICAL") and v["exit_code"] == 5
    v = resolve("fs", {"exit_code": 7}, env={"VIGIL_EXIT_CODE": "5"})
    assert v["exit_code"] == 7


@pytest.mark.parametrize(
    ("cli", "env", "message"),
    [
        ({"severity": "HIGH,SEVERE"}, {}, "SEVERE"),
        ({}, {"VIGIL_EXIT_CODE": "one"}, "VIGIL_EXIT_CODE"),
        ({}, {"VIGIL_IGNORE_UNFIXED": "maybe"}, "not a boolean"),
        ({"format": "xml"}, {}, "choose from"),
        ({"config": "missing.yaml"}, {}, "not found"),
    ],
)
def test_user_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: dict, env: dict, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match=message):
        resolve("fs", cli, env=env)


def test_config_file_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vigil.yaml").write_text("sevrity: HIGH\n")
    with pytest.raises(SettingsError, match="unknown key"):
        resolve("fs", {}, env={})
    (tmp_path / "vigil.yaml").write_text("- a list\n")
    with pytest.raises(SettingsError, match="mapping"):
        resolve("fs", {}, env={})
    (tmp_path / "vigil.yaml").write_text("a: [unclosed\n")
    with pytest.raises(SettingsError, match=r"vigil\.yaml"):
        resolve("fs", {}, env={})
