"""Bounds on what a Trivy-protocol request can make `vigil server` keep or compute: the same upload cap, per-scan
limits and shared decode budget as Vigil's own API, answered with the Twirp codes a Trivy client understands
("unavailable" is the one it retries), and metric labels from fixed sets. The app runs on a real uvicorn on
127.0.0.1 in a thread (test_server_limits.serve), so a test can give the state small limits."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from tests.integration.test_server_limits import TOKEN, Running, _series
from tests.integration.test_server_limits import serve as serve  # the fixture (a real uvicorn in a thread)

from vigil.shells.server.twirp.gen import cache_pb2, scanner_pb2

PB = {"Content-Type": "application/protobuf", "Trivy-Token": TOKEN}


def blob_id(n: int) -> str:
    return f"sha256:{n + 0x7e57:064x}"


def put(srv: Running, n: int, packages: int = 1) -> httpx.Response:
    req = cache_pb2.PutBlobRequest(diff_id=blob_id(n))
    req.blob_info.diff_id = f"sha256:{n:064x}"
    app = req.blob_info.applications.add(type="pip", file_path=f"app{n}/requirements.txt")
    for i in range(packages):
        app.packages.add(name=f"pkg{n}-{i}", version="1.0")
    return call(srv, "trivy.cache.v1.Cache/PutBlob", req.SerializeToString())


def scan(srv: Running, ids: list[str]) -> httpx.Response:
    req = scanner_pb2.ScanRequest(target="img", artifact_id="sha256:" + "f" * 64, blob_ids=ids)
    req.options.scanners.append("vuln")
    return call(srv, "trivy.scanner.v1.Scanner/Scan", req.SerializeToString())


def call(srv: Running, path: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{srv.url}/twirp/{path}", content=body, headers=PB, timeout=30)


def missing(srv: Running, ids: list[str]) -> list[str]:
    r = call(srv, "trivy.cache.v1.Cache/MissingBlobs", cache_pb2.MissingBlobsRequest(blob_ids=ids).SerializeToString())
    assert r.status_code == 200, r.text
    return list(cache_pb2.MissingBlobsResponse.FromString(r.content).missing_blob_ids)


def test_an_upload_over_the_blob_cap_is_refused_and_not_kept(serve: Callable[..., Running]) -> None:
    srv = serve(max_blob_bytes=2000)
    assert put(srv, 1, packages=5).status_code == 200
    r = put(srv, 2, packages=500)
    assert r.status_code == 429 and r.json()["code"] == "resource_exhausted", r.text
    assert missing(srv, [blob_id(1), blob_id(2)]) == [blob_id(2)]


def test_the_blobs_of_one_scan_are_bounded(serve: Callable[..., Running]) -> None:
    srv = serve(max_scan_blobs=3, max_scan_blob_bytes=3000)
    for n in range(4):
        assert put(srv, n, packages=40).status_code == 200
    assert scan(srv, [blob_id(1)] * 3).status_code == 200  # one distinct blob
    r = scan(srv, [blob_id(0), blob_id(1), blob_id(2), blob_id(3)])
    assert r.status_code == 429 and "4 distinct blobs, over the limit of 3" in r.json()["msg"]
    r = scan(srv, [blob_id(0), blob_id(1), blob_id(2)])
    assert r.status_code == 429 and "limit of one scan" in r.json()["msg"]
    assert srv.state.decode_budget.used == 0


def test_decoding_across_requests_is_bounded_and_retryable(serve: Callable[..., Running]) -> None:
    srv = serve()
    assert put(srv, 1).status_code == 200
    budget = srv.state.decode_budget
    with budget.reserve(budget.limit) as other_requests:  # requests in flight hold the whole budget
        other_requests.take(budget.limit)
        for r in (scan(srv, [blob_id(1)]), put(srv, 2)):
            assert r.status_code == 503 and r.json()["code"] == "unavailable" and "retry later" in r.json()["msg"]
    assert scan(srv, [blob_id(1)]).status_code == 200
    assert put(srv, 2).status_code == 200
    assert budget.used == 0


def test_twirp_metric_labels_stay_bounded(serve: Callable[..., Running]) -> None:
    srv = serve()
    with httpx.Client(timeout=10) as c:
        for i in range(200):
            c.post(f"{srv.url}/twirp/trivy.cache.v1.Cache/M{i}", content=b"", headers=PB)
            c.post(f"{srv.url}/twirp/made.up.Service{i}/Scan", content=b"", headers=PB)
            c.request(f"XM{i}", f"{srv.url}/twirp/trivy.scanner.v1.Scanner/Scan", headers=PB)
    text = httpx.get(srv.url + "/metrics", timeout=10).text
    series = _series(text, "vigil_twirp_requests_total")
    assert sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("vigil_twirp_requests_total{")) == 400  # made-up HTTP methods: routing's 405
    assert len(series) <= 2, series
    endpoints = {s["endpoint"] for s in _series(text, "vigil_requests_total")}
    assert endpoints <= {"/twirp/trivy.cache.v1.Cache/{method}", "/twirp/trivy.scanner.v1.Scanner/{method}",
                         "/twirp/{rest:path}", "other"}, endpoints


def test_unknown_protobuf_fields_are_ignored(serve: Callable[..., Running]) -> None:
    """A newer client's fields (here field 111, a varint, at the top level and inside the blob) do not fail the
    call."""
    srv = serve()
    req = cache_pb2.PutBlobRequest(diff_id=blob_id(5))
    req.blob_info.applications.add(type="pip", file_path="requirements.txt").packages.add(name="Django",
                                                                                          version="3.2.0")
    inner = req.blob_info.SerializeToString() + b"\xf8\x06\x01"
    body = cache_pb2.PutBlobRequest(diff_id=blob_id(5)).SerializeToString() + \
        b"\x1a" + bytes([len(inner)]) + inner + b"\xf8\x06\x01"  # field 3 (blob_info), then the unknown field
    assert call(srv, "trivy.cache.v1.Cache/PutBlob", body).status_code == 200
    r = scan(srv, [blob_id(5)])
    assert r.status_code == 200, r.text
    res = scanner_pb2.ScanResponse.FromString(r.content)
    assert [p.name for p in res.results[0].packages] == ["Django"]


def test_distro_replaces_the_detected_os(serve: Callable[..., Running]) -> None:
    """`trivy --distro alpine/3.16`: the server matches against the OS the client names."""
    srv = serve()
    req = cache_pb2.PutBlobRequest(diff_id=blob_id(6))
    req.blob_info.diff_id = f"sha256:{6:064x}"
    req.blob_info.os.family, req.blob_info.os.name = "debian", "12.5"
    req.blob_info.package_infos.add(file_path="lib/apk/db/installed").packages.add(name="zlib", version="1.2.12-r0")
    assert call(srv, "trivy.cache.v1.Cache/PutBlob", req.SerializeToString()).status_code == 200
    sreq = scanner_pb2.ScanRequest(target="img", artifact_id="sha256:" + "e" * 64, blob_ids=[blob_id(6)])
    sreq.options.scanners.append("vuln")
    r = call(srv, "trivy.scanner.v1.Scanner/Scan", sreq.SerializeToString())
    assert scanner_pb2.ScanResponse.FromString(r.content).os.family == "debian"
    sreq.options.distro.family, sreq.options.distro.name = "alpine", "3.16.0"
    r = call(srv, "trivy.scanner.v1.Scanner/Scan", sreq.SerializeToString())
    assert r.status_code == 200, r.text
    res = scanner_pb2.ScanResponse.FromString(r.content)
    assert (res.os.family, res.os.name) == ("alpine", "3.16.0")
    assert res.results[0].target == "img (alpine 3.16.0)"


def test_image_config_secrets_come_back_with_the_image(serve: Callable[..., Running]) -> None:
    """PutArtifact's image-config secret (trivy --image-config-scanners secret) is in the image's answer; the
    artifact is reported missing until it is put."""
    srv = serve()
    art_id = "sha256:" + "c" * 64
    assert put(srv, 7).status_code == 200
    r = call(srv, "trivy.cache.v1.Cache/MissingBlobs",
             cache_pb2.MissingBlobsRequest(artifact_id=art_id, blob_ids=[blob_id(7)]).SerializeToString())
    assert cache_pb2.MissingBlobsResponse.FromString(r.content).missing_artifact
    areq = cache_pb2.PutArtifactRequest(artifact_id=art_id)
    areq.artifact_info.schema_version = 1
    areq.artifact_info.secret.filepath = "config.json"
    areq.artifact_info.secret.findings.add(rule_id="github-pat", category="GitHub", severity="CRITICAL",
                                           title="GitHub Personal Access Token", start_line=3, end_line=3)
    assert call(srv, "trivy.cache.v1.Cache/PutArtifact", areq.SerializeToString()).status_code == 200
    r = call(srv, "trivy.cache.v1.Cache/MissingBlobs",
             cache_pb2.MissingBlobsRequest(artifact_id=art_id, blob_ids=[blob_id(7)]).SerializeToString())
    assert not cache_pb2.MissingBlobsResponse.FromString(r.content).missing_artifact
    sreq = scanner_pb2.ScanRequest(target="img", artifact_id=art_id, blob_ids=[blob_id(7)])
    sreq.options.scanners.extend(["vuln", "secret"])
    res = scanner_pb2.ScanResponse.FromString(call(srv, "trivy.scanner.v1.Scanner/Scan",
                                                   sreq.SerializeToString()).content)
    secrets = {r.target: [s.rule_id for s in r.secrets] for r in res.results if r.secrets}
    assert secrets == {"config.json": ["github-pat"]}
