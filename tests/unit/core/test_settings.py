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


def test_implicit_config_file_is_untrusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vigil.settings import UNTRUSTED_FILES

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "sub")
    (tmp_path / "vigil.yaml").write_text(
        "severity: HIGH\noutput: /tmp/x\ntemplate: '@/etc/passwd'\nserver:\n  addr: http://h:1\n"
        "db:\n  repository: [https://h/]\nignorefile: sub/ign\nsecret:\n  config: link/s.yaml\n"
        "vulnerability:\n  vex: [/etc/v.json]\n")
    warnings: list[str] = []
    v = resolve("fs", {}, env={}, warnings=warnings)
    assert v["severity"] == ("HIGH",) and v["ignorefile"] == Path("sub/ign")
    assert v["output"] is None and v["template"] is None and v["server"] == "" and v["db_repository"] == ()
    assert v["secret_config"] == Path("vigil-secret.yaml") and v["vex"] == ()
    assert warnings == [
        "vigil.yaml: ignoring db.repository, output, server.addr, template: a config file found in the working "
        "directory may not write files, send data or choose the DB and caches (use --config vigil.yaml or "
        "--trust-config if you trust it)",
        "vigil.yaml: ignoring secret.config, vulnerability.vex: a config file found in the working directory may "
        "only name files inside it, not through symbolic links",
    ]
    assert v[UNTRUSTED_FILES] == {"ignorefile", "secret_config"}
    for cli, env in (({"config": "vigil.yaml"}, {}), ({"trust_config": True}, {}), ({}, {"VIGIL_TRUST_CONFIG": "1"})):
        warnings.clear()
        v = resolve("fs", cli, env=env, warnings=warnings)
        assert v["output"] == Path("/tmp/x") and v["server"] == "http://h:1" and not warnings
    assert resolve("fs", {"config": "vigil.yaml"}, env={})[UNTRUSTED_FILES] == set()  # it named both files
    (tmp_path / "mine.yaml").write_text("severity: LOW\n")  # the default names are still found in the checkout
    assert resolve("fs", {"config": "mine.yaml"}, env={})[UNTRUSTED_FILES] == {"ignorefile", "secret_config"}
    assert resolve("fs", {"trust_config": True}, env={})[UNTRUSTED_FILES] == set()


def test_wrong_typed_config_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for text, key in (("scan:\n  skip-dirs: 5\n", "scan.skip-dirs"), ("exit-code: [1]\n", "exit-code"),
                      ("scan:\n  max-file-size: {a: 1}\n", "scan.max-file-size.a"),
                      ("pkg:\n  include-dev-deps: [x]\n", "pkg.include-dev-deps")):
        (tmp_path / "vigil.yaml").write_text(text)
        with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
            resolve("fs", {}, env={})
