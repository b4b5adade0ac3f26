"""The published OpenAPI document (docs/openapi.json) is current, and a real `vigil server` honours it:
schemathesis generates requests from the document and checks status codes, content types and response bodies
against it (no 5xx, documented codes only, bodies that validate, auth enforced)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import msgspec
import pytest
import schemathesis
from tests.integration.test_server import Server, start_server

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "openapi.json"
TOKEN = "schema-test-token"
STORE_PATHS = {"/v1/reports", "/v1/targets", "/v1/targets/{target_id}", "/v1/targets/{target_id}/scans",
               "/v1/targets/{target_id}/trend", "/v1/scans/{scan_id}", "/v1/scans/{scan_id}/report", "/v1/findings",
               "/v1/findings/export", "/v1/diff", "/v1/where", "/v1/trends", "/v1/suppressions",
               "/v1/ignore-rules", "/v1/ignore-rules/{rule_id}", "/v1/targets/{target_id}/remediation",
               "/v1/scans/{scan_id}/layers"}

schema = schemathesis.openapi.from_path(SPEC)


def _msgpack_safe(value: object) -> object:
    """msgpack carries integers in [-2**63, 2**64 - 1]; others become floats (still invalid where the schema
    wants an integer, and harmless in the extra properties the generator adds)."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return float(value)
    if isinstance(value, dict):
        return {k: _msgpack_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_msgpack_safe(v) for v in value]
    return value


@schemathesis.serializer("application/msgpack")
def _msgpack(ctx: schemathesis.SerializationContext, value: object) -> bytes:
    """PUT /v1/blobs/{key} bodies: the generated BlobInfo-shaped data, msgpack-encoded as a client sends it."""
    return msgspec.msgpack.encode(_msgpack_safe(value))


def _integral(value: object) -> object:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


@schema.hook
def map_body(ctx: schemathesis.HookContext, body: object) -> object:
    """JSON Schema counts 1.0 as an integer; Vigil's decoders are strict (an integer field takes 1, as every
    client encodes it), so generated integral floats are sent as integers. Integers beyond 64 bits, which the
    server refuses anywhere (its cache carries msgpack), are sent as floats, as in msgpack bodies: the generator
    puts them in free-form objects such as ImageConfig, where a float is as good."""
    return _integral(_msgpack_safe(body))


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_openapi", ROOT / "tools" / "gen_openapi.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_openapi_document_is_current() -> None:
    """Compared with what the generator writes, descriptions normalised: the same bytes on Python 3.11 and 3.13."""
    assert SPEC.read_text(encoding="utf-8") == _generator().render(), (
        "docs/openapi.json is stale: run `make openapi`")
    assert "ARCHITECTURE.md" not in SPEC.read_text(encoding="utf-8")
    doc = json.loads(SPEC.read_text())
    assert set(doc["paths"]) == {"/healthz", "/metrics", "/version", "/v1/blobs/missing", "/v1/blobs/{key}",
                                 "/v1/scan", *STORE_PATHS}
    assert doc["components"]["securitySchemes"]["token"] == {"type": "apiKey", "in": "header", "name": "Vigil-Token"}
    scan = doc["paths"]["/v1/scan"]["post"]
    assert scan["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ScanRequest"}
    assert scan["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Report"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, fixture_db: Path) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("schema")
    db = tmp / "vigil.db"
    shutil.copy2(fixture_db, db)
    (tmp / "token").write_text(TOKEN)
    s = start_server(tmp, db, "--token-file", str(tmp / "token"), "--cache-backend", "memory")
    yield s
    s.stop()


@schema.parametrize()
@hypothesis.settings(max_examples=6, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case, api: Server) -> None:
    case.call_and_validate(base_url=api.url, headers={"Vigil-Token": TOKEN})


