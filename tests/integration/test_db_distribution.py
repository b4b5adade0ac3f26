"""DB distribution end to end, with real parts on loopback: docker-registry (push/pull of the OCI artifact), a
threaded http.server mirror (ETag), a server that answers 429 to everything, a port nobody listens on, the real CLI
in subprocesses (`vigil db push|pull|info`, `vigil fs`), flock between processes, and an audit hook that counts
socket.connect() calls for the offline guarantee."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.cli_helpers import run
from tests.dbdist_helpers import (  # noqa: F401
    Mirror,
    artifact_a_fixture,
    artifact_b_fixture,
    mirror_factory_fixture,
)
from tests.registry_helpers import (  # noqa: F401
    Registry,
    free_port,
    registry_basic_fixture,
    registry_token_fixture,
)

from vigil.dbdist.artifact import ARTIFACT_TYPE, MT_DB_LAYER, MT_METADATA, file_sha256
from vigil.dbdist.update import STATE_FILENAME, SchemaTooNew, UpdateError, ensure_db

ROOT = Path(__file__).resolve().parents[2]
LOCKFILE = ROOT / "examples" / "demo-project" / "backend" / "requirements.txt"
A_DUE = dt.datetime(2026, 1, 2, 1, tzinfo=dt.UTC)  # artifact_a's next_update (2026-01-02T00:00Z) has passed
B_DUE = dt.datetime(2026, 1, 3, 1, tzinfo=dt.UTC)


def sha(p: Path) -> str:
    return file_sha256(p)[0]


def db_sha(artifact: Path) -> str:
    return str(json.loads((artifact / "metadata.json").read_text())["db_sha256"])


def no_temp_files(d: Path) -> bool:
    return not [p for p in d.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------------- OCI registry


def test_push_then_pull_through_a_registry(registry_basic: Registry, artifact_a: Path, tmp_path: Path) -> None:
    assert registry_basic.creds
    env = {"VIGIL_USERNAME": registry_basic.creds[0], "VIGIL_PASSWORD": registry_basic.creds[1]}
    url = f"oci://{registry_basic.host}/security/vigil-db:1"
    p = run("db", "push", str(artifact_a), url, env=env)
    assert p.returncode == 0, p.stderr
    assert f"Pushed {url}@sha256:" in p.stderr

    # what the registry holds: an OCI manifest with our artifactType and media types
    m = httpx.get(f"{registry_basic.url}/v2/security/vigil-db/manifests/1",
                  headers={**registry_basic.basic_header(), "Accept": "application/vnd.oci.image.manifest.v1+json"})
    doc = m.json()
    assert doc["artifactType"] == ARTIFACT_TYPE
    assert [(ld["mediaType"], ld["annotations"]["org.opencontainers.image.title"]) for ld in doc["layers"]] == [
        (MT_METADATA, "metadata.json"), (MT_DB_LAYER, "vigil.db.zst")]

    cache = tmp_path / "cache"
    p = run("db", "pull", "--db-repository", url, "--cache-dir", str(cache), env=env)
    assert p.returncode == 0, p.stderr
    assert f"from {url}" in p.stderr
    installed = cache / "db" / "vigil.db"
    assert sha(installed) == db_sha(artifact_a)
    info = run("db", "info", "--cache-dir", str(cache))
    assert info.returncode == 0, info.stderr
    assert f"Repository:     {url}" in info.stdout and "Built at:       2026-01-01T00:00:00Z" in info.stdout

    # a second pull finds the same manifest and downloads nothing
    p = run("db", "pull", "--db-repository", url, "--cache-dir", str(cache), env=env)
    assert p.returncode == 0 and "Up to date with" in p.stderr, p.stderr

    # without credentials the registry refuses: one line, exit 2
    p = run("db", "pull", "--db-repository", url, "--cache-dir", str(tmp_path / "c2"),
            env={"DOCKER_CONFIG": str(tmp_path)})
    assert p.returncode == 2 and "unauthorized" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_chunked_push_and_python_level_pull_with_bearer_tokens(registry_token: Registry, artifact_b: Path,
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Token auth: the push asks the token server for repository:…:pull,push, the pull for …:pull."""
    import vigil.dbdist.oci as oci

    registry_basic = registry_token
    assert registry_basic.creds
    monkeypatch.setenv("VIGIL_USERNAME", registry_basic.creds[0])
    monkeypatch.setenv("VIGIL_PASSWORD", registry_basic.creds[1])
    monkeypatch.setattr(oci, "MONOLITHIC_MAX", 1024)
    monkeypatch.setattr(oci, "UPLOAD_CHUNK", 7000)  # several PATCHes for vigil.db.zst
    url = f"oci://{registry_basic.host}/security/vigil-db:chunked"
    digest, meta = oci.push(artifact_b, url)
    assert digest.startswith("sha256:") and meta.compressed_size > 7000
    res = ensure_db(tmp_path / "vigil.db", [url], skip_update=False, offline=False)
    assert res.updated and res.source == url and res.downloaded == meta.compressed_size
    assert sha(tmp_path / "vigil.db") == meta.db_sha256
    # pinned by digest works too
    ref = f"oci://{registry_basic.host}/security/vigil-db@{digest}"
    res = ensure_db(tmp_path / "d2" / "vigil.db", [ref], skip_update=False, offline=False)
    assert res.updated and sha(tmp_path / "d2" / "vigil.db") == meta.db_sha256


