"""The web UI of the report store, served by `vigil server` at `/`: Jinja2 pages rendered on the server, partial
updates of tables (a form or link marked data-partial asks with `X-Partial: 1` and gets only the fragment), charts
drawn by the vendored uPlot (static/vendor/uplot, with its licence and checksums). No CDN, no build step.

Every value is escaped by Jinja2's autoescape (package names and titles come from the scanned projects); chart data
travels as JSON in <script type="application/json"> (`tojson` escapes <, > and &, so a `</script>` in a title stays
text). The Content-Security-Policy allows scripts, styles and connections to this server only and no inline script.
Access follows the store API's rules (store_api.StoreService.access); a browser without a proxy signs in with a
token, kept in an HttpOnly, SameSite=Strict cookie. The write actions (sign in, sign out, adding, changing and
removing the server's suppressions) carry a CSRF token bound to the session; the suppression forms also need a
token or proxy group that may write (a read-only one gets 403).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from vigil.findings.records import Misconfiguration, SecretFinding
from vigil.shells.server.store_api import StoreService
from vigil.store import Gone, NotFound, StoreError
from vigil.store.records import FindingPage, IgnoreRuleIn, SeverityCounts, Trend

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
COOKIE = "vigil_session"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
# the files /static serves: a fixed list, so no request path ever reaches the file system
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css",
                "vendor/uplot/uPlot.iife.min.js": "text/javascript", "vendor/uplot/uPlot.min.css": "text/css",
                "vendor/uplot/LICENSE": "text/plain"}
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
COLORS = {"CRITICAL": "#a4001d", "HIGH": "#d35400", "MEDIUM": "#c9a100", "LOW": "#1f77b4", "UNKNOWN": "#7f8c8d"}
PAGE = 50
EXPIRY_SOON_DAYS = 14  # suppressions expiring within this many days are highlighted
MAX_FORM = 16384  # a suppression's statement is up to 2048 characters, url-encoded up to 3 bytes each


def _env() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _epoch(d: dt.date) -> int:
    return int(dt.datetime.combine(d, dt.time(), tzinfo=dt.UTC).timestamp())


def stacked_chart(trend: Trend) -> dict[str, Any]:
    """Open findings per day stacked by severity (uPlot draws lines; the stack is summed here)."""
    x = [_epoch(p.day) for p in trend.points]
    series = []
    below = [0] * len(x)
    for sev in reversed(SEVERITIES):
        vals = [below[i] + getattr(p.open, sev.lower()) for i, p in enumerate(trend.points)]
        series.append({"label": sev, "color": COLORS[sev], "values": vals})
        below = vals
    return {"x": x, "series": list(reversed(series)), "fill": True}


def new_fixed_chart(trend: Trend) -> dict[str, Any]:
    def total(c: SeverityCounts) -> int:
        return c.critical + c.high + c.medium + c.low + c.unknown

    return {"x": [_epoch(p.day) for p in trend.points], "fill": False, "series": [
        {"label": "new", "color": "#a4001d", "values": [total(p.new) for p in trend.points]},
        {"label": "fixed", "color": "#1e7e34", "values": [total(p.fixed) for p in trend.points]}]}


def install_ui(app: FastAPI, service_of: Callable[[], StoreService | None]) -> None:
    env = _env()

    def csrf_for(s: StoreService, request: Request) -> str:
        session = request.cookies.get(COOKIE, "") or "anonymous"
        return hmac.new(s.secret, b"csrf\0" + session.encode("utf-8", "replace"), hashlib.sha256).hexdigest()

    def can_write(s: StoreService | None, request: Request) -> bool:
        return s is not None and s.access(request.headers, request.cookies.get(COOKIE, ""))[0] == "write"

    def page(request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        s = service_of()
        ctx.setdefault("title", "Vigil")
        ctx["logged_in"] = bool(request.cookies.get(COOKIE))
        ctx["can_write"] = can_write(s, request)
        ctx["csrf"] = csrf_for(s, request) if s is not None else ""
        html = env.get_template(name).render(**ctx)
        return Response(html, status_code=status, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    def fragment(request: Request, name: str, **ctx: Any) -> Response:
        ctx["can_write"] = can_write(service_of(), request)
        html = env.get_template(name).render(**ctx)
        return Response(html, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    def error(request: Request, status: int, message: str) -> Response:
        return page(request, "error.html", status, title="Error", message=message)

    def gate(request: Request) -> StoreService | Response:
        s = service_of()
        if s is None:
            return error(request, 503, "This server keeps no report store (start it with --store).")
        got, _ = s.access(request.headers, request.cookies.get(COOKIE, ""))
        if got is None:
            nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return Response(status_code=303, headers={"Location": "/ui/login?" + urlencode({"next": nxt}),
                                                      **SECURITY_HEADERS})
        return s

    def partial(request: Request) -> bool:
        return request.headers.get("x-partial") == "1"

    async def run(fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
        return await run_in_threadpool(fn, *a, **kw)

    def qint(request: Request, name: str, default: int, lo: int = 0, hi: int = 2**31 - 1) -> int:
        v = request.query_params.get(name, "")
        return min(max(int(v), lo), hi) if v.isdigit() and len(v) < 20 else default

    def pager(request: Request, total: int, offset: int, target: str, path: str | None = None) -> dict[str, Any]:
        params = dict(request.query_params)
        base = path or request.url.path

        def at(o: int) -> str:
            return base + "?" + urlencode({**params, "offset": str(o)})

        return {"prev_url": at(max(offset - PAGE, 0)) if offset > 0 else "",
                "next_url": at(offset + PAGE) if offset + PAGE < total else "", "pager_target": target,
                "first_row": offset + 1 if total else 0, "last_row": min(offset + PAGE, total)}

    @app.get("/static/{name:path}", include_in_schema=False)
    async def static(name: str) -> Response:
        media = STATIC_FILES.get(name)
        if media is None:
            return Response("not found", status_code=404, media_type="text/plain", headers=SECURITY_HEADERS)
        return Response((STATIC / name).read_bytes(), media_type=media,
                        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"})

    @app.get("/", include_in_schema=False)
    async def overview(request: Request) -> Response:
        s = gate(request)
        if isinstance(s, Response):
            return s
        st = s.store
        days = 90
        totals, n_targets = await run(st.open_totals)
        trend = await run(st.trend, days=days)
        return page(request, "overview.html", title="Overview", days=days, n_targets=n_targets,
                    totals=[(sev, getattr(totals, sev.lower())) for sev in SEVERITIES],
                    open_chart=stacked_chart(trend), newfixed_chart=new_fixed_chart(trend),
                    risky=(await run(st.targets, sort="risk", desc=True, limit=10)).items,
                    stale_days=7, stale=(await run(st.targets, stale_days=7, sort="last_scan", limit=10)).items,
                    kev=await run(st.findings, kev=True, limit=20),
                    secrets=await run(st.findings, kind="secret", limit=20))

    @app.get("/ui/targets", include_in_schema=False)
    async def targets(request: Request) -> Response:
        s = gate(request)
        if isinstance(s, Response):
            return s
        qp = request.query_params
        q, kind, label = qp.get("q", "")[:200], qp.get("kind", ""), qp.get("label", "")[:200]
        sort = qp.get("sort", "risk")
        if sort not in ("risk", "name", "last_scan", "critical", "high"):
            sort = "risk"
        if kind not in ("image", "repository", "workload", "filesystem", "sbom"):
            kind = ""
        desc = qp.get("order", "desc") != "asc"
        labels: dict[str, str | None] = {}
        if label:
            k, sep, v = label.partition("=")
            labels[k] = v if sep else None
        offset = qint(request, "offset", 0)
        pg = await run(s.store.targets, q=q, kind=kind, labels=labels, sort=sort, desc=desc, limit=PAGE,
                       offset=offset)
        ctx = {"page": pg, **pager(request, pg.total, offset, "targets-table")}
        if partial(request):
            return fragment(request, "_targets_table.html", **ctx)
        return page(request, "targets.html", title="Targets", q=q, kind=kind, label=label, sort=sort, desc=desc,
                    **ctx)

    def finding_filters(request: Request) -> dict[str, str]:
        qp = request.query_params
        f = {k: qp.get(k, "")[:512] for k in ("severity", "status", "kind", "fixable", "package", "q", "sort",
                                               "order", "layer", "suppressed")}
        f["layer"] = f["layer"][:80]
        if f["suppressed"] not in ("only", "all"):
            f["suppressed"] = ""  # hidden: the default, left out of the links
        if f["severity"] not in SEVERITIES:
            f["severity"] = ""
        if f["status"] not in ("open", "fixed", "all"):
            f["status"] = "open"
        if f["kind"] not in ("vulnerability", "misconfiguration", "secret"):
            f["kind"] = ""
        if f["fixable"] not in ("true", "false"):
            f["fixable"] = ""
        if f["sort"] not in ("severity", "id", "package", "first_seen"):
            f["sort"] = "severity"
        if f["order"] not in ("asc", "desc"):
            f["order"] = "desc"
        return f

    async def findings_ctx(request: Request, s: StoreService, target_id: int) -> dict[str, Any]:
        f = finding_filters(request)
        offset = qint(request, "offset", 0)
        pg: FindingPage = await run(
            s.store.findings, target_id=target_id, severity=(f["severity"],) if f["severity"] else (),
            status=f["status"], kind=f["kind"], fixable=None if not f["fixable"] else f["fixable"] == "true",
            package=f["package"], q=f["q"], layer=f["layer"], suppressed=f["suppressed"] or "hide", sort=f["sort"],
            desc=f["order"] == "desc", limit=PAGE, offset=offset)
        path = f"/ui/targets/{target_id}/findings"

        def sort_url(key: str) -> str:
            order = "asc" if f["sort"] == key and f["order"] == "desc" else "desc"
            params = {k: v for k, v in f.items() if v}
            return path + "?" + urlencode({**params, "sort": key, "order": order})

        t = await run(s.store.target, target_id)
        layers = await run(s.store.layers, t.last_scan_id) if t is not None and t.last_scan_id else []
        # a finding's layer shown as the instruction that made it, numbered from the base
        layer_names = {x.diff_id: f"#{i} {x.created_by or x.diff_id[:19]}" for i, x in enumerate(layers, 1)}
        return {"page": pg, "f": f, "sort_url": sort_url, "layer_names": layer_names, "target_id": target_id,
                **pager(request, pg.total, offset, "findings-table", path)}

    def id_of(raw: str) -> int | None:
        return int(raw) if raw.isdigit() and len(raw) < 11 and int(raw) < 2**31 else None

    @app.get("/ui/targets/{raw_id}", include_in_schema=False)
    async def target(request: Request, raw_id: str) -> Response:
        s = gate(request)
        if isinstance(s, Response):
            return s
        tid = id_of(raw_id)
        t = await run(s.store.target, tid) if tid is not None else None
        if t is None or tid is None:
            return error(request, 404, "No such target.")
        days = 90
        trend = await run(s.store.trend, days=days, target_id=tid)
        layers = await run(s.store.layers, t.last_scan_id) if t.last_scan_id else []
        plan = await run(s.store.remediation, t.last_scan_id) if t.last_scan_id else None
        return page(request, "target.html", title=t.name, target=t, days=days, severities=SEVERITIES,
                    layers=layers, plan=plan,
                    history_chart=stacked_chart(trend), scans=await run(s.store.scans, tid, limit=100),
                    **await findings_ctx(request, s, tid))

    @app.get("/ui/targets/{raw_id}/findings", include_in_schema=False)
    async def target_findings(request: Request, raw_id: str) -> Response:
        s = gate(request)
        if isinstance(s, Response):
            return s
        tid = id_of(raw_id)
        if tid is None:
            return error(request, 404, "No such target.")
        ctx = await findings_ctx(request, s, tid)
        if partial(request):
            return fragment(request, "_findings_table.html", **ctx)
        return Response(status_code=303, headers={"Location": f"/ui/targets/{tid}?{request.url.query}",
                                                  **SECURITY_HEADERS})

    @app.get("/ui/findings/{raw_id}", include_in_schema=False)
    async def finding(request: Request, raw_id: str) -> Response:
        s = gate(request)
        if isinstance(s, Response):
            return s
        fid = id_of(raw_id)
        got = await run(s.store.finding, fid) if fid is not None else None
        if got is None:
            return error(request, 404, "No such finding.")
        f, result, rec = got
        links: list[str] = []
        code: list[Any] = []
        remediation = None
        if rec is not None:
            for u in (getattr(rec, "primary_url", ""), *getattr(rec, "references", ())):
                # only web links become links: a report's text must not make a javascript: or data: URL
                if u.startswith(("https://", "http://")) and u not in links:
                    links.append(u)
            if isinstance(rec, Misconfiguration):
                code = list(rec.cause_metadata.code.lines)
            elif isinstance(rec, SecretFinding):  # masked in the report itself: the secret is never stored
                code = list(rec.code.lines)
            remediation = next((m for m in result.remediations if m.pkg_name == f.pkg_name and m.upgrade_to
                                and f.finding_id in m.fixes), None)
        return page(request, "finding.html", title=f.finding_id, f=f, rec=rec, links=links[:50], code=code,
                    remediation=remediation)

    @app.get("/ui/clusters", include_in_schema=False)
    async def clusters(request: Request) -> Response:
        s = gate(request)
        if isinstance(s, Response):
            return s
        pg = await run(s.store.targets, kind="workload", sort="name", limit=1000)
        tree: dict[str, dict[str, list[Any]]] = {}
        for t in pg.items:
            tree.setdefault(t.cluster, {}).setdefault(t.namespace, []).append(t)
        return page(request, "clusters.html", title="Clusters",
                    tree=[(c, sorted(ns.items())) for c, ns in sorted(tree.items())])

    @app.get("/ui/suppressions", include_in_schema=False)
    async def suppressions(request: Request) -> Response:
        s = gate(request)
        if isinstance(s, Response):
            return s
        q = request.query_params.get("q", "")[:200]
        offset = qint(request, "offset", 0)
        pg = await run(s.store.suppressions, q=q, limit=PAGE, offset=offset)
        rules = await run(s.store.ignore_rules, q=q, limit=1000)
        today = dt.datetime.now(dt.UTC).date()
        return page(request, "suppressions.html", title="Suppressions", q=q, today=today, soon=EXPIRY_SOON_DAYS,
                    rules=rules, **{"page": pg, **pager(request, pg.total, offset, "main")})

    def writer(request: Request) -> StoreService | Response:
        """The store when this request may change it (a token or proxy group that may write), else the page
        that says why."""
        s = gate(request)
        if isinstance(s, Response):
            return s
        if not can_write(s, request):
            return error(request, 403, "This token or user may only read: suppressions need a token that may "
                                       "write.")
        return s

    def rule_form(request: Request, status: int = 200, *, rule: dict[str, str], rule_id: int | None = None,
                  message: str = "", target_name: str = "") -> Response:
        return page(request, "suppression_form.html", status, title="Edit suppression" if rule_id else
                    "New suppression", rule=rule, rule_id=rule_id, message=message, target_name=target_name)

    def parse_rule(fields: dict[str, str]) -> IgnoreRuleIn | str:
        """The form as an IgnoreRuleIn, or what is wrong with it (one line for the user)."""
        raw_target, raw_expires = fields.get("target_id", "").strip(), fields.get("expires", "").strip()
        target_id = None
        if raw_target:
            target_id = id_of(raw_target)
            if target_id is None:
                return "The target must be a target number (or empty for every target)."
        expires = None
        if raw_expires:
            try:
                expires = dt.date.fromisoformat(raw_expires)
            except ValueError:
                return "The expiry must be a date (YYYY-MM-DD), or empty for none."
        fid, statement = fields.get("finding_id", "").strip(), fields.get("statement", "").strip()
        if not fid or len(fid) > 256:
            return "Give the finding ID (CVE, check or secret rule ID), at most 256 characters."
        if not statement or len(statement) > 2048:
            return "Give a statement: why is it suppressed (at most 2048 characters)?"
        if len(fields.get("pkg_name", "")) > 512:
            return "The package name is over 512 characters."
        return IgnoreRuleIn(finding_id=fid, statement=statement, pkg_name=fields.get("pkg_name", "").strip(),
                            target_id=target_id, expires=expires)

    @app.get("/ui/suppressions/new", include_in_schema=False)
    async def new_rule(request: Request) -> Response:
        s = writer(request)
        if isinstance(s, Response):
            return s
        qp = request.query_params
        rule = {"finding_id": qp.get("id", "")[:256], "pkg_name": qp.get("package", "")[:512],
                "target_id": qp.get("target_id", "")[:11], "statement": "", "expires": ""}
        tid = id_of(rule["target_id"])
        t = await run(s.store.target, tid) if tid is not None else None
        return rule_form(request, rule=rule, target_name=t.name if t is not None else "")

    async def save_rule(request: Request, rule_id: int | None) -> Response:
        s = writer(request)
        if isinstance(s, Response):
            return s
        fields = await form(request)
        if not csrf_ok(s, request, fields):
            return error(request, 403, "The form expired or came from another site: reload the page.")
        who = s.access(request.headers, request.cookies.get(COOKIE, ""))[1]
        try:
            if rule_id is not None and fields.get("action") == "delete":
                await run(s.store.delete_ignore_rule, rule_id)
            else:
                rule = parse_rule(fields)
                if isinstance(rule, str):
                    return rule_form(request, 400, rule=fields, rule_id=rule_id, message=rule)
                if rule_id is None:
                    await run(s.store.add_ignore_rule, rule, author=who)
                else:
                    await run(s.store.update_ignore_rule, rule_id, rule, author=who)
        except NotFound as e:
            return rule_form(request, 404, rule=fields, rule_id=rule_id, message=str(e))
        except StoreError as e:
            return rule_form(request, 400, rule=fields, rule_id=rule_id, message=str(e))
        return Response(status_code=303, headers={"Location": "/ui/suppressions", **SECURITY_HEADERS})

    @app.post("/ui/suppressions/new", include_in_schema=False)
    async def create_rule(request: Request) -> Response:
        return await save_rule(request, None)

    @app.get("/ui/suppressions/rules/{raw_id}", include_in_schema=False)
    async def edit_rule(request: Request, raw_id: str) -> Response:
        s = writer(request)
        if isinstance(s, Response):
            return s
        rid = id_of(raw_id)
        r = await run(s.store.ignore_rule, rid) if rid is not None else None
        if r is None or rid is None:
            return error(request, 404, "No such suppression.")
        rule = {"finding_id": r.finding_id, "pkg_name": r.pkg_name,
                "target_id": str(r.target_id) if r.target_id is not None else "", "statement": r.statement,
                "expires": r.expires.isoformat() if r.expires else ""}
        return rule_form(request, rule=rule, rule_id=rid, target_name=r.target_name)

    @app.post("/ui/suppressions/rules/{raw_id}", include_in_schema=False)
    async def update_rule(request: Request, raw_id: str) -> Response:
        rid = id_of(raw_id)
        if rid is None:
            return error(request, 404, "No such suppression.")
        return await save_rule(request, rid)

    @app.get("/ui/vuln", include_in_schema=False)
    async def vuln(request: Request) -> Response:
        s = gate(request)
        if isinstance(s, Response):
            return s
        vid = request.query_params.get("id", "").strip()[:256]
        if not vid:
            return error(request, 400, "Give a vulnerability ID.")
        pg = await run(s.store.findings, finding_id=vid, status="open", sort="id", desc=False, limit=1000)
        first = pg.items[0] if pg.items else None
        if first is None:
            fixed = await run(s.store.findings, finding_id=vid, status="all", limit=1)
            first = fixed.items[0] if fixed.items else None
        return page(request, "vuln.html", title=vid, vid=vid, page=pg, first=first)

    @app.get("/ui/diff", include_in_schema=False)
    async def diff(request: Request) -> Response:
        s = gate(request)
        if isinstance(s, Response):
            return s
        a, b = qint(request, "from_scan", 0), qint(request, "to_scan", 0)
        try:
            d = await run(s.store.diff, a, b)
        except NotFound as e:
            return error(request, 404, str(e))
        except Gone as e:
            return error(request, 410, str(e))
        except StoreError as e:
            return error(request, 400, str(e))
        return page(request, "diff.html", title="Diff", d=d)

    def safe_next(raw: str) -> str:
        """Only a path on this server (an open redirect would let a link send a signed-in user anywhere)."""
        return raw if raw.startswith("/") and not raw.startswith(("//", "/\\")) and len(raw) < 2048 else "/"

    @app.get("/ui/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        return page(request, "login.html", title="Sign in", error="",
                    next=safe_next(request.query_params.get("next", "/")))

    async def form(request: Request) -> dict[str, str]:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                break
        parsed = parse_qs(body[:MAX_FORM].decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    def csrf_ok(s: StoreService, request: Request, fields: dict[str, str]) -> bool:
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
            return False
        return hmac.compare_digest(fields.get("csrf", ""), csrf_for(s, request))

    @app.post("/ui/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        s = service_of()
        if s is None:
            return error(request, 503, "This server keeps no report store.")
        fields = await form(request)
        if not csrf_ok(s, request, fields):
            return error(request, 403, "The form expired or came from another site: reload the page.")
        token = fields.get("token", "")
        got, _ = s.access({}, token)
        nxt = safe_next(fields.get("next", "/"))
        if got is None:
            return page(request, "login.html", 401, title="Sign in", error="Wrong token.", next=nxt)
        resp = Response(status_code=303, headers={"Location": nxt, **SECURITY_HEADERS})
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        path="/")
        return resp

    @app.post("/ui/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        s = service_of()
        fields = await form(request)
        if s is None or not csrf_ok(s, request, fields):
            return error(request, 403, "The form expired or came from another site: reload the page.")
        resp = Response(status_code=303, headers={"Location": "/ui/login", **SECURITY_HEADERS})
        resp.delete_cookie(COOKIE, path="/")
        return resp
