"""Real OCI registries for tests: Debian's `docker-registry` (CNCF distribution 2.8) on 127.0.0.1.

Session-scoped pytest fixtures, one per mode (like ../shared/tools/images/registry.sh, but on free ports and in a
pytest temp dir): `registry_noauth` (plain HTTP, anonymous), `registry_basic` (htpasswd basic auth), `registry_tls`
(HTTPS with a self-signed cert + basic auth) and `registry_token` (Bearer tokens from token-server.py). Each process
runs in its own process group and the whole group is killed at the end of the session.

`push(archive, "127.0.0.1:PORT/repo:tag", creds=..., format="oci"|"v2s2")` copies an image archive in with skopeo.

Import the fixtures into a test module (`from tests.registry_helpers import registry_noauth_fixture  # noqa: F401`)
and ask for them by their fixture name (`registry_noauth`).
Needs (apt): docker-registry skopeo apache2-utils (htpasswd) openssl.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
IMAGES = SHARED / "data" / "images"
TOOLS = SHARED / "tools" / "images"
USER, PASSWORD = "fixture", "fixture-pass"  # test-only constants, same as registry.sh
TOOLS_NEEDED = ("docker-registry", "skopeo", "htpasswd", "openssl")


def missing_tools() -> list[str]:
    return [t for t in TOOLS_NEEDED if shutil.which(t) is None]


def free_port() -> int:
    """A port nobody listens on: bind to port 0, read it back, release it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    mode: str
    host: str  # "127.0.0.1:PORT"
    url: str  # "http(s)://127.0.0.1:PORT"
    workdir: Path
    ca_file: str = ""  # the self-signed cert (TLS mode)
    creds: tuple[str, str] | None = None  # needed to push/pull
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else False

    def basic_header(self) -> dict[str, str]:
        if not self.creds:
            return {}
        tok = base64.b64encode(f"{self.creds[0]}:{self.creds[1]}".encode()).decode()
        return {"Authorization": f"Basic {tok}"}

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(timeout=5)


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )


def _self_signed(key: Path, crt: Path, cn: str, san: str = "") -> None:
    argv = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={cn}"]
    if san:
        argv += ["-addext", f"subjectAltName={san}"]
    subprocess.run([*argv, "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)


def _wait_http(url: str, ok: tuple[int, ...], ca_file: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else False
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url, verify=verify, timeout=1).status_code in ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in 15 s: {log.read_text(errors='replace')[-2000:]}")


def start_registry(mode: str, workdir: Path) -> Registry:
    """Start docker-registry in `mode` (noauth|basic|tls|token) on a free port with its own config.yml."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    host = f"127.0.0.1:{port}"
    scheme = "https" if mode == "tls" else "http"
    reg = Registry(mode=mode, host=host, url=f"{scheme}://{host}", workdir=workdir)
    auth_block = tls_block = ""
    if mode in ("basic", "tls"):
        htp = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], check=True, capture_output=True).stdout
        (workdir / "htpasswd").write_bytes(htp)
        auth_block = f"auth:\n  htpasswd:\n    realm: fixture-registry\n    path: {workdir / 'htpasswd'}\n"
        reg.creds = (USER, PASSWORD)
    if mode == "tls":
        _self_signed(workdir / "tls.key", workdir / "tls.crt", "127.0.0.1", "IP:127.0.0.1,DNS:localhost")
        tls_block = f"  tls:\n    certificate: {workdir / 'tls.crt'}\n    key: {workdir / 'tls.key'}\n"
        reg.ca_file = str(workdir / "tls.crt")
    if mode == "token":
        _self_signed(workdir / "token.key", workdir / "token.crt", "fixture-token-issuer")
        tport = free_port()
        tlog = workdir / "token-server.log"
        tok = _spawn(
            [
                sys.executable,
                str(TOOLS / "token-server.py"),
                "--port",
                str(tport),
                "--key",
                str(workdir / "token.key"),
                "--cert",
                str(workdir / "token.crt"),
                "--user",
                USER,
                "--password",
                PASSWORD,
            ],
            tlog,
        )
        reg.procs.append(tok)
        _wait_http(f"http://127.0.0.1:{tport}/token?service=x", (200,), "", tok, tlog)
        auth_block = (
            f"auth:\n  token:\n    realm: http://127.0.0.1:{tport}/token\n    service: fixture-registry\n"
            f"    issuer: fixture-token-issuer\n    rootcertbundle: {workdir / 'token.crt'}\n"
        )
        reg.creds = (USER, PASSWORD)
    (workdir / "data").mkdir(exist_ok=True)
    config = (
        "version: 0.1\nlog:\n  level: warn\n  formatter: text\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {host}\n  secret: fixture-test-only-secret\n{tls_block}{auth_block}"
    )
    (workdir / "config.yml").write_text(config)
    log = workdir / "registry.log"
    try:
        proc = _spawn(["docker-registry", "serve", str(workdir / "config.yml")], log)
        reg.procs.append(proc)
        _wait_http(f"{reg.url}/v2/", (200, 401), reg.ca_file, proc, log)
    except BaseException:
        reg.stop()
        raise
    return reg


def push(
    image_archive: Path,
    dest: str,
    creds: tuple[str, str] | None = None,
    tls_verify: bool = False,
    format: str = "oci",
    cert_dir: str = "",
) -> None:
    """skopeo copy an oci-archive (*.oci.tar) or docker-archive (*.docker.tar) to docker://dest."""
    transport = "oci-archive" if image_archive.name.endswith(".oci.tar") else "docker-archive"
    argv = ["skopeo", "copy", "-q", "--retry-times", "2", f"--dest-tls-verify={str(tls_verify).lower()}"]
    argv += ["--format", format]
    if creds:
        argv += ["--dest-creds", f"{creds[0]}:{creds[1]}"]
    if cert_dir:
        argv += ["--dest-cert-dir", cert_dir]
    argv += [f"{transport}:{image_archive}", f"docker://{dest}"]
    res = subprocess.run(argv, capture_output=True, timeout=300, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"skopeo push to {dest} failed: {res.stderr.decode(errors='replace')[-2000:]}")


def _registry_fixture(mode: str, factory: pytest.TempPathFactory) -> Iterator[Registry]:
    gone = missing_tools()
    if gone:
        pytest.skip(
            f"registry tests need {', '.join(gone)} (apt: docker-registry skopeo apache2-utils openssl)"
        )
    reg = start_registry(mode, factory.mktemp(f"registry-{mode}"))
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session", name="registry_noauth")
def registry_noauth_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    yield from _registry_fixture("noauth", tmp_path_factory)


@pytest.fixture(scope="session", name="registry_basic")
def registry_basic_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    yield from _registry_fixture("basic", tmp_path_factory)


@pytest.fixture(scope="session", name="registry_tls")
def registry_tls_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    yield from _registry_fixture("tls", tmp_path_factory)


@pytest.fixture(scope="session", name="registry_token")
def registry_token_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    yield from _registry_fixture("token", tmp_path_factory)
