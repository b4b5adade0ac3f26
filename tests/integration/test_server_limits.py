"""Bounds on what a request can make `vigil server` keep or compute: metric label sets (no token needed to send a
request), and the blob decoding a scan asks for (a token holder). The app runs on a real uvicorn on 127.0.0.1 in a
thread, so a test can give the state small limits and count decodes."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

import vigil.cache
from vigil.cache import open_cache
from vigil.findings.analysis import ArtifactInfo, BlobInfo
from vigil.findings.records import LayerInfo
from vigil.findings.wire import ScanRequest
from vigil.inventory.records import Application, Package
from vigil.shells.server.app import create_app
from vigil.shells.server.state import ServerState

TOKEN = "limits-test-token"
H = {"Vigil-Token": TOKEN}


class Running:
    def __init__(self, state: ServerState, url: str) -> None:
        self.state, self.url = state, url

    def put(self, key: str, blob: BlobInfo) -> httpx.Response:
        return httpx.put(f"{self.url}/v1/blobs/{key}", content=msgspec.msgpack.encode(blob), headers=H, timeout=10)

    def scan(self, keys: list[str]) -> httpx.Response:
        art = ArtifactInfo(name="img", type="container_image",
                           layers=tuple(LayerInfo(diff_id=f"sha256:{i:064x}") for i in range(len(keys))))
        body = msgspec.json.encode(ScanRequest(artifact=art, blob_keys=tuple(keys)))
        return httpx.post(f"{self.url}/v1/scan", content=body, headers=H, timeout=60)


@pytest.fixture
def serve(fixture_db: Path, tmp_path: Path) -> Iterator[Callable[..., Running]]:
    import uvicorn

    started: list[tuple[uvicorn.Server, threading.Thread, ServerState]] = []

    def start(db_path: Path | None = None, **limits: Any) -> Running:
        state = ServerState(db_path=db_path or fixture_db, cache=open_cache("memory", tmp_path, 0), token=TOKEN,
                            **limits)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        server = uvicorn.Server(uvicorn.Config(create_app(state), host="127.0.0.1", port=port, log_level="error"))
        t = threading.Thread(target=server.run, daemon=True)
        t.start()
        started.append((server, t, state))
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        return Running(state, f"http://127.0.0.1:{port}")

    yield start
    for server, t, state in started:
        server.should_exit = True
        t.join(10)
        state.close()


def layer_blob(n: int, packages: int = 1) -> BlobInfo:
    """An image layer's analysis (not content-addressed: its DiffID is the layer's)."""
    pkgs = tuple(Package(ecosystem="pypi", name=f"pkg{n}-{i}", version="1.0") for i in range(packages))
    return BlobInfo(diff_id=f"sha256:{n:064x}", applications=(
        Application(type="pip", file_path=f"app{n}/requirements.txt", packages=pkgs),))


def key(n: int) -> str:
    return f"sha256:{n + 0xabc:064x}"


class CountingDecoder:
    def __init__(self, inner: Any, fail: BaseException | None = None) -> None:
        self.inner, self.fail, self.calls = inner, fail, 0

    def decode(self, raw: bytes) -> Any:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return self.inner.decode(raw)


# --- metrics: label values from fixed sets ---------------------------------------------------------------------


def _series(text: str, name: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'(\w+)="([^"]*)"', line)) for line in text.splitlines() if line.startswith(name + "{")]


def test_metric_labels_stay_bounded_whatever_clients_send(serve: Callable[..., Running]) -> None:
    """Made-up methods, unknown paths and keys, with and without a token: every request is counted, under label
    values from fixed sets, so the number of series (the memory /metrics keeps) does not grow with them."""
    srv = serve()
    with httpx.Client(timeout=10) as c:
        for i in range(300):
            c.request(f"XM{i:05d}", srv.url + "/healthz")
            c.request(f"XM{i:05d}", srv.url + "/version", headers=H)
            c.get(f"{srv.url}/no/such/{i}")
            c.put(f"{srv.url}/v1/blobs/{key(i)}")  # no token: 401
    text = httpx.get(srv.url + "/metrics", timeout=10).text
    series = _series(text, "vigil_requests_total")
    assert sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("vigil_requests_total{")) == 1200
    assert {s["method"] for s in series} <= {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "other"}
    assert {s["endpoint"] for s in series} <= {"/healthz", "/metrics", "/version", "/openapi.json",
                                                "/v1/blobs/missing", "/v1/blobs/{key}", "/v1/scan", "other"}
    assert all(s["status"] in {"200", "204", "400", "401", "404", "405", "409", "413", "422", "500", "503", "other"}
               for s in series)
    assert len(series) <= 12, series


# --- scans: each distinct blob decoded once, bounded bytes per scan and across scans --------------------------


def test_a_blob_named_many_times_is_decoded_once(serve: Callable[..., Running],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    srv = serve()
    assert srv.put(key(1), layer_blob(1, packages=50)).status_code == 204
    counting = CountingDecoder(vigil.cache._DECODER)
    monkeypatch.setattr(vigil.cache, "_DECODER", counting)
    r = srv.scan([key(1)] * 4096)  # a 4096-layer image whose layers all are that one blob
    assert r.status_code == 200, r.text
    assert counting.calls == 1
    assert len(r.json()["Metadata"]["Layers"]) == 4096


def test_the_blobs_of_one_scan_are_bounded(serve: Callable[..., Running]) -> None:
    size = len(msgspec.msgpack.encode(layer_blob(1, packages=20)))
    srv = serve(max_scan_blob_bytes=size * 3 // 2, max_scan_blobs=3)
    for n in range(4):
        assert srv.put(key(n), layer_blob(n, packages=20)).status_code == 204
    assert srv.scan([key(1)] * 3).status_code == 200  # one distinct blob: within the limit
    r = srv.scan([key(1), key(2)])
    assert r.status_code == 413, r.text
    assert "limit of one scan" in r.json()["Error"]
    r = srv.scan([key(0), key(1), key(2), key(3)])
    assert r.status_code == 413 and "4 distinct blobs, over the limit of 3" in r.json()["Error"]
    assert srv.state.decode_budget.used == 0  # every refused scan gave its share back


def test_decoding_across_requests_is_bounded_and_retryable(serve: Callable[..., Running]) -> None:
    srv = serve()
    assert srv.put(key(1), layer_blob(1)).status_code == 204
    budget = srv.state.decode_budget
    with budget.reserve(budget.limit) as other_requests:  # requests in flight hold the whole budget
        other_requests.take(budget.limit)
        r = srv.scan([key(1)])
        assert r.status_code == 503 and "retry later" in r.json()["Error"]
        r = srv.put(key(2), layer_blob(2))
        assert r.status_code == 503 and "retry later" in r.json()["Error"]
    assert srv.scan([key(1)]).status_code == 200
    assert srv.put(key(2), layer_blob(2)).status_code == 204
    assert budget.used == 0


def test_out_of_memory_while_decoding_is_503_not_500(serve: Callable[..., Running],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    srv = serve()
    assert srv.put(key(1), layer_blob(1)).status_code == 204
    monkeypatch.setattr(vigil.cache, "_DECODER", CountingDecoder(vigil.cache._DECODER, fail=MemoryError()))
    r = srv.scan([key(1)])
    assert r.status_code == 503 and "retry later" in r.json()["Error"]
    assert srv.state.decode_budget.used == 0


@pytest.mark.parametrize("how", ["pages", "blobs"])
def test_db_damaged_beyond_its_metadata_is_503_not_500(serve: Callable[..., Running], fixture_db: Path,
                                                       tmp_path: Path, how: str) -> None:
    """The DB opens (its metadata is fine) and breaks only when detection reads advisories: the server's DB is
    unusable, which is 503 (retryable, the operator's to fix) as for a DB that does not open, not a 500 bug."""
    from tests.dbdist_helpers import damaged_copy

    srv = serve(db_path=damaged_copy(fixture_db, tmp_path / "damaged" / "vigil.db", how))
    blob = BlobInfo(diff_id=f"sha256:{0:064x}", applications=(Application(
        type="pip", file_path="requirements.txt", packages=(Package(ecosystem="pypi", name="pyyaml", version="5.3"),)),))
    assert srv.put(key(0), blob).status_code == 204
    r = srv.scan([key(0)])
    assert r.status_code == 503, r.text
    assert "is damaged" in r.json()["Error"]


# --- hostile request bodies and keys ----------------------------------------------------------------------------


def test_deeply_nested_image_config_is_422_not_500(serve: Callable[..., Running]) -> None:
    """A free-form field (ImageConfig) nested past the decoder's recursion limit: the client's error, not
    retryable (a 500 makes the client retry three times)."""
    srv = serve()
    assert srv.put(key(1), layer_blob(1)).status_code == 204
    for depth in (1_000, 100_000):
        config = '{"a":' + "[" * depth + "]" * depth + "}"
        body = ('{"Artifact":{"Name":"img","Type":"container_image","ImageConfig":' + config + ',"Layers":'
                '[{"DiffID":"sha256:' + "0" * 64 + '"}]},"BlobKeys":["' + key(1) + '"]}')
        r = httpx.post(f"{srv.url}/v1/scan", content=body, headers=H, timeout=60)
        assert r.status_code == 422, r.text
        assert "nested too deeply" in r.json()["Error"]
    assert srv.scan([key(1)]).status_code == 200


def test_an_integer_wider_than_64_bits_in_a_free_form_field_is_kept_as_text(serve: Callable[..., Running]) -> None:
    """JSON allows any integer and the document does not bound ImageConfig's numbers, but the cache's msgpack
    carries 64-bit integers only: such a request is served (the wide integer kept as its digits), not refused. A
    typed field's bound (SchemaVersion) still refuses one."""
    srv = serve()
    assert srv.put(key(1), layer_blob(1)).status_code == 204
    wide = "-1823846572763441689521032117350301696"
    for config, want in ((f'{{"a":[1.5,{wide}],"b":{{"c":{wide}9}}}}', 200), ('{}', 200)):
        body = ('{"Artifact":{"Name":"img","Type":"container_image","ImageConfig":' + config + ',"Layers":'
                '[{"DiffID":"sha256:' + "0" * 64 + '"}]},"BlobKeys":["' + key(1) + '"]}')
        r = httpx.post(f"{srv.url}/v1/scan", content=body, headers=H, timeout=60)
        assert r.status_code == want, r.text
    body = ('{"Artifact":{"Name":"img","Type":"container_image","SchemaVersion":' + wide + ',"Layers":'
            '[{"DiffID":"sha256:' + "0" * 64 + '"}]},"BlobKeys":["' + key(1) + '"]}')
    r = httpx.post(f"{srv.url}/v1/scan", content=body, headers=H, timeout=60)
    assert r.status_code == 422, r.text


def test_a_key_with_a_trailing_newline_is_not_a_key(serve: Callable[..., Running]) -> None:
    srv = serve()
    bad = key(1) + "\n"
    r = httpx.put(f"{srv.url}/v1/blobs/{key(1)}%0A", content=msgspec.msgpack.encode(layer_blob(1)), headers=H,
                  timeout=10)
    assert r.status_code == 400, r.text
    assert srv.scan([bad]).status_code == 422
    body = msgspec.json.encode({"BlobKeys": [bad]})
    assert httpx.post(f"{srv.url}/v1/blobs/missing", content=body, headers=H, timeout=10).status_code == 422
    assert srv.put(key(1), layer_blob(1)).status_code == 204  # the same key without it is one
    assert srv.scan([key(1)]).status_code == 200


# --- the server log and readiness -------------------------------------------------------------------------------


@pytest.fixture
def vigil_log() -> Iterator[None]:
    """The `vigil` logger's handlers, restored after the test (which installs the CLI's own)."""
    import logging

    root = logging.getLogger("vigil")
    saved = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]


