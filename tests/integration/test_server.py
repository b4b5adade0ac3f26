"""`vigil server` and client mode end to end (issue 8 §4-§5): real `vigil server` processes on loopback ports,
real `vigil ... --server URL` clients, a real redis-server, TLS with an openssl-made certificate.

Client mode must give the report local mode gives (compared as JSON without CreatedAt) on fs, rootfs, sbom and
image; the ignore file and severity filter apply on the client."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from tests.cli_helpers import run
from tests.conftest import LOCKFILES, SHARED

from vigil import server_client as remote
from vigil.findings.analysis import ArtifactInfo
from vigil.findings.wire import ScanRequest
from vigil.server_client import RemoteClient, RemoteError, ServerOptions

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-project"
INSTALLED = ROOT / "tests" / "fixtures" / "installed"
ALPINE = SHARED / "data" / "images" / "alpine-like.docker.tar"
TOKEN = "s3cret-token-for-tests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    db: Path

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kw)

    def metric(self, name: str) -> float:
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _env(home: Path, **extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    e.update(XDG_CACHE_HOME=str(home), **extra)
    return e


def start_server(tmp: Path, db: Path, *args: str, scheme: str = "http", verify: Any = True, **popen: Any) -> Server:
    port = _free_port()
    log = tmp / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "vigil.shells.cli.main", "server", "--listen",
                                 f"127.0.0.1:{port}", "--db-path", str(db), "--cache-dir", str(tmp / "server-cache"),
                                 *args], stdout=out, stderr=subprocess.STDOUT, env=_env(tmp), **popen)
    url = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1, verify=verify).status_code == 200:
                return Server(proc, url, log, db)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"server did not come up: {log.read_text()}")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server")


@pytest.fixture(scope="module")
def server_db(work: Path, fixture_db: Path) -> Path:
    d = work / "db"
    d.mkdir()
    shutil.copy2(fixture_db, d / "vigil.db")
    return d / "vigil.db"


@pytest.fixture(scope="module")
def token_file(work: Path) -> Path:
    f = work / "token"
    f.write_text(TOKEN + "\n")
    return f


@pytest.fixture(scope="module")
def server(work: Path, server_db: Path, token_file: Path) -> Iterator[Server]:
    s = start_server(work, server_db, "--token-file", str(token_file))
    yield s
    s.stop()


def _report(p: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert p.returncode == 0, p.stderr
    r: dict[str, Any] = json.loads(p.stdout)
    r.pop("CreatedAt")
    return r


def local_and_remote(cmd: str, target: Path, db: Path, server: Server, home: Path, *extra: str,
                     token: str = TOKEN) -> tuple[dict[str, Any], dict[str, Any]]:
    args = [cmd, *([str(target)] if target.name else []), "--format", "json", *extra]
    local = _report(run(*args, "--db-path", str(db), env=_env(home), cwd=home))
    remote = _report(run(*args, "--server", server.url, "--token", token, env=_env(home), cwd=home))
    return local, remote


def vulns(report: dict[str, Any]) -> int:
    return sum(len(r.get("Vulnerabilities", [])) for r in report["Results"])


# --- results identical to local mode -----------------------------------------------------------------------


def test_fs_demo_with_secrets_licenses_and_client_side_filters(server: Server, server_db: Path, work: Path,
                                                                 tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(DEMO, demo)
    (demo / "backend" / "settings.env").write_text("AWS_ACCESS_KEY_ID=AKIAZ7QRSTUVWXY2345A\n")
    (demo / ".vigilignore").write_text("CVE-2020-8203\nCVE-2020-28500 exp:2020-01-01\n")
    vex = tmp_path / "a.openvex.json"
    vex.write_text(json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2026-01-01T00:00:00Z",
        "version": 1, "statements": [{"vulnerability": {"name": "CVE-2020-14343"}, "status": "not_affected",
                                      "justification": "vulnerable_code_not_in_execute_path",
                                      "products": [{"@id": "pkg:pypi/pyyaml@5.3.1"}]}]}))
    extra = ("--scanners", "vuln,secret,license", "--severity", "MEDIUM,HIGH,CRITICAL",
             "--ignorefile", str(demo / ".vigilignore"), "--vex", str(vex))
    local, remote = local_and_remote("fs", demo, server_db, server, tmp_path, *extra)
    assert remote == local
    classes = {r["Class"] for r in local["Results"]}
    assert {"lang-pkgs", "secret"} <= classes
    reasons = {s["VulnerabilityID"]: s["Reason"] for s in local["Metadata"]["Suppressed"]}
    assert "CVE-2020-8203" in reasons and reasons["CVE-2020-14343"].startswith("VEX openvex")
    assert any("expired" in w for w in local["Metadata"]["Warnings"])
    assert all(v["Severity"] in ("MEDIUM", "HIGH", "CRITICAL")
               for r in local["Results"] for v in r.get("Vulnerabilities", []))
    assert any(r.get("Remediations") for r in local["Results"])  # remediation annotated after the filters


def test_misconfig_and_repo_in_client_mode(server: Server, server_db: Path, tmp_path: Path) -> None:
    """Every target and scanner goes through the one pipeline, so client mode needs nothing per target: the
    misconfiguration results travel in the uploaded blob, and a repository is one blob like a directory."""
    src = tmp_path / "src"
    shutil.copytree(DEMO, src)
    (src / "Dockerfile").write_text("FROM ubuntu:latest\nUSER root\n")
    (src / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
                                  "  - name: c\n    image: busybox\n    securityContext:\n      privileged: true\n")
    local, remote = local_and_remote("fs", src, server_db, server, tmp_path, "--scanners", "vuln,misconfig,secret")
    assert remote == local
    assert {"Dockerfile", "pod.yaml"} <= {r["Target"] for r in local["Results"] if r["Class"] == "config"}
    assert any(r.get("Vulnerabilities") for r in local["Results"])
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "one"]):
        subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=src, check=True,
                       capture_output=True)
    local_repo, remote_repo = local_and_remote("repo", src, server_db, server, tmp_path, "--scanners",
                                               "vuln,misconfig")
    assert remote_repo == local_repo and local_repo["ArtifactType"] == "repository"
    assert [r for r in local_repo["Results"] if r["Class"] == "config"] == [
        r for r in local["Results"] if r["Class"] == "config"]


def test_fs_corpus_lockfiles(server: Server, server_db: Path, tmp_path: Path) -> None:
    target = LOCKFILES / "adeyosemanputra__pygoat"
    if not target.is_dir():
        pytest.skip("../shared corpus not present")
    local, remote = local_and_remote("fs", target, server_db, server, tmp_path, "--list-all-pkgs")
    assert remote == local
    assert vulns(local) > 0


def test_rootfs(server: Server, server_db: Path, tmp_path: Path) -> None:
    r = tmp_path / "rootfs"
    shutil.copytree(INSTALLED / "python/site-packages", r / "usr/lib/python3/site-packages")
    shutil.copytree(INSTALLED / "node/node_modules", r / "app/node_modules")
    (r / "usr/local/bin").mkdir(parents=True)
    shutil.copy2(INSTALLED / "gobinary/hello", r / "usr/local/bin/hello")
    (r / "usr/local/bin/hello").chmod(0o755)
    local, remote = local_and_remote("rootfs", r, server_db, server, tmp_path, "--list-all-pkgs")
    assert remote == local
    assert vulns(local) > 0


def test_sbom(server: Server, server_db: Path, tmp_path: Path) -> None:
    bom = tmp_path / "bom.cdx.json"
    p = run("fs", str(DEMO), "--db-path", str(server_db), "--format", "cyclonedx", "-o", str(bom),
            env=_env(tmp_path))
    assert p.returncode == 0, p.stderr
    local, remote = local_and_remote("sbom", bom, server_db, server, tmp_path)
    assert remote == local
    assert local["ArtifactType"] == "sbom" and vulns(local) > 0


def test_image_identical_and_second_scan_uploads_nothing(server: Server, server_db: Path, tmp_path: Path) -> None:
    if not ALPINE.is_file():
        pytest.skip("../shared images not present")
    args = ("--input", str(ALPINE), "--list-all-pkgs", "--cache-backend", "memory")
    uploaded = server.metric("vigil_blobs_uploaded_total")
    local, remote = local_and_remote("image", Path(""), server_db, server, tmp_path, *args)
    assert remote == local
    assert local["ArtifactType"] == "container_image" and vulns(local) > 0
    assert any(r["Class"] == "os-pkgs" for r in local["Results"])
    layers = len(local["Metadata"]["Layers"])
    assert server.metric("vigil_blobs_uploaded_total") - uploaded == layers
    # the second scan finds every layer on the server and uploads nothing
    present = server.metric("vigil_blobs_present_total")
    again = _report(run("image", *args, "--format", "json", "--server", server.url, "--token", TOKEN,
                        env=_env(tmp_path)))
    assert again == remote
    assert server.metric("vigil_blobs_uploaded_total") - uploaded == layers
    assert server.metric("vigil_blobs_present_total") - present == layers


# --- auth ----------------------------------------------------------------------------------------------------


def test_auth_required_except_health_and_metrics(server: Server, tmp_path: Path) -> None:
    assert server.get("/healthz").status_code == 200
    assert server.get("/metrics").status_code == 200
    for path in ("/version", "/openapi.json"):
        r = server.get(path)
        assert r.status_code == 401 and "token" in r.json()["Error"]
        assert server.get(path, headers={"Vigil-Token": "wrong"}).status_code == 401
        assert server.get(path, headers={"Vigil-Token": TOKEN}).status_code == 200
    r = httpx.post(server.url + "/v1/scan", content=b"{}", timeout=10)
    assert r.status_code == 401
    assert server.metric('vigil_requests_total{endpoint="/version",method="GET",status="401"}') >= 1
    for token in ("", "wrong"):
        p = run("fs", str(DEMO), "--server", server.url, "--token", token, env=_env(tmp_path))
        assert p.returncode == 2
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "refused the token" in lines[0], p.stderr
        assert TOKEN not in p.stderr


def test_custom_header_and_redis_cache(work: Path, server_db: Path, token_file: Path, tmp_path: Path) -> None:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server not installed (apt-get install redis-server; .ci/run does)")
    import redis

    port = _free_port()
    rproc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv = None
    try:
        r = redis.Redis(port=port)
        for _ in range(100):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        srv = start_server(tmp_path, server_db, "--token-file", str(token_file), "--token-header", "X-Scan-Key",
                           "--cache-backend", f"redis://127.0.0.1:{port}/0")
        assert srv.get("/version", headers={"X-Scan-Key": TOKEN}).status_code == 200
        assert srv.get("/version", headers={"Vigil-Token": TOKEN}).status_code == 401
        p = run("fs", str(DEMO), "--format", "json", "--server", srv.url, "--token", TOKEN, env=_env(tmp_path))
        assert p.returncode == 2 and "refused the token" in p.stderr
        p = run("fs", str(DEMO), "--format", "json", "--server", srv.url, "--token", TOKEN,
                "--token-header", "X-Scan-Key", env=_env(tmp_path))
        local = _report(run("fs", str(DEMO), "--format", "json", "--db-path", str(server_db), env=_env(tmp_path)))
        assert _report(p) == local
        keys = list(r.scan_iter(match="vigil:blob:*"))
        assert len(keys) == 1  # the fs blob, checked and shared: stored in Redis under its DiffID
        assert keys[0].decode().startswith("vigil:blob:ca/sha256:")
        # a second server on the same Redis already has it: nothing to upload
        with RemoteClient(ServerOptions(url=srv.url, token=TOKEN, token_header="X-Scan-Key")) as c:
            assert c.missing([keys[0].decode().removeprefix("vigil:blob:ca/")]) == []
        r.close()
    finally:
        if srv is not None:
            srv.stop()
        rproc.terminate()
        rproc.wait(10)


def test_non_loopback_without_token_is_refused(server_db: Path, tmp_path: Path) -> None:
    port = _free_port()
    p = run("server", "--listen", f"0.0.0.0:{port}", "--db-path", str(server_db), env=_env(tmp_path), timeout=30)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "without a token" in lines[0] and "--insecure-no-auth" in lines[0]
    p = run("server", "--listen", "nonsense", env=_env(tmp_path))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    p = run("server", "--db-path", str(tmp_path / "none.db"), "--skip-db-update", env=_env(tmp_path))
    assert p.returncode == 2 and "no usable vulnerability DB" in p.stderr


def test_insecure_no_auth_listens_on_all_addresses(server_db: Path, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "s.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "vigil.shells.cli.main", "server", "--listen",
                                 f"0.0.0.0:{port}", "--insecure-no-auth", "--db-path", str(server_db),
                                 "--cache-backend", "memory"], stdout=out, stderr=subprocess.STDOUT,
                                env=_env(tmp_path))
    s = Server(proc, f"http://127.0.0.1:{port}", log, server_db)
    try:
        for _ in range(200):
            try:
                if s.get("/version").status_code == 200:  # no token needed
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert s.get("/version").json()["DB"]["BuiltAt"] == "2026-01-01T00:00:00Z"
    finally:
        s.stop()


def test_tls_with_self_signed_certificate(server_db: Path, token_file: Path, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl CLI not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    srv = start_server(tmp_path, server_db, "--token-file", str(token_file), "--tls-cert", str(cert),
                       "--tls-key", str(key), scheme="https", verify=ssl.create_default_context(cafile=cert))
    try:
        assert srv.url.startswith("https://")
        p = run("fs", str(DEMO), "--format", "json", "--server", srv.url, "--token", TOKEN,
                env=_env(tmp_path, SSL_CERT_FILE=str(cert)))
        local = _report(run("fs", str(DEMO), "--format", "json", "--db-path", str(server_db), env=_env(tmp_path)))
        assert _report(p) == local
        for so in (ServerOptions(url=srv.url, token=TOKEN, ca_file=str(cert)),
                   ServerOptions(url=srv.url, token=TOKEN, insecure=True)):
            with RemoteClient(so) as c:
                assert c.version().db is not None
        # without the CA the client refuses the server: one line, no retries forever
        p = run("fs", str(DEMO), "--server", srv.url, "--token", TOKEN, env=_env(tmp_path), timeout=60)
        assert p.returncode == 2
        assert len(p.stderr.strip().splitlines()) == 1 and "CERTIFICATE_VERIFY_FAILED" in p.stderr, p.stderr
    finally:
        srv.stop()
    p = run("server", "--tls-cert", str(cert), "--db-path", str(server_db), env=_env(tmp_path))
    assert p.returncode == 2 and "--tls-key" in p.stderr


def test_a_bad_certificate_or_key_fails_before_listening_is_announced(server_db: Path, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl CLI not installed")
    cert, key, other = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "other.pem"
    for k in (key, other):
        subprocess.run([openssl, "genrsa", "-out", str(k), "2048"], check=True, capture_output=True)
    subprocess.run([openssl, "req", "-x509", "-key", str(key), "-out", str(cert), "-days", "2", "-subj",
                    "/CN=127.0.0.1"], check=True, capture_output=True)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    for c, k in ((garbage, key), (cert, other), (cert, garbage)):
        p = run("server", "--listen", f"127.0.0.1:{_free_port()}", "--db-path", str(server_db), "--skip-db-update",
                "--tls-cert", str(c), "--tls-key", str(k), env=_env(tmp_path), timeout=60)
        assert p.returncode == 2, p.stderr
        assert "listening" not in p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "TLS certificate and key" in lines[0], p.stderr


def test_client_reads_the_token_from_a_file(server: Server, server_db: Path, tmp_path: Path) -> None:
    """--token-file (or VIGIL_TOKEN_FILE) keeps the token out of `ps` and the shell history."""
    tf = tmp_path / "client-token"
    tf.write_text(TOKEN + "\n")
    local = _report(run("fs", str(DEMO), "--format", "json", "--db-path", str(server_db), env=_env(tmp_path)))
    p = run("fs", str(DEMO), "--format", "json", "--server", server.url, "--token-file", str(tf), env=_env(tmp_path))
    assert _report(p) == local
    p = run("fs", str(DEMO), "--format", "json", "--server", server.url, env=_env(tmp_path, VIGIL_TOKEN_FILE=str(tf)))
    assert _report(p) == local
    p = run("fs", str(DEMO), "--server", server.url, "--token", TOKEN, "--token-file", str(tf), env=_env(tmp_path))
    assert p.returncode == 2 and "not both" in p.stderr
    two = tmp_path / "two-lines"
    two.write_text("first-secret-line\nsecond-secret-line\n")
    for bad, what in ((two, "one token on one line"), (tmp_path / "absent", "cannot read token file")):
        p = run("fs", str(DEMO), "--server", server.url, "--token-file", str(bad), env=_env(tmp_path))
        assert p.returncode == 2 and what in p.stderr, p.stderr
        assert "secret-line" not in p.stderr  # a file's content is never quoted
    p = run("fs", "--help", env=_env(tmp_path))
    text = " ".join(p.stdout.split())
    assert "--token-file" in text and "VIGIL_TOKEN or --token-file keep it out" in text


# --- /version, /metrics, API errors --------------------------------------------------------------------------


def test_version_and_metrics(server: Server) -> None:
    v = server.get("/version", headers={"Vigil-Token": TOKEN}).json()
    from vigil import __version__

    assert v["Version"] == __version__ and v["WireSchemaVersion"] == 1 and v["BlobSchemaVersion"] == 3
    assert v["DB"]["BuiltAt"] == "2026-01-01T00:00:00Z" and v["DB"]["SchemaVersion"] >= 1
    assert v["DB"]["AgeSeconds"] > 0
    text = server.get("/metrics").text
    for name in ("vigil_requests_total", "vigil_scan_duration_seconds_bucket", "vigil_db_age_seconds",
                 "vigil_blobs_uploaded_total", "vigil_blobs_missing_total"):
        assert name in text, name
    assert server.metric("vigil_db_age_seconds") == pytest.approx(v["DB"]["AgeSeconds"], abs=60)


def test_api_rejects_bad_input_with_one_line(server: Server) -> None:
    h = {"Vigil-Token": TOKEN}
    key = "sha256:" + "0" * 64
    r = httpx.put(f"{server.url}/v1/blobs/{key}", content=b"\x93not msgpack", headers=h, timeout=10)
    assert r.status_code == 422 and "BlobInfo" in r.json()["Error"]
    r = httpx.put(f"{server.url}/v1/blobs/nothex", content=b"", headers=h, timeout=10)
    assert r.status_code == 400
    # a content-addressed (fs) blob must be stored under its own digest
    import msgspec
    from tests.pipeline_helpers import content_addressed

    from vigil.findings.analysis import BlobInfo

    blob = content_addressed(BlobInfo(diff_id="", whiteouts=("x",)))
    r = httpx.put(f"{server.url}/v1/blobs/{key}", content=msgspec.msgpack.encode(blob), headers=h, timeout=10)
    assert r.status_code == 422 and "does not match" in r.json()["Error"]
    r = httpx.post(f"{server.url}/v1/scan", content=b'{"Artifact": {"Name": "x", "Type": "filesystem"}, '
                   b'"BlobKeys": ["' + key.encode() + b'"]}', headers=h, timeout=10)
    assert r.status_code == 404 and "not on the server" in r.json()["Error"]
    r = httpx.post(f"{server.url}/v1/scan", content=b'{"SchemaVersion": 99}', headers=h, timeout=10)
    assert r.status_code == 422  # not a ScanRequest at all (no Artifact)
    r = httpx.post(f"{server.url}/v1/scan", content=b'{"SchemaVersion": 99, "Artifact": {"Name": "x"}, '
                   b'"BlobKeys": ["' + key.encode() + b'"]}', headers=h, timeout=10)
    assert r.status_code == 409 and "wire schema 99 is not supported" in r.json()["Error"]
    r = httpx.post(f"{server.url}/v1/scan", content=b'{"Artifact": {"Name": "x"}, "BlobKeys": ["' + key.encode()
                   + b'"]}', headers=h, timeout=10)
    assert r.status_code == 409 and "one blob key per layer" in r.json()["Error"]
    big = b"x" * (17 << 20)
    r = httpx.post(f"{server.url}/v1/blobs/missing", content=big, headers=h, timeout=30)
    assert r.status_code == 413
    with RemoteClient(ServerOptions(url=server.url, token=TOKEN, retries=0)) as c, \
            pytest.raises(RemoteError, match="not on the server"):
        c.scan(ScanRequest(artifact=ArtifactInfo(name="x", type="sbom"), blob_keys=(key,)))


def test_cli_startup_does_not_import_the_server_stack(tmp_path: Path) -> None:
    for args in (["--version"], ["fs", "--help"]):
        p = subprocess.run([sys.executable, "-X", "importtime", "-m", "vigil.shells.cli.main", *args],
                           capture_output=True, text=True, env=_env(tmp_path))
        assert p.returncode == 0
        loaded = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in p.stderr.splitlines() if "|" in line}
        assert not loaded & {"httpx", "fastapi", "uvicorn", "starlette", "prometheus_client"}, args


def test_client_retries_5xx_and_connection_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """5xx answers and refused connections are retried with backoff; 4xx are not; each ends in one line."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits: list[str] = []

    class Flaky(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if len(hits) <= 2:
                body, code = b'{"Error": "DB swap in progress"}', 503
            else:
                body, code = b'{"Version": "9", "BlobSchemaVersion": 1, "WireSchemaVersion": 1, "DB": null}', 200
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        with RemoteClient(ServerOptions(url=url, backoff=0.01)) as c:
            assert c.version().version == "9"
        assert len(hits) == 3
        hits.clear()
        with RemoteClient(ServerOptions(url=url, retries=1, backoff=0.01)) as c, \
                pytest.raises(RemoteError, match="HTTP 503: DB swap in progress"):
            c.version()
        assert len(hits) == 2
    finally:
        httpd.shutdown()
        httpd.server_close()
    port = _free_port()
    slept: list[float] = []  # the client's backoff, recorded instead of waited for
    monkeypatch.setattr(remote, "time", SimpleNamespace(sleep=slept.append))
    with RemoteClient(ServerOptions(url=f"http://127.0.0.1:{port}", retries=2, backoff=0.05)) as c, \
            pytest.raises(RemoteError, match=f"127.0.0.1:{port}.*failed"):
        c.missing(["sha256:" + "0" * 64])
    assert slept == [0.05, 0.1]  # two retries, the backoff doubling
    p = run("fs", str(DEMO), "--server", "ftp://x", env=_env(tmp_path))
    assert p.returncode == 2 and p.stderr.strip() == "Error: invalid server URL 'ftp://x' (expected http(s)://HOST:PORT)"


# --- DB refresh and hot swap ------------------------------------------------------------------------------------


def _wait(cond: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_scheduled_refresh_from_http_mirror_with_requests_in_flight(server_db: Path, feeds_dir: Path,
                                                                    token_file: Path, tmp_path: Path) -> None:
    """The refresh thread (every --db-update-interval) finds the DB's next_update passed, downloads the newer
    artifact from a plain HTTP mirror (vigil.dbdist.update.ensure_db: verify, os.replace under the lock) while 20
    clients scan: none fails and reports move to the new DB."""
    import datetime as dt
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from tests.pipeline_helpers import analyze_dir as analyze_fs

    from vigil.dbdist.artifact import pack
    from vigil.settings import ScanOptions
    from vigil.vulndb.build.builder import build

    mirror = tmp_path / "mirror"
    build(feeds_dir, mirror, now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), vigil_version="test")
    pack(mirror)

    published = threading.Event()  # the mirror answers once the clients are busy (then the update lands)

    class Quiet(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            published.wait(20)
            super().do_GET()

        def log_message(self, *a: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(mirror)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    d = tmp_path / "db"
    d.mkdir()
    db = d / "vigil.db"
    shutil.copy2(server_db, db)  # built 2026-01-01, next update 2026-01-02: due
    srv = start_server(tmp_path, db, "--token-file", str(token_file), "--cache-backend", "memory",
                       "--db-repository", f"http://127.0.0.1:{httpd.server_address[1]}/",
                       "--db-update-interval", "1s")
    try:
        blob = analyze_fs(ScanOptions(target=DEMO, db_path=db))
        req = ScanRequest(artifact=ArtifactInfo(name="demo", type="filesystem"), blob_keys=(blob.diff_id,))
        with RemoteClient(ServerOptions(url=srv.url, token=TOKEN)) as c:
            c.put(blob.diff_id, blob)
        stop = threading.Event()
        seen: list[str] = []
        errors: list[str] = []

        def client() -> None:
            with RemoteClient(ServerOptions(url=srv.url, token=TOKEN, retries=0)) as c:
                while not stop.is_set():
                    try:
                        seen.append(c.scan(req).metadata.db_built_at)
                    except RemoteError as e:
                        errors.append(str(e))

        threads = [threading.Thread(target=client) for _ in range(20)]
        for t in threads:
            t.start()
        try:
            _wait(lambda: len(seen) >= 40)
            published.set()
            _wait(lambda: "2026-06-01T00:00:00Z" in seen[-5:], timeout=20)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        assert errors == []
        assert seen[0] == "2026-01-01T00:00:00Z"
        assert srv.metric("vigil_db_swaps_total") == 1
        assert srv.metric("vigil_db_refresh_errors_total") == 0
        assert srv.metric('vigil_requests_total{endpoint="/v1/scan",method="POST",status="200"}') == len(seen)
        assert srv.get("/version", headers={"Vigil-Token": TOKEN}).json()["DB"]["BuiltAt"] == "2026-06-01T00:00:00Z"
    finally:
        published.set()
        srv.stop()
        httpd.shutdown()
        httpd.server_close()


def test_non_ascii_tokens_are_refused_with_one_line(server: Server, server_db: Path, tmp_path: Path) -> None:
    """HTTP header values are ASCII: a token no client can send is refused when the server starts, and a client
    token outside ASCII is a one-line usage error (not an 'Internal error'), neither echoing the token."""
    secret = "t\u00f6k\u00e9n-s3cret"
    tf = tmp_path / "token"
    tf.write_text(secret + "\n", encoding="utf-8")
    p = run("server", "--listen", f"127.0.0.1:{_free_port()}", "--db-path", str(server_db), "--token-file", str(tf),
            env=_env(tmp_path), timeout=30)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tf) in lines[0] and "ASCII" in lines[0] and secret not in p.stderr
    p = run("fs", str(DEMO), "--server", server.url, "--token", secret, env=_env(tmp_path))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Internal error" not in lines[0] and "ASCII" in lines[0], p.stderr
    assert secret not in p.stderr


def test_port_in_use_is_one_line(server_db: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        p = run("server", "--listen", f"127.0.0.1:{port}", "--db-path", str(server_db), "--skip-db-update",
                "--cache-dir", str(tmp_path / "c"), env=_env(tmp_path), timeout=30)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], p.stderr
    assert "listening on" not in p.stderr


def test_db_of_an_older_schema_is_downloaded_at_start(server_db: Path, feeds_dir: Path, token_file: Path,
                                                      tmp_path: Path) -> None:
    """A DB file of an older schema (or a damaged one) with --db-repository: the server downloads the current DB
    when it starts, as a scan would, instead of refusing to start."""
    import datetime as dt
    import functools
    import sqlite3
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from vigil.dbdist.artifact import pack
    from vigil.vulndb.build.builder import build
    from vigil.vulndb.schema import SCHEMA_VERSION

    mirror = tmp_path / "mirror"
    build(feeds_dir, mirror, now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), vigil_version="test")
    pack(mirror)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(mirror)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    d = tmp_path / "db"
    d.mkdir()
    db = d / "vigil.db"
    shutil.copy2(server_db, db)
    with sqlite3.connect(db) as conn:
        (raw,) = conn.execute("SELECT value FROM metadata WHERE key = 'metadata'").fetchone()
        doc = json.loads(raw)
        doc["schema_version"] = SCHEMA_VERSION - 1
        conn.execute("UPDATE metadata SET value = ? WHERE key = 'metadata'", (json.dumps(doc),))
    conn.close()
    try:
        srv = start_server(tmp_path, db, "--token-file", str(token_file), "--cache-backend", "memory",
                           "--db-repository", f"http://127.0.0.1:{httpd.server_address[1]}/")
        try:
            v = srv.get("/version", headers={"Vigil-Token": TOKEN}).json()
            assert v["DB"]["BuiltAt"] == "2026-06-01T00:00:00Z" and v["DB"]["SchemaVersion"] == SCHEMA_VERSION
        finally:
            srv.stop()
    finally:
        httpd.shutdown()
        httpd.server_close()
