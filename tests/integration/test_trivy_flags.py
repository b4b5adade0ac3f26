"""Every flag of `trivy fs|image|config|sbom|rootfs|server --help` (the real 0.76 binary) is accepted by the vigil
command of the same name, with Trivy's form (switch or value, short name) and Trivy's TRIVY_* variable and
trivy.yaml key: a flag a new Trivy release adds fails here, not in a user's pipeline."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click
import pytest
from tests.cli_helpers import run
from tests.trivy_cli_ref import COMMANDS, TrivyFlag, allowed_values, help_flags_cached, help_text

from vigil.settings import BY_NAME, OPTIONS, Option, resolve
from vigil.shells.cli.common import bool_values, long_forms
from vigil.shells.cli.main import COMMANDS as VIGIL_COMMANDS


def _command(name: str) -> click.Command:
    mod, attr = VIGIL_COMMANDS[name].split(":")
    cmd: click.Command = getattr(importlib.import_module(mod), attr)
    return cmd


def _params(cmd: click.Command) -> dict[str, click.Option]:
    out: dict[str, click.Option] = {}
    for p in cmd.params:
        if isinstance(p, click.Option):
            out.update({n: p for n in (*p.opts, *p.secondary_opts)})
    return out


def _sample(o: Option) -> str:
    """A valid value for the option that is not its default."""
    if o.choices:
        return next(c for c in reversed(o.choices)
                    if c != o.default and (c,) != o.default and c not in ("crypto", "containerd"))
    if o.kind == "bool":
        return "false" if o.default else "true"
    return {"int": "7", "path": "/tmp/x"}.get(o.kind, "5m0s" if o.name in ("timeout", "cache_ttl")
                                                             else "some-value")


def _args(flag: TrivyFlag) -> list[str]:
    """The flag with a value of Trivy's type for it."""
    value = {"int": "3", "float": "0.5", "duration": "5m0s"}.get(flag.value, "x")
    return [flag.name] if not flag.value else [flag.name, value]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_trivy_flag_parses(command: str) -> None:
    flags = help_flags_cached(command)
    assert len(flags) > 20, "the --help parser found too few flags: has Trivy's help layout changed?"
    cmd = _command(command)
    params = _params(cmd)
    missing = sorted(f for f in flags if f not in params)
    assert not missing, f"vigil {command} lacks Trivy's {', '.join(missing)}"
    for f in flags.values():
        p = params[f.name]
        assert p.is_flag == (not f.value), f"{f.name}: Trivy's is {'a switch' if not f.value else 'valued'}"
        if f.short:
            assert f.short in p.opts, f"{f.name}: Trivy's short form {f.short} is missing"
        if f.name in ("--version", "--generate-default-config"):  # eager: print or write, then exit
            continue
        argv = [*_args(f)] + (["target"] if command != "server" else [])
        ctx = cmd.make_context(f"vigil {command}", argv)  # raises click.UsageError on an unknown flag
        assert ctx.params[p.name or ""] is not None


@pytest.mark.parametrize("command", COMMANDS)
def test_every_trivy_flag_reads_its_env_var_and_config_key(command: str) -> None:
    for f in help_flags_cached(command).values():
        if f.name in ("--version", "--generate-default-config", "--config"):
            continue
        o = BY_NAME[f.name[2:].replace("-", "_")]
        assert command in o.commands
        assert o.trivy_env == f.env
        sample = _sample(o)
        got = resolve(command, {}, env={f.env: sample})[o.name]
        assert got not in (None, o.default, ()), f"{f.env}={sample} was not read"
        # and the VIGIL_* variable wins over it
        if o.kind != "bool":
            assert resolve(command, {}, env={f.env: sample, o.env: _other(o, sample)})[o.name] != got
        assert o.trivy_key, f"{f.name}: no trivy.yaml key"


def _other(o: Option, sample: str) -> str:
    if o.choices:
        return next(c for c in o.choices if c != sample and c not in ("crypto", "containerd"))
    return {"int": "8", "path": "/tmp/y"}.get(o.kind, "1m0s" if o.name in ("timeout", "cache_ttl") else "other")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_value_trivy_allows_is_allowed(command: str) -> None:
    """Where Vigil checks a flag's values against a list, that list holds every value Trivy's --help allows."""
    allowed = allowed_values(help_text(command))
    if command != "server":  # the server has no value lists
        assert "--format" in allowed and "--severity" in allowed, "the allowed-values parser found nothing"
    for flag, values in allowed.items():
        o = BY_NAME[flag[2:].replace("-", "_")]
        if o.choices:
            assert set(values) <= set(o.choices), f"{flag}: Trivy allows {sorted(set(values) - set(o.choices))}"