# --------------------------------------------------------------------------------------------- HTTP mirror


def test_http_mirror_with_conditional_get(mirror_factory: Any, artifact_a: Path, artifact_b: Path,
                                          tmp_path: Path) -> None:
    mirror: Mirror = mirror_factory(artifact_a)
    db = tmp_path / "db" / "vigil.db"
    res = ensure_db(db, [mirror.url], skip_update=False, offline=False)
    assert res.updated and res.source == mirror.url and sha(db) == db_sha(artifact_a)
    assert mirror.paths() == ["/metadata.json", "/vigil.db.zst"]
    assert no_temp_files(db.parent)
    # forced check: If-None-Match -> 304, nothing else fetched
    res = ensure_db(db, [mirror.url], skip_update=False, offline=False, force=True)
    assert not res.updated and res.checked
    assert mirror.requests[-1] == ("/metadata.json", "304") and len(mirror.requests) == 3
    # the publisher replaces the dir's content with a newer build: the next check downloads it
    for f in ("metadata.json", "vigil.db.zst"):
        shutil.copy(artifact_b / f, mirror.root / f)
    res = ensure_db(db, [mirror.url], skip_update=False, offline=False, now=A_DUE)
    assert res.updated and sha(db) == db_sha(artifact_b)
    assert mirror.paths()[-2:] == ["/metadata.json", "/vigil.db.zst"]
    installed = json.loads((db.parent / "metadata.json").read_text())
    assert installed["built_at"] == "2026-01-02T00:00:00Z"


