"""Table report like Trivy's: a summary table of targets, then per target a
`Total: N (UNKNOWN: a, LOW: b, MEDIUM: c, HIGH: d, CRITICAL: e)` line and a table
Library | Vulnerability | Severity | Status | Installed Version | Fixed Version | Title.

rich renders the tables (width-aware wrapping, box drawing); it is imported only here, so the CLI start-up
does not pay for it.

Everything from the report is data, never markup or terminal control: cells are rich `Text` objects and lines are
printed with markup off, and control characters (a file name with ESC or a newline) are shown escaped
(`printable`), so a scanned tree can neither restyle, clear nor forge lines of the report.
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING

from vigil.findings.records import SEVERITIES, Report, Result
from vigil.reporters._common import printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from vigil.reporters import RenderOptions

MAX_TITLE_WORDS = 12


def _title(v_title: str, url: str) -> Text:
    words = v_title.split()
    t = " ".join(words[:MAX_TITLE_WORDS]) + ("..." if len(words) > MAX_TITLE_WORDS else "")
    return _cell(t, printable(url)) if url else _cell(t)


def _cell(*lines: str) -> Text:
    """A table cell holding data: plain text (no markup), control characters escaped; `lines` joined by newlines."""
    from rich.text import Text

    return Text("\n".join(printable(x) for x in lines))


def _row(*cells: str) -> list[Text]:
    return [_cell(c) for c in cells]


def _say(console: Console, text: str = "", *, tabs: bool = False) -> None:
    """Print one line of data: no markup, no highlighting, control characters escaped."""
    console.print(printable(text, tabs=tabs), markup=False, highlight=False)


def _counts(res: Result) -> dict[str, int]:
    c: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for v in res.vulnerabilities:
        c[v.severity] += 1
    return c


def _width(out: IO[str]) -> int:
    """The terminal's width when writing to a terminal (at least 80), else a fixed 160 so files and CI logs are
    reproducible."""
    try:
        if out.isatty():
            import shutil

            return max(80, shutil.get_terminal_size().columns)
    except (AttributeError, ValueError, OSError):
        pass
    return 160


# What rich prints for a report with no result and nothing suppressed (a clean secret scan, a directory without
# lockfiles): written as is, because importing rich cost a third of such a run. A test renders the same report
# through rich and compares the bytes.
_EMPTY_REPORT = (
    "Report Summary\n"
    "\n"
    "┌────────┬──────┬─────────────────┐\n"
    "│ Target │ Type │ Vulnerabilities │\n"
    "├────────┼──────┼─────────────────┤\n"
    "│   -    │  -   │        -        │\n"
    "└────────┴──────┴─────────────────┘\n"
    "Legend:\n"
    "- '-': Not scanned\n"
    "- '0': Clean (no security findings detected)\n"
    "- 'error': could not be parsed (reason below)\n"
    "\n"
)
_EMPTY_REPORT_WIDTH = max(len(line) for line in _EMPTY_REPORT.splitlines())  # narrower: rich wraps the legend


def render(report: Report, out: IO[str], width: int | None = None, opts: RenderOptions | None = None) -> None:
    width = width or _width(out)
    encoding = str(getattr(out, "encoding", None) or "utf-8").lower()
    if (not report.results and not report.metadata.suppressed and width >= _EMPTY_REPORT_WIDTH
            and (opts is None or "summary" in opts.table_mode)
            and encoding.startswith("utf") and sys.platform != "win32"):  # else rich draws the box in ASCII
        out.write(_EMPTY_REPORT)
        return
    _render(report, out, width, opts)


LEGEND = ("Legend:\n- '-': Not scanned\n- '0': Clean (no security findings detected)\n"
          "- 'error': could not be parsed (reason below)\n")


def _render(report: Report, out: IO[str], width: int, opts: RenderOptions | None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=width, no_color=True, highlight=False, emoji=False,
                      force_terminal=False, soft_wrap=False)
    mode = opts.table_mode if opts is not None else ("summary", "detailed")  # --table-mode
    summary = Table(box=box.SQUARE, show_lines=False)
    misconf = any(r.class_ == "config" for r in report.results)  # `vigil config`
    secrets = any(r.class_ == "secret" for r in report.results)  # --scanners secret
    for col in ("Target", "Type", "Misconfigurations" if misconf else "Vulnerabilities", *(("Secrets",) if secrets else ())):
        summary.add_column(col, justify="center")  # centred, as Trivy draws it
    for res in report.results:
        if misconf:
            n = str(res.misconf_summary.failures) if res.misconf_summary is not None else "-"
            summary.add_row(*_row(res.target, res.type, "error" if res.error else n, *(("-",) if secrets else ())))
            continue
        if res.class_ == "secret":
            summary.add_row(*_row(res.target, "text", "-", str(len(res.secrets))))
            continue
        vulns = "error" if res.error else "-" if res.class_ == "license" else str(len(res.vulnerabilities))
        summary.add_row(*_row(res.target, res.type, vulns, *(("-",) if secrets else ())))
    if not report.results:
        summary.add_row("-", "-", "-")
    if "summary" in mode:
        console.print("Report Summary\n")
        console.print(summary)
        console.print(LEGEND)

    for res in report.results if "detailed" in mode else ():
        if res.error:
            header = printable(f"{res.target} ({res.type})")
            _say(console, header)
            console.print("=" * len(header))
            _say(console, f"Not scanned: {printable(res.error)}")
            console.print()
            continue
        if res.class_ == "license":
            _license_table(console, res)
            continue
        if res.class_ == "secret":
            _secret_blocks(console, res)
            continue
        if res.misconf_summary is not None:  # misconfiguration blocks
            from vigil.reporters.table_misconf import result_lines, wants_block

            if wants_block(res):
                for line in result_lines(res):
                    _say(console, line, tabs=True)
            continue
        if not res.vulnerabilities:
            continue
        header = printable(f"{res.target} ({res.type})")
        _say(console, header)
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
                *_row(v.pkg_name, v.vulnerability_id, v.severity, v.status, v.installed_version, v.fixed_version),
                _title(v.title or v.description.split("\n", 1)[0], v.primary_url),
            )
        console.print(t)
        console.print()
        if opts is not None and opts.dependency_tree:
            _dependency_tree(console, res)
        _remediation_table(console, res)
    if report.metadata.suppressed:
        if opts is not None and opts.show_suppressed:
            _suppressed_table(console, report)
        else:
            console.print(f"Suppressed: {len(report.metadata.suppressed)} finding(s) "
                          "(--show-suppressed or the JSON output lists them with reasons)")


def _remediation_table(console: Console, res: Result) -> None:
    """Remediation summary: the smallest upgrade per package that clears its fixable findings."""
    from rich import box
    from rich.table import Table

    summary = res.remediation_summary()
    if not summary:
        return
    _say(console, f"Remediation: {summary}")
    console.print()
    t = Table(box=box.SQUARE)
    for col in ("Library", "Installed Version", "Upgrade To", "Fixes", "Still Open"):
        t.add_column(col, overflow="fold")
    for r in res.remediations:
        t.add_row(*_row(r.pkg_name, r.installed_version, r.upgrade_to or "-", str(len(r.fixes)),
                        ", ".join(r.unfixed) or "-"))
    console.print(t)
    console.print()


def _suppressed_table(console: Console, report: Report) -> None:
    from rich import box
    from rich.table import Table

    console.print(f"Suppressed findings ({len(report.metadata.suppressed)})")
    console.print("=" * 22)
    t = Table(box=box.SQUARE, show_lines=True)
    for col in ("Target", "Kind", "ID", "Package", "Reason"):
        t.add_column(col, overflow="fold")
    for s in report.metadata.suppressed:
        t.add_row(*_row(s.target, s.kind, s.vulnerability_id, s.pkg_name or "-", s.reason))
    console.print(t)


def _license_table(console: Console, res: Result) -> None:
    """Trivy's license table: Package | License | Classification | Severity, with a Total line by severity."""
    from rich import box
    from rich.table import Table

    if not res.licenses:
        return
    header = printable(f"{res.target} (license)")
    _say(console, header)
    console.print("=" * len(header))
    c: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for lf in res.licenses:
        c[lf.severity] += 1
    console.print(f"Total: {len(res.licenses)} (" + ", ".join(f"{s}: {c[s]}" for s in SEVERITIES) + ")\n")
    t = Table(box=box.SQUARE, show_lines=True)
    for col in ("Package", "License", "Classification", "Severity"):
        t.add_column(col, overflow="fold")
    for lf in res.licenses:
        t.add_row(*_row(lf.pkg_name, lf.name, lf.category, lf.severity))
    console.print(t)
    console.print()