def test_trivy_bool_flags_take_values() -> None:
    cmd = _command("fs")
    args = bool_values(cmd, ["--list-all-pkgs=false", "--skip-db-update=true", "--exit-code=1", "x", "--",
                             "--debug=true"])
    assert args == ["--no-list-all-pkgs", "--skip-db-update", "--exit-code=1", "x", "--", "--debug=true"]
    with pytest.raises(click.BadParameter):
        bool_values(cmd, ["--quiet=maybe"])


def test_short_flags_reach_click_in_their_long_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """Click tries each argument as a long option first; a short one's failed try builds a NoSuchOption, which
    imports difflib to rank suggestions. Short options are handed over in their long form (values left alone), so
    a scan given `-q -f json -o FILE` builds none, and parses to the same values."""
    cmd = _command("image")
    argv = ["-q", "-f", "json", "-o", "out.json", "-s", "HIGH,CRITICAL", "-i", "img.tar", "-d", "ref"]
    assert long_forms(cmd, argv) == ["--quiet", "--format", "json", "--output", "out.json", "--severity",
                                     "HIGH,CRITICAL", "--input", "img.tar", "--debug", "ref"]
    # a value that looks like a short option stays a value; so does anything after `--`, and a short option that
    # takes a value but has none (click's error names it as written)
    assert long_forms(cmd, ["--format", "-o", "-o", "-q", "--", "-q"]) == ["--format", "-o", "--output", "-q",
                                                                            "--", "-q"]
    assert long_forms(cmd, ["-q", "-o"]) == ["--quiet", "-o"]
    plain = ["--quiet", "--format", "json", "-", "--", "-q"]
    assert long_forms(cmd, plain) is plain  # no short option before `--`… (nor is the option table built)
    built: list[str] = []
    original = click.exceptions.NoSuchOption.__init__

    def counted(self: click.exceptions.NoSuchOption, option_name: str, *a: Any, **kw: Any) -> None:
        built.append(option_name)
        original(self, option_name, *a, **kw)

    monkeypatch.setattr(click.exceptions.NoSuchOption, "__init__", counted)
    short = cmd.make_context("vigil image", list(argv)).params
    assert built == []
    monkeypatch.undo()
    assert short == cmd.make_context("vigil image", long_forms(cmd, argv)).params
    assert short["output"] == "out.json" and short["quiet"] is True and short["input"] == "img.tar"


def test_trivy_yaml_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "trivy.yaml").write_text(
        "severity: [HIGH]\nscan:\n  skip-dirs: [a, b]\n  offline: true\nrego:\n  namespaces: [custom]\n"
        "misconfiguration:\n  scanners: [dockerfile]\nkubernetes:\n  namespace: x\n"
        "db:\n  repository: [mirror.gcr.io/aquasec/trivy-db:2]\n")
    notes: list[str] = []
    v = resolve("fs", {}, env={}, warnings=notes)
    assert v["severity"] == ("HIGH",) and v["skip_dirs"] == ("a", "b") and v["offline_scan"] is True
    assert v["check_namespaces"] == ("custom",) and v["misconfig_scanners"] == ("dockerfile",)
    assert not v["db_repository"], "Trivy's own DB repository must not be used"
    assert any("kubernetes.namespace" in n for n in notes)
    # the VIGIL_* variable over the TRIVY_* one over the file
    v = resolve("fs", {}, env={"TRIVY_SEVERITY": "LOW", "VIGIL_SEVERITY": "CRITICAL"})
    assert v["severity"] == ("CRITICAL",)
    assert resolve("fs", {}, env={"TRIVY_SEVERITY": "LOW"})["severity"] == ("LOW",)
    # a vigil.yaml beside it is the config file
    (tmp_path / "vigil.yaml").write_text("severity: MEDIUM\n")
    assert resolve("fs", {}, env={})["severity"] == ("MEDIUM",)
    # --config "" reads no file at all
    assert resolve("fs", {"config": ""}, env={})["severity"] == BY_NAME["severity"].default


