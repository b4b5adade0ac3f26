"""Regenerate tests/data/trivy-secret/cases.json: the cases of Trivy's secret-scanner unit test, with the findings
the real Trivy binary reports for each.

    python tools/gen_trivy_secret_cases.py SCANNER_TEST_GO [--trivy PATH]

SCANNER_TEST_GO is pkg/fanal/secret/scanner_test.go of the Trivy release the binary was built from (the fixtures
under tests/data/trivy-secret/testdata are that release's pkg/fanal/secret/testdata). From the Go file only the case
table is read: each case's name, config file and input file, and how many findings it expects (a cross-check).
The findings themselves come from running the binary (`trivy fs --scanners secret --secret-config CONFIG`) on a
directory holding just `testdata/<input>`, so the input keeps the path the unit test gives it. A case whose count
disagrees with the Go file is reported and recorded with `count_mismatch`.

The output is sorted and indented JSON: it does not depend on this interpreter or on library versions.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "trivy-secret"
CASE_START = re.compile(r"\n\t\t\{\n(?:\t\t\t//[^\n]*\n)*\t\t\tname:")  # comment lines may precede the name
NAME = re.compile(r'\s*"(?P<name>[^"]+)",\n')
PATH_ARG = re.compile(r'filepath\.Join\("testdata",\s*"([^"]+)"\)|"testdata/([^"]+)"')
KEEP = ("RuleID", "Category", "Severity", "Title", "StartLine", "EndLine", "Match")


def _table(go: str) -> str:
    start = go.index("func TestSecretScanner(t *testing.T)")
    end = go.index("func TestSecretScannerWithStreaming")
    body = go[start:end]
    return body[body.index("tests := []struct"):]


def _path(line: str) -> str:
    m = PATH_ARG.search(line)
    if m is None:
        raise SystemExit(f"cannot read a testdata path from: {line.strip()}")
    return m.group(1) or m.group(2)


def _cases(table: str) -> list[tuple[str, str]]:
    """(name, body) of each case: the table's entries start with a tab-indented `{` and `name:` line."""
    out = []
    for chunk in CASE_START.split(table)[1:]:
        m = NAME.match(chunk)
        if m is None:
            raise SystemExit(f"cannot read a case name near: {chunk[:80]!r}")
        out.append((m.group("name"), chunk[m.end():]))
    return out


def _expected_count(body: str) -> int:
    findings = body[body.find("Findings:"):] if "Findings:" in body else ""
    return len(re.findall(r"\bwant[A-Z]\w*", findings)) + findings.count("RuleID:")


def _trivy(trivy: str, config: Path, name: str, cache: Path) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "testdata").mkdir()
        shutil.copyfile(DATA / "testdata" / name, Path(tmp) / "testdata" / name)
        p = subprocess.run([trivy, "fs", "--scanners", "secret", "--skip-db-update", "--offline-scan",
                            "--cache-dir", str(cache), "--quiet", "--format", "json", "--secret-config", str(config),
                            tmp], capture_output=True, text=True, timeout=120, check=False)
        if p.returncode != 0:
            raise SystemExit(f"trivy failed on {name}: {p.stderr.strip()[-500:]}")
        out: list[dict[str, Any]] = []
        for r in json.loads(p.stdout).get("Results") or []:
            for s in r.get("Secrets") or []:
                f = {k: s[k] for k in KEEP if k in s}
                f["Code"] = [[ln["Number"], ln["Content"], ln.get("IsCause", False)]
                             for ln in (s.get("Code") or {}).get("Lines") or []]
                out.append(f)
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scanner_test_go", type=Path)
    ap.add_argument("--trivy", default=shutil.which("trivy") or str(Path(sys.executable).parent / "trivy"))
    args = ap.parse_args()
    version = subprocess.run([args.trivy, "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
    cases = []
    with tempfile.TemporaryDirectory() as cache:
        for name, body in _cases(_table(args.scanner_test_go.read_text())):
            cfg_line = next(ln for ln in body.splitlines() if "configPath:" in ln)
            in_line = next(ln for ln in body.splitlines() if "inputFilePath:" in ln)
            config, inp = _path(cfg_line), _path(in_line)
            found = _trivy(args.trivy, DATA / "testdata" / config, inp, Path(cache))
            case: dict[str, Any] = {"name": name, "config": config, "input": inp, "findings": found}
            want = _expected_count(body)
            if want != len(found):
                print(f"{name}: the Go test expects {want} findings, the binary reports {len(found)}",
                      file=sys.stderr)
                case["count_mismatch"] = want
            cases.append(case)
    doc = {"trivy_version": version, "cases": cases}
    (DATA / "cases.json").write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases, {sum(len(c['findings']) for c in cases)} findings", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
