"""The report store's HTTP API on a real `vigil server`: publish, targets, scans, findings with filters, diff,
where-does-it-run, trends, CSV/JSON export; write tokens, read-only tokens and an auth proxy's identity header;
two servers sharing one PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from tests.integration.test_cache_redis import redis_url  # noqa: F401 - the redis-server fixture
from tests.integration.test_server import Server, start_server
from tests.store_helpers import V, demo_report, make_report, postgres  # noqa: F401 - fixture

from vigil.store import PublishRequest, TargetSpec

WRITE, READ = "writer-token", "reader-token"


def body(report: Any, **kw: Any) -> bytes:
    return msgspec.json.encode(PublishRequest(report=report, **kw))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        fixture_db: Path) -> Iterator[Server]:
    """One server per store backend: every API test runs against SQLite and a real PostgreSQL."""
    tmp = tmp_path_factory.mktemp("store-api")
    url = (f"sqlite:///{tmp / 'store.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres").new_database())
    shutil.copy2(fixture_db, tmp / "vigil.db")
    (tmp / "w").write_text(WRITE + "\n")
    (tmp / "r").write_text(READ + "\n")
    s = start_server(tmp, tmp / "vigil.db", "--token-file", str(tmp / "w"), "--read-only-token-file",
                     str(tmp / "r"), "--cache-backend", "memory", "--store", url,
                     "--auth-proxy-user-header", "X-Forwarded-User", "--auth-proxy-read-groups", "viewers",
                     "--auth-proxy-write-groups", "ci")
    yield s
    s.stop()


def call(api: Server, method: str, path: str, token: str | None = WRITE, **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", {})
    if token:
        headers["Vigil-Token"] = token
    return httpx.request(method, api.url + path, headers=headers, timeout=30, **kw)


T0 = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


def test_publish_and_query(api: Server) -> None:
    r = call(api, "POST", "/v1/reports", content=body(demo_report(), commit="c0ffee", source="ci",
                                                      target=TargetSpec(labels={"team": "web"})))
    assert r.status_code == 201, r.text
    res = r.json()
    assert res["new"] == res["open"] == 14
    tid, sid = res["target_id"], res["scan_id"]
    t = call(api, "GET", f"/v1/targets/{tid}", READ).json()
    assert t["name"] == "demo-project" and t["labels"] == {"team": "web"} and t["open"]["critical"] >= 1
    assert call(api, "GET", "/v1/targets", READ, params={"label": "team=web"}).json()["total"] == 1
    assert call(api, "GET", "/v1/targets", READ, params={"label": "team=none"}).json()["total"] == 0
    scans = call(api, "GET", f"/v1/targets/{tid}/scans", READ).json()
    assert [s["id"] for s in scans["items"]] == [sid] and scans["items"][0]["commit"] == "c0ffee"
    full = call(api, "GET", f"/v1/scans/{sid}/report", READ)
    assert full.status_code == 200 and full.json()["ArtifactName"] == "demo-project"
    crit = call(api, "GET", "/v1/findings", READ, params={"target_id": tid, "severity": "CRITICAL"}).json()
    assert crit["total"] >= 1 and {f["severity"] for f in crit["items"]} == {"CRITICAL"}
    secrets = call(api, "GET", "/v1/findings", READ, params={"target_id": tid, "kind": "secret"}).json()
    assert secrets["total"] == 1
    page = call(api, "GET", "/v1/findings", READ, params={"target_id": tid, "limit": 5, "offset": 10,
                                                          "sort": "id", "desc": "false"}).json()
    assert page["total"] == 14 and len(page["items"]) == 4
    assert call(api, "GET", "/v1/targets/999999", READ).status_code == 404
    assert call(api, "GET", "/v1/findings", READ, params={"severity": "BAD"}).status_code == 400


def test_history_diff_where_trends_and_export(api: Server) -> None:
    log4j = V("CVE-2021-44228", "log4j-core", "2.14.1", "CRITICAL", "2.15.0", kev=True)
    other = V("CVE-2", "=cmd|' /C calc'!A0", "1.0", "HIGH")  # a formula, as a hostile package name
    first = call(api, "POST", "/v1/reports", content=body(make_report([log4j, other], when=T0, name="shop"),
                 target=TargetSpec(cluster="prod", namespace="shop", workload="Deployment/api"))).json()
    second = call(api, "POST", "/v1/reports", content=body(make_report([log4j], when=T0 + dt.timedelta(days=1),
                  name="shop"), target=TargetSpec(cluster="prod", namespace="shop", workload="Deployment/api"))).json()
    assert second["target_id"] == first["target_id"] and second["fixed"] == 1
    d = call(api, "GET", "/v1/diff", READ, params={"from_scan": first["scan_id"], "to_scan": second["scan_id"]})
    assert d.status_code == 200
    assert [f["finding_id"] for f in d.json()["removed"]] == ["CVE-2"] and d.json()["unchanged"] == 1
    assert call(api, "GET", "/v1/diff", READ, params={"from_scan": first["scan_id"], "to_scan": 999999}
                ).status_code == 404
    where = call(api, "GET", "/v1/where", READ, params={"id": "CVE-2021-44228"}).json()
    assert [f["target_name"] for f in where["items"]] == ["prod/shop/Deployment/api"]
    assert call(api, "GET", "/v1/where", READ, params={"package": "log4j-core", "version": "2.14.1"}
                ).json()["total"] == 1
    assert call(api, "GET", "/v1/where", READ).json() == {"total": 0, "items": []}
    tr = call(api, "GET", "/v1/trends", READ, params={"days": 2, "end": "2026-11-02"}).json()["points"]
    assert [(p["open"]["critical"], p["open"]["high"]) for p in tr] == [(1, 1), (1, 0)]
    assert [p["fixed"]["high"] for p in tr] == [0, 1]
    tt = call(api, "GET", f"/v1/targets/{first['target_id']}/trend", READ, params={"days": 2, "end": "2026-11-02"})
    assert [p["new"]["critical"] for p in tt.json()["points"]] == [1, 0]
    exp = call(api, "GET", "/v1/findings/export", READ, params={"target_id": first["target_id"], "status": "all"})
    assert exp.status_code == 200 and exp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exp.text)))
    assert sorted(r["finding_id"] for r in rows) == ["CVE-2", "CVE-2021-44228"]
    assert {r["pkg_name"] for r in rows} == {"log4j-core", "'=cmd|' /C calc'!A0"}  # not a formula any more
    js = call(api, "GET", "/v1/findings/export", READ, params={"format": "json", "target_id": first["target_id"]})
    assert [f["finding_id"] for f in js.json()] == ["CVE-2021-44228"]


def test_access_rules(api: Server) -> None:
    rep = body(make_report([], when=T0, name="acl"))
    assert call(api, "POST", "/v1/reports", READ, content=rep).status_code == 403
    assert call(api, "POST", "/v1/reports", None, content=rep).status_code == 401
    assert call(api, "GET", "/v1/targets", None).status_code == 401
    assert call(api, "GET", "/v1/targets", "wrong").status_code == 401
    assert call(api, "GET", "/v1/targets", READ).status_code == 200
    # a read-only token is a store token only: client-mode scanning stays with the server's tokens
    assert call(api, "GET", "/version", READ).status_code == 401
    proxy = {"X-Forwarded-User": "alice", "X-Forwarded-Groups": "dev, viewers"}
    assert call(api, "GET", "/v1/targets", None, headers=dict(proxy)).status_code == 200
    assert call(api, "POST", "/v1/reports", None, headers=dict(proxy), content=rep).status_code == 403
    ci = {"X-Forwarded-User": "ci-bot", "X-Forwarded-Groups": "ci"}
    r = call(api, "POST", "/v1/reports", None, headers=ci, content=rep)
    assert r.status_code == 201
    assert call(api, "GET", f"/v1/scans/{r.json()['scan_id']}", READ).json()["publisher"] == "user:ci-bot"
    stranger = {"X-Forwarded-User": "eve", "X-Forwarded-Groups": "other"}
    assert call(api, "GET", "/v1/targets", None, headers=stranger).status_code == 401


def test_bad_bodies_get_a_clean_4xx(api: Server) -> None:
    assert call(api, "POST", "/v1/reports", content=b"{").status_code == 422
    assert call(api, "POST", "/v1/reports", content=b'{"report": {"ArtifactName": 1}}').status_code == 422
    assert call(api, "POST", "/v1/reports", content=b"[" * 100000 + b"]" * 100000).status_code == 422


def test_without_a_store(tmp_path: Path, fixture_db: Path) -> None:
    shutil.copy2(fixture_db, tmp_path / "vigil.db")
    s = start_server(tmp_path, tmp_path / "vigil.db", "--store", "none", "--cache-backend", "memory")
    try:
        r = httpx.get(s.url + "/v1/targets", timeout=10)
        assert r.status_code == 503 and "no report store" in r.json()["Error"]
    finally:
        s.stop()


def test_two_servers_share_one_postgresql(tmp_path: Path, fixture_db: Path, postgres: Any,  # noqa: F811
                                          redis_url: str) -> None:  # noqa: F811
    """Two replicas as deployed past one machine: one PostgreSQL store, one Redis analysis cache."""
    url = postgres.new_database()
    servers = []
    try:
        for name in ("a", "b"):
            d = tmp_path / name
            d.mkdir()
            shutil.copy2(fixture_db, d / "vigil.db")
            (d / "w").write_text(WRITE)
            servers.append(start_server(d, d / "vigil.db", "--token-file", str(d / "w"), "--store", url,
                                        "--cache-backend", redis_url))
        a, b = servers
        r = call(a, "POST", "/v1/reports", content=body(make_report([V("CVE-9", "p", "1", "CRITICAL")], when=T0,
                                                                    name="shared")))
        assert r.status_code == 201
        got = call(b, "GET", "/v1/where", params={"id": "CVE-9"}).json()
        assert [f["target_name"] for f in got["items"]] == ["shared"]
        page = call(b, "GET", "/ui/vuln", params={"id": "CVE-9"})  # and in the other replica's web UI
        assert page.status_code == 200 and ">shared</a>" in page.text
        r2 = call(b, "POST", "/v1/reports", content=body(make_report([], when=T0 + dt.timedelta(hours=1),
                                                                     name="shared")))
        assert r2.json()["target_id"] == r.json()["target_id"] and r2.json()["fixed"] == 1
        assert call(a, "GET", "/v1/findings", params={"id": "CVE-9", "status": "fixed"}).json()["total"] == 1
        # the largest ids and offsets the document allows fit PostgreSQL's 32-bit integers; beyond is a 400
        top = 2**31 - 1
        assert call(a, "GET", f"/v1/targets/{top}").status_code == 404
        assert call(a, "GET", f"/v1/scans/{top}/report").status_code == 404
        assert call(a, "GET", "/v1/targets", params={"offset": top}).json()["items"] == []
        assert call(a, "GET", "/v1/diff", params={"from_scan": top, "to_scan": top}).status_code == 404
        assert call(a, "GET", f"/v1/targets/{top + 1}").status_code == 400
        assert call(a, "GET", f"/ui/targets/{top + 1}").status_code == 404
        assert call(a, "GET", "/").status_code == 200 and call(a, "GET", "/ui/targets?sort=risk").status_code == 200
    finally:
        for s in servers:
            s.stop()


class _Receiver:
    """A webhook receiver on 127.0.0.1: keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.bodies: list[tuple[str, Any]] = []
        got = self.bodies

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                got.append((self.path, json.loads(self.rfile.read(n))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n: int) -> list[tuple[str, Any]]:
        import time

        for _ in range(300):  # bounded wait for the server's delivery thread, not a timing assertion
            if len(self.bodies) >= n:
                break
            time.sleep(0.05)
        return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_webhooks_on_new_critical_kev_and_secrets_once(tmp_path: Path, fixture_db: Path) -> None:
    rx = _Receiver()
    shutil.copy2(fixture_db, tmp_path / "vigil.db")
    s = start_server(tmp_path, tmp_path / "vigil.db", "--cache-backend", "memory", "--webhook", rx.url + "/json",
                     "--slack-webhook", rx.url + "/slack")
    try:
        crit = V("CVE-1", "<@channel>", "1", "CRITICAL")
        low = V("CVE-2", "zlib", "1", "LOW")
        kev = V("CVE-3", "openssl", "3", "MEDIUM", kev=True)
        r = call(s, "POST", "/v1/reports", None, content=body(make_report([crit, low], when=T0, name="hooked")))
        assert r.status_code == 201
        got = rx.wait(2)
        assert sorted(p for p, _ in got) == ["/json", "/slack"]
        generic = next(b for p, b in got if p == "/json")
        assert generic["target"]["name"] == "hooked" and [f["id"] for f in generic["findings"]] == ["CVE-1"]
        slack = next(b for p, b in got if p == "/slack")
        assert "CVE-1" in slack["text"] and "&lt;@channel&gt;" in slack["text"] and "<@channel>" not in slack["text"]
        # the same findings again: nothing new to say; then a KEV and a secret: one message each
        call(s, "POST", "/v1/reports", None, content=body(make_report([crit, low], when=T0 + dt.timedelta(hours=1),
                                                                      name="hooked")))
        call(s, "POST", "/v1/reports", None, content=body(make_report(
            [crit, low, kev], when=T0 + dt.timedelta(hours=2), name="hooked",
            secrets=[("github-pat", "HIGH")])))
        got = rx.wait(4)
        assert len(got) == 4
        last = [b for p, b in got if p == "/json"][-1]
        assert sorted((f["id"], f["reason"]) for f in last["findings"]) == [("CVE-3", "known-exploited"),
                                                                            ("github-pat", "secret")]
    finally:
        s.stop()
        rx.close()


def test_ignore_rules_hide_findings_until_they_expire(api: Server) -> None:
    today = dt.datetime.now(dt.UTC).date()
    vulns = [V("CVE-2026-1001", "openssl", "3.0.1", "CRITICAL", "3.0.9"), V("CVE-2026-1002", "zlib", "1.2", "HIGH")]
    pub = call(api, "POST", "/v1/reports", content=body(make_report(vulns, when=T0, name="rules-a"))).json()
    other = call(api, "POST", "/v1/reports", content=body(make_report(vulns, when=T0, name="rules-b"))).json()
    tid = pub["target_id"]
    rule = {"finding_id": "CVE-2026-1001", "statement": "mitigated by the WAF", "pkg_name": "openssl",
            "target_id": tid, "expires": (today + dt.timedelta(days=10)).isoformat()}
    assert call(api, "POST", "/v1/ignore-rules", READ, json=rule).status_code == 403
    assert call(api, "POST", "/v1/ignore-rules", None, json=rule).status_code == 401
    r = call(api, "POST", "/v1/ignore-rules", json=rule)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["active"], got["hides"], got["target_name"], got["author"]) == (True, 1, "rules-a",
                                                                                 got["updated_by"])
    rid = got["id"]

    def ids(**params: Any) -> list[str]:
        items = call(api, "GET", "/v1/findings", READ, params={"limit": 1000, **params}).json()["items"]
        return sorted(f["finding_id"] for f in items)

    assert ids(target_id=tid) == ["CVE-2026-1002"]
    assert ids(target_id=tid, suppressed="only") == ["CVE-2026-1001"]
    assert ids(target_id=tid, suppressed="all") == ["CVE-2026-1001", "CVE-2026-1002"]
    assert ids(target_id=other["target_id"]) == ["CVE-2026-1001", "CVE-2026-1002"]  # another target: not hidden
    where = call(api, "GET", "/v1/where", READ, params={"id": "CVE-2026-1001"}).json()["items"]
    assert [f["target_name"] for f in where] == ["rules-b"]
    exp = call(api, "GET", "/v1/findings/export", READ, params={"format": "json", "target_id": tid}).json()
    assert [f["finding_id"] for f in exp] == ["CVE-2026-1002"]
    # expired (its expiry is the first day it no longer applies): everything shows again
    r = call(api, "PUT", f"/v1/ignore-rules/{rid}", json={**rule, "expires": today.isoformat()})
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["hides"] == 0
    assert ids(target_id=tid) == ["CVE-2026-1001", "CVE-2026-1002"]
    # for every target and any package: hides it everywhere
    r = call(api, "PUT", f"/v1/ignore-rules/{rid}", json={"finding_id": "CVE-2026-1001", "statement": "accepted"})
    assert r.json()["target_id"] is None and r.json()["hides"] == 2
    assert call(api, "GET", "/v1/where", READ, params={"id": "CVE-2026-1001"}).json()["total"] == 0
    assert call(api, "GET", "/v1/ignore-rules", READ, params={"active": "true"}).json()["total"] == 1
    # bad input: a clean 4xx
    assert call(api, "POST", "/v1/ignore-rules", json={"finding_id": " ", "statement": "x"}).status_code == 422
    assert call(api, "POST", "/v1/ignore-rules", json={"finding_id": "X", "statement": "x",
                                                       "target_id": 999999}).status_code == 404
    assert call(api, "PUT", "/v1/ignore-rules/999999", json=rule).status_code == 404
    assert call(api, "DELETE", f"/v1/ignore-rules/{rid}", READ).status_code == 403
    assert call(api, "DELETE", f"/v1/ignore-rules/{rid}").status_code == 204
    assert call(api, "GET", f"/v1/ignore-rules/{rid}", READ).status_code == 404
    assert ids(target_id=tid) == ["CVE-2026-1001", "CVE-2026-1002"]
