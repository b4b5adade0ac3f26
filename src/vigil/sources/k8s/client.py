"""An async client for the Kubernetes API over lightkube: paged LIST, retries, one-line errors.

lightkube gives the authentication (kubeconfig users, exec plugins, certificates), TLS and LIST paging
(`limit`/`continue`); objects are decoded as plain dicts (lightkube's generic resources), because the
misconfiguration checks read manifests as the API serves them. What is added here:

- retries: a 429 or 5xx answer, or a connection reset, is retried with exponential backoff (honouring
  Retry-After), at most `retries` times, at the HTTP transport, so a retried page of a paged LIST is the same page;
- errors: 401/403 become `AccessDenied` naming the verb and resource ("forbidden: cannot list pods in namespace
  kube-system"), an unreachable server a `ClusterError` with the URL; never a traceback.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx2

from vigil.log import get_logger
from vigil.sources.k8s import AccessDenied, ClusterError
from vigil.sources.k8s.kubeconfig import ClusterConfig

log = get_logger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Kind:
    """One API resource: where it lives and whether it is namespaced."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = email.utils.parsedate_to_datetime(value) if value else None
    return max(0.0, when.timestamp() - time.time()) if when is not None else None


class Conflict(ClusterError):
    """The object to create exists already (HTTP 409)."""


class RetryTransport(httpx2.AsyncBaseTransport):
    """An httpx2 async transport that retries 429/5xx answers and connection errors with backoff. (lightkube
    speaks httpx2, for which no maintained retry transport exists; the registry client retries the same way.)"""

    def __init__(self, inner: httpx2.AsyncBaseTransport, retries: int, backoff: float, max_wait: float) -> None:
        self.inner = inner
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        attempt = 0
        while True:
            try:
                resp = await self.inner.handle_async_request(request)
            except httpx2.ConnectError:
                # nothing listens (or DNS fails): worth a short second look, not the full backoff of an overload
                if attempt >= min(self.retries, 2):
                    raise
                wait = self.backoff * 2 ** attempt
            except (httpx2.ReadError, httpx2.RemoteProtocolError, httpx2.TimeoutException):
                if attempt >= self.retries:
                    raise
                wait = self.backoff * 2 ** attempt
            else:
                if resp.status_code not in RETRY_STATUSES or attempt >= self.retries:
                    return resp
                wait = _retry_after(resp.headers.get("Retry-After")) or self.backoff * 2 ** attempt
                await resp.aclose()
            attempt += 1
            log.debug("%s %s: retry %d in %.2fs", request.method, request.url, attempt, wait)
            await asyncio.sleep(min(wait, self.max_wait))

    async def aclose(self) -> None:
        await self.inner.aclose()


def _transport(config: ClusterConfig, retries: int, backoff: float, max_wait: float) -> RetryTransport:
    from lightkube.config.client_adapter import verify_cluster
    from lightkube.config.models import User

    single = config.single
    # httpx uses a given transport as it is: the TLS context (CA, client certificate) must be in it
    verify = verify_cluster(single.cluster, single.user or User(), single.abs_file, trust_env=True)
    return RetryTransport(httpx2.AsyncHTTPTransport(verify=verify), retries, backoff, max_wait)


def _status_message(e: httpx2.HTTPStatusError) -> str:
    """The message of the Status object the API server answers errors with (first line, at most 300 chars)."""
    status = getattr(e, "status", None)  # lightkube's ApiError has it decoded
    msg = str(getattr(status, "message", "") or "")
    if not msg:
        try:
            body = e.response.json()
        except (ValueError, httpx2.ResponseNotRead):
            body = None
        if isinstance(body, dict):
            msg = str(body.get("message") or "")
    return msg.strip().splitlines()[0][:300] if msg.strip() else ""


def _generic(kind: Kind) -> Any:
    """A lightkube resource class for `kind` that decodes objects as dicts. Not registered in lightkube's global
    registry, so it never clashes with the typed classes another caller may load."""
    from lightkube.generic_resource import GenericGlobalResource, GenericNamespacedResource, create_api_info

    base = GenericNamespacedResource if kind.namespaced else GenericGlobalResource
    return type(kind.kind, (base,), {"_api_info": create_api_info(kind.group, kind.version, kind.kind, kind.plural)})


