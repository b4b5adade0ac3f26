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
from typing import Any

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


# --- a generator of scan histories ---------------------------------------------------------------------------------

XSS_PKG = "<img src=x onerror=alert(1)>"
XSS_TITLE = "</script><script>alert(2)</script>"
XSS_TARGET = "<script>alert(3)</script>"
_PKGS = ("openssl", "libcurl", "zlib", "django", "requests", "lodash", "log4j-core", "jackson-databind", "glibc",
         "express", "pyyaml", "jinja2", "golang.org/x/net", "spring-core", "busybox")


def seed(store: Any, *, targets: int, days: int, end: dt.datetime, seed_: int = 7, every: int = 1) -> dict[str, Any]:
    """Replay `days` days of scans of `targets` targets (images, workloads, repositories) ending at `end`: each
    target starts with some vulnerabilities (the demo report's real ones plus generated ones), and each scan some
    are fixed and some new ones appear. One extra target carries hostile names. Returns facts for assertions."""
    import random

    from vigil.store import PublishRequest, TargetSpec

    rng = random.Random(seed_)
    demo = demo_report()
    real = [V(v.vulnerability_id, v.pkg_name, v.installed_version, v.severity, v.fixed_version, title=v.title)
            for r in demo.results for v in r.vulnerabilities]
    sevs = ("CRITICAL", "HIGH", "HIGH", "MEDIUM", "MEDIUM", "MEDIUM", "LOW", "LOW", "UNKNOWN")
    n = 0

    def fresh() -> V:
        nonlocal n
        n += 1
        pkg = rng.choice(_PKGS)
        return V(f"CVE-2026-{10000 + n}", pkg, f"{rng.randint(0, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
                 rng.choice(sevs), fixed=rng.choice(("", "9.9.9")), kev=rng.random() < 0.03)

    start = end - dt.timedelta(days=days - 1)
    for i in range(targets):
        kind = i % 3
        spec = (TargetSpec(cluster="prod", namespace=f"ns{i % 5}", workload=f"Deployment/app{i}",
                           labels={"team": f"t{i % 4}"}) if kind == 0 else
                TargetSpec(repository=f"github.com/acme/repo{i}", branch="main", labels={"team": f"t{i % 4}"})
                if kind == 1 else TargetSpec(name=f"registry.example.com/img{i}", labels={"team": f"t{i % 4}"}))
        art = "container_image" if kind != 1 else "filesystem"
        current = set(rng.sample(range(len(real)), k=min(len(real), rng.randint(2, 8))))
        extra = [fresh() for _ in range(rng.randint(5, 40))]
        secrets = [("aws-access-key-id", "CRITICAL")] if i % 7 == 0 else []
        for d in range(0, days, every):
            when = start + dt.timedelta(days=d, minutes=i)
            if rng.random() < 0.3 and extra:
                extra.pop(rng.randrange(len(extra)))
            if rng.random() < 0.3:
                extra.append(fresh())
            vulns = [real[j] for j in sorted(current)] + extra
            rep = make_report(vulns, when=when, name=spec.name or f"app{i}", artifact_type=art,
                              misconfs=[("DS002", "HIGH", "")] if i % 2 else [], secrets=secrets,
                              digest="sha256:" + f"{i:02x}{d:04x}".ljust(64, "0") if art == "container_image" else "")
            store.publish(PublishRequest(report=rep, target=spec, commit=f"{d:040x}", source="ci"),
                          received_at=when + dt.timedelta(minutes=1))
    hostile = V("CVE-2026-66666", XSS_PKG, "1.0", "CRITICAL", title=XSS_TITLE)
    r1 = store.publish(PublishRequest(report=make_report([hostile], when=end - dt.timedelta(days=1), name=XSS_TARGET)),
                       received_at=end)
    r2 = store.publish(PublishRequest(report=make_report([hostile, V("CVE-2026-77777", "zlib", "1.2", "HIGH")],
                                                         when=end, name=XSS_TARGET)), received_at=end)
    return {"xss_target": r1.target_id, "xss_scans": (r1.scan_id, r2.scan_id)}
