"""Table report like Trivy's: a summary table of targets, then per target a
`Total: N (UNKNOWN: a, LOW: b, MEDIUM: c, HIGH: d, CRITICAL: e)` line and a table
Library | Vulnerability | Severity | Status | Installed Version | Fixed Version | Title.

rich renders the tables (width-aware wrapping, box drawing); it is imported only here, so the CLI start-up
does not pay for it.
"""

from __future__ import annotations

from typing import IO

from vigil.findings.records import SEVERITIES, Report, Result

MAX_TITLE_WORDS = 12


def _title(v_title: str, url: str) -> str:
    words = v_title.split()
    t = " ".join(words[:MAX_TITLE_WORDS]) + ("..." if len(words) > MAX_TITLE_WORDS else "")
    return f"{t}\n{url}" if url else t


def _counts(res: Result) -> dict[str, int]:
    c: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for v in res.vulnerabilities:
        c[v.severity] += 1
    return c


def render(report: Report, out: IO[str], width: int | None = None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=width or 160, no_color=True, highlight=False, emoji=False,
                      force_terminal=False, soft_wrap=False)
    console.print("Report Summary\n")
    summary = Table(box=box.SQUARE, show_lines=False)
    for col in ("Target", "Type", "Vulnerabilities"):
        summary.add_column(col)
    for res in report.results:
        vulns = "error" if res.error else str(len(res.vulnerabilities))
        summary.add_row(res.target, res.type, vulns)
    if not report.results:
        summary.add_row("-", "-", "-")
    console.print(summary)
    console.print("Legend:\n- '0': Clean (no security findings detected)\n- 'error': could not be parsed (reason below)\n")

    for res in report.results:
        if res.error:
            console.print(f"{res.target} ({res.type})")
            console.print("=" * (len(res.target) + len(res.type) + 3))
            console.print(f"Not scanned: {res.error}\n")
            continue
        if not res.vulnerabilities:
            continue
        header = f"{res.target} ({res.type})"
        console.print(header)
        console.print("=" * len(header))
        c = _counts(res)
        console.print(
            f"Total: {len(res.vulnerabilities)} ("
            + ", ".join(f"{s}: {c[s]}" for s in SEVERITIES)
            + ")\n"
        )
        t = Table(box=box.SQUARE, show_lines=True)
        for col in ("Library", "Vulnerability", "Severity", "Status", "Installed Version", "Fixed Version", "Title"):
            t.add_column(col, overflow="fold")
        for v in res.vulnerabilities:
            t.add_row(
                v.pkg_name,
                v.vulnerability_id,
                v.severity,
                v.status,
                v.installed_version,
                v.fixed_version,
                _title(v.title or v.description.split("\n", 1)[0], v.primary_url),
            )
        console.print(t)
        console.print()
    if report.metadata.suppressed:
        console.print(f"Suppressed: {len(report.metadata.suppressed)} finding(s) (see JSON output for reasons)")