class ClusterClient:
    """`async with ClusterClient(config) as c: async for obj in c.iterate(PODS, namespace="default"): …`"""

    def __init__(self, config: ClusterConfig, *, page_size: int = 500, retries: int = 4, backoff: float = 0.5,
                 max_wait: float = 30.0, timeout: float = 30.0) -> None:
        from lightkube import AsyncClient

        self.config = config
        self.page_size = page_size
        self._classes: dict[Kind, Any] = {}
        try:
            self._client = AsyncClient(config.single, timeout=httpx2.Timeout(timeout),
                                       transport=_transport(config, retries, backoff, max_wait))
        except (OSError, ValueError) as e:  # unreadable CA/cert files, bad PEM
            raise ClusterError(f"cannot set up TLS for {config.server}: {e}") from e
        except Exception as e:
            from lightkube.core.exceptions import ConfigError

            if isinstance(e, ConfigError):
                raise ClusterError(f"kubeconfig: {e}") from e
            raise

    async def __aenter__(self) -> ClusterClient:
        return self

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        await self._client.close()

    def _cls(self, kind: Kind) -> Any:
        if kind not in self._classes:
            self._classes[kind] = _generic(kind)
        return self._classes[kind]

    async def iterate(self, kind: Kind, namespace: str = "") -> AsyncIterator[dict[str, Any]]:
        """Every object of `kind` (in `namespace`, or cluster-wide with ""), page by page."""
        cls = self._cls(kind)
        kw: dict[str, Any] = {"chunk_size": self.page_size}
        if kind.namespaced:
            from lightkube import ALL_NS

            kw["namespace"] = namespace or ALL_NS
        try:
            async for obj in self._client.list(cls, **kw):
                yield dict(obj)
        except Exception as e:
            raise self._translate(e, "list", kind, namespace) from e

    async def list_all(self, kind: Kind, namespace: str = "",
                       each: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Every object, or `each(object)` for each as it arrives (to keep only what is needed of big objects)."""
        if each is None:
            return [o async for o in self.iterate(kind, namespace)]
        return [each(o) async for o in self.iterate(kind, namespace)]

    async def get(self, kind: Kind, name: str, namespace: str = "") -> dict[str, Any]:
        try:
            obj = await self._client.get(self._cls(kind), name, namespace=namespace or None)
        except Exception as e:
            raise self._translate(e, "get", kind, namespace, name) from e
        return dict(obj)

    def _path(self, kind: Kind, namespace: str, name: str = "") -> str:
        base = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
        if kind.namespaced:
            base += f"/namespaces/{namespace}"
        return f"{base}/{kind.plural}" + (f"/{name}" if name else "")

    async def _write(self, method: str, kind: Kind, namespace: str, name: str, body: Any = None,
                     content_type: str = "application/json") -> dict[str, Any] | None:
        """One write request (the operator's: create Jobs and reports, patch, delete). None for 404 on DELETE."""
        import json

        verb = {"POST": "create", "PATCH": "patch", "DELETE": "delete"}[method]
        try:
            resp = await self._client._client._client.request(  # lightkube's configured httpx client
                method, self._path(kind, namespace, "" if method == "POST" else name),
                content=None if body is None else json.dumps(body).encode(),
                headers={"Content-Type": content_type} if body is not None else None)
        except Exception as e:
            raise self._translate(e, verb, kind, namespace, name) from e
        if method == "DELETE" and resp.status_code == 404:
            return None
        if resp.status_code == 409 and method == "POST":
            raise Conflict(f"{kind.plural}/{name} already exists")
        if resp.status_code in (401, 403):
            raise AccessDenied(self._denied_text(resp.status_code, verb, kind.plural, namespace, name),
                               status=resp.status_code, verb=verb, resource=kind.plural, namespace=namespace)
        if resp.status_code >= 400:
            raise ClusterError(f"{verb} {kind.plural}/{name}{' in ' + namespace if namespace else ''}: "
                               f"API server answered {resp.status_code}: {resp.text[:300]}")
        data = resp.json() if resp.content else {}
        return data if isinstance(data, dict) else {}

    async def create(self, kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
        """POST `obj`; raises Conflict when it exists."""
        meta = obj.get("metadata") or {}
        out = await self._write("POST", kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""), obj)
        return out or {}

    async def merge_patch(self, kind: Kind, name: str, namespace: str, patch: dict[str, Any]) -> dict[str, Any]:
        out = await self._write("PATCH", kind, namespace, name, patch, "application/merge-patch+json")
        return out or {}

    async def delete(self, kind: Kind, name: str, namespace: str = "") -> bool:
        """DELETE with background propagation (a Job's pods go with it); False when it was already gone."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        return await self._write("DELETE", kind, namespace, name, body) is not None

    async def version(self) -> dict[str, Any]:
        """GET /version: the API server's build (gitVersion). Also the cheapest reachability check."""
        try:
            resp = await self._client._client._client.get("/version")  # lightkube's configured httpx client
            if resp.status_code in (401, 403):
                raise AccessDenied(self._denied_text(resp.status_code, "get", "version", "", ""),
                                   status=resp.status_code, verb="get", resource="version")
            resp.raise_for_status()
            data = resp.json()
        except AccessDenied:
            raise
        except Exception as e:
            raise self._translate(e, "get", None, "") from e
        return data if isinstance(data, dict) else {}

    def _denied_text(self, status: int, verb: str, resource: str, namespace: str, name: str) -> str:
        what = f"{resource}/{name}" if name else resource
        where = f" in namespace {namespace}" if namespace else (" at the cluster scope" if verb == "list" else "")
        if status == 401:
            return (f"unauthorized: {self.config.server} refused the credentials of context "
                    f"{self.config.context or '(none)'} (expired token or certificate?) while trying to {verb} {what}")
        return f"forbidden: cannot {verb} {what}{where} (missing RBAC permission: {verb} on {resource})"

    def _translate(self, e: Exception, verb: str, kind: Kind | None, namespace: str, name: str = "") -> Exception:
        from lightkube.core.exceptions import ConfigError

        resource = kind.plural if kind is not None else "version"
        if kind is not None and kind.group:
            resource = f"{kind.plural}.{kind.group}"
        if isinstance(e, httpx2.HTTPStatusError):  # lightkube's ApiError too (when the Content-Type is exact)
            code = e.response.status_code
            if code in (401, 403):
                return AccessDenied(self._denied_text(code, verb, resource, namespace, name), status=code, verb=verb,
                                    resource=resource, namespace=namespace)
            msg = _status_message(e)
            return ClusterError(f"{verb} {resource}{' in ' + namespace if namespace else ''}: "
                                f"API server answered {code}{': ' + msg if msg else ''}")
        if isinstance(e, httpx2.TransportError):
            detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            return ClusterError(f"cannot reach the Kubernetes API server at {self.config.server}: {detail}")
        if isinstance(e, ConfigError):  # an exec plugin that failed, a missing token file
            return ClusterError(f"credentials of context {self.config.context or '(none)'}: "
                                f"{str(e).strip().splitlines()[0] if str(e).strip() else 'failed'}")
        if isinstance(e, (ClusterError, AccessDenied)):
            return e
        return e
