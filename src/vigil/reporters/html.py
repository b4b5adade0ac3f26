"""Self-contained HTML report: inline CSS and a few lines of inline JS (sort by clicking a column header, filter
with a text box and a severity selector); no network requests, no external assets. Rendered with Jinja2 with
autoescaping on. Sections: summary per target, findings, remediation summary, suppressed findings."""

from __future__ import annotations

import base64
import hashlib
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from vigil.findings.records import SEVERITIES, SEVERITY_RANK, Report
from vigil.reporters._common import security_severity, vuln_title

if TYPE_CHECKING:
    from vigil.reporters import RenderOptions

# The one script of the page. The CSP allows exactly this script (by hash): no other inline script, event handler
# or javascript: URL can run, even if one got into the page.
SCRIPT = """
(function () {
  function key(td) { var s = td.getAttribute("data-sort"); var t = s !== null ? s : td.textContent.trim();
    var n = parseFloat(t); return isNaN(n) || !/^[0-9.]+$/.test(t) ? t.toLowerCase() : n; }
  document.querySelectorAll("table.sortable th").forEach(function (th, i) {
    th.addEventListener("click", function () {
      var tb = th.closest("table").tBodies[0], asc = th.dataset.asc !== "1"; th.dataset.asc = asc ? "1" : "0";
      Array.from(tb.rows).sort(function (a, b) { var x = key(a.cells[th.cellIndex]), y = key(b.cells[th.cellIndex]);
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); }).forEach(function (r) { tb.appendChild(r); });
    });
  });
  var f = document.getElementById("filter"), s = document.getElementById("severity"), shown = document.getElementById("shown");
  function apply() { var q = f.value.toLowerCase(), sev = s.value, n = 0;
    document.querySelectorAll("#findings tbody tr").forEach(function (r) {
      var ok = (!q || r.textContent.toLowerCase().indexOf(q) >= 0) && (!sev || r.dataset.sev === sev);
      r.style.display = ok ? "" : "none"; if (ok) n++; });
    shown.textContent = n + " shown"; }
  f.addEventListener("input", apply); s.addEventListener("change", apply); apply();
})();
"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src '{{ script_hash }}'; base-uri 'none'; form-action 'none'">
<title>Vigil report: {{ report.artifact_name }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 14px; }
th { background: #f0f0f0; cursor: pointer; user-select: none; }
th.nosort { cursor: default; }
.sev-CRITICAL { background: #7b1d1d; color: #fff; } .sev-HIGH { background: #d9534f; color: #fff; }
.sev-MEDIUM { background: #f0ad4e; } .sev-LOW { background: #5bc0de; } .sev-UNKNOWN { background: #ddd; }
.controls { margin: 1em 0; } .muted { color: #666; }
</style>
</head>
<body>
<h1>Vigil report: {{ report.artifact_name }}</h1>
<p class="muted">{{ report.artifact_type }} &middot; scanned {{ report.created_at }} &middot; Vigil {{ report.vigil_version }}
{% if report.metadata.db_built_at %} &middot; DB built {{ report.metadata.db_built_at }}{% endif %}</p>

<h2>Summary</h2>
<table id="summary">
<thead><tr><th>Target</th><th>Type</th>{% for s in severities|reverse %}<th>{{ s }}</th>{% endfor %}<th>Remediation</th></tr></thead>
<tbody>
{% for res in report.results %}
<tr><td>{{ res.target }}</td><td>{{ res.type }}</td>
{% for s in severities|reverse %}<td>{{ counts[res.target ~ '|' ~ res.type][s] }}</td>{% endfor %}
<td>{{ res.error or res.remediation_summary() or '-' }}</td></tr>
{% endfor %}
</tbody>
</table>

<h2>Findings ({{ rows|length }})</h2>
<div class="controls">
<input id="filter" type="search" placeholder="Filter (ID, package, target, title)" size="40">
<select id="severity"><option value="">All severities</option>{% for s in severities|reverse %}<option>{{ s }}</option>{% endfor %}</select>
<span id="shown" class="muted"></span>
</div>
<table id="findings" class="sortable">
<thead><tr><th>Target</th><th>Kind</th><th>ID</th><th>Severity</th><th>Score</th><th>Package</th><th>Installed</th><th>Fixed</th><th>Title</th></tr></thead>
<tbody>
{% for r in rows %}
<tr data-sev="{{ r.severity }}"><td>{{ r.target }}</td><td>{{ r.kind }}</td>
<td>{% if r.url %}<a href="{{ r.url }}" rel="noreferrer">{{ r.id }}</a>{% else %}{{ r.id }}{% endif %}</td>
<td class="sev-{{ r.severity }}" data-sort="{{ r.rank }}">{{ r.severity }}</td><td>{{ r.score }}</td>
<td>{{ r.pkg }}</td><td>{{ r.installed }}</td><td>{{ r.fixed }}</td><td>{{ r.title }}</td></tr>
{% endfor %}
</tbody>
</table>

{% if remediations %}
<h2>Remediation</h2>
<table id="remediation" class="sortable">
<thead><tr><th>Target</th><th>Package</th><th>Installed</th><th>Upgrade to</th><th>Fixes</th><th>Still open</th></tr></thead>
<tbody>
{% for t, r in remediations %}
<tr><td>{{ t }}</td><td>{{ r.pkg_name }}</td><td>{{ r.installed_version }}</td><td>{{ r.upgrade_to or '-' }}</td>
<td>{{ r.fixes|join(', ') }}</td><td>{{ r.unfixed|join(', ') or '-' }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}

{% if report.metadata.suppressed %}
<h2>Suppressed ({{ report.metadata.suppressed|length }})</h2>
<table id="suppressed" class="sortable">
<thead><tr><th>Target</th><th>Kind</th><th>ID</th><th>Package</th><th>Reason</th></tr></thead>
<tbody>
{% for s in report.metadata.suppressed %}
<tr><td>{{ s.target }}</td><td>{{ s.kind }}</td><td>{{ s.vulnerability_id }}</td><td>{{ s.pkg_name }}</td><td>{{ s.reason }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}

<script>{{ script }}</script>
</body>
</html>
"""


