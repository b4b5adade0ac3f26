"""Benchmark secret scanning (issue 6) against detect-secrets, trufflehog3 and `cat` over the same tree.

    .venv/bin/python bench/bench_secrets.py [--size-mb 200] [--runs 3] [--peers /tmp/peers/bin]

Generates (once; reused if present) a ~200 MB tree under bench/out/secrets-tree: source files (.py .js .go .java),
configs (.yaml .json .env .ini), text and logs (UUIDs, hashes, base64 blobs), a few large logs (streamed in
chunks), and PLANTED fake secrets (counted, so every tool's findings can be compared with what is there).
Then times, with the page cache warm (a first `cat` pass), medians of --runs (peers: --peer-runs, default 1,
because each takes minutes), wall and CPU time:
  cat          `find -type f | xargs cat > /dev/null`: the read limit
  vigil        `vigil fs TREE --scanners secret --format json` with --parallel 2 and --parallel 1
  detect-secrets  `detect-secrets scan --all-files -n TREE` (install: python -m venv /tmp/peers &&
                  /tmp/peers/bin/pip install detect-secrets trufflehog3 — a separate venv, not our deps)
  trufflehog3  `trufflehog3 --no-history -p 2 -f JSON TREE` (regex + entropy, its defaults)
Prints a Markdown table (paste into bench/results/secrets.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import statistics
import string
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
TREE = OUT / "secrets-tree"
VIGIL = [sys.executable, "-m", "vigil.shells.cli.main"]
RNG = random.Random(6)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def _r(chars: str, n: int) -> str:
    return "".join(RNG.choice(chars) for _ in range(n))


def _planted() -> list[tuple[str, str]]:
    """(line, rule id): fake values of a few common providers."""
    pem = "\n".join(_r(ALNUM + "+/", 64) for _ in range(10))
    return [
        (f"AWS_ACCESS_KEY_ID=AKIA{_r(string.ascii_uppercase + string.digits, 16)}", "aws-access-key-id"),
        (f"aws_secret_access_key = {_r(ALNUM + '/+', 40)}", "aws-secret-access-key"),
        (f'GITHUB_TOKEN = "ghp_{_r(ALNUM, 36)}"', "github-pat"),
        (f"SLACK_BOT=xoxb-{_r(string.digits, 12)}-{_r(string.digits, 12)}-{_r(ALNUM, 24)}", "slack-access-token"),
        (f'stripe.api_key = "sk_live_{_r(ALNUM, 24)}"', "stripe-secret-token"),
        (f"  npm_token: npm_{_r(ALNUM, 36)}", "npm-access-token"),
        (f"OPENAI_API_KEY=sk-proj-{_r(ALNUM, 80)}", "openai-project-api-key"),
        (f"-----BEGIN RSA PRIVATE KEY-----\n{pem}\n-----END RSA PRIVATE KEY-----", "private-key"),
        (f'SENDGRID = "SG.{_r(ALNUM, 22)}.{_r(ALNUM, 43)}"', "sendgrid-api-token"),
        (f"hf_token = 'hf_{_r(string.ascii_letters, 34)}'", "hugging-face-access-token"),
    ]


WORDS = ("the", "value", "user", "request", "handler", "config", "error", "result", "items", "cache", "token_count",
         "response", "session", "index", "buffer", "stream", "parse", "render", "client", "server", "update", "key")


def _ident() -> str:
    return "_".join(RNG.sample(WORDS, 2))


def _line_pool(kind: str, n: int = 4000) -> list[str]:
    out = []
    for _ in range(n):
        a, b = _ident(), _ident()
        if kind == "py":
            out.append(RNG.choice([f"    {a} = {b}({RNG.randint(0, 999)})", f"def {a}({b}):", f"    return {a}.{b}()",
                                   f"    # {' '.join(RNG.choices(WORDS, k=8))}", f"    if {a} is None:", ""]))
        elif kind == "js":
            out.append(RNG.choice([f"  const {a} = await {b}();", f"function {a}({b}) {{", "  }", f"  // {a} {b}",
                                   f"  {a}.push({{ id: '{_r(HEX, 8)}', n: {RNG.randint(0, 99)} }});"]))
        elif kind == "go":
            out.append(RNG.choice([f"\t{a} := {b}(ctx)", f"func {a}() error {{", "\tif err != nil {", "\t}",
                                   f'\tlog.Printf("{a}: %v", {b})']))
        elif kind == "java":
            out.append(RNG.choice([f"    private final String {a} = \"{b}\";", f"    public void {a}() {{", "    }",
                                   f"        {a}.{b}(this);"]))
        elif kind == "yaml":
            out.append(RNG.choice([f"  {a}: {b}", f"    - name: {a}", f"      image: registry.local/{b}:1.{RNG.randint(0, 9)}",
                                   f"  {a}_timeout: {RNG.randint(1, 300)}s"]))
        elif kind == "json":
            out.append(f'  "{a}": "{b}-{_r(HEX, 8)}",')
        elif kind == "env":
            out.append(f"{a.upper()}={b}")
        elif kind == "log":
            out.append(f"2026-11-{RNG.randint(1, 28):02d}T{RNG.randint(0, 23):02d}:00:00Z INFO {a} "
                       f"req={_r(HEX, 8)}-{_r(HEX, 4)}-{_r(HEX, 4)}-{_r(HEX, 4)}-{_r(HEX, 12)} sha={_r(HEX, 40)} {b}")
        else:  # text
            out.append(" ".join(RNG.choices(WORDS, k=14)).capitalize() + ".")
    return out


KINDS = {"py": ".py", "js": ".js", "go": ".go", "java": ".java", "yaml": ".yaml", "json": ".json", "env": ".env",
         "log": ".log", "text": ".txt"}
WEIGHTS = {"py": 20, "js": 20, "go": 10, "java": 10, "yaml": 10, "json": 8, "env": 2, "log": 10, "text": 10}


def generate(size_mb: int) -> int:
    """Write the tree; returns the number of planted secrets. Idempotent: a marker file records the size."""
    marker = TREE / ".bench-size"
    plants = _planted()
    if marker.exists() and marker.read_text() == str(size_mb):
        return int((TREE / ".bench-planted").read_text())
    import shutil

    shutil.rmtree(TREE, ignore_errors=True)
    TREE.mkdir(parents=True)
    pools = {k: _line_pool(k) for k in KINDS}
    target = size_mb * 1024 * 1024
    written = 0
    n = 0
    planted = 0
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    big = 4  # a few large logs, to exercise chunked streaming
    while written < target:
        if big:
            kind, lines_n = "log", 80_000
            big -= 1
        else:
            kind = RNG.choices(kinds, weights)[0]
            lines_n = int(min(4000, max(20, RNG.lognormvariate(5.5, 1.0))))
        lines = RNG.choices(pools[kind], k=lines_n)
        if n % 500 == 7 and planted < 40:
            line, _ = plants[planted % len(plants)]
            lines.insert(RNG.randrange(len(lines)), line)
            planted += 1
        d = TREE / f"pkg{n % 40:02d}" / f"mod{n % 7}"
        d.mkdir(parents=True, exist_ok=True)
        text = "\n".join(lines) + "\n"
        (d / f"{_ident()}_{n}{KINDS[kind]}").write_text(text)
        written += len(text)
        n += 1
    (TREE / ".bench-planted").write_text(str(planted))
    marker.write_text(str(size_mb))
    return planted


def tree_stats() -> tuple[int, int]:
    files = [p for p in TREE.rglob("*") if p.is_file() and not p.name.startswith(".bench")]
    return len(files), sum(p.stat().st_size for p in files)


def timed(cmd: list[str] | str, runs: int, timeout: float, shell: bool = False
          ) -> tuple[float | None, list[float], float, bytes]:
    """Median wall time, the wall times, median CPU time (user+sys of the child and its workers) and stdout.
    CPU time is reported too because the machine may be shared: it does not grow when other jobs compete."""
    times: list[float] = []
    cpus: list[float] = []
    out = b""
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        # own process group: on a timeout the tool's worker processes are killed too, not left running
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, shell=shell, start_new_session=True)
        try:
            stdout, stderr = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            times.append(float("inf"))
            break
        times.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        if p.returncode not in (0, 1):
            raise SystemExit(f"{cmd} failed ({p.returncode}): {stderr.decode()[-2000:]}")
        out = stdout
    cpu = statistics.median(cpus) if cpus else float("nan")
    if any(t == float("inf") for t in times):
        return None, times, cpu, out
    return statistics.median(times), times, cpu, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peers", default="/tmp/peers/bin", help="bin directory of the venv holding the peers")
    ap.add_argument("--subset-pct", type=int, default=10,
                    help="run the peers on this share of the tree (hard links; all tools re-run there); 100 = full")
    ap.add_argument("--peer-runs", type=int, default=1, help="runs of each peer (they take minutes each)")
    ap.add_argument("--timeout", type=float, default=1500, help="per-run timeout for a peer (s)")
    a = ap.parse_args()

    planted = generate(a.size_mb)
    nfiles, nbytes = tree_stats()
    mb = nbytes / 1e6
    print(f"tree: {nfiles} files, {mb:.1f} MB, {planted} planted secrets; {os.cpu_count()} CPUs", file=sys.stderr)
    cat = f"find {TREE} -type f ! -name '.bench*' -print0 | xargs -0 cat > /dev/null"
    subprocess.run(cat, shell=True, check=True)  # warm the page cache for everyone

    rows: list[tuple[str, str, float | None, list[float], float, str, float]] = []

    def add(tree: str, name: str, res: tuple[float | None, list[float], float, bytes], n: str, size: float) -> None:
        rows.append((tree, name, res[0], res[1], res[2], n, size))
        print(f"{tree} {name}: wall {res[1]} cpu {res[2]:.2f} findings {n}", file=sys.stderr, flush=True)

    def vigil_n(out: bytes) -> str:
        return str(sum(len(r.get("Secrets", [])) for r in json.loads(out)["Results"])) if out else "0"

    def run_all(tree: Path, label: str, size: float, with_peers: bool) -> None:
        cat = f"find {tree} -type f ! -name '.bench*' -print0 | xargs -0 cat > /dev/null"
        subprocess.run(cat, shell=True, check=True)  # warm the page cache for everyone
        add(label, "cat (read limit)", timed(cat, a.runs, 600, shell=True), "-", size)
        for par in ("2", "1"):
            res = timed([*VIGIL, "fs", str(tree), "--scanners", "secret", "--format", "json", "--parallel", par],
                        a.runs, 1800)
            add(label, f"vigil --parallel {par}", res, vigil_n(res[3]), size)
        if not with_peers:
            return
        peers = Path(a.peers)
        ds = peers / "detect-secrets"
        if ds.exists():
            res = timed([str(ds), "scan", "--all-files", "-n", str(tree)], a.peer_runs, a.timeout)
            n = sum(len(v) for v in json.loads(res[3])["results"].values()) if res[3] else 0
            add(label, "detect-secrets 1.5", res, str(n), size)
        th = peers / "trufflehog3"
        if th.exists():
            res = timed([str(th), "-z", "--no-history", "-p", "2", "-f", "JSON", str(tree)], a.peer_runs, a.timeout)
            n = len(json.loads(res[3])) if res[3].strip() else 0
            add(label, "trufflehog3 3.0 (-p 2)", res, str(n), size)

    run_all(TREE, f"full ({mb:.0f} MB)", mb, with_peers=a.subset_pct >= 100)
    if a.subset_pct < 100:
        sub, _, sub_bytes = make_subset(a.subset_pct)
        run_all(sub, f"subset ({sub_bytes / 1e6:.0f} MB)", sub_bytes / 1e6, with_peers=True)

    print(f"\nTree: {nfiles} files, {mb:.0f} MB ({planted} planted secrets), {os.cpu_count()} CPUs, page cache warm; "
          f"median of {a.runs} runs (peers: {a.peer_runs}).\n")
    print("| tree | tool | wall median (s) | runs (s) | CPU (s) | MB/s (wall) | MB/s per CPU-s | % of cat (wall) "
          "| x faster than detect-secrets (wall / CPU) | findings |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for tree, name, t, ts, c, n, size in rows:
        runs = ", ".join("timeout" if x == float("inf") else f"{x:.2f}" for x in ts)
        cat_t = next(r[2] for r in rows if r[0] == tree and r[1].startswith("cat"))
        ds = next((r for r in rows if r[0] == tree and r[1].startswith("detect-secrets")), None)
        if t is None:
            print(f"| {tree} | {name} | > {a.timeout:.0f} | {runs} | - | - | - | - | - | {n} |")
            continue
        pct = f"{100 * cat_t / t:.1f} %" if cat_t else "-"
        vs = f"{ds[2] / t:.1f} / {ds[4] / c:.1f}" if ds and ds[2] and c else "-"
        print(f"| {tree} | {name} | {t:.2f} | {runs} | {c:.2f} | {size / t:.0f} | {size / c:.0f} | {pct} | {vs} | {n} |")


def make_subset(pct: int) -> tuple[Path, int, int]:
    """A hard-linked copy of the first pct % of the package directories (the peers take minutes per 20 MB)."""
    import shutil

    sub = OUT / f"secrets-subset-{pct}"
    dirs = sorted(d for d in TREE.iterdir() if d.is_dir())
    keep = dirs[: max(1, len(dirs) * pct // 100)]
    if not sub.exists():
        for d in keep:
            shutil.copytree(d, sub / d.name, copy_function=os.link)
    files = [p for p in sub.rglob("*") if p.is_file()]
    return sub, len(files), sum(p.stat().st_size for p in files)


if __name__ == "__main__":
    main()