def _dependency_tree(console: Console, res: Result) -> None:
    """--dependency-tree: for each vulnerable package, the chains up to a direct dependency (Trivy's
    "Dependency Origin Tree (Reversed)"). Needs the result's packages (the engine keeps them for this flag)."""
    from vigil.inventory.graph import reverse_chains

    if not res.packages:
        return
    by_pkg: dict[str, dict[str, int]] = {}
    for v in res.vulnerabilities:
        pid = v.pkg_id or f"{v.pkg_name}@{v.installed_version}"
        by_pkg.setdefault(pid, dict.fromkeys(SEVERITIES, 0))[v.severity] += 1
    console.print("Dependency Origin Tree (Reversed)")
    console.print("=================================")
    _say(console, res.target)
    ids = sorted(by_pkg)
    for n, pid in enumerate(ids):
        last = n == len(ids) - 1
        counts = ", ".join(f"{s}: {by_pkg[pid][s]}" for s in SEVERITIES if by_pkg[pid][s])
        _say(console, f"{'└── ' if last else '├── '}{pid}, ({counts})")
        prefix = "    " if last else "│   "
        chains = [c[1:] for c in reverse_chains(res.packages, pid) if len(c) > 1]
        for k, chain in enumerate(chains):
            lastc = k == len(chains) - 1
            for depth, up in enumerate(chain):
                branch = "└── " if (depth > 0 or lastc) else "├── "
                pad = ("│   " if not lastc else "    ") if depth > 0 else ""
                _say(console, f"{prefix}{pad}{'    ' * max(depth - 1, 0)}{branch}{up}")
    console.print()


def _secret_blocks(console: Console, res: Result) -> None:
    """Trivy's secret blocks: `SEVERITY: Category (rule-id)`, the title, `file:line`, then the masked code lines
    (the cause lines marked). Match and code are masked by the engine; nothing here can reveal the secret."""
    if not res.secrets:
        return
    header = printable(f"{res.target} (secrets)")
    _say(console, header)
    console.print("=" * len(header))
    c: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for sf in res.secrets:
        c[sf.severity] += 1
    console.print(f"Total: {len(res.secrets)} (" + ", ".join(f"{s}: {c[s]}" for s in SEVERITIES) + ")\n")
    rule = "─" * 80
    for sf in res.secrets:
        _say(console, f"{sf.severity}: {sf.category} ({sf.rule_id})")
        console.print("═" * 80)
        _say(console, sf.title)
        console.print(rule)
        _say(console, f" {res.target}:{sf.start_line}" + ("" if sf.end_line == sf.start_line else f"-{sf.end_line}"))
        console.print(rule)
        for ln in sf.code.lines:
            console.print(printable(f"{ln.number:>4} {'[' if ln.is_cause else ' '} {ln.content}", tabs=True),
                          markup=False, highlight=False, soft_wrap=True)
        console.print(rule)
        console.print()