def link(url: str) -> str:
    """`url` when it is an absolute http(s) URL, else "" (the ID is then shown as text): a report converted from
    untrusted JSON may carry javascript: or data: URLs. Browsers drop tabs and newlines inside URLs, so a URL holding
    any whitespace or control character is refused rather than interpreted."""
    if not url or any(c.isspace() or not c.isprintable() for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def render(report: Report, out: IO[str], opts: RenderOptions | None = None) -> None:

    rows: list[dict[str, object]] = []
    counts: dict[str, dict[str, int]] = {}
    for res in report.results:
        c = counts.setdefault(f"{res.target}|{res.type}", dict.fromkeys(SEVERITIES, 0))
        for v in res.vulnerabilities:
            c[v.severity] += 1
            rows.append({"target": res.target, "kind": "vulnerability", "id": v.vulnerability_id, "url": link(v.primary_url),
                         "severity": v.severity, "rank": SEVERITY_RANK[v.severity],
                         "score": f"{security_severity(v):.1f}", "pkg": v.pkg_name,
                         "installed": v.installed_version, "fixed": v.fixed_version, "title": vuln_title(v)})
        for m in res.misconfigurations:
            if m.status == "FAIL":
                c[m.severity] += 1
                rows.append({"target": res.target, "kind": "misconfiguration", "id": m.id, "url": link(m.primary_url),
                             "severity": m.severity, "rank": SEVERITY_RANK[m.severity], "score": "", "pkg": "",
                             "installed": "", "fixed": "", "title": m.message or m.title})
        for sf in res.secrets:
            c[sf.severity] += 1
            rows.append({"target": res.target, "kind": "secret", "id": sf.rule_id, "url": "", "severity": sf.severity,
                         "rank": SEVERITY_RANK[sf.severity], "score": "", "pkg": "", "installed": "", "fixed": "",
                         "title": f"{sf.title} (line {sf.start_line})"})
        for lic in res.licenses:
            c[lic.severity] += 1
            rows.append({"target": res.target, "kind": "license", "id": lic.name, "url": link(lic.link),
                         "severity": lic.severity, "rank": SEVERITY_RANK[lic.severity], "score": "",
                         "pkg": lic.pkg_name, "installed": "", "fixed": "", "title": lic.category})
    remediations = [(res.target, r) for res in report.results for r in res.remediations]
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    out.write(env.from_string(TEMPLATE).render(report=report, rows=rows, counts=counts, severities=SEVERITIES,
                                             remediations=remediations, script=Markup(SCRIPT),
                                             script_hash=SCRIPT_HASH))
