"""OCI distribution API client: pull an image's manifest and config from a registry; layers are fetched lazily.

What it speaks (OCI distribution spec / Docker registry v2, facts only):
- manifests: OCI image manifest, Docker v2 schema 2, and the two multi-platform lists (OCI image index, Docker
  manifest list) from which `--platform` picks one; Docker schema 1 is refused with a clear message.
- auth: anonymous first. A 401 carries `WWW-Authenticate`: `Bearer realm=…,service=…,scope=…` -> ask the realm for a
  token (with our basic credentials, an identity token as an OAuth2 refresh token, or anonymously) and retry;
  `Basic` -> send basic credentials. Credentials: --username/--password, --registry-token, else docker config.json
  (`auths`, `credHelpers`, `credsStore`), else none.
- transport: https. With --insecure also unverified TLS and plain http. Loopback registries (localhost, 127.0.0.0/8,
  ::1) are tried over https first and then over plain http, like docker treats them as insecure registries by default.
- retries: 429, 5xx, connection errors and timeouts are retried with exponential backoff (0.5 s doubling, capped at
  8 s; Retry-After honoured up to 30 s).
- blobs: the config eagerly (its sha256 is the ImageID); layers when the engine opens them, each downloaded at most
  once per Image into a temp dir, size and sha256 verified while streaming. Redirects to blob storage are followed;
  the Authorization header is dropped when a redirect leaves the registry host (pre-signed storage URLs reject it and
  it must not leak to a third party).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import os
import platform as _platform
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlencode, urljoin, urlsplit

from vigil.log import get_logger
from vigil.net import is_loopback
from vigil.sources.image import (
    AuthError,
    Image,
    ImageError,
    LayerBlob,
    NotFound,
    RegistryOptions,
    check_layer_count,
)
from vigil.sources.image.reference import DOCKER_HUB, Reference, parse_reference

if TYPE_CHECKING:
    import httpx

log = get_logger(__name__)

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
MT_DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
_IMAGE_MANIFESTS = (MT_OCI_MANIFEST, MT_DOCKER_MANIFEST)
_INDEXES = (MT_OCI_INDEX, MT_DOCKER_LIST)
# Schema 1 is listed so a registry that only has a schema-1 manifest answers with it and we can name the problem.
_ACCEPT = ", ".join(
    (MT_OCI_MANIFEST, MT_DOCKER_MANIFEST, MT_OCI_INDEX, MT_DOCKER_LIST, MT_DOCKER_SCHEMA1_SIGNED)
)

# Bounded memory: manifests, configs and token responses are read whole, so they get a ceiling.
MAX_MANIFEST = 4 << 20
MAX_CONFIG = 16 << 20
MAX_TOKEN_RESPONSE = 1 << 20
MAX_REDIRECTS = 5
CHUNK = 1 << 20

# Backoff schedule; module-level so tests can shrink it.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 30.0

_GOARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "i386": "386",
    "i686": "386",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64": "mips64",
}
_DOCKER_HUB_API = "registry-1.docker.io"
_DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"


def default_platform() -> str:
    """linux/<GOARCH of this machine>, the platform `docker pull` picks from an index."""
    machine = _platform.machine().lower()
    arch = _GOARCH.get(machine, machine)
    if machine.startswith("armv7"):
        return "linux/arm/v7"
    if machine.startswith("armv6"):
        return "linux/arm/v6"
    return f"linux/{arch}"


# --------------------------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""  # an OAuth2 refresh token (docker login to some registries stores one)

    @property
    def basic(self) -> bool:
        return bool(self.username or self.password)


def _docker_config_path(opts: RegistryOptions) -> Path:
    if opts.docker_config:
        p = Path(opts.docker_config).expanduser()
        return p / "config.json" if p.is_dir() else p
    env = os.environ.get("DOCKER_CONFIG")
    if env:
        return Path(env).expanduser() / "config.json"
    return Path.home() / ".docker" / "config.json"


def _host_of_key(key: str) -> str:
    """config.json keys are hosts or URLs ("https://index.docker.io/v1/"); compare on the host[:port]."""
    k = key.strip()
    if "://" in k:
        k = urlsplit(k).netloc
    k = k.split("/", 1)[0].lower()
    return DOCKER_HUB if k in ("docker.io", "registry-1.docker.io") else k


def _cred_helper(helper: str, server: str) -> Credentials:
    """`docker-credential-<helper> get` reads the server URL on stdin and prints {"Username", "Secret"}."""
    exe = f"docker-credential-{helper}"
    try:
        proc = subprocess.run(
            [exe, "get"], input=server.encode(), capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("credential helper %s failed for %s: %s", exe, server, e)
        return Credentials()
    if proc.returncode != 0:
        # "credentials not found in native keychain" is the normal answer for a registry we never logged in to.
        log.debug("credential helper %s: no credentials for %s", exe, server)
        return Credentials()
    try:
        data = json.loads(proc.stdout)
        user, secret = str(data.get("Username", "")), str(data.get("Secret", ""))
    except (ValueError, AttributeError, RecursionError):
        log.warning("credential helper %s printed something that is not JSON", exe)
        return Credentials()
    if user == "<token>":  # docker's marker for an identity token
        return Credentials(identity_token=secret)
    return Credentials(username=user, password=secret)


def docker_config_credentials(registry: str, opts: RegistryOptions) -> Credentials:
    """Credentials for `registry` from docker's config.json (auths / credHelpers / credsStore), or none."""
    path = _docker_config_path(opts)
    try:
        cfg = json.loads(path.read_bytes())
    except FileNotFoundError:
        return Credentials()
    except (OSError, ValueError, RecursionError) as e:
        log.warning("%s: cannot read docker config: %s", path, e)
        return Credentials()
    if not isinstance(cfg, dict):
        return Credentials()
    host = registry.lower()
    server = _DOCKER_HUB_CONFIG_KEY if host == DOCKER_HUB else registry
    helpers = cfg.get("credHelpers")
    if isinstance(helpers, dict):
        for key, helper in helpers.items():
            if _host_of_key(str(key)) == host and isinstance(helper, str) and helper:
                return _cred_helper(helper, server)
    auths = cfg.get("auths")
    if isinstance(auths, dict):
        for key, entry in auths.items():
            if _host_of_key(str(key)) != host or not isinstance(entry, dict):
                continue
            ident = entry.get("identitytoken")
            if isinstance(ident, str) and ident:
                return Credentials(identity_token=ident)
            auth = entry.get("auth")
            if isinstance(auth, str) and auth:
                try:
                    user, _, pw = base64.b64decode(auth).decode().partition(":")
                except ValueError:
                    log.warning("%s: auths.%s.auth is not base64 user:password", path, key)
                    continue
                return Credentials(username=user, password=pw)
            u_field, p_field = entry.get("username"), entry.get("password")
            if isinstance(u_field, str) and isinstance(p_field, str) and (u_field or p_field):
                return Credentials(username=u_field, password=p_field)
    store = cfg.get("credsStore")
    if isinstance(store, str) and store:
        return _cred_helper(store, server)
    return Credentials()


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…",scope="…"` -> ("bearer", {...}). Values may be quoted and contain commas."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " ,":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lower()
        i = eq + 1
        if i < n and rest[i] == '"':
            end = i + 1
            buf = []
            while end < n and rest[end] != '"':
                if rest[end] == "\\" and end + 1 < n:
                    end += 1
                buf.append(rest[end])
                end += 1
            params[key] = "".join(buf)
            i = end + 1
        else:
            end = rest.find(",", i)
            end = n if end < 0 else end
            params[key] = rest[i:end].strip()
            i = end
    return scheme.lower(), params


