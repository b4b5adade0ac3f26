"""Vigil's Dockerfile (DS) checks vs Checkov's dockerfile framework on ../shared/data/corpus/dockerfiles.

Checkov is NOT a Vigil dependency: install it in its own venv and point CHECKOV at it, e.g.

    python3 -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov
    CHECKOV=/tmp/checkov-venv/bin/checkov .venv/bin/python bench/bench_checkov_dockerfile.py

Both tools run as their CLIs over the same directory: `checkov -d DIR --framework dockerfile -o json --compact`
and `vigil config DIR -f json`. Agreement is per file: for each pair of checks that clearly mean the same thing
(MAPPING), a file fails a check when the tool reports at least one failure of it in that file (Checkov only
evaluates a check when the file has the instruction it looks at, e.g. EXPOSE for CKV_DOCKER_1; no result counts as a
pass). Speed: median of --runs runs of each CLI, same machine, same run, plus both tools on an empty directory (the
fixed start-up cost). The corpus exercises few edge cases, so the same agreement is then computed over the
hand-written edge cases in bench/probes/dockerfile-checkov (one run each, not timed).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_checkov import _median, table

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "corpus" / "dockerfiles"
OUT = ROOT / "bench" / "results" / "config-dockerfile-checkov.md"
PROBES = ROOT / "bench" / "probes" / "dockerfile-checkov"
VIGIL = ROOT / ".venv" / "bin" / "vigil"

# (Checkov IDs — a file fails when any of them fails, DS ID, meaning). Only pairs whose intent clearly matches.
MAPPING: list[tuple[tuple[str, ...], str, str]] = [
    (("CKV_DOCKER_7",), "DS-0001", "base image tag latest / missing"),
    (("CKV_DOCKER_3", "CKV_DOCKER_8"), "DS-0002", "no USER, or last USER root"),
    (("CKV_DOCKER_1",), "DS-0004", "port 22 exposed"),
    (("CKV_DOCKER_4",), "DS-0005", "ADD instead of COPY"),
    (("CKV_DOCKER_10",), "DS-0009", "WORKDIR not absolute"),
    (("CKV2_DOCKER_1",), "DS-0010", "sudo in RUN"),
    (("CKV_DOCKER_11",), "DS-0012", "duplicate FROM alias"),
    (("CKV_DOCKER_5",), "DS-0017", "package-manager update alone"),
    (("CKV_DOCKER_6",), "DS-0022", "MAINTAINER used"),
    (("CKV_DOCKER_2",), "DS-0026", "no HEALTHCHECK"),
]


def checkov_run(checkov: str, root: Path) -> dict[str, Any]:
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    proc = subprocess.run(
        [checkov, "-d", str(root), "--framework", "dockerfile", "-o", "json", "--compact", "--skip-download"],
        capture_output=True, text=True, env=env, check=False,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({proc.returncode}): {proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    if isinstance(data, list):
        data = next(d for d in data if d.get("check_type") == "dockerfile")
    return data  # type: ignore[no-any-return]


def vigil_run(root: Path) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        proc = subprocess.run([str(VIGIL), "config", str(root), "-f", "json", "-o", f.name, "-q"],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"vigil failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return json.loads(Path(f.name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def checkov_failures(data: dict[str, Any]) -> tuple[dict[str, set[str]], set[str]]:
    """({file: failing CKV ids}, every file Checkov reported on). Paths relative to the scanned root."""
    fails: dict[str, set[str]] = collections.defaultdict(set)
    files: set[str] = set()
    results = data.get("results", {}) if isinstance(data, dict) else {}
    for status in ("passed_checks", "failed_checks"):
        for it in results.get(status, []):
            path = it["file_path"].lstrip("/")
            files.add(path)
            if status == "failed_checks":
                fails[path].add(it["check_id"])
    return fails, files


def vigil_failures(data: dict[str, Any]) -> tuple[dict[str, set[str]], set[str]]:
    fails: dict[str, set[str]] = collections.defaultdict(set)
    files: set[str] = set()
    for r in data.get("Results") or []:
        if r.get("Type") != "dockerfile":
            continue
        files.add(r["Target"])
        for m in r.get("Misconfigurations") or []:
            if m.get("Status") == "FAIL":
                fails[r["Target"]].add(m["ID"])
    return fails, files


def agreement(ckv: dict[str, set[str]], ours: dict[str, set[str]],
              files: list[str]) -> tuple[list[list[str]], list[str]]:
    rows, examples = [], []
    tot: collections.Counter[str] = collections.Counter()
    for ckv_ids, ds, note in MAPPING:
        c: collections.Counter[str] = collections.Counter()
        ex: dict[str, list[str]] = collections.defaultdict(list)
        for f in files:
            k = bool(ckv.get(f, set()) & set(ckv_ids))
            v = ds in ours.get(f, set())
            cls = ("both fail" if v else "Checkov only") if k else ("Vigil only" if v else "both pass")
            c[cls] += 1
            if cls in ("Checkov only", "Vigil only"):
                ex[cls].append(f"`{f}`")
        tot.update(c)
        n = sum(c.values())
        label = " / ".join(ckv_ids)
        rows.append([label, ds, note, str(n), str(c["both fail"]), str(c["both pass"]), str(c["Checkov only"]),
                     str(c["Vigil only"]), f"{100 * (c['both fail'] + c['both pass']) / max(n, 1):.1f}%"])
        for cls, lst in ex.items():
            examples.append(f"| {label} ↔ {ds} | {cls} ({len(lst)}) | {'; '.join(lst[:6])}"
                            f"{' …' if len(lst) > 6 else ''} |")
    n = sum(tot.values())
    rows.append(["**all**", "", "", str(n), str(tot["both fail"]), str(tot["both pass"]), str(tot["Checkov only"]),
                 str(tot["Vigil only"]), f"{100 * (tot['both fail'] + tot['both pass']) / max(n, 1):.1f}%"])
    return rows, examples


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkov", default=os.environ.get("CHECKOV", "/tmp/checkov-venv/bin/checkov"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--probes", type=Path, default=PROBES)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if not shutil.which(args.checkov) and not Path(args.checkov).exists():
        print(f"checkov not found at {args.checkov} (see the module docstring)", file=sys.stderr)
        return 2
    empty = Path(tempfile.mkdtemp(prefix="vigil-bench-empty-"))
    try:
        t_ckv0, _ = _median(lambda: checkov_run(args.checkov, empty), args.runs)
        t_vig0, _ = _median(lambda: vigil_run(empty), args.runs)
    finally:
        empty.rmdir()
    # Interleave the two tools run by run so that machine load hits both alike.
    t_ckv_l, t_vig_l = [], []
    ckv_data: dict[str, Any] = {}
    vig_data: dict[str, Any] = {}
    for _ in range(args.runs):
        t, ckv_data = _median(lambda: checkov_run(args.checkov, args.corpus), 1)
        t_ckv_l.append(t)
        t, vig_data = _median(lambda: vigil_run(args.corpus), 1)
        t_vig_l.append(t)
    t_ckv, t_vig = sorted(t_ckv_l)[len(t_ckv_l) // 2], sorted(t_vig_l)[len(t_vig_l) // 2]
    ckv, ckv_files = checkov_failures(ckv_data)
    ours, our_files = vigil_failures(vig_data)
    files = sorted(ckv_files | our_files)
    rows, examples = agreement(ckv, ours, files)
    only_ckv, only_ours = sorted(ckv_files - our_files), sorted(our_files - ckv_files)

    probe_rows: list[list[str]] = []
    probe_examples: list[str] = []
    if args.probes.is_dir():
        p_ckv, p_ckv_files = checkov_failures(checkov_run(args.checkov, args.probes))
        p_ours, p_our_files = vigil_failures(vigil_run(args.probes))
        probe_rows, probe_examples = agreement(p_ckv, p_ours, sorted(p_ckv_files | p_our_files))

    speed = table(["tool", "corpus s", "empty dir s (start-up)", "corpus minus start-up s"], [
        ["Checkov CLI", f"{t_ckv:.2f}", f"{t_ckv0:.2f}", f"{max(t_ckv - t_ckv0, 0):.2f}"],
        ["`vigil config` CLI", f"{t_vig:.2f}", f"{t_vig0:.2f}", f"{max(t_vig - t_vig0, 0):.2f}"],
    ])
    speed += (f"\n\n**Speed-up: {t_ckv / t_vig:.1f}x** (CLI vs CLI, {len(files)} Dockerfiles); "
              f"{max(t_ckv - t_ckv0, 0) / max(t_vig - t_vig0, 1e-3):.1f}x with each tool's start-up subtracted. "
              f"Per-run seconds — Checkov: {', '.join(f'{t:.2f}' for t in t_ckv_l)}; "
              f"Vigil: {', '.join(f'{t:.2f}' for t in t_vig_l)}.")
    hdr = ["Checkov", "Vigil", "meaning", "files", "both fail", "both pass", "Checkov only", "Vigil only",
           "agreement"]
    cover = (f"Files: Checkov reported on {len(ckv_files)}, Vigil on {len(our_files)}"
             + (f"; Checkov only: {', '.join(only_ckv)}" if only_ckv else "")
             + (f"; Vigil only: {', '.join(only_ours)}" if only_ours else "") + ".")
    body = "\n\n".join([
        f"## Speed (median of {args.runs} runs, same machine, same run, the two CLIs interleaved)\n\n" + speed,
        "## Agreement per file\n\n" + table(hdr, rows) + "\n\n" + cover,
        "## Disagreeing files\n\n| pair | class | files |\n|---|---|---|\n"
        + ("\n".join(examples) if examples else "| — | none | |"),
    ])
    if probe_rows:
        body += ("\n\n## Agreement per file — edge-case probes (`bench/probes/dockerfile-checkov`)\n\n"
                 + table(hdr, probe_rows) + "\n\n| pair | class | probes |\n|---|---|---|\n"
                 + "\n".join(probe_examples))
    version = ckv_data.get("summary", {}).get("checkov_version", "?")
    head = ("# `vigil config` Dockerfile checks vs Checkov\n\n"
            f"Generated by `bench/bench_checkov_dockerfile.py` (Checkov {version}, Vigil "
            f"{vig_data.get('VigilVersion', '?')}, corpus `../shared/data/corpus/dockerfiles`, "
            f"{len(MAPPING)} mapped check pairs).\n\n")
    notes = args.out.with_suffix(".notes.md")
    tail = "\n\n" + notes.read_text(encoding="utf-8") if notes.exists() else ""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(head + body + tail + "\n", encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
