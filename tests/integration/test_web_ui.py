"""The web UI in Debian's chromium (Playwright) against a real `vigil server` whose store holds a replayed
history of scans: sign-in, overview numbers equal to the API's, filter/sort/paginate, drill-down, diff,
"where does it run", hostile names rendered as text, the CSP, no serious axe violation, and a read-only token that
cannot publish. Screenshots go to $VIGIL_TEST_ARTIFACTS (default: the test's temp dir)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from playwright.sync_api import expect
from tests.cli_helpers import run
from tests.integration.test_server import Server, start_server
from tests.registry_helpers import IMAGES
from tests.store_helpers import DEMO_REPORT, XSS_PKG, XSS_TARGET, XSS_TITLE, postgres, seed  # noqa: F401

from vigil.findings.records import Report
from vigil.store import PublishRequest, Store, TargetSpec

CHROMIUM = Path("/usr/bin/chromium")
WRITE, READ = "ui-writer", "ui-reader"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ui(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
       fixture_db: Path) -> Iterator[tuple[Server, dict[str, Any]]]:
    """A server per store backend, each seeded alike: every page is checked against SQLite and a real
    PostgreSQL."""
    tmp = tmp_path_factory.mktemp("ui")
    shutil.copy2(fixture_db, tmp / "vigil.db")
    (tmp / "w").write_text(WRITE)
    (tmp / "r").write_text(READ)
    url = (f"sqlite:///{tmp / 'store.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres").new_database())
    store = Store(url)
    try:
        facts = seed(store, targets=24, days=40, every=2, end=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        # the demo project's real report, one reference turned hostile: details come from the stored report
        demo = json.loads(DEMO_REPORT.read_bytes())
        demo["CreatedAt"] = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        demo["Results"][0]["Vulnerabilities"][0]["References"].insert(0, "javascript:alert(4)")
        soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).date().isoformat()
        demo["Metadata"]["Suppressed"].append({
            "Target": "web/package-lock.json", "VulnerabilityID": "CVE-2021-23337", "PkgName": "lodash",
            "Reason": f".vigilignore.yaml:vulnerabilities[0]: CVE-2021-23337 (until {soon}): {XSS_TITLE}"})
        facts["demo"] = store.publish(PublishRequest(report=msgspec.json.decode(json.dumps(demo), type=Report))
                                      ).target_id
        # real image scans (layers, OS packages, remediations): the alpine-like image's OS is end-of-life
        for key, tar in (("alpine", "alpine-like.docker.tar"), ("debian", "debian-vuln.oci.tar")):
            if not (IMAGES / tar).is_file():
                pytest.skip("../shared/data/images not present")
            p = run("image", "--input", str(IMAGES / tar), "--db-path", str(fixture_db), "--skip-db-update",
                    "--format", "json", "--quiet", "--cache-dir", str(tmp / "scan-cache"))
            assert p.returncode == 0, p.stderr
            facts[key] = store.publish(PublishRequest(report=msgspec.json.decode(p.stdout, type=Report),
                                                      target=TargetSpec(name=f"registry.example.com/{key}:1"))
                                       ).target_id
    finally:
        store.close()
    s = start_server(tmp, tmp / "vigil.db", "--token-file", str(tmp / "w"), "--read-only-token-file",
                     str(tmp / "r"), "--cache-backend", "memory", "--store", url)
    yield s, facts
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("chromium not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    d = Path(os.environ.get("VIGIL_TEST_ARTIFACTS") or tmp_path) / "ui"
    d.mkdir(parents=True, exist_ok=True)
    return d


def api(s: Server, path: str, **params: Any) -> Any:
    r = httpx.get(s.url + path, params=params, headers={"Vigil-Token": READ}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


class Watch:
    """What must never happen on a page: a JavaScript dialog (an injected alert) or an error in the console (a
    CSP violation, a script failure)."""

    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def signed_in(server: Server, browser: Any, token: str) -> Iterator[tuple[Any, Watch]]:
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    pg = ctx.new_page()
    watch = Watch(pg)
    pg.goto(server.url + "/")
    assert "/ui/login" in pg.url  # no session: the sign-in page
    pg.fill("#token", token)
    pg.click("button:has-text('Sign in')")
    pg.wait_for_url(server.url + "/")
    yield pg, watch
    ctx.close()
    assert watch.dialogs == []
    assert watch.errors == []


@pytest.fixture
def page(ui: tuple[Server, dict[str, Any]], browser: Any) -> Iterator[tuple[Any, Watch]]:
    """A browser session signed in with the read-only token."""
    yield from signed_in(ui[0], browser, READ)


@pytest.fixture
def writer(ui: tuple[Server, dict[str, Any]], browser: Any) -> Iterator[tuple[Any, Watch]]:
    """A browser session signed in with a token that may write."""
    yield from signed_in(ui[0], browser, WRITE)


def test_overview_numbers_are_the_apis(ui: tuple[Server, dict[str, Any]], page: tuple[Any, Watch],
                                       artifacts: Path) -> None:
    server, _ = ui
    pg, _ = page
    targets = api(server, "/v1/targets", limit=1000)["items"]
    for sev in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
        shown = pg.text_content(f"[data-total={sev}]")
        assert shown is not None and int(shown) == sum(t["open"][sev.lower()] for t in targets)
    assert int(pg.text_content("[data-total=targets]") or -1) == len(targets)
    pg.wait_for_selector("#main .chart .u-over")  # uPlot drew the charts (the script ran under the CSP)
    assert pg.locator(".chart canvas").count() == 2
    kev = api(server, "/v1/findings", kev="true")["total"]
    assert f"Known exploited vulnerabilities present ({kev})" in (pg.text_content("#kev-h") or "")
    pg.screenshot(path=str(artifacts / "overview.png"), full_page=True)


def test_targets_search_filter_sort(ui: tuple[Server, dict[str, Any]], page: tuple[Any, Watch],
                                    artifacts: Path) -> None:
    server, _ = ui
    pg, _ = page
    pg.goto(server.url + "/ui/targets")
    pg.fill("input[name=q]", "repo1")
    pg.click("form.filters button")
    want = api(server, "/v1/targets", q="repo1")["total"]
    expect(pg.locator("[data-count=targets]")).to_have_text(re.compile(f"^{want} "))
    assert "q=repo1" in pg.url  # the partial update keeps the address shareable
    pg.fill("input[name=q]", "")
    pg.select_option("select[name=kind]", "workload")
    want = api(server, "/v1/targets", kind="workload")["total"]
    expect(pg.locator("[data-count=targets]")).to_have_text(re.compile(f"^{want} "))
    pg.select_option("select[name=sort]", "critical")
    top = api(server, "/v1/targets", kind="workload", sort="critical", desc="true", limit=1)["items"][0]
    expect(pg).to_have_url(re.compile("sort=critical"))
    first = pg.locator("#targets-table tbody tr").first
    assert first.locator("td").nth(2).text_content().split("/")[0].strip() == str(top["open"]["critical"])
    pg.screenshot(path=str(artifacts / "targets.png"), full_page=True)


def test_target_page_filters_paginates_and_diffs(ui: tuple[Server, dict[str, Any]], page: tuple[Any, Watch],
                                                artifacts: Path) -> None:
    server, _ = ui
    pg, _ = page
    biggest = api(server, "/v1/targets", sort="risk", desc="true", limit=1)["items"][0]
    tid = biggest["id"]
    pg.goto(f"{server.url}/ui/targets/{tid}")
    total = api(server, "/v1/findings", target_id=tid)["total"]
    assert (pg.text_content("[data-count=findings]") or "").startswith(f"{total} ")
    pg.select_option("select[name=severity]", "CRITICAL")
    crit = api(server, "/v1/findings", target_id=tid, severity="CRITICAL")["total"]
    expect(pg.locator("[data-count=findings]")).to_have_text(re.compile(f"^{crit} "))
    sev = pg.locator("#findings-table tbody td:first-child .sev").all_text_contents()
    assert sev and set(sev) == {"CRITICAL"}
    pg.select_option("select[name=severity]", "")
    pg.select_option("select[name=status]", "all")
    all_ = api(server, "/v1/findings", target_id=tid, status="all")
    expect(pg.locator("[data-count=findings]")).to_have_text(re.compile(f"^{all_['total']} "))
    pg.click("#findings-table th a:has-text('ID')")  # sort by ID (descending first)
    expect(pg).to_have_url(re.compile("sort=id"))
    ids = api(server, "/v1/findings", target_id=tid, status="all", sort="id", desc="true", limit=50)["items"]
    shown = pg.locator("#findings-table tbody td:nth-child(2)").all_inner_texts()
    assert [t.split("\n")[0].strip() for t in shown] == [i["finding_id"] for i in ids]
    if all_["total"] > 50:
        pg.click("#findings-table a[rel=next]")
        expect(pg).to_have_url(re.compile("offset=50"))
        assert pg.locator("#findings-table tbody tr").count() == min(50, all_["total"] - 50)
    pg.screenshot(path=str(artifacts / "target.png"), full_page=True)
    scans = api(server, f"/v1/targets/{tid}/scans")["items"]
    pg.goto(f"{server.url}/ui/targets/{tid}")
    pg.click("button:has-text('Compare')")
    pg.wait_for_url("**/ui/diff?**")
    d = api(server, "/v1/diff", from_scan=scans[1]["id"], to_scan=scans[0]["id"])
    assert int(pg.text_content("[data-count=added]") or -1) == len(d["added"])
    assert int(pg.text_content("[data-count=removed]") or -1) == len(d["removed"])


def test_a_late_answer_to_an_older_filter_is_not_shown(ui: tuple[Server, dict[str, Any]],
                                                       page: tuple[Any, Watch]) -> None:
    """Two filter changes in a row send two requests whose answers may come back in either order (a busy server,
    a slow store): the page shows the newest one's findings, never the older filter's under the newer form."""
    server, _ = ui
    pg, _ = page
    tid = api(server, "/v1/targets", sort="risk", desc="true", limit=1)["items"][0]["id"]
    older = api(server, "/v1/findings", target_id=tid, severity="CRITICAL")["total"]
    newest = api(server, "/v1/findings", target_id=tid)["total"]
    assert older != newest  # otherwise the two answers could not be told apart
    pg.goto(f"{server.url}/ui/targets/{tid}")
    held: list[Any] = []

    def hold_first(route: Any) -> None:
        if route.request.headers.get("x-partial") and not held:
            held.append(route)  # the first filter change's answer: released after the second one's
        else:
            route.continue_()

    pg.route(re.compile(r"/ui/targets/"), hold_first)
    pg.select_option("select[name=severity]", "CRITICAL")
    pg.select_option("select[name=severity]", "")
    expect(pg.locator("[data-count=findings]")).to_have_text(re.compile(f"^{newest} "))
    assert len(held) == 1 and "severity=CRITICAL" in held[0].request.url
    with pg.expect_response(lambda r: "severity=CRITICAL" in r.url) as late:
        held[0].continue_()
    late.value.finished()
    # one more round trip from the page: the late answer, fully received above, has been handled by then
    assert pg.evaluate("() => fetch('/healthz').then(r => r.status)") in (200, 503)
    assert (pg.text_content("[data-count=findings]") or "").startswith(f"{newest} ")
    assert "severity=CRITICAL" not in pg.url


def test_where_does_it_run(ui: tuple[Server, dict[str, Any]], page: tuple[Any, Watch]) -> None:
    server, _ = ui
    pg, _ = page
    fid = api(server, "/v1/findings", severity="CRITICAL", kind="vulnerability", limit=1)["items"][0]["finding_id"]
    pg.fill("#vuln-search", fid)
    pg.click("button:has-text('Where does it run?')")
    pg.wait_for_url("**/ui/vuln?id=*")
    where = api(server, "/v1/where", id=fid, limit=1000)["items"]
    names = pg.locator("main tbody td:first-child a").all_text_contents()
    assert sorted(names) == sorted(f["target_name"] for f in where)


def test_hostile_names_render_as_text(ui: tuple[Server, dict[str, Any]], page: tuple[Any, Watch],
                                      artifacts: Path) -> None:
    server, facts = ui
    pg, watch = page
    pg.goto(f"{server.url}/ui/targets/{facts['xss_target']}")
    assert pg.locator("h1").first.text_content().startswith(XSS_TARGET)  # type: ignore[union-attr]
    body = pg.text_content("#findings-table") or ""
    assert XSS_PKG in body and XSS_TITLE in body
    assert pg.locator("img[src=x]").count() == 0  # the package name did not become an element
    pg.goto(f"{server.url}/ui/vuln?id=CVE-2026-66666")
    assert XSS_TITLE in (pg.text_content("main") or "")
    pg.goto(server.url + "/")  # the hostile target is the riskiest or among the KEV/secret lists' neighbours
    pg.goto(f"{server.url}/ui/targets?q=script")
    assert XSS_TARGET in (pg.text_content("#targets-table") or "")
    a, b = facts["xss_scans"]
    pg.goto(f"{server.url}/ui/diff?from_scan={a}&to_scan={b}")
    assert pg.locator("main table").first.locator("tbody tr").count() == 1
    pg.screenshot(path=str(artifacts / "hostile.png"), full_page=True)
    assert watch.dialogs == []


def test_security_headers_and_read_only(ui: tuple[Server, dict[str, Any]], page: tuple[Any, Watch]) -> None:
    server, _ = ui
    pg, pg_watch = page
    resp = pg.goto(server.url + "/ui/targets")
    headers = resp.headers
    assert "script-src 'self'" in headers["content-security-policy"] and "unsafe-inline" not in headers[
        "content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    # signed in with the read-only token: the browser's session cannot publish
    status = pg.evaluate("""() => fetch('/v1/reports', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                body: JSON.stringify({report: {ArtifactName: 'x', ArtifactType: 'filesystem'}})})
                                .then(r => r.status)""")
    assert status == 403
    # a sign-out form without its CSRF token is refused
    forged = pg.evaluate("""() => fetch('/ui/logout', {method: 'POST', body: 'csrf=forged',
                               headers: {'Content-Type': 'application/x-www-form-urlencoded'}}).then(r => r.status)""")
    assert forged == 403
    pg_watch.errors.clear()  # the two refusals above were logged as failed loads: wanted
    pg.click("button:has-text('Sign out')")
    pg.wait_for_url("**/ui/login")
    pg.goto(server.url + "/ui/targets")
    assert "/ui/login" in pg.url


def test_no_serious_accessibility_violations(ui: tuple[Server, dict[str, Any]], page: tuple[Any, Watch]) -> None:
    from axe_playwright_python.sync_playwright import Axe

    server, _ = ui
    pg, _ = page
    tid = api(server, "/v1/targets", sort="risk", desc="true", limit=1)["items"][0]["id"]
    fid = api(server, "/v1/findings", target_id=tid, limit=1)["items"][0]["id"]
    for path in ("/", "/ui/targets", f"/ui/targets/{tid}", "/ui/vuln?id=CVE-2026-66666", "/ui/clusters",
                 "/ui/suppressions",
                 f"/ui/findings/{fid}"):
        pg.goto(server.url + path)
        res = Axe().run(pg)
        bad = [v for v in res.response["violations"] if v.get("impact") in ("serious", "critical")]
        assert bad == [], (path, res.generate_report())


def test_finding_details_come_from_the_stored_report(ui: tuple[Server, dict[str, Any]],
                                                     page: tuple[Any, Watch], artifacts: Path) -> None:
    server, facts = ui
    pg, _ = page
    pg.goto(f"{server.url}/ui/targets/{facts['demo']}")
    pg.click("#findings-table a:text-is('CVE-2019-19844')")
    pg.wait_for_url("**/ui/findings/*")
    main = pg.text_content("main") or ""
    assert "Django 2.2.0" in main and "fixed in 2.2.9" in main and "upgrade Django to 2.2.9" in main
    assert "allows account takeover" in main  # the description, kept only in the full report
    hrefs = pg.locator("main ul a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs)
    assert "javascript:alert(4)" not in hrefs
    pg.screenshot(path=str(artifacts / "finding.png"), full_page=True)
    pg.goto(f"{server.url}/ui/targets/{facts['demo']}?kind=secret")
    pg.click("#findings-table a:text-is('aws-access-key-id')")
    pg.wait_for_url("**/ui/findings/*")
    assert 'AWS_ACCESS_KEY_ID = "********************"' in (pg.text_content("main") or "")
    pg.goto(f"{server.url}/ui/targets/{facts['demo']}?kind=misconfiguration")
    pg.click("#findings-table a:text-is('DS-0002')")
    pg.wait_for_url("**/ui/findings/*")
    assert "Add 'USER <non root user name>' line to the Dockerfile" in (pg.text_content("main") or "")


def test_cluster_view(ui: tuple[Server, dict[str, Any]], page: tuple[Any, Watch]) -> None:
    server, _ = ui
    pg, _ = page
    pg.goto(server.url + "/ui/clusters")
    workloads = api(server, "/v1/targets", kind="workload", limit=1000)["items"]
    assert pg.locator("main h2").all_text_contents() == sorted({w["cluster"] for w in workloads})
    assert sorted(pg.locator("main tbody td:first-child a").all_text_contents()) == sorted(
        w["workload"] for w in workloads)


def test_suppressions_page_highlights_expiring_entries(ui: tuple[Server, dict[str, Any]],
                                                       page: tuple[Any, Watch]) -> None:
    server, _ = ui
    pg, _ = page
    pg.goto(server.url + "/ui/suppressions")
    want = api(server, "/v1/suppressions")["total"]
    assert (pg.text_content("[data-count=suppressions]") or "").startswith(f"{want} ")
    rows = pg.locator("#scanned tbody tr")
    assert rows.count() == want == 2  # the demo report's VEX statement and the ignore entry added to it
    first = rows.first  # soonest expiry first: the ignore entry, highlighted
    assert "CVE-2021-23337" in (first.text_content() or "") and first.get_attribute("class") == "expiring"
    assert "expires in" in (first.locator("[data-expiring]").text_content() or "")
    assert XSS_TITLE in (first.text_content() or "")  # the statement is text
    assert rows.nth(1).get_attribute("class") is None


def test_suppression_created_edited_expired_and_removed(ui: tuple[Server, dict[str, Any]],
                                                       writer: tuple[Any, Watch], artifacts: Path) -> None:
    server, facts = ui
    pg, watch = writer
    tid = facts["demo"]
    before = api(server, "/v1/findings", target_id=tid)["total"]
    assert api(server, "/v1/findings", target_id=tid, id="CVE-2019-19844")["total"] == 1
    where = {f["target_name"] for f in api(server, "/v1/where", id="CVE-2019-19844", limit=1000)["items"]}
    assert "demo-project" in where
    pg.goto(f"{server.url}/ui/targets/{tid}")
    row = pg.locator("#findings-table tbody tr", has=pg.locator("a:text-is('CVE-2019-19844')"))
    row.locator("a[data-suppress]").click()
    pg.wait_for_url("**/ui/suppressions/new?**")
    assert pg.input_value("#finding_id") == "CVE-2019-19844" and pg.input_value("#pkg_name") == "Django"
    assert pg.input_value("#target_id") == str(tid) and pg.text_content("[data-target-name]") == "demo-project"
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date()
    pg.fill("#statement", f"not reachable from the web: {XSS_TITLE}")
    pg.fill("#expires", until.isoformat())
    pg.click("button:has-text('Save')")
    pg.wait_for_url("**/ui/suppressions")
    rules = api(server, "/v1/ignore-rules")["items"]
    assert [(r["finding_id"], r["pkg_name"], r["target_id"], r["expires"], r["active"], r["hides"])
            for r in rules] == [("CVE-2019-19844", "Django", tid, until.isoformat(), True, 1)]
    rule = rules[0]
    assert rule["author"].startswith("token:") and rule["statement"].endswith(XSS_TITLE)
    shown = pg.locator(f"#rules tr[data-rule='{rule['id']}']")
    assert XSS_TITLE in (shown.text_content() or "") and shown.locator("[data-hides]").text_content() == "1"
    pg.screenshot(path=str(artifacts / "suppressions.png"), full_page=True)
    # applied: gone from the findings (API and page), listed when asked for the suppressed ones
    assert api(server, "/v1/findings", target_id=tid)["total"] == before - 1
    assert api(server, "/v1/findings", target_id=tid, id="CVE-2019-19844")["total"] == 0
    assert api(server, "/v1/findings", target_id=tid, suppressed="only")["total"] == 1
    # the rule names one target: the others that have it still show
    assert {f["target_name"] for f in api(server, "/v1/where", id="CVE-2019-19844", limit=1000)["items"]
            } == where - {"demo-project"}
    pg.goto(f"{server.url}/ui/targets/{tid}")
    assert (pg.text_content("[data-count=findings]") or "").startswith(f"{before - 1} ")
    pg.select_option("select[name=suppressed]", "only")
    expect(pg.locator("[data-count=findings]")).to_have_text(re.compile("^1 finding hidden by suppressions"))
    # edited to an expiry in the past: it no longer applies
    pg.goto(f"{server.url}/ui/suppressions/rules/{rule['id']}")
    assert pg.input_value("#expires") == until.isoformat()
    pg.fill("#expires", (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat())
    pg.click("button:has-text('Save')")
    pg.wait_for_url("**/ui/suppressions")
    assert pg.locator(f"#rules tr[data-rule='{rule['id']}']").get_attribute("class") == "expired"
    assert api(server, f"/v1/ignore-rules/{rule['id']}")["active"] is False
    assert api(server, "/v1/findings", target_id=tid)["total"] == before
    # a form with a bad date is one message on the form, nothing stored
    pg.goto(f"{server.url}/ui/suppressions/rules/{rule['id']}")
    pg.evaluate("() => { const e = document.getElementById('expires'); e.type = 'text'; e.value = 'soon'; }")
    pg.click("button:has-text('Save')")
    assert "The expiry must be a date" in (pg.text_content("[role=alert]") or "")
    watch.errors.clear()  # the 400 answer was logged as a failed load: wanted
    # a forged form (no CSRF token) is refused even for a writer
    forged = pg.evaluate(f"""() => fetch('/ui/suppressions/rules/{rule['id']}', {{method: 'POST',
        body: 'action=delete', headers: {{'Content-Type': 'application/x-www-form-urlencoded'}}}}).then(r => r.status)""")
    assert forged == 403
    watch.errors.clear()
    pg.goto(f"{server.url}/ui/suppressions/rules/{rule['id']}")
    pg.click("button:has-text('Remove')")
    pg.wait_for_url("**/ui/suppressions")
    assert api(server, "/v1/ignore-rules")["total"] == 0


def test_read_only_cannot_suppress(ui: tuple[Server, dict[str, Any]], page: tuple[Any, Watch]) -> None:
    server, facts = ui
    pg, watch = page
    pg.goto(f"{server.url}/ui/targets/{facts['demo']}")
    assert pg.locator("a[data-suppress]").count() == 0
    resp = pg.goto(f"{server.url}/ui/suppressions/new?id=CVE-2019-19844")
    assert resp.status == 403 and "may only read" in (pg.text_content("main") or "")
    pg.goto(f"{server.url}/ui/suppressions")
    assert pg.locator("a:text-is('New suppression')").count() == 0
    csrf = pg.get_attribute("input[name=csrf]", "value")  # a valid token of this session: still refused
    status = pg.evaluate("""csrf => fetch('/ui/suppressions/new', {method: 'POST',
        body: 'finding_id=CVE-1&statement=x&csrf=' + csrf,
        headers: {'Content-Type': 'application/x-www-form-urlencoded'}}).then(r => r.status)""", csrf)
    assert status == 403
    status = pg.evaluate("""() => fetch('/v1/ignore-rules', {method: 'POST', headers: {'Content-Type':
        'application/json'}, body: JSON.stringify({finding_id: 'CVE-1', statement: 'x'})}).then(r => r.status)""")
    assert status == 403
    watch.errors.clear()  # the refusals were logged as failed loads: wanted
    assert api(server, "/v1/ignore-rules")["total"] == 0


def test_target_page_layers_and_remediation_plan(ui: tuple[Server, dict[str, Any]], page: tuple[Any, Watch],
                                                 artifacts: Path) -> None:
    server, facts = ui
    pg, _ = page
    # the end-of-life alpine image: advice on the base image, numbers as the API gives them
    alpine = facts["alpine"]
    plan = api(server, f"/v1/targets/{alpine}/remediation")
    base = plan["base_image"]
    assert base["eosl"] is True and base["os"] == "alpine 3.16.0" and base["total"] > 0
    pg.goto(f"{server.url}/ui/targets/{alpine}")
    text = pg.text_content("[data-plan=base]") or ""
    assert "alpine 3.16.0 is end-of-life" in text and f"of {base['total']} OS package findings" in text
    if base["fixable"]:
        assert pg.text_content("[data-plan-count=base-fixes]") == str(base["fixable"])
    # the layer filter: the findings of one layer, as the API counts them
    scan = api(server, f"/v1/targets/{alpine}")["last_scan_id"]
    layers = api(server, f"/v1/scans/{scan}/layers")
    assert len(layers) == 2 and all(x["diff_id"].startswith("sha256:") for x in layers)
    for x in layers:
        want = api(server, "/v1/findings", target_id=alpine, layer=x["diff_id"])["total"]
        pg.select_option("select[name=layer]", x["diff_id"])
        expect(pg.locator("[data-count=findings]")).to_have_text(re.compile(f"^{want} "))
    pg.select_option("select[name=layer]", "")
    total = api(server, "/v1/findings", target_id=alpine)["total"]
    expect(pg.locator("[data-count=findings]")).to_have_text(re.compile(f"^{total} "))
    assert pg.locator("#findings-table td.layer").first.text_content().startswith("#")  # type: ignore[union-attr]
    # the application image: the package upgrades, most critical first
    debian = facts["debian"]
    plan = api(server, f"/v1/targets/{debian}/remediation")
    assert plan["n_packages"] > 0 and plan["fixes"] >= plan["n_packages"]
    pg.goto(f"{server.url}/ui/targets/{debian}")
    assert pg.text_content("[data-plan-count=packages]") == str(plan["n_packages"])
    assert pg.text_content("[data-plan-count=fixes]") == str(plan["fixes"])
    rows = pg.locator("[data-plan=packages] tbody tr td:first-child").all_text_contents()
    assert rows == [u["pkg_name"] for u in plan["packages"]]
    pg.screenshot(path=str(artifacts / "target-remediation.png"), full_page=True)


def test_no_serious_accessibility_violations_on_write_pages(ui: tuple[Server, dict[str, Any]],
                                                           writer: tuple[Any, Watch]) -> None:
    from axe_playwright_python.sync_playwright import Axe

    server, facts = ui
    pg, _ = writer
    r = httpx.post(server.url + "/v1/ignore-rules", headers={"Vigil-Token": WRITE}, timeout=30, json={
        "finding_id": "CVE-2026-66666", "statement": "a test rule", "expires": "2000-01-01"})
    assert r.status_code == 201, r.text
    try:
        for path in (f"/ui/targets/{facts['alpine']}", f"/ui/targets/{facts['debian']}", "/ui/suppressions",
                     "/ui/suppressions/new", f"/ui/suppressions/rules/{r.json()['id']}"):
            pg.goto(server.url + path)
            res = Axe().run(pg)
            bad = [v for v in res.response["violations"] if v.get("impact") in ("serious", "critical")]
            assert bad == [], (path, res.generate_report())
    finally:
        httpx.delete(f"{server.url}/v1/ignore-rules/{r.json()['id']}", headers={"Vigil-Token": WRITE}, timeout=30)