def test_the_live_document_is_the_published_one(api: Server) -> None:
    """What a running server answers on /openapi.json is docs/openapi.json (descriptions normalised the same way)."""
    import httpx

    live = httpx.get(api.url + "/openapi.json", headers={"Vigil-Token": TOKEN}, timeout=10)
    assert live.status_code == 200
    assert live.json() == json.loads(SPEC.read_text(encoding="utf-8"))


# --- hostile requests: what the document does not allow, and what no document describes -------------------------

_NEGATIVE_OPS = [op for op in (r.ok() for r in schema.get_all_operations())
                 if op.path in ("/v1/blobs/missing", "/v1/blobs/{key}", "/v1/scan")]


@hypothesis.given(data=hypothesis.strategies.data())
@hypothesis.settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_requests_the_document_forbids_get_a_clean_4xx(api: Server, data: hypothesis.strategies.DataObject) -> None:
    """Schemathesis' negative mode: bodies, keys and headers that break the document. Each is refused with a
    documented client error (ErrorBody), never a 5xx."""
    op = data.draw(hypothesis.strategies.sampled_from(_NEGATIVE_OPS))
    case = data.draw(op.as_strategy(schemathesis.GenerationMode.NEGATIVE))
    resp = case.call(base_url=api.url, headers={"Vigil-Token": TOKEN})
    assert resp.status_code < 500, (case.method, case.path, resp.status_code, resp.text[:300])
    if resp.status_code >= 400:
        assert set(resp.json()) == {"Error"}


_TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_st = hypothesis.strategies
_KEYS = _st.one_of(
    _st.just("sha256:" + "ab" * 32), _st.just("sha256:" + "ab" * 32 + "\n"), _st.just("missing"),
    _st.just("sha256:" + "AB" * 32), _st.just("..%2F..%2Fetc%2Fpasswd"), _st.just("sha256:" + "ab" * 32 + "%00"),
    _st.text(min_size=0, max_size=300))


@hypothesis.given(method=_st.one_of(_st.sampled_from(["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
                                    _st.text(alphabet=_TCHAR, min_size=1, max_size=200)),
                  path=_st.one_of(_st.sampled_from(["/healthz", "/metrics", "/version", "/v1/scan",
                                                    "/v1/blobs/missing", "/openapi.json", "//version", "/v1/"]),
                                  _KEYS.map(lambda k: "/v1/blobs/" + k)),
                  token=_st.sampled_from([TOKEN, "", "wrong", TOKEN[:-1]]),
                  body=_st.one_of(_st.binary(max_size=2048), _st.integers(0, 300_000).map(lambda n: b"\x91" * n)),
                  pieces=_st.integers(1, 4))
@hypothesis.settings(max_examples=80, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_hostile_methods_keys_sizes_and_slow_bodies_never_get_a_5xx(api: Server, method: str, path: str, token: str,
                                                                     body: bytes, pieces: int) -> None:
    """Made-up methods, keys that are almost keys, bodies of every size, sent in pieces with pauses (a slow but
    live body) — with and without a token. Never a 5xx or a dropped connection, and every error is one ErrorBody
    line; the server stays ready."""
    import httpx

    def slow() -> Iterator[bytes]:
        step = max(1, len(body) // pieces)
        for i in range(0, len(body), step):
            yield body[i:i + step]
            time.sleep(0.05)

    headers = {"Vigil-Token": token} if token else {}
    content: Any = slow() if pieces > 1 and body else body
    try:
        resp = httpx.request(method, api.url + path, content=content, headers=headers, timeout=30)
    except httpx.InvalidURL:
        hypothesis.reject()
    assert resp.status_code < 500, (method, path, resp.status_code, resp.text[:300])
    if resp.status_code >= 400 and method != "HEAD" and resp.headers.get("content-type") == "application/json":
        assert set(resp.json()) == {"Error"}


def test_the_server_is_ready_after_the_hostile_runs(api: Server) -> None:
    import httpx

    assert httpx.get(api.url + "/healthz", timeout=10).status_code == 200
    assert api.proc.poll() is None
    assert "Traceback" not in api.log.read_text(errors="replace")