def _one_line(text: str, limit: int = 200) -> str:
    s = " ".join(text.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def error_detail(resp: httpx.Response) -> str:
    """The registry's error body ({"errors":[{"code","message"}]}) condensed to one line."""
    try:
        raw = b""
        for chunk in resp.iter_bytes():  # an error body is read only up to 4 KiB: bounded memory
            raw += chunk
            if len(raw) >= 4096:
                break
        data = json.loads(raw[:4096])
        errs = data.get("errors") if isinstance(data, dict) else None
        if isinstance(errs, list) and errs and isinstance(errs[0], dict):
            e = errs[0]
            return _one_line(f"{e.get('code', '')} {e.get('message', '')}".strip())
    except Exception:
        pass
    return f"HTTP {resp.status_code}"


# --------------------------------------------------------------------------------------------- HTTP client


class RegistryClient:
    """One registry host + repository: scheme discovery, auth, retries, redirects. Thread-safe (layers are opened
    from the engine's worker threads). Also used by vigil.dbdist to push/pull the DB artifact: `actions` is the
    token scope ("pull" or "pull,push") and `retry_after_cap` bounds how long a Retry-After may hold us (a caller
    with a fallback list would rather move on)."""

    def __init__(
        self, ref: Reference, opts: RegistryOptions, *, actions: str = "pull", retry_after_cap: float | None = None
    ) -> None:
        import httpx

        self.ref = ref
        self.opts = opts
        self.actions = actions
        self.retry_after_cap = RETRY_AFTER_CAP if retry_after_cap is None else retry_after_cap
        self.host = _DOCKER_HUB_API if ref.registry == DOCKER_HUB else ref.registry
        self._lock = threading.Lock()
        self._auth_header = f"Bearer {opts.registry_token}" if opts.registry_token else ""
        self._auth_done = bool(opts.registry_token)
        self._creds: Credentials | None = None
        import ssl

        from vigil.net import tls_verify

        try:
            verify = tls_verify(opts.insecure, opts.ca_file)
        except (OSError, ssl.SSLError) as e:
            raise ImageError(f"--cacert {opts.ca_file}: cannot load CA bundle: {e}") from e
        timeout = httpx.Timeout(opts.timeout, connect=min(opts.timeout, 30.0))
        self.client = httpx.Client(
            http1=True,
            http2=False,
            verify=verify,
            timeout=timeout,
            follow_redirects=False,
            trust_env=True,  # HTTPS_PROXY / NO_PROXY, like docker
            # Blobs are already compressed and verified byte for byte: ask storage not to re-encode them.
            headers={"Accept-Encoding": "identity", "User-Agent": "vigil"},
        )
        if opts.insecure or is_loopback(ref.registry):
            self._schemes = ["https", "http"]
        else:
            self._schemes = ["https"]
        self.base = ""  # "scheme://host", settled by ping()

    def close(self) -> None:
        self.client.close()

    # -- credentials / auth ----------------------------------------------------------------------------

    def credentials(self) -> Credentials:
        if self._creds is None:
            if self.opts.username or self.opts.password:
                self._creds = Credentials(self.opts.username, self.opts.password)
            else:
                self._creds = docker_config_credentials(self.ref.registry, self.opts)
        return self._creds

    def _authenticate(self, challenge: str) -> None:
        """Turn a 401 challenge into an Authorization header (caller holds no lock; we take it)."""
        scheme, params = _parse_challenge(challenge)
        creds = self.credentials()
        if scheme == "basic":
            if not creds.basic:
                raise AuthError(
                    f"unauthorized: {self.ref.registry}: authentication required (use --username/--password or docker login)"
                )
            token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
            header = f"Basic {token}"
        elif scheme == "bearer":
            header = f"Bearer {self._fetch_token(params, creds)}"
        else:
            raise AuthError(
                f"unauthorized: {self.ref.registry}: unsupported authentication scheme {scheme!r}"
            )
        with self._lock:
            self._auth_header = header
            self._auth_done = True

    def _fetch_token(self, params: dict[str, str], creds: Credentials) -> str:
        import httpx

        realm = params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise AuthError(f"unauthorized: {self.ref.registry}: bearer challenge without a usable realm")
        if realm.startswith("http://") and not (self.opts.insecure or is_loopback(urlsplit(realm).netloc)):
            raise AuthError(
                f"unauthorized: {self.ref.registry}: refusing to send credentials to {realm} over plain http"
            )
        scope = f"repository:{self.ref.repository}:{self.actions}"
        service = params.get("service", "")
        try:
            if creds.identity_token:
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": creds.identity_token,
                    "service": service,
                    "scope": scope,
                    "client_id": "vigil",
                }
                resp = self._send(
                    "POST",
                    realm,
                    {"Content-Type": "application/x-www-form-urlencoded"},
                    content=urlencode(form).encode(),
                )
            else:
                q = {"scope": scope, **({"service": service} if service else {})}
                headers: dict[str, str] = {}
                if creds.basic:
                    b = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
                    headers["Authorization"] = f"Basic {b}"
                url = realm + ("&" if "?" in realm else "?") + urlencode(q)
                resp = self._send("GET", url, headers)
            try:
                if resp.status_code in (401, 403):
                    raise AuthError(
                        f"unauthorized: {self.ref.registry}: token server refused the credentials"
                    )
                if resp.status_code != 200:
                    raise AuthError(
                        f"unauthorized: {self.ref.registry}: token server answered HTTP {resp.status_code}"
                    )
                raw = read_capped(resp, MAX_TOKEN_RESPONSE, "token response")
            finally:
                resp.close()
        except httpx.HTTPError as e:
            raise ImageError(
                f"{self.ref.registry}: token server {realm}: {_one_line(str(e)) or type(e).__name__}"
            ) from e
        try:
            data = json.loads(raw)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError, RecursionError):
            token = None
        if not isinstance(token, str) or not token:
            raise AuthError(f"unauthorized: {self.ref.registry}: token server answered without a token")
        return token

    # -- transport -------------------------------------------------------------------------------------

    def _send(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None = None, attempts: int = 0
    ) -> httpx.Response:
        """One request with retries on 429/5xx/connection errors/timeouts. Returns the (streamed) response."""
        import httpx

        attempts = attempts or max(0, self.opts.retries) + 1
        last = ""
        for attempt in range(attempts):
            delay = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
            try:
                req = self.client.build_request(method, url, headers=headers, content=content)
                resp = self.client.send(req, stream=True)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as e:
                last = _one_line(str(e)) or type(e).__name__
                if isinstance(e, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(e):
                    raise  # not transient
            else:
                if resp.status_code != 429 and resp.status_code < 500:
                    return resp
                last = f"HTTP {resp.status_code}"
                ra = _retry_after(resp.headers.get("retry-after"))
                if ra is not None:
                    delay = min(self.retry_after_cap, ra)
                resp.close()
            if attempt + 1 < attempts:
                log.debug("%s %s: %s; retrying in %.1fs", method, _redact(url), last, delay)
                time.sleep(delay)
        raise ImageError(f"{self.ref.registry}: {method} {_redact(url)}: {last} (after {attempts} attempts)")

    def ping(self) -> None:
        """GET /v2/ to settle the scheme (and learn the auth challenge). Loopback/insecure: https, then http."""
        import httpx

        if self.base:
            return
        errors = []
        for i, scheme in enumerate(self._schemes):
            base = f"{scheme}://{self.host}"
            try:
                # A scheme with a fallback after it gets one attempt: an http server answering a TLS hello fails
                # at once and retrying that would only add backoff delays.
                last = i + 1 == len(self._schemes)
                resp = self._send(
                    "GET", f"{base}/v2/", self._auth_headers(base, base), attempts=0 if last else 1
                )
            except (httpx.HTTPError, ImageError) as e:
                if isinstance(e, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(e):
                    raise ImageError(
                        f"{self.ref.registry}: TLS certificate verification failed (use --cacert or --insecure)"
                    ) from e
                errors.append(f"{scheme}: {_one_line(str(e)) or type(e).__name__}")
                if i + 1 < len(self._schemes):
                    log.debug(
                        "%s over %s failed (%s); trying %s",
                        self.ref.registry,
                        scheme,
                        e,
                        self._schemes[i + 1],
                    )
                continue
            try:
                self.base = base
                if resp.status_code == 401 and not self._auth_done:
                    self._authenticate(resp.headers.get("www-authenticate", ""))
                return
            finally:
                resp.close()
        raise ImageError(f"{self.ref.registry}: cannot reach the registry: {'; '.join(errors)}")

    def _auth_headers(self, url: str, origin: str) -> dict[str, str]:
        with self._lock:
            header = self._auth_header
        # same scheme too: a redirect from https://host to http://host (same netloc) would send it in clear
        a, b = urlsplit(url), urlsplit(origin)
        same = (a.scheme, a.netloc) == (b.scheme, b.netloc)
        return {"Authorization": header} if header and same else {}

    def get(self, path: str, accept: str = "") -> httpx.Response:
        """GET base+path with auth, one re-authentication on 401, and redirects (Authorization dropped off-host).
        401/403 after authenticating -> AuthError; the response is streamed, caller closes it."""
        import httpx

        self.ping()
        url = f"{self.base}{path}"
        extra = {"Accept": accept} if accept else {}
        try:
            resp = self._follow(url, extra)
            if resp.status_code == 401:
                challenge = resp.headers.get("www-authenticate", "")
                resp.close()
                if challenge:
                    self._authenticate(challenge)
                    resp = self._follow(url, extra)
            if resp.status_code in (401, 403):
                detail = error_detail(resp)
                resp.close()
                raise AuthError(f"unauthorized: {self.ref.registry}: {detail}")
            return resp
        except httpx.HTTPError as e:
            raise ImageError(
                f"{self.ref.registry}: GET {path}: {_one_line(str(e)) or type(e).__name__}"
            ) from e

    def _follow(self, url: str, extra: dict[str, str]) -> httpx.Response:
        for _ in range(MAX_REDIRECTS + 1):
            headers = {**extra, **self._auth_headers(url, self.base)}
            resp = self._send("GET", url, headers)
            if resp.status_code in (301, 302, 303, 307, 308) and "location" in resp.headers:
                nxt = urljoin(url, resp.headers["location"])
                resp.close()
                if urlsplit(nxt).scheme not in ("http", "https"):
                    raise ImageError(f"{self.ref.registry}: redirect to an unsupported URL scheme")
                log.debug("redirect %s -> %s", _redact(url), _redact(nxt))
                url = nxt
                continue
            return resp
        raise ImageError(f"{self.ref.registry}: too many redirects")

    def request(
        self, method: str, path_or_url: str, headers: dict[str, str] | None = None, content: bytes | None = None
    ) -> httpx.Response:
        """Any method (HEAD/POST/PUT/PATCH for uploads) with auth and one re-authentication on 401; redirects are
        not followed. `path_or_url` is a path under the registry or an absolute URL it handed out (an upload
        Location). 401/403 after authenticating -> AuthError; the response is streamed, caller closes it."""
        import httpx

        self.ping()
        url = path_or_url if "://" in path_or_url else f"{self.base}{path_or_url}"
        extra = dict(headers or {})
        try:
            resp = self._send(method, url, {**extra, **self._auth_headers(url, self.base)}, content=content)
            if resp.status_code == 401:
                challenge = resp.headers.get("www-authenticate", "")
                resp.close()
                if challenge:
                    self._authenticate(challenge)
                    resp = self._send(method, url, {**extra, **self._auth_headers(url, self.base)}, content=content)
            if resp.status_code in (401, 403):
                detail = error_detail(resp) if method != "HEAD" else f"HTTP {resp.status_code}"
                resp.close()
                raise AuthError(f"unauthorized: {self.ref.registry}: {detail}")
            return resp
        except httpx.HTTPError as e:
            raise ImageError(
                f"{self.ref.registry}: {method} {_redact(url)}: {_one_line(str(e)) or type(e).__name__}"
            ) from e


_Registry = RegistryClient  # the name the image code (and its tests) use


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    v = value.strip()
    if v.isdigit():
        return float(v)
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _redact(url: str) -> str:
    """Pre-signed storage URLs carry credentials in the query string: never print it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


def read_capped(resp: httpx.Response, cap: int, what: str) -> bytes:
    buf = bytearray()
    for chunk in resp.iter_bytes():
        buf += chunk
        if len(buf) > cap:
            raise ImageError(f"{what} larger than {cap >> 20} MiB: refused")
    return bytes(buf)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _check_digest(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise ImageError(f"unsupported or malformed digest {digest!r} (only sha256 is supported)")
    return hexpart


# --------------------------------------------------------------------------------------------- manifests


def _platform_of(entry: dict[str, Any]) -> tuple[str, str, str]:
    p = entry.get("platform")
    if not isinstance(p, dict):
        return "", "", ""
    return str(p.get("os", "")), str(p.get("architecture", "")), str(p.get("variant", ""))


def _fmt_platform(os_: str, arch: str, variant: str) -> str:
    return "/".join(x for x in (os_, arch, variant) if x)


def select_platform(index: dict[str, Any], wanted: str, what: str) -> dict[str, Any]:
    """The index entry for `wanted` ("os/arch[/variant]"). Without a variant, any variant of the arch matches
    (arm64's is "v8"); with several candidates the first listed wins, like docker."""
    parts = wanted.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ImageError(f"invalid platform {wanted!r}: want os/arch[/variant], e.g. linux/arm64")
    w_os, w_arch = parts[0].lower(), parts[1].lower()
    w_variant = parts[2].lower() if len(parts) == 3 else ""
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        raise ImageError(f"{what}: image index without manifests")
    available = []
    for m in manifests:
        if not isinstance(m, dict):
            continue
        os_, arch, variant = _platform_of(m)
        if not os_ or os_ == "unknown":  # attestation manifests (buildx) are listed as unknown/unknown
            continue
        available.append(_fmt_platform(os_, arch, variant))
        if os_.lower() == w_os and arch.lower() == w_arch and (not w_variant or variant.lower() == w_variant):
            return m
    have = ", ".join(dict.fromkeys(available)) or "none"
    raise ImageError(f"{what}: no image for platform {wanted} (available: {have})")


def _media_type(resp: httpx.Response, doc: dict[str, Any]) -> str:
    mt = doc.get("mediaType")
    if isinstance(mt, str) and mt:
        return str(mt)
    ct = str(resp.headers.get("content-type", "")).split(";", 1)[0].strip()
    if ct in (*_IMAGE_MANIFESTS, *_INDEXES, MT_DOCKER_SCHEMA1, MT_DOCKER_SCHEMA1_SIGNED):
        return ct
    if "manifests" in doc:
        return MT_OCI_INDEX
    if doc.get("schemaVersion") == 1:
        return MT_DOCKER_SCHEMA1
    return MT_OCI_MANIFEST


def _fetch_manifest(reg: _Registry, ident: str, what: str) -> tuple[bytes, dict[str, Any], str, str]:
    """-> (raw bytes, parsed JSON, media type, sha256 digest of the bytes). Verifies the digest when `ident` is one."""
    resp = reg.get(f"/v2/{reg.ref.repository}/manifests/{ident}", accept=_ACCEPT)
    try:
        if resp.status_code == 404:
            raise NotFound(f"{what}: image not found ({error_detail(resp)})")
        if resp.status_code != 200:
            raise ImageError(f"{what}: manifest request failed: {error_detail(resp)}")
        raw = read_capped(resp, MAX_MANIFEST, "manifest")
        digest = _sha256(raw)
        if ident.startswith("sha256:") and digest != ident:
            raise ImageError(f"{what}: manifest digest mismatch: asked for {ident}, got {digest}")
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's recursion limit
            raise ImageError(f"{what}: manifest is not JSON") from None
        if not isinstance(doc, dict):
            raise ImageError(f"{what}: manifest is not a JSON object")
        mt = _media_type(resp, doc)
    finally:
        resp.close()
    if mt in (MT_DOCKER_SCHEMA1, MT_DOCKER_SCHEMA1_SIGNED) or doc.get("schemaVersion") == 1:
        raise ImageError(
            f"{what}: Docker schema 1 manifests are unsupported (re-push the image with a current client)"
        )
    if mt not in (*_IMAGE_MANIFESTS, *_INDEXES):
        raise ImageError(f"{what}: unsupported manifest media type {mt!r}")
    return raw, doc, mt, digest


# --------------------------------------------------------------------------------------------- blobs


class _BlobStore:
    """Downloads blobs into one private temp dir, each at most once; concurrent open() calls for the same digest wait
    for the first download."""

    def __init__(self, reg: _Registry, tmp_dir: Path, progress: bool) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.reg = reg
        self.dir = Path(tempfile.mkdtemp(prefix="registry-", dir=tmp_dir))
        self._paths: dict[str, Path] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._progress_enabled = progress
        self._progress: Any = None
        self._active = 0

    def cleanup(self) -> None:
        self.reg.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def fetch_small(self, digest: str, cap: int, what: str) -> bytes:
        _check_digest(digest)
        resp = self.reg.get(f"/v2/{self.reg.ref.repository}/blobs/{digest}")
        try:
            if resp.status_code == 404:
                raise NotFound(f"{what}: blob {digest} not found in {self.reg.ref.name}")
            if resp.status_code != 200:
                raise ImageError(f"{what}: blob {digest}: {error_detail(resp)}")
            data = read_capped(resp, cap, what)
        finally:
            resp.close()
        if _sha256(data) != digest:
            raise ImageError(f"{what}: blob {digest} failed sha256 verification")
        return data

    def open(self, digest: str, size: int) -> BinaryIO:
        with self._lock:
            lock = self._locks.setdefault(digest, threading.Lock())
        with lock:
            path = self._paths.get(digest)
            if path is None:
                path = self._download(digest, size)
                self._paths[digest] = path
        return open(path, "rb")  # the caller owns and closes the stream

    def _download(self, digest: str, size: int) -> Path:
        import httpx

        hexpart = _check_digest(digest)
        final = self.dir / hexpart
        part = self.dir / f"{hexpart}.partial"
        attempts = max(0, self.reg.opts.retries) + 1
        task = self._progress_start(digest, size)
        try:
            for attempt in range(attempts):
                try:
                    self._stream_to(digest, size, part, task)
                    break
                except OSError as e:
                    # Disk full / temp dir gone: a user-facing one-liner, not a traceback.
                    raise ImageError(f"blob {digest}: cannot write {part}: {e.strerror or e}") from e
                except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as e:
                    # The body broke off mid-stream: start over (registries need not support Range).
                    if attempt + 1 == attempts:
                        raise ImageError(
                            f"{self.reg.ref.registry}: blob {digest}: {_one_line(str(e)) or type(e).__name__} "
                            f"(after {attempts} attempts)"
                        ) from e
                    time.sleep(min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt)))
                except httpx.HTTPError as e:  # not transient (e.g. a body that cannot be decoded)
                    raise ImageError(
                        f"{self.reg.ref.registry}: blob {digest}: {type(e).__name__}: {e}"
                    ) from e
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        finally:
            self._progress_stop(task)
        os.replace(part, final)
        return final

    def _stream_to(self, digest: str, size: int, part: Path, task: Any) -> None:
        resp = self.reg.get(f"/v2/{self.reg.ref.repository}/blobs/{digest}")
        try:
            if resp.status_code == 404:
                raise NotFound(f"{self.reg.ref}: layer blob {digest} not found")
            if resp.status_code != 200:
                raise ImageError(f"{self.reg.ref.registry}: blob {digest}: {error_detail(resp)}")
            h = hashlib.sha256()
            n = 0
            with open(part, "wb") as f:
                self._progress_reset(task)
                for chunk in resp.iter_bytes(CHUNK):
                    n += len(chunk)
                    if n > size:
                        raise ImageError(f"blob {digest}: larger than the {size} bytes the manifest declares")
                    h.update(chunk)
                    f.write(chunk)
                    self._progress_advance(task, len(chunk))
        finally:
            resp.close()
        if n != size:
            raise ImageError(f"blob {digest}: got {n} bytes, the manifest declares {size}")
        if "sha256:" + h.hexdigest() != digest:
            raise ImageError(f"blob {digest}: sha256 mismatch (got sha256:{h.hexdigest()})")

    # -- progress (rich, stderr; shared by parallel downloads: rich allows one live display at a time) -----

    def _progress_start(self, digest: str, size: int) -> Any:
        if not self._progress_enabled:
            return None
        with self._lock:
            if self._progress is None:
                from rich.console import Console
                from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

                self._progress = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    console=Console(stderr=True),
                    transient=True,
                )
            if self._active == 0:
                self._progress.start()
            self._active += 1
            return self._progress.add_task(digest[:19], total=size or None)

    def _progress_reset(self, task: Any) -> None:
        if task is not None:
            self._progress.reset(task)

    def _progress_advance(self, task: Any, n: int) -> None:
        if task is not None:
            self._progress.advance(task, n)

    def _progress_stop(self, task: Any) -> None:
        if task is None:
            return
        with self._lock:
            self._progress.remove_task(task)
            self._active -= 1
            if self._active == 0:
                self._progress.stop()


