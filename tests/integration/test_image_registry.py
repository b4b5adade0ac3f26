"""The OCI registry client against a real registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1.

Images are pushed once per session with skopeo (tests/registry_helpers.py). Expected values come from the image
archives themselves (the OCI archive's manifest and config, the docker archive's file names) and from the registry's
own Docker-Content-Digest answers, never from the code under test. Retries and redirects are exercised through a
small fault-injecting HTTP proxy in front of the real registry.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.registry_helpers import (  # the session-scoped registry fixtures are imported to be found by pytest
    IMAGES,
    PASSWORD,
    USER,
    Registry,
    free_port,
    push,
    registry_basic_fixture,  # noqa: F401
    registry_noauth_fixture,  # noqa: F401
    registry_tls_fixture,  # noqa: F401
    registry_token_fixture,  # noqa: F401
)

from vigil.sources.image import AuthError, Image, ImageError, NotFound, RegistryOptions
from vigil.sources.image import registry as regmod
from vigil.sources.image.registry import default_platform, open_registry_image

DEBIAN = IMAGES / "debian-vuln.oci.tar"
ALPINE = IMAGES / "alpine-like.docker.tar"
RHEL = IMAGES / "rhel9-like.docker.tar"
ACCEPT = ", ".join(
    (regmod.MT_OCI_MANIFEST, regmod.MT_DOCKER_MANIFEST, regmod.MT_OCI_INDEX, regmod.MT_DOCKER_LIST)
)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar_member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive) as tf:
        f = tf.extractfile(name)
        assert f is not None
        return f.read()


@dataclass
class ArchiveFacts:
    config_digest: str
    config: dict[str, Any]
    diff_ids: list[str]
    layer_digests: list[str] = field(
        default_factory=list
    )  # OCI archive only (docker-archive layers get gzipped)
    layer_sizes: list[int] = field(default_factory=list)
    created_by: list[str] = field(default_factory=list)


def _created_by(config: dict[str, Any]) -> list[str]:
    return [h.get("created_by", "") for h in config.get("history", []) if not h.get("empty_layer")]


def oci_facts(archive: Path) -> ArchiveFacts:
    index = json.loads(_tar_member(archive, "index.json"))
    mdigest = index["manifests"][0]["digest"]
    manifest = json.loads(_tar_member(archive, "blobs/sha256/" + mdigest.split(":")[1]))
    cdigest = manifest["config"]["digest"]
    config = json.loads(_tar_member(archive, "blobs/sha256/" + cdigest.split(":")[1]))
    return ArchiveFacts(
        config_digest=cdigest,
        config=config,
        diff_ids=config["rootfs"]["diff_ids"],
        layer_digests=[ld["digest"] for ld in manifest["layers"]],
        layer_sizes=[ld["size"] for ld in manifest["layers"]],
        created_by=_created_by(config),
    )


def docker_facts(archive: Path) -> ArchiveFacts:
    manifest = json.loads(_tar_member(archive, "manifest.json"))[0]
    raw = _tar_member(archive, manifest["Config"])
    config = json.loads(raw)
    return ArchiveFacts(
        config_digest=_sha(raw),
        config=config,
        diff_ids=config["rootfs"]["diff_ids"],
        created_by=_created_by(config),
    )


def registry_manifest(reg: Registry, repo: str, ref: str) -> tuple[str, str, int]:
    """(Docker-Content-Digest, media type, size) as the registry itself reports them."""
    r = httpx.get(
        f"{reg.url}/v2/{repo}/manifests/{ref}",
        headers={"Accept": ACCEPT, **reg.basic_header()},
        verify=reg.verify(),
    )
    assert r.status_code == 200, r.text
    assert r.headers["docker-content-digest"] == _sha(r.content)
    return r.headers["docker-content-digest"], r.headers["content-type"], len(r.content)


@pytest.fixture(scope="module")
def noauth(registry_noauth: Registry) -> Registry:
    push(DEBIAN, f"{registry_noauth.host}/fixture/debian-vuln:1", format="oci")
    push(ALPINE, f"{registry_noauth.host}/fixture/alpine:3.16", format="v2s2")
    # A multi-platform image: two single-platform images plus a manifest list we build and PUT ourselves.
    push(ALPINE, f"{registry_noauth.host}/fixture/multi:amd64", format="v2s2")
    push(RHEL, f"{registry_noauth.host}/fixture/multi:arm64", format="v2s2")
    entries = []
    for tag, plat in (
        ("amd64", {"os": "linux", "architecture": "amd64"}),
        ("arm64", {"os": "linux", "architecture": "arm64", "variant": "v8"}),
        (
            "amd64",
            {"os": "unknown", "architecture": "unknown"},
        ),  # buildx-style attestation entry: never chosen
    ):
        d, mt, size = registry_manifest(registry_noauth, "fixture/multi", tag)
        entries.append({"mediaType": mt, "digest": d, "size": size, "platform": plat})
    index = {"schemaVersion": 2, "mediaType": regmod.MT_DOCKER_LIST, "manifests": entries}
    r = httpx.put(
        f"{registry_noauth.url}/v2/fixture/multi/manifests/latest",
        content=json.dumps(index).encode(),
        headers={"Content-Type": regmod.MT_DOCKER_LIST},
    )
    assert r.status_code == 201, r.text
    return registry_noauth


@pytest.fixture(scope="module")
def basic(registry_basic: Registry) -> Registry:
    push(ALPINE, f"{registry_basic.host}/fixture/alpine:1", creds=registry_basic.creds, format="v2s2")
    return registry_basic


@pytest.fixture(scope="module")
def tls(registry_tls: Registry) -> Registry:
    push(ALPINE, f"{registry_tls.host}/fixture/alpine:1", creds=registry_tls.creds, format="v2s2")
    return registry_tls


@pytest.fixture(scope="module")
def token(registry_token: Registry) -> Registry:
    push(ALPINE, f"{registry_token.host}/fixture/alpine:1", creds=registry_token.creds, format="v2s2")
    return registry_token


@pytest.fixture
def pull(tmp_path: Path) -> Iterator[Any]:
    """open_registry_image with cleanup of every image opened by the test."""
    opened: list[Image] = []

    def _pull(ref: str, **opts: Any) -> Image:
        img = open_registry_image(ref, RegistryOptions(**opts), tmp_path / "blobs")
        opened.append(img)
        return img

    yield _pull
    for img in opened:
        img.close()


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regmod, "BACKOFF_BASE", 0.01)


def _diff_id_of(img: Image, i: int) -> str:
    with img.layers[i].open() as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return _sha(data)


# --------------------------------------------------------------------------------------------- pulls


def test_pull_oci_image_lazily_with_verified_blobs(noauth: Registry, pull: Any, tmp_path: Path) -> None:
    facts = oci_facts(DEBIAN)
    digest, mt, _ = registry_manifest(noauth, "fixture/debian-vuln", "1")
    assert mt == regmod.MT_OCI_MANIFEST
    img = pull(f"{noauth.host}/fixture/debian-vuln:1")
    assert img.config_digest == facts.config_digest
    assert img.config == facts.config
    assert [lb.diff_id for lb in img.layers] == facts.diff_ids
    assert [lb.digest for lb in img.layers] == facts.layer_digests
    assert [lb.size for lb in img.layers] == facts.layer_sizes
    assert [lb.created_by for lb in img.layers] == facts.created_by
    assert {lb.media_type for lb in img.layers} == {"application/vnd.oci.image.layer.v1.tar+gzip"}
    assert img.repo_tags == [f"{noauth.host}/fixture/debian-vuln:1"]
    assert img.repo_digests == [f"{noauth.host}/fixture/debian-vuln@{digest}"]
    assert img.manifest_digest == digest
    blobdir = tmp_path / "blobs"
    # Lazy: nothing but the (in-memory) config was fetched yet.
    assert [p for p in blobdir.rglob("*") if p.is_file()] == []
    # Open the small top layers (the engine opens only layers missing from its cache).
    for i in (3, 4):
        with img.layers[i].open() as f:
            assert _sha(f.read()) == facts.layer_digests[i]
    files = sorted(p for p in blobdir.rglob("*") if p.is_file())
    assert [p.name for p in files] == sorted(d.split(":")[1] for d in facts.layer_digests[3:])
    # Opened again: served from the downloaded file, not fetched again.
    mtimes = [p.stat().st_mtime_ns for p in files]
    with img.layers[3].open() as f:
        assert _sha(f.read()) == facts.layer_digests[3]
    assert [p.stat().st_mtime_ns for p in files] == mtimes
    # A multi-MiB layer opened from two threads at once: downloaded once, both streams complete.
    results: list[str] = []

    def read_base() -> None:
        h = hashlib.sha256()
        with img.layers[2].open() as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        results.append("sha256:" + h.hexdigest())

    threads = [threading.Thread(target=read_base) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [facts.layer_digests[2]] * 2
    img.close()
    assert [p for p in blobdir.rglob("*") if p.is_file()] == []


def test_pull_docker_v2s2_diff_ids_match_uncompressed_layers(noauth: Registry, pull: Any) -> None:
    facts = docker_facts(ALPINE)
    # progress=True: downloads go through the (rich, stderr) progress bar code path.
    img = pull(f"{noauth.host}/fixture/alpine:3.16", progress=True)
    assert img.config_digest == facts.config_digest
    assert [lb.diff_id for lb in img.layers] == facts.diff_ids
    assert [lb.created_by for lb in img.layers] == facts.created_by
    assert all(lb.media_type.startswith("application/vnd.docker.image.rootfs.diff.tar") for lb in img.layers)
    # Each blob (gzipped by skopeo on push) decompresses to exactly its diff_id.
    assert [_diff_id_of(img, i) for i in range(len(img.layers))] == facts.diff_ids


def test_pull_by_digest_pins_the_manifest(noauth: Registry, pull: Any) -> None:
    digest, _, _ = registry_manifest(noauth, "fixture/alpine", "3.16")
    img = pull(f"{noauth.host}/fixture/alpine@{digest}")
    assert img.config_digest == docker_facts(ALPINE).config_digest
    assert img.repo_tags == []
    assert img.repo_digests == [f"{noauth.host}/fixture/alpine@{digest}"]
    with pytest.raises(NotFound, match="image not found"):
        pull(f"{noauth.host}/fixture/alpine@sha256:{'0' * 64}")


def test_missing_tag_and_repository_are_not_found(noauth: Registry, pull: Any) -> None:
    with pytest.raises(NotFound, match=r"fixture/alpine:nope: image not found \(MANIFEST_UNKNOWN"):
        pull(f"{noauth.host}/fixture/alpine:nope")
    with pytest.raises(NotFound):
        pull(f"{noauth.host}/fixture/no-such-repo:1")


def test_image_index_platform_selection(noauth: Registry, pull: Any) -> None:
    alpine, rhel = docker_facts(ALPINE), docker_facts(RHEL)
    index_digest, mt, _ = registry_manifest(noauth, "fixture/multi", "latest")
    assert mt == regmod.MT_DOCKER_LIST
    amd = pull(f"{noauth.host}/fixture/multi", platform="linux/amd64")
    assert amd.config_digest == alpine.config_digest
    assert amd.repo_digests == [f"{noauth.host}/fixture/multi@{index_digest}"]  # the index digest, like Trivy
    assert amd.manifest_digest == registry_manifest(noauth, "fixture/multi", "amd64")[0]
    arm = pull(f"{noauth.host}/fixture/multi:latest", platform="linux/arm64")
    assert arm.config_digest == rhel.config_digest
    assert [lb.diff_id for lb in arm.layers] == rhel.diff_ids
    assert pull(f"{noauth.host}/fixture/multi", platform="linux/arm64/v8").config_digest == rhel.config_digest
    if default_platform() in ("linux/amd64", "linux/arm64"):
        expected = alpine if default_platform() == "linux/amd64" else rhel
        assert pull(f"{noauth.host}/fixture/multi").config_digest == expected.config_digest
    with pytest.raises(ImageError) as ei:
        pull(f"{noauth.host}/fixture/multi", platform="linux/s390x")
    assert str(ei.value).endswith(
        "no image for platform linux/s390x (available: linux/amd64, linux/arm64/v8)"
    )
    with pytest.raises(ImageError, match="no image for platform linux/arm64/v7"):
        pull(f"{noauth.host}/fixture/multi", platform="linux/arm64/v7")
    with pytest.raises(ImageError, match="invalid platform"):
        pull(f"{noauth.host}/fixture/multi", platform="arm64")


def test_plain_http_on_loopback_without_insecure(noauth: Registry, pull: Any) -> None:
    # https is tried first; the registry speaks plain http, so the client falls back (docker's loopback rule).
    assert noauth.url.startswith("http://")
    img = pull(f"{noauth.host}/fixture/alpine:3.16", insecure=False)
    assert img.config_digest == docker_facts(ALPINE).config_digest


# --------------------------------------------------------------------------------------------- auth


def test_basic_auth(basic: Registry, pull: Any) -> None:
    ref = f"{basic.host}/fixture/alpine:1"
    img = pull(ref, username=USER, password=PASSWORD)
    assert img.config_digest == docker_facts(ALPINE).config_digest
    assert _diff_id_of(img, 1) == docker_facts(ALPINE).diff_ids[1]
    with pytest.raises(AuthError) as ei:
        pull(ref, username=USER, password="wrong", docker_config="/nonexistent/config.json")
    assert str(ei.value).startswith(f"unauthorized: {basic.host}: ")
    assert "\n" not in str(ei.value)
    with pytest.raises(AuthError, match="authentication required"):
        pull(ref, docker_config="/nonexistent/config.json")


def test_basic_auth_from_docker_config(basic: Registry, pull: Any, tmp_path: Path) -> None:
    import base64

    cfg = tmp_path / "docker" / "config.json"
    cfg.parent.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    cfg.write_text(
        json.dumps({"auths": {f"http://{basic.host}": {"auth": auth}, "other.io": {"auth": "eDp5"}}})
    )
    img = pull(f"{basic.host}/fixture/alpine:1", docker_config=str(cfg))
    assert img.config_digest == docker_facts(ALPINE).config_digest
    # The directory form works too (like $DOCKER_CONFIG).
    assert (
        pull(f"{basic.host}/fixture/alpine:1", docker_config=str(cfg.parent)).config_digest
        == img.config_digest
    )


def test_credential_helper(
    basic: Registry, pull: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real docker-credential-* executable on PATH: it must be asked with the registry host on stdin.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    asked = tmp_path / "asked"
    helper = bindir / "docker-credential-fixture"
    helper.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = get ] || exit 1\ncat > {asked}\n'
        f'printf \'{{"ServerURL":"x","Username":"{USER}","Secret":"{PASSWORD}"}}\'\n'
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ['PATH']}")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"credHelpers": {basic.host: "fixture"}}))
    img = pull(f"{basic.host}/fixture/alpine:1", docker_config=str(cfg))
    assert img.config_digest == docker_facts(ALPINE).config_digest
    assert asked.read_text() == basic.host
    # credsStore names the default helper for every registry.
    cfg.write_text(json.dumps({"credsStore": "fixture"}))
    assert pull(f"{basic.host}/fixture/alpine:1", docker_config=str(cfg)).config_digest == img.config_digest
    # A helper that fails ("credentials not found") means anonymous, which this registry refuses.
    cfg.write_text(json.dumps({"credsStore": "missing-helper"}))
    with pytest.raises(AuthError):
        pull(f"{basic.host}/fixture/alpine:1", docker_config=str(cfg))


def test_bearer_token_flow(token: Registry, pull: Any) -> None:
    ref = f"{token.host}/fixture/alpine:1"
    challenge = httpx.get(f"{token.url}/v2/").headers["www-authenticate"]
    assert challenge.startswith("Bearer realm=")
    # Anonymous tokens carry no access to this repository.
    with pytest.raises(AuthError) as ei:
        pull(ref, docker_config="/nonexistent/config.json")
    assert str(ei.value).startswith(f"unauthorized: {token.host}: ")
    with pytest.raises(AuthError, match="token server refused"):
        pull(ref, username=USER, password="wrong")
    img = pull(ref, username=USER, password=PASSWORD)
    facts = docker_facts(ALPINE)
    assert img.config_digest == facts.config_digest
    assert _diff_id_of(img, 0) == facts.diff_ids[0]
    # A token obtained elsewhere (--registry-token) is sent as is.
    tok = httpx.get(
        challenge.split('realm="')[1].split('"')[0],
        params={"service": "fixture-registry", "scope": "repository:fixture/alpine:pull"},
        auth=(USER, PASSWORD),
    ).json()["token"]
    assert pull(ref, registry_token=tok).config_digest == facts.config_digest


def test_tls_with_ca_file_and_insecure(tls: Registry, pull: Any) -> None:
    ref = f"{tls.host}/fixture/alpine:1"
    facts = docker_facts(ALPINE)
    img = pull(ref, username=USER, password=PASSWORD, ca_file=tls.ca_file)
    assert img.config_digest == facts.config_digest
    assert _diff_id_of(img, 0) == facts.diff_ids[0]
    assert pull(ref, username=USER, password=PASSWORD, insecure=True).config_digest == facts.config_digest
    with pytest.raises(ImageError, match="TLS certificate verification failed"):
        pull(ref, username=USER, password=PASSWORD)


# --------------------------------------------------------------------------------------------- faults


class FaultProxy:
    """A threaded HTTP proxy in front of a registry that can fail the first requests, serve canned manifests and
    redirect blob GETs to a separate "blob storage" server (another host:port), recording what each side saw."""

    def __init__(self, upstream: Registry) -> None:
        self.upstream = upstream
        self.failures: list[tuple[int, dict[str, str]]] = []  # answered (and popped) before forwarding
        self.canned: dict[str, tuple[str, bytes]] = {}  # path -> (content type, body)
        self.redirect_blobs = False
        self.storage_failures: list[int] = []  # statuses the blob storage answers (and pops) first
        self.seen: list[tuple[str, str, str | None]] = []  # (server, path, Authorization)
        self.lock = threading.Lock()
        self._client = httpx.Client(verify=False)
        self.front = self._serve("front")
        self.storage = self._serve("storage")
        self.host = f"127.0.0.1:{self.front.server_address[1]}"
        self.storage_base = f"http://localhost:{self.storage.server_address[1]}"

    def _serve(self, role: str) -> ThreadingHTTPServer:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:
                with proxy.lock:
                    proxy.seen.append((role, self.path, self.headers.get("Authorization")))
                    failure = proxy.failures.pop(0) if role == "front" and proxy.failures else None
                if failure:
                    self._reply(failure[0], failure[1], b'{"errors":[{"code":"TOOMANYREQUESTS"}]}')
                    return
                path = self.path.split("?", 1)[0]
                if role == "storage" and proxy.storage_failures:
                    with proxy.lock:
                        status = proxy.storage_failures.pop(0)
                    self._reply(status, {}, b"busy")
                    return
                if role == "storage":
                    # Pre-signed storage: fetch from the registry with the test's own credentials.
                    digest = path.rsplit("/", 1)[1]
                    r = proxy._client.get(
                        f"{proxy.upstream.url}/v2/fixture/alpine/blobs/{digest}",
                        headers=proxy.upstream.basic_header(),
                        follow_redirects=True,
                    )
                    self._reply(r.status_code, {"Content-Type": "application/octet-stream"}, r.content)
                    return
                if path in proxy.canned:
                    ctype, body = proxy.canned[path]
                    self._reply(200, {"Content-Type": ctype}, body)
                    return
                if proxy.redirect_blobs and "/blobs/" in path:
                    digest = path.rsplit("/", 1)[1]
                    loc = f"{proxy.storage_base}/store/{digest}?X-Signature=abc"
                    self._reply(307, {"Location": loc}, b"")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "accept")}
                r = proxy._client.get(f"{proxy.upstream.url}{self.path}", headers=headers)
                keep = ("content-type", "docker-content-digest", "www-authenticate", "location")
                self._reply(
                    r.status_code, {k: v for k, v in r.headers.items() if k.lower() in keep}, r.content
                )

        srv = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return srv

    def close(self) -> None:
        for srv in (self.front, self.storage):
            srv.shutdown()
            srv.server_close()
        self._client.close()


@pytest.fixture
def proxy_noauth(noauth: Registry) -> Iterator[FaultProxy]:
    p = FaultProxy(noauth)
    yield p
    p.close()


@pytest.fixture
def proxy_basic(basic: Registry) -> Iterator[FaultProxy]:
    p = FaultProxy(basic)
    yield p
    p.close()


def test_retries_on_429_and_503(proxy_noauth: FaultProxy, pull: Any) -> None:
    proxy_noauth.failures = [(429, {"Retry-After": "0"}), (503, {}), (429, {"Retry-After": "0"})]
    img = pull(f"{proxy_noauth.host}/fixture/alpine:3.16", retries=4)
    assert img.config_digest == docker_facts(ALPINE).config_digest
    assert proxy_noauth.failures == []
    # The first (failed) request was repeated: /v2/ was asked four times before anything else.
    paths = [p for role, p, _ in proxy_noauth.seen if role == "front"]
    assert paths[:4] == ["/v2/"] * 4


def test_retries_exhausted_names_the_status(proxy_noauth: FaultProxy, pull: Any) -> None:
    proxy_noauth.failures = [(503, {})] * 3
    with pytest.raises(ImageError, match=r"HTTP 503 \(after 2 attempts\)"):
        pull(f"{proxy_noauth.host}/fixture/alpine:3.16", retries=1)


def test_blob_redirect_drops_authorization_cross_host(proxy_basic: FaultProxy, pull: Any) -> None:
    proxy_basic.redirect_blobs = True
    facts = docker_facts(ALPINE)
    img = pull(f"{proxy_basic.host}/fixture/alpine:1", username=USER, password=PASSWORD)
    assert img.config_digest == facts.config_digest  # the config blob came through the storage server too
    assert [_diff_id_of(img, i) for i in range(2)] == facts.diff_ids
    storage = [(p, a) for role, p, a in proxy_basic.seen if role == "storage"]
    assert len(storage) == 3  # config + 2 layers, each fetched once
    assert all(auth is None for _, auth in storage)
    # ...while the registry host itself did get the credentials.
    assert any(role == "front" and "/manifests/" in p and a for role, p, a in proxy_basic.seen)


def test_retried_presigned_blob_url_never_reaches_the_logs(
    proxy_noauth: FaultProxy, pull: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # a pre-signed storage URL carries its credentials in the query string: a retry logs it redacted
    proxy_noauth.redirect_blobs = True
    proxy_noauth.storage_failures = [503, 503]
    with caplog.at_level(logging.DEBUG, logger="vigil"):
        img = pull(f"{proxy_noauth.host}/fixture/alpine:3.16", retries=3)
    assert img.config_digest == docker_facts(ALPINE).config_digest
    assert proxy_noauth.storage_failures == []
    assert "retrying" in caplog.text
    assert "X-Signature" not in caplog.text


def test_deeply_nested_manifest_is_refused_with_a_clear_error(proxy_noauth: FaultProxy, pull: Any) -> None:
    body = b"[" * 100_000 + b"]" * 100_000  # json.loads: RecursionError, not ValueError
    proxy_noauth.canned["/v2/fixture/alpine/manifests/deep"] = (regmod.MT_OCI_MANIFEST, body)
    with pytest.raises(ImageError, match="manifest is not JSON"):
        pull(f"{proxy_noauth.host}/fixture/alpine:deep")


def test_layer_descriptor_without_a_size_is_refused(noauth: Registry, proxy_noauth: FaultProxy, pull: Any) -> None:
    # the size bounds the download (a registry streaming an endless blob would fill the disk): it is required
    r = httpx.get(f"{noauth.url}/v2/fixture/alpine/manifests/3.16", headers={"Accept": ACCEPT})
    man = r.json()
    del man["layers"][0]["size"]
    proxy_noauth.canned["/v2/fixture/alpine/manifests/nosize"] = (man["mediaType"], json.dumps(man).encode())
    with pytest.raises(ImageError, match=r"layer descriptor #0 has no valid size"):
        pull(f"{proxy_noauth.host}/fixture/alpine:nosize")


def test_schema1_is_refused(proxy_noauth: FaultProxy, pull: Any) -> None:
    body = json.dumps({"schemaVersion": 1, "name": "fixture/alpine", "tag": "old", "fsLayers": []}).encode()
    proxy_noauth.canned["/v2/fixture/alpine/manifests/old"] = (regmod.MT_DOCKER_SCHEMA1_SIGNED, body)
    with pytest.raises(ImageError, match="Docker schema 1 manifests are unsupported"):
        pull(f"{proxy_noauth.host}/fixture/alpine:old")


def test_manifest_digest_is_verified(proxy_noauth: FaultProxy, pull: Any) -> None:
    wanted = "sha256:" + "1" * 64
    body = _tar_member(DEBIAN, "index.json")  # any bytes whose digest is not `wanted`
    proxy_noauth.canned[f"/v2/fixture/alpine/manifests/{wanted}"] = (regmod.MT_OCI_MANIFEST, body)
    with pytest.raises(ImageError, match="manifest digest mismatch"):
        pull(f"{proxy_noauth.host}/fixture/alpine@{wanted}")


def test_tampered_layer_blob_is_refused(proxy_noauth: FaultProxy, pull: Any, tmp_path: Path) -> None:
    img = pull(f"{proxy_noauth.host}/fixture/alpine:3.16")
    layer = img.layers[0]
    path = f"/v2/fixture/alpine/blobs/{layer.digest}"
    # Same size, different bytes: the sha256 check catches it, and nothing is left in the blob dir.
    proxy_noauth.canned[path] = ("application/octet-stream", b"\0" * layer.size)
    with pytest.raises(ImageError, match=f"blob {layer.digest}: sha256 mismatch"):
        layer.open()
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []
    proxy_noauth.canned[path] = ("application/octet-stream", b"\0" * (layer.size + 10))
    with pytest.raises(ImageError, match="larger than the"):
        layer.open()
    proxy_noauth.canned[path] = ("application/octet-stream", b"\0" * (layer.size - 1))
    with pytest.raises(ImageError, match=f"got {layer.size - 1} bytes"):
        layer.open()
    # The real blob still opens afterwards (failures are not cached).
    del proxy_noauth.canned[path]
    assert _diff_id_of(img, 0) == layer.diff_id


# --------------------------------------------------------------------------------------------- parsing (no registry)


def test_docker_config_entries(tmp_path: Path) -> None:
    import base64

    from vigil.sources.image.registry import Credentials, docker_config_credentials

    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hubuser:hub:pass").decode()},
                    "ghcr.io": {"identitytoken": "refresh-me"},
                    "https://quay.io/v2/": {"username": "q", "password": "p"},
                    "bad.io": {"auth": "%%%"},
                }
            }
        )
    )
    opts = RegistryOptions(docker_config=str(cfg))
    assert docker_config_credentials("index.docker.io", opts) == Credentials("hubuser", "hub:pass")
    assert docker_config_credentials("ghcr.io", opts) == Credentials(identity_token="refresh-me")
    assert docker_config_credentials("quay.io", opts) == Credentials("q", "p")
    assert docker_config_credentials("bad.io", opts) == Credentials()
    assert docker_config_credentials("other.io", opts) == Credentials()
    cfg.write_text("{not json")
    assert docker_config_credentials("ghcr.io", opts) == Credentials()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"',
            (
                "bearer",
                {
                    "realm": "https://auth.docker.io/token",
                    "service": "registry.docker.io",
                    "scope": "repository:a/b:pull,push",
                },
            ),
        ),
        ('Basic realm="fixture-registry"', ("basic", {"realm": "fixture-registry"})),
        ("Bearer realm=https://x/token, service=s", ("bearer", {"realm": "https://x/token", "service": "s"})),
    ],
)
def test_challenge_parsing(header: str, expected: tuple[str, dict[str, str]]) -> None:
    assert regmod._parse_challenge(header) == expected


def test_credentials_never_follow_a_redirect_to_plain_http_on_the_same_host() -> None:
    # https://host -> http://host (default ports: the same netloc): the token would cross the network in clear
    from vigil.sources.image.reference import parse_reference

    reg = regmod.RegistryClient(parse_reference("registry.example.com/team/app:1"),
                                RegistryOptions(registry_token="s3cret"))
    try:
        base = "https://registry.example.com"
        assert reg._auth_headers(f"{base}/v2/team/app/blobs/x", base) == {"Authorization": "Bearer s3cret"}
        assert reg._auth_headers("http://registry.example.com/v2/team/app/blobs/x", base) == {}
        assert reg._auth_headers("https://storage.example.com/x", base) == {}
    finally:
        reg.close()
