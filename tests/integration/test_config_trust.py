"""Config files found in the working directory (the checkout being scanned, in CI) are not trusted: they cannot
write files, send the token or the inventory elsewhere, be symlinks out of the tree, exhaust memory, or hang the
secret scan. Files named with --config (or --trust-config) keep every key. Each test runs the real CLI."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli_helpers import run

OUTSIDE_TEXT = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nmarker: outside-7f3a9c [x\n"


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    p = tmp_path / "checkout"
    p.mkdir()
    (p / "requirements.txt").write_text("requests==2.19.0\n")
    return p


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "home" / ".aws" / "credentials"
    secret.parent.mkdir(parents=True)
    secret.write_text(OUTSIDE_TEXT)
    return secret


def _run_limited(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI under a 1 GiB address-space limit, so that reading /dev/zero fails fast instead of eating the host."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    e = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "vigil.shells.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, env=e, timeout=300, preexec_fn=limit)


def test_implicit_config_cannot_write_a_file(proj: Path, tmp_path: Path, fixture_db: Path) -> None:
    target = tmp_path / "pwned_by_config.sh"
    (proj / "vigil.yaml").write_text(
        f'format: template\ntemplate: "#!/bin/sh\\necho pwned-by-repo-config\\n"\noutput: {target}\n')
    p = run("fs", ".", "--db-path", str(fixture_db), cwd=proj)
    assert p.returncode == 0, p.stderr
    assert not target.exists()
    warn = [line for line in p.stderr.splitlines() if "ignoring output" in line]
    assert len(warn) == 1 and "--trust-config" in warn[0], p.stderr
    assert "pwned-by-repo-config" in p.stdout  # the (harmless) inline template still renders, to stdout


def test_implicit_config_cannot_read_a_template_file(proj: Path, outside: Path, fixture_db: Path) -> None:
    (proj / "vigil.yaml").write_text(f"format: template\ntemplate: '@{outside}'\n")
    p = run("fs", ".", "--db-path", str(fixture_db), cwd=proj)
    assert "outside-7f3a9c" not in p.stdout + p.stderr
    assert "ignoring template" in p.stderr


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    s = socket.create_server(("127.0.0.1", 0))
    s.setblocking(False)
    yield s
    s.close()


def _connections(s: socket.socket) -> int:
    n = 0
    while True:
        try:
            conn, _ = s.accept()
        except BlockingIOError:
            return n
        conn.close()
        n += 1


def test_implicit_config_cannot_send_the_token_elsewhere(proj: Path, listener: socket.socket,
                                                         fixture_db: Path) -> None:
    port = listener.getsockname()[1]
    (proj / "vigil.yaml").write_text(f"server:\n  addr: http://127.0.0.1:{port}\n  token: attacker\n")
    p = run("fs", ".", "--db-path", str(fixture_db), "--format", "json", cwd=proj,
            env={"VIGIL_TOKEN": "ci-secret-token-123"})
    assert _connections(listener) == 0
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["Results"]  # scanned locally
    assert "ignoring server.addr, server.token" in p.stderr


def test_implicit_config_cannot_choose_the_db_or_cache(proj: Path, tmp_path: Path, fixture_db: Path) -> None:
    (proj / "vigil.yaml").write_text(
        f"db:\n  repository: [https://127.0.0.1:9/db/]\ncache:\n  dir: {tmp_path / 'elsewhere'}\n")
    p = run("fs", ".", "--db-path", str(fixture_db), cwd=proj)
    assert p.returncode == 0, p.stderr
    assert "ignoring cache.dir, db.repository" in p.stderr
    assert not (tmp_path / "elsewhere").exists()


def test_explicit_and_trusted_config_keep_every_key(proj: Path, tmp_path: Path, fixture_db: Path) -> None:
    out = tmp_path / "report.json"
    (proj / "vigil.yaml").write_text(f"format: json\noutput: {out}\ndb:\n  path: {fixture_db}\n")
    p = run("fs", ".", "--config", "vigil.yaml", cwd=proj)
    assert p.returncode == 0, p.stderr
    assert json.loads(out.read_text())["Results"] and "ignoring" not in p.stderr
    out.unlink()
    for extra, env in ((("--trust-config",), {}), ((), {"VIGIL_TRUST_CONFIG": "1"}),
                       ((), {"VIGIL_CONFIG": "vigil.yaml"})):
        p = run("fs", ".", *extra, cwd=proj, env=env)
        assert p.returncode == 0, p.stderr
        assert out.is_file() and "ignoring" not in p.stderr, (extra, env, p.stderr)
        out.unlink()


def test_a_config_file_cannot_trust_itself(proj: Path, tmp_path: Path, fixture_db: Path) -> None:
    out = tmp_path / "report.json"
    (proj / "vigil.yaml").write_text(f"trust-config: true\noutput: {out}\n")
    p = run("fs", ".", "--db-path", str(fixture_db), cwd=proj)
    assert p.returncode == 0, p.stderr
    assert not out.exists() and "ignoring trust-config" in p.stderr


@pytest.mark.parametrize("name", ["vigil.yaml", ".vigilignore", ".vigilignore.yaml", "vigil-secret.yaml"])
def test_symlinked_config_file_is_not_read(proj: Path, outside: Path, fixture_db: Path, name: str) -> None:
    (proj / name).symlink_to(outside)
    p = run("fs", ".", "--db-path", str(fixture_db), "--scanners", "vuln,secret", cwd=proj)
    assert p.returncode == 0, p.stderr
    both = p.stdout + p.stderr
    assert "outside-7f3a9c" not in both and "wJalrXUt" not in both and "aws_secret" not in both
    assert f"ignoring {'config file' if name == 'vigil.yaml' else ''}".strip() in p.stderr
    assert "symbolic link" in p.stderr


def test_symlinked_config_file_is_read_when_named(proj: Path, tmp_path: Path, fixture_db: Path) -> None:
    shared = tmp_path / "shared.yaml"
    shared.write_text("format: json\n")
    (proj / "vigil.yaml").symlink_to(shared)
    p = run("fs", ".", "--db-path", str(fixture_db), "--config", "vigil.yaml", cwd=proj)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["Results"]


@pytest.mark.parametrize("name", ["vigil.yaml", ".vigilignore"])
def test_dev_zero_symlink_is_refused_without_reading(proj: Path, fixture_db: Path, name: str) -> None:
    (proj / name).symlink_to("/dev/zero")
    p = _run_limited("fs", ".", "--db-path", str(fixture_db), cwd=proj)
    assert p.returncode == 0, p.stderr
    assert "MemoryError" not in p.stderr and "symbolic link" in p.stderr


def test_implicit_config_yaml_error_shows_no_text(proj: Path) -> None:
    (proj / "vigil.yaml").write_text("severity: HIGH\n" + OUTSIDE_TEXT)
    p = run("fs", ".", cwd=proj)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid YAML at line 3, column 1" in lines[0], p.stderr
    assert "wJalrXUt" not in p.stderr and "aws_secret" not in p.stderr


def test_implicit_config_paths_stay_inside(proj: Path, outside: Path, fixture_db: Path) -> None:
    (proj / "vigil.yaml").write_text(f"secret:\n  config: {outside}\nignorefile: ../x\n")
    p = run("fs", ".", "--db-path", str(fixture_db), "--scanners", "secret", cwd=proj)
    assert p.returncode == 0, p.stderr
    assert "outside-7f3a9c" not in p.stdout + p.stderr
    assert "ignoring ignorefile, secret.config" in p.stderr


def test_repo_secret_config_redos_is_bounded(proj: Path) -> None:
    """(a|aa)+b against a long run of a's takes exponential time in a backtracking engine: 34 a's took 9 s,
    60 would take centuries. The rule must still find the real match on the next line."""
    (proj / "vigil-secret.yaml").write_text(
        "rules:\n  - id: redos\n    category: test\n    title: ReDoS\n    severity: HIGH\n"
        "    regex: '(a|aa)+b'\n    keywords: [aaaa]\n")
    (proj / "notes.txt").write_text("x=" + "a" * 60 + "!\nab\n")
    p = run("fs", ".", "--scanners", "secret", "--format", "json", cwd=proj, timeout=120)
    assert p.returncode == 0, p.stderr
    found = [(r["Target"], s["RuleID"], s["StartLine"]) for r in json.loads(p.stdout)["Results"]
             for s in r.get("Secrets", [])]
    assert ("notes.txt", "redos", 2) in found


@pytest.mark.parametrize(("yaml_text", "key"), [
    ("scan:\n  skip-dirs: 5\n", "scan.skip-dirs"),
    ("exit-code: [1]\n", "exit-code"),
    ("vulnerability:\n  ignore-unfixed: [true]\n", "vulnerability.ignore-unfixed"),
    ("format: [json]\n", "format"),
    ("scan:\n  skip-files: [{a: 1}]\n", "scan.skip-files"),
])
def test_wrong_typed_config_value_is_exit_2(proj: Path, yaml_text: str, key: str) -> None:
    (proj / "vigil.yaml").write_text(yaml_text)
    p = run("fs", ".", cwd=proj)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and repr(key) in lines[0] and "Internal error" not in lines[0], p.stderr