def test_db_pack_cli_makes_a_servable_dir(fixture_db: Path, mirror_factory: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for f in ("vigil.db", "metadata.json"):
        shutil.copy(fixture_db.parent / f, out / f)
    p = run("db", "pack", str(out))
    assert p.returncode == 0 and "Packed" in p.stderr, p.stderr
    assert (out / "vigil.db.zst").stat().st_mode & 0o044 == 0o044  # readable by a web server
    mirror: Mirror = mirror_factory(out)
    res = ensure_db(tmp_path / "c" / "vigil.db", [mirror.url], skip_update=False, offline=False)
    assert res.updated and sha(tmp_path / "c" / "vigil.db") == sha(fixture_db)
    p = run("db", "pack", str(tmp_path / "empty"))
    assert p.returncode == 2 and "no vigil.db" in p.stderr


# --------------------------------------------------------------------------------------------- fallback


def test_fallback_on_429_and_on_a_dead_repository(mirror_factory: Any, artifact_a: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    busy: Mirror = mirror_factory(artifact_a, fail_with=429)  # also sends Retry-After: 60, which we do not wait for
    good: Mirror = mirror_factory(artifact_a)
    dead = f"http://127.0.0.1:{free_port()}/vigil-db/"
    busy_oci = f"oci://{busy.url.removeprefix('http://').rstrip('/')}/vigil-db:1"
    repos = [busy.url, busy_oci, dead, good.url]
    p = run("db", "pull", "--db-repository", ",".join(repos), "--cache-dir", str(tmp_path), "--debug")
    assert p.returncode == 0, p.stderr
    assert f"from {good.url}" in p.stderr
    # The same fallback in this process, its sleeps recorded instead of waited for: a few short retry pauses,
    # none of them the 60 s the busy mirror asks for.
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    res = ensure_db(tmp_path / "again" / "vigil.db", repos, skip_update=False, offline=False)
    assert res.updated
    assert slept and len(slept) <= 6 and max(slept) <= 1.0, slept
    assert ("/metadata.json", "429") in busy.requests and ("/v2/", "429") in busy.requests
    assert "HTTP 429" in p.stderr and "Connection refused" in p.stderr  # the debug log says why each was skipped
    assert sha(tmp_path / "db" / "vigil.db") == db_sha(artifact_a)

    # every repository failing: exit 2, one line naming each failure
    p = run("db", "pull", "--db-repository", f"{busy.url},{dead}", "--cache-dir", str(tmp_path / "none"))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    line = p.stderr.strip()
    assert "\n" not in line and "HTTP 429" in line and dead in line


def test_503_then_good_repository_python_level(mirror_factory: Any, artifact_a: Path, tmp_path: Path) -> None:
    down: Mirror = mirror_factory(artifact_a, fail_with=503)
    good: Mirror = mirror_factory(artifact_a)
    res = ensure_db(tmp_path / "vigil.db", [down.url, good.url], skip_update=False, offline=False)
    assert res.updated and res.source == good.url
    assert [s for _, s in down.requests] == ["503", "503"]  # one quick retry, then the next repository


def test_unloadable_oci_ca_bundle_is_one_repository_failure(mirror_factory: Any, artifact_a: Path,
                                                            tmp_path: Path) -> None:
    """VIGIL_CACERT naming a missing file fails the OCI repositories (one line), not the whole run with an
    'Internal error', and the HTTP mirror after it in the list still serves."""
    good: Mirror = mirror_factory(artifact_a)
    oci = f"oci://127.0.0.1:{free_port()}/security/vigil-db:1"
    env = {"VIGIL_CACERT": str(tmp_path / "missing-ca.pem")}
    p = run("db", "pull", "--db-repository", f"{oci},{good.url}", "--cache-dir", str(tmp_path / "a"), env=env)
    assert p.returncode == 0, p.stderr
    assert f"from {good.url}" in p.stderr and sha(tmp_path / "a" / "db" / "vigil.db") == db_sha(artifact_a)
    p = run("db", "pull", "--db-repository", oci, "--cache-dir", str(tmp_path / "b"), env=env)
    assert p.returncode == 2 and "Internal error" not in p.stderr, p.stderr
    assert "missing-ca.pem" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = run("db", "push", str(artifact_a), oci, env=env)
    assert p.returncode == 2 and "Internal error" not in p.stderr, p.stderr
    assert "missing-ca.pem" in p.stderr and len(p.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------------------------- verification


def _tampered(mirror: Mirror) -> None:
    zst = mirror.root / "vigil.db.zst"
    data = bytearray(zst.read_bytes())
    data[100] ^= 0x01  # same size, one bit off
    zst.write_bytes(bytes(data))


def test_digest_mismatch_is_refused_and_the_old_db_kept(mirror_factory: Any, artifact_a: Path, artifact_b: Path,
                                                        tmp_path: Path) -> None:
    db = tmp_path / "vigil.db"
    good: Mirror = mirror_factory(artifact_a)
    ensure_db(db, [good.url], skip_update=False, offline=False)
    before = sha(db)
    bad: Mirror = mirror_factory(artifact_b)
    _tampered(bad)
    res = ensure_db(db, [bad.url], skip_update=False, offline=False, now=A_DUE)
    assert not res.updated and res.warnings and "sha256 mismatch" in res.warnings[0]
    assert sha(db) == before and no_temp_files(tmp_path)
    # metadata that lies about the decompressed DB is refused after decompression
    liar: Mirror = mirror_factory(artifact_b)
    doc = json.loads((liar.root / "metadata.json").read_text())
    doc["db_sha256"] = hashlib.sha256(b"something else").hexdigest()
    (liar.root / "metadata.json").write_text(json.dumps(doc))
    res = ensure_db(db, [liar.url], skip_update=False, offline=False, force=True)
    assert not res.updated and "decompressed DB sha256 mismatch" in res.warnings[0]
    assert sha(db) == before and no_temp_files(tmp_path)
    # with no DB to fall back on it is an error (CLI: exit 2, one line)
    p = run("db", "pull", "--db-repository", bad.url, "--cache-dir", str(tmp_path / "fresh"))
    assert p.returncode == 2 and "sha256 mismatch" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "fresh" / "db" / "vigil.db").exists()


def test_schema_newer_is_an_error_older_is_skipped(mirror_factory: Any, artifact_a: Path, tmp_path: Path) -> None:
    newer: Mirror = mirror_factory(artifact_a)
    older: Mirror = mirror_factory(artifact_a)
    good: Mirror = mirror_factory(artifact_a)
    for m, version in ((newer, 99), (older, 1)):
        doc = json.loads((m.root / "metadata.json").read_text())
        doc["schema_version"] = version
        (m.root / "metadata.json").write_text(json.dumps(doc))
    with pytest.raises(SchemaTooNew, match=r"schema 99, newer than this Vigil supports .*upgrade vigil"):
        ensure_db(tmp_path / "a" / "vigil.db", [newer.url, good.url], skip_update=False, offline=False)
    p = run("db", "pull", "--db-repository", newer.url, "--cache-dir", str(tmp_path / "b"))
    assert p.returncode == 2 and "upgrade vigil" in p.stderr and "Traceback" not in p.stderr
    res = ensure_db(tmp_path / "c" / "vigil.db", [older.url, good.url], skip_update=False, offline=False)
    assert res.updated and res.source == good.url
    assert ("/vigil.db.zst", "200") not in older.requests


# --------------------------------------------------------------------------------------------- auto-update


def test_auto_update_after_next_update_and_at_most_hourly(mirror_factory: Any, artifact_a: Path,
                                                          artifact_b: Path, tmp_path: Path) -> None:
    mirror: Mirror = mirror_factory(artifact_a)
    db = tmp_path / "vigil.db"
    t = dt.datetime(2026, 1, 1, 6, tzinfo=dt.UTC)
    ensure_db(db, [mirror.url], skip_update=False, offline=False, now=t)
    n = len(mirror.requests)
    # before next_update: no request at all
    res = ensure_db(db, [mirror.url], skip_update=False, offline=False, now=t + dt.timedelta(hours=17))
    assert not res.checked and len(mirror.requests) == n
    # --skip-db-update: none either, even when due
    ensure_db(db, [mirror.url], skip_update=True, offline=False, now=A_DUE)
    assert len(mirror.requests) == n
    # due: the newer DB is fetched
    for f in ("metadata.json", "vigil.db.zst"):
        shutil.copy(artifact_b / f, mirror.root / f)
    res = ensure_db(db, [mirror.url], skip_update=False, offline=False, now=A_DUE)
    assert res.updated and sha(db) == db_sha(artifact_b)
    # due again, the mirror is down: one attempt, old DB kept with a warning
    mirror.fail_with = 503
    n = len(mirror.requests)
    res = ensure_db(db, [mirror.url], skip_update=False, offline=False, now=B_DUE)
    assert res.checked and res.warnings and len(mirror.requests) > n and sha(db) == db_sha(artifact_b)
    state = json.loads((tmp_path / STATE_FILENAME).read_text())
    assert state["last_attempt"] == "2026-01-03T01:00:00Z"
    # 30 minutes later: no new attempt; 61 minutes later: one
    n = len(mirror.requests)
    res = ensure_db(db, [mirror.url], skip_update=False, offline=False, now=B_DUE + dt.timedelta(minutes=30))
    assert not res.checked and len(mirror.requests) == n
    res = ensure_db(db, [mirror.url], skip_update=False, offline=False, now=B_DUE + dt.timedelta(minutes=61))
    assert res.checked and len(mirror.requests) > n


# --------------------------------------------------------------------------------------------- concurrency

_SCANNER = """
import json, subprocess, sys, time
from pathlib import Path
db, lockfile, stop = sys.argv[1:4]
runs = fails = 0
while not Path(stop).exists() or runs < 2:
    p = subprocess.run([sys.executable, "-m", "vigil.shells.cli.main", "fs", lockfile, "--db-path", db,
                        "--skip-db-update", "-f", "json"], capture_output=True, text=True)
    runs += 1
    try:
        ids = {v["VulnerabilityID"] for r in json.loads(p.stdout)["Results"] for v in r.get("Vulnerabilities", [])}
        ok = p.returncode == 0 and "CVE-2020-14343" in ids
    except (ValueError, KeyError):
        ok = False
    if not ok:
        fails += 1
        print("FAIL", p.returncode, p.stderr[-500:], file=sys.stderr)
print(json.dumps({"runs": runs, "fails": fails}))
"""


_SWAPPER = """
import hashlib, json, sys, time
from pathlib import Path
from vigil.dbdist.update import ensure_db
db, a, b = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
installed = []
for i in range(10):
    time.sleep(0.15)  # spread the swaps over the scans
    res = ensure_db(db, [b if i % 2 == 0 else a], skip_update=False, offline=False, force=True)
    assert res.updated, res
    installed.append(hashlib.sha256(db.read_bytes()).hexdigest())
print(json.dumps(installed))
"""


def test_scans_never_fail_while_the_db_is_swapped(mirror_factory: Any, artifact_a: Path, artifact_b: Path,
                                                  tmp_path: Path) -> None:
    ma: Mirror = mirror_factory(artifact_a)
    mb: Mirror = mirror_factory(artifact_b)
    db = tmp_path / "db" / "vigil.db"
    ensure_db(db, [ma.url], skip_update=False, offline=False)
    stop = tmp_path / "stop"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    scanners = [subprocess.Popen([sys.executable, "-c", _SCANNER, str(db), str(LOCKFILE), str(stop)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for _ in range(6)]
    try:
        swapper = subprocess.run([sys.executable, "-c", _SWAPPER, str(db), ma.url, mb.url], capture_output=True,
                                 text=True, env=env, timeout=120)
    finally:
        stop.touch()
        outs = [s.communicate(timeout=120) for s in scanners]
    assert swapper.returncode == 0, swapper.stderr
    # ten real swaps: B, A, B, A, ...
    assert json.loads(swapper.stdout) == [db_sha(artifact_b), db_sha(artifact_a)] * 5
    assert mb.paths().count("/vigil.db.zst") == 5 and ma.paths().count("/vigil.db.zst") == 6
    results = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    assert sum(r["fails"] for r in results) == 0, [e for _, e in outs]
    assert sum(r["runs"] for r in results) >= 12
    assert no_temp_files(db.parent)


_UPDATER = """
import json, sys
from pathlib import Path
from vigil.dbdist.update import ensure_db
res = ensure_db(Path(sys.argv[1]), [sys.argv[2]], skip_update=False, offline=False)
print(json.dumps({"updated": res.updated, "message": res.message}))
"""


def test_concurrent_updaters_download_once(mirror_factory: Any, artifact_a: Path, tmp_path: Path) -> None:
    mirror: Mirror = mirror_factory(artifact_a)
    db = tmp_path / "vigil.db"
    procs = [subprocess.Popen([sys.executable, "-c", _UPDATER, str(db), mirror.url], stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert sum(o["updated"] for o in outs) == 1
    assert {o["message"] for o in outs if not o["updated"]} == {"updated by another process"}
    assert mirror.paths().count("/vigil.db.zst") == 1
    assert sha(db) == db_sha(artifact_a)


# --------------------------------------------------------------------------------------------- offline

_AUDITED = """
import json, sys
connects = []
def hook(event, args):
    if event == "socket.connect":
        connects.append(repr(args[1]))
sys.addaudithook(hook)
from vigil.dbdist.prepare import prepare_db
from vigil.settings import db_options
offline = sys.argv[3] == "offline"
values = {"db_path": sys.argv[1], "db_repository": (sys.argv[2],), "offline_scan": offline}
db = prepare_db(db_options(values))
from vigil.shells.cli.main import cli
try:
    cli.main(["fs", sys.argv[4], "--db-path", str(db), "-f", "json", "-o", sys.argv[5]]
             + (["--offline-scan"] if offline else []), standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(connects))
"""


def test_offline_scan_makes_zero_connections(mirror_factory: Any, artifact_a: Path, artifact_b: Path,
                                             tmp_path: Path) -> None:
    mirror: Mirror = mirror_factory(artifact_b)
    db = tmp_path / "vigil.db"
    shutil.copy(artifact_a / "vigil.db", db)  # next_update long passed: an online run would update
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}

    def audited(mode: str) -> list[str]:
        out = tmp_path / f"{mode}.json"
        p = subprocess.run([sys.executable, "-c", _AUDITED, str(db), mirror.url, mode, str(LOCKFILE), str(out)],
                           capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 0, p.stderr
        report = json.loads(out.read_text())
        assert any(v["VulnerabilityID"] == "CVE-2020-14343"
                   for r in report["Results"] for v in r.get("Vulnerabilities", []))
        return list(json.loads(p.stdout.strip().splitlines()[-1]))

    assert audited("offline") == []
    assert mirror.requests == []
    assert sha(db) == sha(artifact_a / "vigil.db")
    # the same run online does connect (the hook sees connections) and updates the DB
    assert audited("online")
    assert mirror.paths() == ["/metadata.json", "/vigil.db.zst"] and sha(db) == db_sha(artifact_b)


def test_offline_without_a_db_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(UpdateError, match="download one on a connected machine"):
        ensure_db(tmp_path / "vigil.db", ["https://mirror.invalid/"], skip_update=True, offline=True)


# --------------------------------------------------------------------------------------------- incremental


def test_delta_update_fetches_only_the_delta(mirror_factory: Any, feeds_dir: Path, tmp_path: Path) -> None:
    import yaml
    from tests.conftest import FIXTURE_FEEDS, write_feeds
    from tests.dbdist_helpers import build_artifact

    from vigil.dbdist.artifact import pack
    from vigil.vulndb.build.builder import build

    # yesterday's build lacks one PyPA advisory; today's has it and a delta against yesterday's
    pypa = yaml.safe_load(FIXTURE_FEEDS.read_text())["pypa/pypa-osv.jsonl.gz"]
    old_feeds = write_feeds(tmp_path / "old-feeds", {"pypa/pypa-osv.jsonl.gz": pypa[:-1]})
    old = build_artifact(old_feeds, tmp_path / "old", dt.datetime(2025, 12, 31, tzinfo=dt.UTC))
    new = tmp_path / "new"
    res = build(feeds_dir, new, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), previous=old)
    assert res.delta is not None, res.delta_error
    meta = pack(new)
    assert len(meta.deltas) == 1 and meta.deltas[0].size < meta.compressed_size

    db = tmp_path / "client" / "vigil.db"
    ensure_db(db, [mirror_factory(old).url], skip_update=False, offline=False)
    mirror: Mirror = mirror_factory(new)
    got = ensure_db(db, [mirror.url], skip_update=False, offline=False, now=dt.datetime(2026, 1, 1, 1,
                                                                                         tzinfo=dt.UTC))
    assert got.updated and got.delta and got.downloaded == meta.deltas[0].size
    assert mirror.paths() == ["/metadata.json", f"/{meta.deltas[0].file}"]  # vigil.db.zst not fetched
    from vigil.vulndb.delta import logical_digest

    assert logical_digest(db) == meta.logical_digest
    p = run("fs", str(LOCKFILE), "--db-path", str(db), "--skip-db-update", "-f", "json")
    assert p.returncode == 0 and "CVE-2020-14343" in p.stdout

    # a damaged delta: the client falls back to the full download
    db2 = tmp_path / "client2" / "vigil.db"
    ensure_db(db2, [mirror_factory(old).url], skip_update=False, offline=False)
    broken: Mirror = mirror_factory(new)
    delta_file = broken.root / meta.deltas[0].file
    doc = json.loads((broken.root / "metadata.json").read_text())
    delta_file.write_bytes(b"\x28\xb5\x2f\xfd" + b"garbage" * 10)
    doc["deltas"][0].update(size=delta_file.stat().st_size, sha256=sha(delta_file))
    (broken.root / "metadata.json").write_text(json.dumps(doc))
    got = ensure_db(db2, [broken.url], skip_update=False, offline=False, force=True)
    assert got.updated and not got.delta
    assert broken.paths() == ["/metadata.json", f"/{meta.deltas[0].file}", "/vigil.db.zst"]
    assert sha(db2) == meta.db_sha256


def test_a_db_installed_from_a_delta_is_not_downloaded_again(mirror_factory: Any, feeds_dir: Path,
                                                            tmp_path: Path) -> None:
    """After a delta install the file's bytes differ from the published vigil.db.zst (same rows, another page
    layout); the next due check against the same build (a mirror without ETags) must see that build is the one
    installed, not fetch the full DB again."""
    import yaml
    from tests.conftest import FIXTURE_FEEDS, write_feeds
    from tests.dbdist_helpers import build_artifact

    from vigil.dbdist.artifact import pack
    from vigil.vulndb.build.builder import build

    pypa = yaml.safe_load(FIXTURE_FEEDS.read_text())["pypa/pypa-osv.jsonl.gz"]
    old_feeds = write_feeds(tmp_path / "old-feeds", {"pypa/pypa-osv.jsonl.gz": pypa[:-1]})
    old = build_artifact(old_feeds, tmp_path / "old", dt.datetime(2025, 12, 31, tzinfo=dt.UTC))
    new = tmp_path / "new"
    res = build(feeds_dir, new, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), previous=old)
    assert res.delta is not None, res.delta_error
    pack(new)

    db = tmp_path / "client" / "vigil.db"
    ensure_db(db, [mirror_factory(old).url], skip_update=False, offline=False)
    mirror: Mirror = mirror_factory(new)
    mirror.etags = False  # python -m http.server, many CDNs' directory listings: no ETag
    got = ensure_db(db, [mirror.url], skip_update=False, offline=False,
                    now=dt.datetime(2026, 1, 1, 1, tzinfo=dt.UTC))
    assert got.delta
    before = sha(db)
    # the installed build's next_update (2026-01-02) has passed and the publisher has not published since
    got = ensure_db(db, [mirror.url], skip_update=False, offline=False,
                    now=dt.datetime(2026, 1, 2, 3, tzinfo=dt.UTC))
    assert not got.updated and got.checked
    assert mirror.paths()[2:] == ["/metadata.json"]  # vigil.db.zst not fetched again
    assert sha(db) == before
    # `vigil db pull` (force) says the same
    got = ensure_db(db, [mirror.url], skip_update=False, offline=False, force=True)
    assert not got.updated and "is the one installed" in got.message
    assert "/vigil.db.zst" not in mirror.paths()