def test_an_internal_error_logs_its_traceback(serve: Callable[..., Running], vigil_log: None,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    srv = serve()

    def broken() -> None:
        raise RuntimeError("a bug for the test")

    from vigil.shells.cli.logsetup import setup_logging

    setup_logging(quiet=False, debug=False)  # what `vigil server` writes to stderr (captured here)
    srv.state.db_info = broken  # type: ignore[method-assign]
    r = httpx.get(f"{srv.url}/version", headers=H, timeout=10)
    assert r.status_code == 500 and "see the server log" in r.json()["Error"]
    err = capsys.readouterr().err
    assert "ERROR\tinternal error on GET /version" in err, err
    assert "Traceback (most recent call last)" in err and "RuntimeError: a bug for the test" in err


def test_healthz_is_not_ready_without_a_usable_db(serve: Callable[..., Running], fixture_db: Path,
                                                  tmp_path: Path) -> None:
    """A load balancer must stop sending scans to a server whose DB is gone or damaged; probes (no token) neither
    reopen the damaged file nor log each time."""
    import logging
    import os
    import shutil

    db = tmp_path / "vigil.db"
    shutil.copy2(fixture_db, db)
    srv = serve(db_path=db)
    warnings: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warnings.append  # type: ignore[method-assign]
    logging.getLogger("vigil.shells.server.state").addHandler(handler)
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as client:
            assert client.get("/healthz").status_code == 200
            damaged = tmp_path / "damaged.db"
            damaged.write_bytes(b"not a database" * 100)
            os.replace(damaged, db)
            for _ in range(5):
                r = client.get("/healthz")
                assert r.status_code == 503 and r.json()["Error"].startswith("not ready: ")
            assert len(warnings) == 1
            db.unlink()
            r = client.get("/healthz")
            assert r.status_code == 503 and "no vulnerability DB at" in r.json()["Error"]
            shutil.copy2(fixture_db, db)
            assert client.get("/healthz").status_code == 200
    finally:
        logging.getLogger("vigil.shells.server.state").removeHandler(handler)
