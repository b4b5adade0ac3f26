"""Report store test helpers: a real PostgreSQL started in a temp dir (Debian's postgresql 15, initdb/pg_ctl on a
free 127.0.0.1 port, run as an unprivileged user when the tests run as root), and report builders."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from vigil.findings.records import (
    CauseMetadata,
    Metadata,
    Misconfiguration,
    Report,
    Result,
    SecretFinding,
    Vulnerability,
)

PG_BIN = Path(os.environ.get("VIGIL_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
DEMO_REPORT = Path(__file__).resolve().parent / "fixtures" / "reports" / "demo-report.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postgres:
    """One PostgreSQL cluster; `new_database()` gives each test an empty database of its own."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"PostgreSQL not installed at {PG_BIN} (apt-get install postgresql; .ci/run does)")
        self.tmp = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
        self.data = self.tmp / "data"
        self.port = free_port()
        self.n = 0
        self.user: str | None = None
        if os.geteuid() == 0:  # initdb refuses to run as root
            self.user = "nobody"
            os.chown(self.tmp, pwd.getpwnam("nobody").pw_uid, -1)
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "vigil", "-A", "trust", "--no-sync",
                   "-E", "UTF8"])
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.tmp / "log"), "-w", "-o",
                   f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.tmp} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=100", "start"])

    def _run(self, cmd: list[str]) -> None:
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://vigil@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        import psycopg

        self.n += 1
        name = f"t{self.n}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=vigil dbname=postgres", autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    pg = Postgres()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    pg: Postgres = request.getfixturevalue("postgres")
    return pg.new_database()


# --- reports ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class V:
    id: str
    pkg: str
    version: str
    severity: str = "HIGH"
    fixed: str = ""
    kev: bool = False
    title: str = ""


def demo_report() -> Report:
    return msgspec.json.decode(DEMO_REPORT.read_bytes(), type=Report)


def make_report(vulns: Sequence[V] = (), *, when: dt.datetime, name: str = "app", artifact_type: str = "filesystem",
                lockfile: str = "requirements.txt", misconfs: Sequence[tuple[str, str, str]] = (),
                secrets: Sequence[tuple[str, str]] = (), digest: str = "", tags: Sequence[str] = ()) -> Report:
    """A report as a scan would make it: vulnerabilities in one lockfile, FAIL misconfigurations (id, severity,
    resource) in a Dockerfile, secrets (rule, severity) in one file."""
    results = [Result(target=lockfile, class_="lang-pkgs", type="pip", vulnerabilities=tuple(
        Vulnerability(vulnerability_id=v.id, pkg_name=v.pkg, installed_version=v.version, fixed_version=v.fixed,
                      status="fixed" if v.fixed else "affected", severity=v.severity, known_exploited=v.kev,  # type: ignore[arg-type]
                      title=v.title or f"{v.id} in {v.pkg}") for v in vulns))]
    if misconfs:
        results.append(Result(target="Dockerfile", class_="config", type="dockerfile", misconfigurations=tuple(
            Misconfiguration(type="dockerfile", id=i, title=f"check {i}", severity=s, status="FAIL",  # type: ignore[arg-type]
                             cause_metadata=CauseMetadata(resource=res)) for i, s, res in misconfs)))
    if secrets:
        results.append(Result(target="config/settings.py", class_="secret", secrets=tuple(
            SecretFinding(rule_id=r, category="generic", severity=s, title=f"secret {r}", start_line=1,  # type: ignore[arg-type]
                          end_line=1) for r, s in secrets)))
    md = Metadata(repo_digests=(f"{name}@{digest}",) if digest else (), repo_tags=tuple(tags))
    return Report(artifact_name=name, artifact_type=artifact_type, created_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"),  # type: ignore[arg-type]
                  vigil_version="0.1.0", metadata=md, results=tuple(results))
