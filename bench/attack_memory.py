"""`vigil server` memory under the red-team attack classes: a real server on 127.0.0.1 (memory blob cache, short
header/body timeouts), each attack run in a bounded loop, the server's RSS read from /proc before, sampled every
20 ms during (peak) and read again after (once the server has closed what the attack left open).

    .venv/bin/python bench/attack_memory.py [--db ~/.cache/vigil/db/vigil.db] [--write]   # --write: bench/RESULTS.md

Attacks (the red-team report's classes): unique-method flood (pipelined, no token), one big blob (57 MiB of empty
strings, the most decoding costs per byte) and four at once, one blob named 4096 times in a scan, four stalled
64 MiB uploads, 500 slowloris connections (header-less and trickling), scans with ImageConfig nested 100,000 deep.
Only 127.0.0.1; every process started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
VIGIL = [sys.executable, "-m", "vigil.shells.cli.main"]
TOKEN = "attack-memory-bench-token"
OTHER_TOKEN = "attack-memory-bench-other-tenant"  # a second tenant: the victim of the stalled uploads
H = {"Vigil-Token": TOKEN}
HEADER_TIMEOUT = 3
BODY_TIMEOUT = 3


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Peak:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> Peak:
        self.peak = rss_mb(self.pid)
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_mb(self.pid))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def layer_blob_bytes(n_empty: int) -> bytes:
    """A BlobInfo whose Whiteouts are `n_empty` empty strings, msgpack-encoded without building the list here."""
    from vigil.findings.analysis import BlobInfo

    small = msgspec.msgpack.encode(BlobInfo(diff_id="sha256:" + "0" * 64, whiteouts=("",)))
    one = b"\x91\xa0"  # array of one empty string
    assert small.count(one) == 1
    return small.replace(one, b"\xdd" + n_empty.to_bytes(4, "big") + b"\xa0" * n_empty)


def key(n: int) -> str:
    return f"sha256:{n + 0xa77ac4:064x}"


def scan_body(keys: list[str], image_config: str = "{}") -> bytes:
    """A ScanRequest for an image of len(keys) layers; `image_config` is inserted as raw JSON (it may be hostile)."""
    layers = [{"DiffID": f"sha256:{i:064x}"} for i in range(len(keys))]
    art = msgspec.json.encode({"Name": "img", "Type": "container_image", "Layers": layers})
    art = art[:-1] + b',"ImageConfig":' + image_config.encode() + b"}"
    return b'{"Artifact":' + art + b',"BlobKeys":' + msgspec.json.encode(keys) + b"}"


# --- the attacks ------------------------------------------------------------------------------------------------


def method_flood(port: int, url: str) -> str:
    per_conn, conns = 2500, 4
    socks = []
    for c in range(conns):
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.sendall(b"".join(b"XM%06d%s /healthz HTTP/1.1\r\nHost: x\r\n\r\n" % (c * per_conn + i, b"Q" * 200)
                           for i in range(per_conn)))
        socks.append(s)
    answered = 0
    for s in socks:
        got = b""
        while got.count(b"HTTP/1.1 ") < per_conn:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += chunk
        answered += got.count(b"HTTP/1.1 ")
        s.close()
    size = len(httpx.get(url + "/metrics", timeout=60).content)
    return f"{conns * per_conn} requests, {answered} answered; /metrics then {size / 1024:.0f} KB"


def big_blob(url: str, parallel: int) -> str:
    body = layer_blob_bytes(60_000_000)
    statuses: list[int] = []

    def put(i: int) -> None:
        r = httpx.put(f"{url}/v1/blobs/{key(100 + i)}", content=body, headers=H, timeout=600)
        statuses.append(r.status_code)

    ts = [threading.Thread(target=put, args=(i,)) for i in range(parallel)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return f"{parallel} x {len(body) / 2**20:.0f} MiB PUT: status {sorted(statuses)}"


def repeated_keys(url: str) -> str:
    from vigil.findings.analysis import BlobInfo
    from vigil.inventory.records import Application, Package

    pkgs = tuple(Package(ecosystem="pypi", name=f"pkg-{i}", version="1.0") for i in range(2000))
    blob = BlobInfo(diff_id="sha256:" + "1" * 64, applications=(
        Application(type="pip", file_path="app/requirements.txt", packages=pkgs),))
    r = httpx.put(f"{url}/v1/blobs/{key(1)}", content=msgspec.msgpack.encode(blob), headers=H, timeout=60)
    assert r.status_code == 204, r.text
    statuses = []
    for _ in range(3):
        statuses.append(httpx.post(f"{url}/v1/scan", content=scan_body([key(1)] * 4096), headers=H,
                                   timeout=600).status_code)
    return f"3 scans naming one 2,000-package blob 4096x: status {statuses}"


def stalled_uploads(port: int, url: str) -> tuple[str, Callable[[], None]]:
    socks = []
    for i in range(4):
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.sendall(f"PUT /v1/blobs/{key(200 + i)} HTTP/1.1\r\nHost: x\r\nVigil-Token: {TOKEN}\r\nContent-Type: "
                  f"application/msgpack\r\nContent-Length: {64 << 20}\r\n\r\n".encode())
        try:
            s.sendall(b"\x00" * ((64 << 20) - 1))
        except OSError:
            pass  # refused (buffer full) and closed while sending
        socks.append(s)
    from vigil.findings.analysis import BlobInfo

    def upload(n: int, token: str) -> int:
        return httpx.put(f"{url}/v1/blobs/{key(n)}", content=msgspec.msgpack.encode(
            BlobInfo(diff_id="sha256:" + "2" * 64, whiteouts=(f"etc/{n}",))), headers={"Vigil-Token": token},
            timeout=60).status_code

    during = (upload(300, TOKEN), upload(301, OTHER_TOKEN))
    deadline = time.monotonic() + BODY_TIMEOUT * 10
    while time.monotonic() < deadline and not all(_closed(s) for s in socks):
        time.sleep(0.1)
    closed = sum(_closed(s) for s in socks)
    after = upload(302, TOKEN)

    def cleanup() -> None:
        for s in socks:
            s.close()

    return (f"4 x 64 MiB-1 then stall (one token): a legit upload during the stall with that token {during[0]}, "
            f"with another token {during[1]}; {closed}/4 cut off by the server; then that token {after}", cleanup)


def _closed(s: socket.socket) -> bool:
    import select

    if not select.select([s], [], [], 0)[0]:
        return False
    try:
        while True:
            data = s.recv(1 << 16, socket.MSG_DONTWAIT)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def slowloris(port: int, url: str) -> tuple[str, Callable[[], None]]:
    socks = []
    for i in range(500):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i % 2:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    legit = httpx.get(url + "/healthz", timeout=30).status_code
    deadline = time.monotonic() + HEADER_TIMEOUT * 10
    open_ = list(socks)
    while open_ and time.monotonic() < deadline:
        for s in list(open_):
            if _closed(s):
                open_.remove(s)
            else:
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    open_.remove(s)
        time.sleep(0.5)

    def cleanup() -> None:
        for s in socks:
            s.close()

    return f"500 connections (half trickling): legit /healthz {legit}; {500 - len(open_)}/500 closed by the server", \
        cleanup


def deep_nesting(url: str) -> str:
    depth = 100_000
    body = scan_body([key(1)], '{"a":' + "[" * depth + "]" * depth + "}")
    statuses = {httpx.post(f"{url}/v1/scan", content=body, headers=H, timeout=60).status_code for _ in range(200)}
    return f"200 scans, ImageConfig {depth:,} deep: status {sorted(statuses)}"


# --- driver -----------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=Path.home() / ".cache" / "vigil" / "db" / "vigil.db")
    ap.add_argument("--write", action="store_true", help="replace the section in bench/RESULTS.md")
    args = ap.parse_args()
    if not args.db.is_file():
        sys.exit(f"no DB at {args.db}: give --db (a vigil.db, e.g. from 'vigil db build')")
    tmp = Path(tempfile.mkdtemp(prefix="vigil-attack-"))
    proc = None
    try:
        (tmp / "db").mkdir()
        shutil.copy2(args.db, tmp / "db" / "vigil.db")
        (tmp / "token").write_text(f"{TOKEN}\n{OTHER_TOKEN}\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}, "XDG_CACHE_HOME": str(tmp)}
        log = (tmp / "server.log").open("wb")
        proc = subprocess.Popen([*VIGIL, "server", "--listen", f"127.0.0.1:{port}", "--token-file",
                                 str(tmp / "token"), "--db-path", str(tmp / "db" / "vigil.db"), "--skip-db-update",
                                 "--cache-backend", "memory", "--header-timeout", str(HEADER_TIMEOUT),
                                 "--body-timeout", str(BODY_TIMEOUT)], stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"server did not start: {(tmp / 'server.log').read_text()}")
            time.sleep(0.1)
        attacks: list[tuple[str, Callable[[], object]]] = [
            ("method-label flood (no token)", lambda: method_flood(port, url)),
            ("one 57 MiB blob PUT", lambda: big_blob(url, 1)),
            ("4 x 57 MiB blob PUT at once", lambda: big_blob(url, 4)),
            ("scan naming one blob 4096x", lambda: repeated_keys(url)),
            ("4 stalled 64 MiB uploads", lambda: stalled_uploads(port, url)),
            ("500 slowloris connections (no token)", lambda: slowloris(port, url)),
            ("ImageConfig nested 100,000 deep", lambda: deep_nesting(url)),
        ]
        rows = []
        for name, attack in attacks:
            before = rss_mb(proc.pid)
            t0 = time.monotonic()
            with Peak(proc.pid) as peak:
                out = attack()
            cleanup = None
            if isinstance(out, tuple):
                out, cleanup = out
            time.sleep(1)
            after = rss_mb(proc.pid)
            if cleanup is not None:
                cleanup()
            rows.append((name, before, peak.peak, after, time.monotonic() - t0, str(out)))
            print(f"{name}: before {before:.0f} MB, peak {peak.peak:.0f} MB, after {after:.0f} MB — {out}",
                  file=sys.stderr)
        alive = proc.poll() is None and httpx.get(url + "/healthz", timeout=10).status_code == 200
        logtext = (tmp / "server.log").read_text(errors="replace")
        table = render(rows, alive, len(logtext.splitlines()), "Traceback" in logtext)
        print(table)
        if args.write:
            write_section(table)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)


NOTE = ("The red-team report measured, before the fixes: method flood 53 -> 278 MB kept (445 MB after one scrape); "
        "4 x 57 MiB PUT 1,933 MB peak, 418 MB kept by the unbounded memory cache; stalled uploads 62 -> 587 MB, "
        "every upload refused until the attacker left; 500 slowloris sockets held forever. A decoded blob still costs "
        "~17x its encoding at the peak (one 57 MiB upload: ~1 GB); the decode budget (two maximal blobs at once) and, "
        "with several tokens, the per-token upload share (two 57 MiB uploads per token: the 503s above, retryable) "
        "bound how many such peaks overlap.")
SECTION = "## `vigil server` memory under the red-team attacks — `bench/attack_memory.py`"


def render(rows: list[tuple[str, float, float, float, float, str]], alive: bool, log_lines: int, tb: bool) -> str:
    import platform

    out = [SECTION, "",
           f"One `vigil server` process (memory blob cache of at most 256 MiB, `--header-timeout {HEADER_TIMEOUT}s "
           f"--body-timeout {BODY_TIMEOUT}s`), the attacks run one after the other from one client process on "
           f"127.0.0.1; RSS of the server from /proc (peak: sampled every 20 ms). {platform.machine()}, Python "
           f"{platform.python_version()}, 2 shared cores (times are indicative).", "",
           "| attack | RSS before | peak | after | s | what the server did |", "|---|---|---|---|---|---|"]
    for name, before, peak, after, secs, what in rows:
        out.append(f"| {name} | {before:.0f} MB | {peak:.0f} MB | {after:.0f} MB | {secs:.1f} | {what} |")
    out += ["", f"Afterwards the server was {'ready (/healthz 200)' if alive else 'NOT ready'}; its log had "
                f"{log_lines} lines{' (with a traceback)' if tb else ', no traceback'}.", "", NOTE, ""]
    return "\n".join(out)


def write_section(table: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    if SECTION in text:
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + table + (text[nxt + 1:] if nxt >= 0 else "")
    else:
        anchor = text.find("\n## Other areas")
        text = (text[:anchor + 1] + table + "\n" + text[anchor + 1:]) if anchor >= 0 else text + "\n" + table
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
