"""Vigil's Kubernetes checks vs Checkov on ../shared/data/corpus/{kubernetes,helm}: agreement and speed.

Checkov is NOT a Vigil dependency: install it in its own venv and point CHECKOV at it, e.g.

    python3 -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov
    CHECKOV=/tmp/checkov-venv/bin/checkov .venv/bin/python bench/bench_checkov.py

Inputs. Kubernetes: every manifest in corpus/kubernetes. Helm: Checkov's helm framework shells out to a `helm`
binary, which this machine does not have, so every chart in corpus/helm is rendered ONCE with Vigil's Helm engine
(the same Helm v4 SDK) into a temp dir and both tools scan those rendered manifests — identical inputs. Vigil's
own chart path (render + parse + check, in process) is timed too.

Agreement: for each pair of checks that clearly mean the same thing (MAPPING), over every resource Checkov
evaluated for that check and Vigil parsed (key = file, kind, namespace, name): both fail / both pass / Checkov
only / Vigil only. Speed: median of --runs runs, same machine, same run, wall clock; Checkov as its CLI
(`checkov -d DIR --framework kubernetes -o json`), Vigil in process (read + parse + all non-deprecated KSV checks)
and, when present, as `vigil config DIR`.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.checks.registry import checks_for
from vigil.analyzers.misconf.helm import render_chart, scan_chart
from vigil.analyzers.misconf.kubernetes import parse_kubernetes

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "corpus"
OUT = ROOT / "bench" / "results" / "config-kubernetes.md"
CHECKS = [c for c in checks_for("kubernetes") if not c.meta.deprecated]

# Checkov ID -> (KSV ID, note). Only pairs whose intent clearly matches.
MAPPING: dict[str, tuple[str, str]] = {
    "CKV_K8S_20": ("KSV-0001", "allowPrivilegeEscalation"),
    "CKV_K8S_37": ("KSV-0003", "drop ALL capabilities"),
    "CKV_K8S_39": ("KSV-0005", "SYS_ADMIN added"),
    "CKV_K8S_27": ("KSV-0006", "docker.sock hostPath"),
    "CKV_K8S_18": ("KSV-0008", "hostIPC"),
    "CKV_K8S_19": ("KSV-0009", "hostNetwork"),
    "CKV_K8S_17": ("KSV-0010", "hostPID"),
    "CKV_K8S_11": ("KSV-0011", "CPU limits"),
    "CKV_K8S_23": ("KSV-0012", "runAsNonRoot"),
    "CKV_K8S_14": ("KSV-0013", "image tag latest/blank"),
    "CKV_K8S_22": ("KSV-0014", "readOnlyRootFilesystem"),
    "CKV_K8S_10": ("KSV-0015", "CPU requests"),
    "CKV_K8S_12": ("KSV-0016", "memory requests"),
    "CKV_K8S_16": ("KSV-0017", "privileged"),
    "CKV_K8S_13": ("KSV-0018", "memory limits"),
    "CKV_K8S_40": ("KSV-0020", "high UID"),
    "CKV_K8S_25": ("KSV-0022", "added capabilities"),
    "CKV_K8S_26": ("KSV-0024", "hostPort"),
    "CKV_K8S_31": ("KSV-0030", "seccomp RuntimeDefault"),
    "CKV_K8S_38": ("KSV-0036", "service account token automount"),
    "CKV_K8S_34": ("KSV-0102", "Tiller deployed"),
    "CKV_K8S_21": ("KSV-0110", "default namespace"),
    "CKV_K8S_155": ("KSV-0114", "admission webhook configurations"),
}

Key = tuple[str, str, str, str]  # (file relative to the scanned root, kind, namespace, name)


def _median(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def _manifests(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))


def _charts(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("Chart.yaml") if "charts" not in p.parent.relative_to(root).parts[:-1])


def _dir_files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in d.rglob("*") if p.is_file()}


def vigil_scan_dir(root: Path) -> dict[Key, set[str]]:
    """In-process: read + parse + run every non-deprecated KSV check. {resource key: failing KSV IDs}."""
    out: dict[Key, set[str]] = {}
    for p in _manifests(root):
        try:
            resources = parse_kubernetes(p.read_bytes(), str(p))
        except ParseError:
            continue
        rel = "/" + str(p.relative_to(root))
        for r in resources:
            key = (rel, r.kind, r.namespace or "default", r.name)
            failed = out.setdefault(key, set())
            for c in CHECKS:
                if any(True for _ in c.run(r)):
                    failed.add(c.meta.id)
    return out


def vigil_scan_charts(charts: list[Path]) -> int:
    n = 0
    for ch in charts:
        for _, resources in scan_chart(_dir_files(ch)):
            for r in resources:
                for c in CHECKS:
                    n += sum(1 for _ in c.run(r))
    return n


def render_all(charts: list[Path], root: Path, dest: Path) -> list[str]:
    skipped = []
    for ch in charts:
        try:
            rendered = render_chart(_dir_files(ch))
        except ParseError as e:
            skipped.append(f"{ch.relative_to(root)}: {e}")
            continue
        for tpl, text in rendered.items():
            if tpl.endswith((".yaml", ".yml", ".json")) and text.strip():
                f = dest / ch.relative_to(root) / tpl
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_text(text, encoding="utf-8")
    return skipped


def checkov_run(checkov: str, root: Path) -> dict[str, Any]:
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    proc = subprocess.run(
        [checkov, "-d", str(root), "--framework", "kubernetes", "-o", "json", "--skip-download"],
        capture_output=True, text=True, env=env, check=False,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({proc.returncode}): {proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    if isinstance(data, list):
        data = next(d for d in data if d.get("check_type") == "kubernetes")
    return data  # type: ignore[no-any-return]


def checkov_results(data: dict[str, Any]) -> dict[str, dict[Key, str]]:
    """{CKV id: {resource key: PASSED|FAILED}} for the mapped checks."""
    out: dict[str, dict[Key, str]] = collections.defaultdict(dict)
    for status, items in (("PASSED", data["results"].get("passed_checks", [])),
                          ("FAILED", data["results"].get("failed_checks", []))):
        for it in items:
            cid = it["check_id"]
            if cid not in MAPPING:
                continue
            kind, _, rest = it["resource"].partition(".")
            ns, _, name = rest.partition(".")
            key = (it["file_path"], kind, ns, name)
            if out[cid].get(key) != "FAILED":  # a resource fails if any of its entities fails
                out[cid][key] = status
    return out


def vigil_cli(root: Path) -> float | None:
    exe = ROOT / ".venv" / "bin" / "vigil"
    if not exe.exists():
        return None
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "config", str(root), "--format", "json", "-o", os.devnull, "-q"],
                          capture_output=True, check=False)
    return time.perf_counter() - t0 if proc.returncode == 0 else None


def agreement(ours: dict[Key, set[str]], ckv: dict[str, dict[Key, str]]) -> tuple[list[list[str]], list[str]]:
    rows, examples = [], []
    tot = collections.Counter()
    for cid, (ksv, note) in sorted(MAPPING.items(), key=lambda kv: kv[1][0]):
        c = collections.Counter()
        ex: dict[str, list[str]] = collections.defaultdict(list)
        for key, status in ckv.get(cid, {}).items():
            if key not in ours:
                c["unmatched"] += 1
                continue
            v = ksv in ours[key]
            k = "FAILED"
            cls = ("both fail" if v else "Checkov only") if status == k else ("Vigil only" if v else "both pass")
            c[cls] += 1
            if cls in ("Checkov only", "Vigil only") and len(ex[cls]) < 3:
                ex[cls].append(f"{key[1]}/{key[3]} in `{key[0]}`")
        n = c["both fail"] + c["both pass"] + c["Checkov only"] + c["Vigil only"]
        tot.update(c)
        pct = f"{100 * (c['both fail'] + c['both pass']) / n:.1f}%" if n else "-"
        rows.append([cid, ksv, note, str(n), str(c["both fail"]), str(c["both pass"]), str(c["Checkov only"]),
                     str(c["Vigil only"]), pct])
        for cls, lst in ex.items():
            examples.append(f"| {cid} ↔ {ksv} | {cls} | {'; '.join(lst)} |")
    n = tot["both fail"] + tot["both pass"] + tot["Checkov only"] + tot["Vigil only"]
    rows.append(["**all**", "", "", str(n), str(tot["both fail"]), str(tot["both pass"]), str(tot["Checkov only"]),
                 str(tot["Vigil only"]), f"{100 * (tot['both fail'] + tot['both pass']) / max(n, 1):.1f}%"])
    return rows, examples


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkov", default=os.environ.get("CHECKOV", "/tmp/checkov-venv/bin/checkov"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if not shutil.which(args.checkov) and not Path(args.checkov).exists():
        print(f"checkov not found at {args.checkov} (see the module docstring)", file=sys.stderr)
        return 2
    k8s, helm_root = CORPUS / "kubernetes", CORPUS / "helm"
    charts = _charts(helm_root)
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-helm-"))
    try:
        skipped = render_all(charts, helm_root, tmp)
        sections: list[str] = []
        speed_rows: list[list[str]] = []
        all_rows: dict[str, list[list[str]]] = {}
        all_examples: list[str] = []
        empty = Path(tempfile.mkdtemp(prefix="vigil-bench-empty-"))
        t_start, _ = _median(lambda: checkov_run(args.checkov, empty), args.runs)
        empty.rmdir()
        for label, root in (("kubernetes", k8s), ("helm (rendered)", tmp)):
            n_files = len(_manifests(root))
            t_ckv, ckv_data = _median(lambda r=root: checkov_run(args.checkov, r), args.runs)
            t_ours, ours = _median(lambda r=root: vigil_scan_dir(r), args.runs)
            cli = [t for t in (vigil_cli(root) for _ in range(args.runs)) if t is not None]
            t_cli = statistics.median(cli) if len(cli) == args.runs else None
            speed_rows.append([label, str(n_files), str(len(ours)), f"{t_ckv:.2f}", f"{max(t_ckv - t_start, 0):.2f}",
                               f"{t_ours:.3f}", f"{t_ckv / t_ours:.0f}x ({max(t_ckv - t_start, 0) / t_ours:.0f}x)",
                               f"{t_cli:.2f}" if t_cli else "n/a", f"{t_ckv / t_cli:.1f}x" if t_cli else "n/a"])
            rows, examples = agreement(ours, checkov_results(ckv_data))
            all_rows[label] = rows
            all_examples += [e.replace("| CKV", f"| {label}: CKV", 1) for e in examples]
        t_chart, _ = _median(lambda: vigil_scan_charts(charts), args.runs)
        hdr = ["Checkov", "Vigil", "meaning", "resources", "both fail", "both pass", "Checkov only", "Vigil only",
               "agreement"]
        sections.append("## Agreement — Kubernetes corpus\n\n" + table(hdr, all_rows["kubernetes"]))
        sections.append("## Agreement — Helm corpus (rendered)\n\n" + table(hdr, all_rows["helm (rendered)"]))
        sections.append("## Disagreement examples\n\n| pair | class | examples |\n|---|---|---|\n"
                        + "\n".join(all_examples))
        speed = table(["input", "files", "resources", "Checkov CLI s", "Checkov minus start-up s",
                       "Vigil in-process s", "speed-up (vs minus start-up)", "vigil config CLI s", "CLI speed-up"],
                      speed_rows)
        speed += (f"\n\nCheckov's fixed start-up (the same command on an empty directory): **{t_start:.2f} s** "
                  f"(median of {args.runs}); the \"minus start-up\" column subtracts it.")
        speed += (f"\n\nVigil's own chart path (render with the Helm SDK + parse + checks, in process) over the "
                  f"{len(charts)} charts: **{t_chart:.2f} s** (median of {args.runs}).")
        if skipped:
            speed += "\n\nCharts that did not render: " + "; ".join(skipped)
        body = "\n\n".join([f"## Speed (median of {args.runs} runs, same machine, same run)\n\n" + speed, *sections])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        head = ("# `vigil config` Kubernetes/Helm checks vs Checkov\n\n"
                f"Generated by `bench/bench_checkov.py` (Checkov {ckv_data['summary'].get('checkov_version', '?')}, "
                f"{len(MAPPING)} mapped check pairs, {len(CHECKS)} non-deprecated KSV checks run).\n\n")
        notes = args.out.with_suffix(".notes.md")
        tail = "\n\n" + notes.read_text(encoding="utf-8") if notes.exists() else ""
        args.out.write_text(head + body + tail + "\n", encoding="utf-8")
        print(args.out.read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
