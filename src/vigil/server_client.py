"""Client mode: the HTTP client of `vigil server` (missing blobs, put blob, scan, version).

Bodies are the msgspec records of vigil.findings.wire / vigil.findings.analysis (one schema for cache and wire).
Connection errors, timeouts and 5xx answers are retried with backoff (a server restarting or swapping its DB must
not fail a CI job); 4xx answers are not. Every failure becomes one RemoteError line naming the server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import msgspec

from vigil.errors import UserError
from vigil.findings.analysis import BlobInfo
from vigil.findings.records import Report
from vigil.findings.wire import (
    ErrorBody,
    MissingBlobsRequest,
    MissingBlobsResponse,
    ScanRequest,
    VersionInfo,
)
from vigil.log import get_logger

if TYPE_CHECKING:
    import httpx

log = get_logger(__name__)

T = TypeVar("T")
_ENCODER = msgspec.msgpack.Encoder()
# Decoders built once, at import: msgspec builds a type's decoding info on its first use, and threads decoding a
# type for the first time at once (a RemoteClient per thread) crashed the process (segfault in msgspec, 20 threads).
_VERSION = msgspec.json.Decoder(VersionInfo)
_MISSING = msgspec.json.Decoder(MissingBlobsResponse)
_REPORT = msgspec.json.Decoder(Report)
_ERROR = msgspec.json.Decoder(ErrorBody)


class RemoteError(UserError):
    """The server cannot be reached or refused a request. One line for the user."""


@dataclass(frozen=True)
class ServerOptions:
    url: str  # http(s)://HOST:PORT[/prefix]
    token: str = ""
    token_header: str = "Vigil-Token"
    custom_headers: tuple[tuple[str, str], ...] = ()  # --custom-headers: sent with every request
    ca_file: str = ""  # PEM bundle to verify the server with (default: system store / SSL_CERT_FILE)
    insecure: bool = False  # skip TLS verification
    timeout: float = 600.0  # a scan of a big image can take minutes on the server
    retries: int = 3
    backoff: float = 0.5


def check_url(url: str) -> str:
    """The server URL without a trailing slash; RemoteError when it is not http(s)://HOST[:PORT]."""
    import urllib.parse

    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise RemoteError(f"invalid server URL {url!r} (expected http(s)://HOST:PORT)")
    try:
        u.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise RemoteError(f"invalid server URL {url!r} (bad port)") from None
    return url.rstrip("/")


class RemoteClient:
    def __init__(self, opts: ServerOptions) -> None:
        import httpx

        self.opts = opts
        self.base = check_url(opts.url)
        import ssl

        from vigil.net import tls_verify

        try:
            verify = tls_verify(opts.insecure, opts.ca_file)
        except (OSError, ssl.SSLError) as e:
            raise RemoteError(f"cannot load CA file {opts.ca_file}: {e}") from e
        headers = {"User-Agent": "vigil-client"}
        for name, value in opts.custom_headers:
            if not (name.isascii() and name.replace("-", "").replace("_", "").isalnum() and value.isascii()
                    and value.isprintable()):
                raise RemoteError(f"invalid --custom-headers entry {name!r} (NAME:VALUE in printable ASCII)")
            headers[name] = value
        if not (opts.token.isascii() and opts.token.isprintable()):  # a header value; never echo the token
            raise RemoteError("the token must be printable ASCII characters (check --token)")
        if opts.token and not (opts.token_header.isascii()
                               and opts.token_header.replace("-", "").replace("_", "").isalnum()):
            raise RemoteError(f"invalid --token-header {opts.token_header!r} (letters, digits, '-' and '_')")
        if opts.token:
            headers[opts.token_header] = opts.token
        self._http = httpx.Client(base_url=self.base, headers=headers, verify=verify,
                                  timeout=httpx.Timeout(opts.timeout, connect=10.0), trust_env=True)
        self.uploaded = 0  # blobs PUT by this client (for the caller's stats)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteClient:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _request(self, method: str, path: str, *, content: bytes | None = None,
                 content_type: str = "application/json") -> httpx.Response:
        import httpx

        last = ""
        for attempt in range(self.opts.retries + 1):
            if attempt:
                time.sleep(self.opts.backoff * (2 ** (attempt - 1)))
            try:
                resp = self._http.request(method, path, content=content,
                                          headers={"Content-Type": content_type} if content is not None else None)
            except httpx.TimeoutException:
                last = "timed out"
                continue
            except httpx.TransportError as e:
                last = _transport_reason(e)
                if "certificate" in last.lower() or "ssl" in last.lower():
                    break  # a TLS verification failure does not heal by retrying
                continue
            if resp.status_code >= 500:
                last = f"HTTP {resp.status_code}: {_error_text(resp)}"
                log.debug("server %s %s: %s (attempt %d)", method, path, last, attempt + 1)
                continue
            if resp.status_code == 401:
                raise RemoteError(f"server {self.base} refused the token ({_error_text(resp)}); "
                                  f"check --token / --token-header")
            if resp.status_code >= 400:
                raise RemoteError(f"server {self.base} refused {method} {path}: HTTP {resp.status_code}: "
                                  f"{_error_text(resp)}")
            return resp
        raise RemoteError(f"server {self.base}: {method} {path} failed: {last}")

    def _decode(self, resp: httpx.Response, decoder: msgspec.json.Decoder[T], what: str) -> T:
        try:
            return decoder.decode(resp.content)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise RemoteError(f"server {self.base} sent an unreadable {what}: {e}") from e

    def version(self) -> VersionInfo:
        return self._decode(self._request("GET", "/version"), _VERSION, "VersionInfo")

    def missing(self, keys: list[str]) -> list[str]:
        if not keys:
            return []
        body = msgspec.json.encode(MissingBlobsRequest(blob_keys=tuple(keys)))
        resp = self._decode(self._request("POST", "/v1/blobs/missing", content=body), _MISSING,
                            "MissingBlobsResponse")
        return list(resp.missing_blob_keys)

    def put(self, key: str, blob: BlobInfo) -> None:
        self._request("PUT", f"/v1/blobs/{key}", content=_ENCODER.encode(blob),
                      content_type="application/msgpack")
        self.uploaded += 1

    def scan(self, req: ScanRequest) -> Report:
        return self._decode(self._request("POST", "/v1/scan", content=msgspec.json.encode(req)), _REPORT, "Report")


def _error_text(resp: httpx.Response) -> str:
    try:
        return _ERROR.decode(resp.content).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = resp.text.strip().splitlines()
        return text[0][:200] if text else resp.reason_phrase


def _transport_reason(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return (text[-1] if text else type(e).__name__)[:300]
