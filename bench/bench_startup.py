"""Start-up and set-up cost: `vigil --version` and scans of an empty directory and of a one-file directory, each run
N times in a fresh process; medians of wall time and of CPU time (user + system of the child).

    python bench/bench_startup.py [--runs 10] [--src SRC_DIR ...]

Each --src is put first on PYTHONPATH (e.g. an exported older tree to compare with); default: this tree's src.
With several, their runs alternate, so that all see the same load on a shared machine.
Bytecode is cached under a temporary PYTHONPYCACHEPREFIX (warmed by one untimed run), as for an installed package,
whatever PYTHONDONTWRITEBYTECODE says. The vulnerability scan uses the default DB (<cache dir>/db/vigil.db).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"  # github-pat shape (fake)


def cases(empty: Path, one: Path, cold_cache: Path) -> list[tuple[str, list[str], bool]]:
    """(label, argv, fresh compiled cache each run)."""
    return [
        ("vigil --version", ["--version"], False),
        ("fs EMPTY --scanners secret", ["fs", str(empty), "--scanners", "secret", "-q", "--skip-db-update"], False),
        ("fs EMPTY (vuln)", ["fs", str(empty), "-q", "--skip-db-update"], False),
        ("fs EMPTY --format json (vuln)", ["fs", str(empty), "-q", "--skip-db-update", "--format", "json"], False),
        ("fs ONE-FILE --scanners secret, compiled rules cached",
         ["fs", str(one), "--scanners", "secret", "-q", "--skip-db-update"], False),
        ("fs ONE-FILE --scanners secret, cold (no cached rules)",
         ["fs", str(one), "--scanners", "secret", "-q", "--skip-db-update", "--cache-dir", str(cold_cache)], True),
    ]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vigil.shells.cli.main", *argv], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--src", action="append", type=Path)
    args = ap.parse_args()
    srcs: list[Path] = args.src or [ROOT / "src"]
    with tempfile.TemporaryDirectory() as tmp:
        empty, one, pyc = Path(tmp) / "empty", Path(tmp) / "one", Path(tmp) / "pyc"
        empty.mkdir()
        one.mkdir()
        (one / "app.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        envs = []
        for src in srcs:
            env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
            env.update(PYTHONPATH=str(src), PYTHONPYCACHEPREFIX=str(pyc / src.resolve().as_posix().strip("/")))
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            envs.append(env)
        print("\n| command | " + " | ".join(f"{s} wall | {s} CPU" for s in srcs) + " |")
        print("|---|" + "---:|---:|" * len(srcs))
        for label, argv, cold in cases(empty, one, Path(tmp) / "cold"):
            walls: list[list[float]] = [[] for _ in srcs]
            cpus: list[list[float]] = [[] for _ in srcs]
            for env in envs:
                run_once(argv, env)  # bytecode, compiled rules
            for _ in range(args.runs):  # the trees alternate, so both see the same load
                for i, env in enumerate(envs):
                    if cold:
                        subprocess.run(["rm", "-rf", str(Path(tmp) / "cold")], check=True)
                    w, c = run_once(argv, env)
                    walls[i].append(w)
                    cpus[i].append(c)
            cells = [f"{statistics.median(w) * 1000:.0f} ms | {statistics.median(c) * 1000:.0f} ms"
                     for w, c in zip(walls, cpus, strict=True)]
            print(f"| {label} | " + " | ".join(cells) + " |")
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
