"""Report text is data: file names, package names and advisory text from a scanned tree may hold terminal
escapes, newlines, Rich markup, SPDX tag-value syntax or characters XML cannot carry. No format may let them act:
the table shows them escaped and literal, tag-value stays one value per line, XML stays well-formed."""

from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import msgspec
import pytest

from vigil.findings.records import Report
from vigil.reporters import RenderOptions, get
from vigil.reporters._common import map_strings, printable, xml_safe

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "reports" / "demo-report.json"
# clear screen + cursor home, a newline that would start a forged row, a closing tag with nothing to close
HOSTILE_DIR = "x\x1b[2J\x1b[1;1HFAKE\nforged[/]\x9b31m\u202e"
# what a terminal receives if anything slips through (a newline is the table's own line break)
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def _hostile(s: str) -> str:
    return (s.replace("backend", HOSTILE_DIR).replace("Django", "[bold]Django[/bold]")
            .replace("lodash", "lo[/]dash").replace("vulnerable_code", "vulnerable\x1b]0;PWNED\x07code"))


@pytest.fixture(scope="module")
def hostile() -> Report:
    report = msgspec.json.decode(FIXTURE.read_bytes(), type=Report)
    out = map_strings(report, _hostile)
    assert out != report
    return out


def _render(report: Report, fmt: str) -> str:
    buf = io.StringIO()
    get(fmt, RenderOptions(show_suppressed=True, dependency_tree=True))(report, buf)
    return buf.getvalue()


def test_printable_escapes_control_characters() -> None:
    assert printable("a\x1b[31m\nb\tc\x7f\x9b\u2028\u202e\udcff") == "a\\x1b[31m\\nb\\tc\\x7f\\x9b\\u2028\\u202e\\udcff"
    assert printable("a\tb", tabs=True) == "a\tb"
    assert printable("plain/ünïcode ✓ path[1].txt") == "plain/ünïcode ✓ path[1].txt"
    assert xml_safe("a\x1b\x00b\nc\td") == "a\\x1b\\x00b\nc\td"


def test_table_escapes_controls_and_never_reads_markup(hostile: Report) -> None:
    out = _render(hostile, "table")  # x[/] used to raise MarkupError
    assert not CONTROL.search(out), repr(CONTROL.search(out))
    assert "x\\x1b[2J\\x1b[1;1HFAKE\\nforged[/]\\x9b31m\\u202e/requirements.txt" in out
    for line in out.splitlines():  # the newline in the name forges no line of its own
        assert not line.lstrip("│ ").startswith("forged"), line
    assert "[bold]Django[/bold]" in out  # markup in data is shown, not applied
    assert "lo[/]dash" in out
    assert "vulnerable\\x1b]0;PWNED\\x07code" in out  # the suppressed reason


def test_log_lines_escape_controls() -> None:
    from vigil.shells.cli.logsetup import _Handler

    rec = logging.LogRecord("vigil.x", logging.WARNING, __file__, 1, "%s: could not parse", (HOSTILE_DIR,), None)
    line = _Handler().format(rec)
    assert "\n" not in line and not CONTROL.search(line.replace("\t", " ", 1))
    assert line.startswith("WARNING\tx\\x1b[2J")


@pytest.mark.parametrize("fmt", ["junit", "cyclonedx-xml"])
def test_xml_formats_stay_well_formed(hostile: Report, fmt: str) -> None:
    root = ET.fromstring(_render(hostile, fmt))  # an ExpatError before
    assert "x\\x1b[2J" in ET.tostring(root, encoding="unicode")


def test_spdx_tag_value_keeps_one_value_per_line(hostile: Report, tmp_path: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file

    d = "x</text>\nPackageName: injected-pkg\nPackageVersion: 6.6.6\nPackageComment: <text>"
    report = map_strings(hostile, lambda s: s.replace("web", d).replace("Dockerfile", "<text>Dockerfile"))
    text = _render(report, "spdx")
    assert "\nPackageName: injected-pkg" not in text and "</text>" not in text
    names = [line for line in text.splitlines() if line.startswith("PackageName:")]
    spdx_json = _render(report, "spdx-json")
    assert len(names) == spdx_json.count('"name"') - 1  # every package once (the JSON names the document too)
    path = tmp_path / "bom.spdx"
    path.write_text(text, encoding="utf-8")
    doc = parse_file(str(path))
    assert "injected-pkg" not in {p.name for p in doc.packages}
    assert {"qs", "express", "Django"} <= {p.name.replace("[bold]", "").replace("[/bold]", "") for p in doc.packages}


def test_html_links_only_http_and_csp_allows_only_its_own_script(hostile: Report) -> None:
    import base64
    import hashlib

    bad = ("javascript:alert(1)", "JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,<b>x</b>",
           "//evil.example/x", "vbscript:x", " javascript:alert(1)")
    urls = iter([*bad, "https://example.org/CVE-1", "http://example.org/CVE-2"] * 100)
    report = map_strings(hostile, lambda s: next(urls) if s.startswith("https://") else s)
    out = _render(report, "html")
    hrefs = re.findall(r'href="([^"]*)"', out)
    assert hrefs and all(h.startswith(("https://example.org/", "http://example.org/")) for h in hrefs), hrefs
    assert "javascript:" not in out.lower() and "data:text" not in out
    (csp,) = re.findall(r"script-src ([^;\"]*)", out)
    assert "unsafe-inline" not in csp
    (script,) = re.findall(r"<script>(.*?)</script>", out, re.S)
    assert csp == "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