# --------------------------------------------------------------------------------------------- entry point


def _layer_opener(store: _BlobStore, digest: str, size: int) -> Callable[[], BinaryIO]:
    return lambda: store.open(digest, size)


def open_registry_image(ref: str, opts: RegistryOptions, tmp_dir: Path) -> Image:
    """Resolve `ref` in its registry: manifest (platform picked from an index), config verified; layers lazy."""
    r = parse_reference(ref)
    reg = _Registry(r, opts)
    store = _BlobStore(reg, tmp_dir, opts.progress)
    import httpx

    try:
        return _open(ref, r, reg, store, opts)
    except httpx.HTTPError as e:  # a body that broke off while reading a manifest or the config
        store.cleanup()
        raise ImageError(f"{r}: {type(e).__name__}: {_one_line(str(e))}") from e
    except BaseException:
        store.cleanup()
        raise


def _open(ref: str, r: Reference, reg: _Registry, store: _BlobStore, opts: RegistryOptions) -> Image:
    what = str(r)
    _raw, doc, mt, top_digest = _fetch_manifest(reg, r.identifier, what)
    manifest_digest = top_digest
    if mt in _INDEXES:
        entry = select_platform(doc, opts.platform or default_platform(), what)
        child = entry.get("digest")
        if not isinstance(child, str):
            raise ImageError(f"{what}: image index entry without a digest")
        _check_digest(child)
        _raw, doc, mt, manifest_digest = _fetch_manifest(reg, child, what)
        if mt in _INDEXES:
            raise ImageError(f"{what}: nested image indexes are unsupported")
    cfg_desc = doc.get("config")
    if not isinstance(cfg_desc, dict) or not isinstance(cfg_desc.get("digest"), str):
        raise ImageError(f"{what}: manifest without a config descriptor")
    config_digest = str(cfg_desc["digest"])
    config_raw = store.fetch_small(config_digest, MAX_CONFIG, f"{what}: config")
    try:
        config = json.loads(config_raw)
    except (ValueError, RecursionError):
        raise ImageError(f"{what}: image config is not JSON") from None
    if not isinstance(config, dict):
        raise ImageError(f"{what}: image config is not a JSON object")

    layers_desc = doc.get("layers")
    if not isinstance(layers_desc, list):
        raise ImageError(f"{what}: manifest without layers")
    check_layer_count(len(layers_desc), what)
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or len(diff_ids) != len(layers_desc):
        n = len(diff_ids) if isinstance(diff_ids, list) else 0
        raise ImageError(f"{what}: config lists {n} diff_ids for {len(layers_desc)} manifest layers")
    history = config.get("history")
    created = [
        str(h.get("created_by", ""))
        for h in (history if isinstance(history, list) else [])
        if isinstance(h, dict) and not h.get("empty_layer")
    ]
    layers = []
    for i, ld in enumerate(layers_desc):
        if not isinstance(ld, dict) or not isinstance(ld.get("digest"), str):
            raise ImageError(f"{what}: malformed layer descriptor #{i}")
        digest = str(ld["digest"])
        _check_digest(digest)
        size = ld.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            # OCI requires it, and it is what bounds the download of the blob
            raise ImageError(f"{what}: layer descriptor #{i} has no valid size")
        layers.append(
            LayerBlob(
                digest=digest,
                diff_id=str(diff_ids[i]),
                media_type=str(ld.get("mediaType", "")),
                size=size,
                created_by=created[i] if i < len(created) else "",
                open=_layer_opener(store, digest, size),
            )
        )
    return Image(
        name=ref,
        config_digest=config_digest,
        config=config,
        layers=layers,
        repo_tags=[f"{r.name}:{r.tag}"] if r.tag else [],
        # Like Trivy: the digest the tag (or given digest) resolves to, i.e. the index's for multi-platform images.
        repo_digests=[f"{r.name}@{top_digest}"],
        manifest_digest=manifest_digest,
        cleanup=store.cleanup,
    )
