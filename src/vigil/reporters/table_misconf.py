"""Misconfiguration blocks of the table report (Trivy's pkg/report/table/misconfig.go shape):

    Dockerfile (dockerfile)
    =======================
    Tests: 27 (SUCCESSES: 26, FAILURES: 1)
    Failures: 1 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 1, CRITICAL: 0)

    DS-0002 (HIGH): <message>
    ════════════════════════════════════════
    <title>

    <description>
    See <primary URL>
    ────────────────────────────────────────
     Dockerfile:8
    ────────────────────────────────────────
       7     RUN apk add curl
       8 [   USER root
    ────────────────────────────────────────

Plain text lines; the caller prints them (no markup interpretation).
"""

from __future__ import annotations

import textwrap

from vigil.findings.records import SEVERITIES, Misconfiguration, Result

HEAVY = "═" * 40
LIGHT = "─" * 40


def ids(m: Misconfiguration) -> str:
    return f"({m.id}, aliases {', '.join(m.aliases)})" if m.aliases else f"({m.id})"


def summary_lines(res: Result) -> list[str]:
    s = res.misconf_summary
    assert s is not None
    counts = dict.fromkeys(SEVERITIES, 0)
    for m in res.misconfigurations:
        if m.status == "FAIL":
            counts[m.severity] += 1
    return [
        f"Tests: {s.successes + s.failures} (SUCCESSES: {s.successes}, FAILURES: {s.failures})",
        f"Failures: {s.failures} (" + ", ".join(f"{k}: {counts[k]}" for k in SEVERITIES) + ")",
    ]


def _wrap(text: str, width: int) -> list[str]:
    out: list[str] = []
    for para in text.splitlines() or [""]:
        out.extend(textwrap.wrap(para, width) or [""])
    return out


def finding_lines(res: Result, m: Misconfiguration, width: int = 110) -> list[str]:
    # Trivy's header line: ID (SEVERITY): message
    out = [f"{m.id} ({m.severity}): {m.message or m.title}", HEAVY]
    out += _wrap(m.title, width)
    if m.description:
        out += ["", *_wrap(m.description, width)]
    if m.primary_url:
        out.append(f"See {m.primary_url}")
    cm = m.cause_metadata
    if cm.start_line:
        loc = f"{res.target}:{cm.start_line}" + (f"-{cm.end_line}" if cm.end_line > cm.start_line else "")
        out += [LIGHT, f" {loc}" + (f" ({cm.resource})" if cm.resource else ""), LIGHT]
        w = len(str(cm.code.lines[-1].number)) if cm.code.lines else 1
        for ln in cm.code.lines:
            mark = "[" if ln.is_cause else " "
            out.append(f" {ln.number:>{w + 2}} {mark}   {ln.content}" + (" ..." if ln.truncated else ""))
        out.append(LIGHT)
    out.append("")
    return out


def result_lines(res: Result) -> list[str]:
    header = f"{res.target} ({res.type})"
    out = [header, "=" * len(header), *summary_lines(res), ""]
    for m in res.misconfigurations:
        if m.status == "FAIL":
            out += finding_lines(res, m)
    passes = [m for m in res.misconfigurations if m.status != "FAIL"]
    for m in passes:
        out.append(f"{m.status}: {m.severity}: {m.title} {ids(m)}")
    if passes:
        out.append("")
    return out


def wants_block(res: Result) -> bool:
    return res.misconf_summary is not None and bool(res.misconfigurations)
