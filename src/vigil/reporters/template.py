"""`--format template --template @file.j2`: a user's Jinja2 template (sandboxed) over the report.

Context (documented in the README, "Report formats"):
  report        the Report record (snake_case attributes: report.results[0].vulnerabilities[0].vulnerability_id)
  data          the same report as the JSON output's dicts (PascalCase keys: data.Results[0].Target), for
                templates ported from Trivy's (.Target, .Vulnerabilities ...)
  results       report.results
  artifact_name, artifact_type, created_at, vigil_version
Filters: escape_xml, severity_score (CVSS or the 9.5/8.0/5.5/2.0/0.0 mapping), plus Jinja2's builtins (tojson …).
"""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import msgspec

from vigil.findings.records import Report, Vulnerability
from vigil.reporters._common import security_severity

if TYPE_CHECKING:
    from vigil.reporters import RenderOptions


def escape_xml(value: object) -> str:
    return escape(str(value), {'"': "&quot;", "'": "&apos;"})


def _severity_score(v: Vulnerability) -> float:
    return security_severity(v)


def context(report: Report) -> dict[str, Any]:
    return {
        "report": report,
        "data": json.loads(msgspec.json.encode(report)),
        "results": report.results,
        "artifact_name": report.artifact_name,
        "artifact_type": report.artifact_type,
        "created_at": report.created_at,
        "vigil_version": report.vigil_version,
    }


def render_text(report: Report, source: str, autoescape: bool = False) -> str:
    """Render `source` over the report; template errors become ValueError (a user error)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(autoescape=autoescape, keep_trailing_newline=True, trim_blocks=True,
                               lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["escape_xml"] = escape_xml
    env.filters["severity_score"] = _severity_score
    try:
        return env.from_string(source).render(context(report))
    except jinja2.TemplateError as e:
        line = f" (line {e.lineno})" if isinstance(e, jinja2.TemplateSyntaxError) else ""
        raise ValueError(f"template error{line}: {e}") from e


def render(report: Report, out: IO[str], opts: RenderOptions | None = None) -> None:
    if opts is None or not opts.template:
        raise ValueError("--format template needs --template (inline Jinja2 text or @path/to/file.j2)")
    out.write(render_text(report, opts.template))