def test_unknown_key_outside_trivy_sections_is_still_an_error(tmp_path: Path) -> None:
    from vigil.settings import SettingsError

    cfg = tmp_path / "c.yaml"
    cfg.write_text("severty: HIGH\n")
    with pytest.raises(SettingsError, match="unknown key"):
        resolve("fs", {"config": str(cfg)}, env={})


def test_ignored_flag_warns_once(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.19\nUSER app\n")
    p = run("config", "--tf-vars", "x.tfvars", "--enable-modules", "m", "--skip-check-update", "--format", "json",
            str(tmp_path), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert sum("--tf-vars" in ln for ln in lines) == 1 and "Terraform" in p.stderr
    assert sum("--enable-modules" in ln for ln in lines) == 1
    assert "skip-check-update" not in p.stderr  # asked not to do what Vigil never does: nothing to say


def test_subcommand_version_and_default_config(tmp_path: Path) -> None:
    p = run("fs", "--version")
    assert p.returncode == 0 and p.stdout.startswith("vigil ")
    p = run("fs", "--generate-default-config", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    import yaml

    doc: dict[str, Any] = yaml.safe_load((tmp_path / "vigil-default.yaml").read_text())
    assert doc["severity"] == ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"] and "scan" in doc
    # the file it writes is a config Vigil reads back as it is
    p = run("fs", "--config", "vigil-default.yaml", "--scanners", "secret", "--format", "json", ".", cwd=tmp_path)
    assert p.returncode == 0, p.stderr


def test_options_with_trivy_keys_are_declared_once() -> None:
    keys = [o.trivy_key.lower() for o in OPTIONS if o.trivy_key]
    assert len(keys) == len(set(keys))


def test_a_new_command_shares_another_commands_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    """How a command added later (e.g. `vigil k8s`) gets a whole set of flags, parsed and resolved alike."""
    from vigil import settings
    from vigil.shells.cli.common import scan_command

    monkeypatch.setitem(settings.SHARES_FLAGS_OF, "probe", "image")

    @scan_command("probe")
    @click.argument("target", required=False)
    def probe(target: str | None, **kwargs: Any) -> None:
        pass

    ctx = probe.make_context("vigil probe", ["--input", "x.tar", "--skip-db-update=true", "--timeout", "1m", "t"])
    assert ctx.params["input"] == "x.tar" and ctx.params["skip_db_update"] is True
    values = resolve("probe", {"input": "x.tar"}, env={"TRIVY_PLATFORM": "linux/arm64"})
    assert values["platform"] == "linux/arm64" and str(values["input"]) == "x.tar"


def test_global_flags_before_the_command(tmp_path: Path) -> None:
    """`trivy --cache-dir DIR -q config .` is how many CI scripts call Trivy."""
    from vigil.shells.cli.main import global_flags_after_command

    assert global_flags_after_command(["--cache-dir", "c", "-q", "--timeout=5m", "config", "."]) == [
        "config", "--cache-dir", "c", "-q", "--timeout=5m", "."]
    assert global_flags_after_command(["-v"]) == ["-v"]
    assert global_flags_after_command(["--cache-dir", "c", "nosuch"]) == ["--cache-dir", "c", "nosuch"]
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.19\nUSER app\nHEALTHCHECK CMD true\n")
    p = run("--cache-dir", str(tmp_path / "cache"), "-q", "config", "--format", "json", ".", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.lstrip().startswith("{")


def test_a_trivy_generated_default_config_is_read(tmp_path: Path) -> None:
    """`trivy --generate-default-config` writes every key (mostly empty): as trivy.yaml it must work unchanged."""
    import subprocess

    from tests.trivy_cli_ref import trivy_bin, trivy_env

    p = subprocess.run([trivy_bin(), "fs", "--generate-default-config", "--cache-dir", str(tmp_path / "tc")],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120, env=trivy_env())
    assert p.returncode == 0, p.stderr
    (tmp_path / "trivy-default.yaml").rename(tmp_path / "trivy.yaml")
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.19\n")
    for args in (["config", "."], ["fs", "--scanners", "secret", "."], ["fs", "--config", "trivy.yaml", "--scanners",
                                                                      "secret", "."]):
        p = run(*args, "--format", "json", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert "Error" not in p.stderr and len(p.stderr.strip().splitlines()) <= 2, p.stderr
