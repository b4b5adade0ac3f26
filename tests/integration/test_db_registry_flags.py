"""A scan's registry flags (--username, --password, --password-stdin, --cacert, --insecure) reach the DB download
as Trivy's do: a DB in a private TLS registry with basic auth is pulled by `vigil fs` given only flags, no
VIGIL_*/TRIVY_* variables and no docker config."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import run
from tests.dbdist_helpers import artifact_a_fixture  # noqa: F401
from tests.registry_helpers import Registry, registry_tls_fixture  # noqa: F401

from vigil.dbdist.artifact import file_sha256
from vigil.settings import RegistryAuth

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-project"


def _push(registry: Registry, artifact: Path, url: str, tmp_path: Path) -> None:
    assert registry.creds
    env = {"VIGIL_USERNAME": registry.creds[0], "VIGIL_PASSWORD": registry.creds[1], "VIGIL_CACERT": registry.ca_file}
    p = run("db", "push", str(artifact), url, env=env)
    assert p.returncode == 0, p.stderr


def test_scan_flags_authenticate_and_trust_the_db_registry(registry_tls: Registry, artifact_a: Path,
                                                           tmp_path: Path) -> None:
    assert registry_tls.creds
    user, password = registry_tls.creds
    url = f"oci://{registry_tls.host}/security/vigil-db:1"
    _push(registry_tls, artifact_a, url, tmp_path)
    clean_env = {"DOCKER_CONFIG": str(tmp_path / "no-docker")}
    base = ("fs", str(DEMO), "--db-repository", url, "--format", "json", "-q")

    cache = tmp_path / "c1"
    p = run(*base, "--cache-dir", str(cache), "--username", user, "--password", password,
            "--cacert", registry_tls.ca_file, env=clean_env)
    assert p.returncode == 0, p.stderr
    installed = cache / "db" / "vigil.db"
    assert installed.is_file()
    want = file_sha256(installed)[0]
    assert "not applied" not in p.stderr

    # the password on standard input, TLS verification off instead of the CA bundle
    cache = tmp_path / "c2"
    p = run(*base, "--cache-dir", str(cache), "--username", user, "--password-stdin", "--insecure",
            env=clean_env, input=password + "\n")
    assert p.returncode == 0, p.stderr
    assert file_sha256(cache / "db" / "vigil.db")[0] == want

    # without the password the registry refuses; without the CA bundle TLS does: one line each, exit 2
    p = run(*base, "--cache-dir", str(tmp_path / "c3"), "--username", user, "--cacert", registry_tls.ca_file,
            env=clean_env)
    assert p.returncode == 2 and "unauthorized" in p.stderr.lower() and "Traceback" not in p.stderr
    p = run(*base, "--cache-dir", str(tmp_path / "c4"), "--username", user, "--password", password, env=clean_env)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert not (tmp_path / "c4" / "db" / "vigil.db").exists()


def test_flags_win_over_the_environment() -> None:
    from vigil.dbdist.oci import registry_options

    env = {"VIGIL_USERNAME": "env-user", "TRIVY_PASSWORD": "env-pw", "VIGIL_CACERT": "/env/ca.pem"}
    o = registry_options(env, auth=RegistryAuth(username="flag-user", cacert="/flag/ca.pem"))
    assert (o.username, o.password, o.ca_file, o.insecure) == ("flag-user", "env-pw", "/flag/ca.pem", False)
    o = registry_options(env, auth=RegistryAuth(insecure=True))
    assert (o.username, o.password, o.insecure) == ("env-user", "env-pw", True)
