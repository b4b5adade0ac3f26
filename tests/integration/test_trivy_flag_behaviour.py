"""Trivy's flags do what Trivy's do: --ignore-status, --ignore-policy (Rego), --misconfig-scanners, --timeout,
--password-stdin, --max-image-size, --table-mode, and `vigil server --token` with a client's --custom-headers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.cli_helpers import run
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-project"
IMAGE = SHARED / "data" / "images" / "alpine-like.docker.tar"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    dst = tmp_path / "demo"
    shutil.copytree(DEMO, dst)
    (dst / "Dockerfile").write_text("FROM alpine:3.19\nRUN apk add --no-cache curl\n")
    (dst / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
                                  "    - name: c\n      image: nginx\n")
    return dst


def _json(*args: str, cwd: Path) -> dict[str, Any]:
    p = run(*args, "--format", "json", cwd=cwd)
    assert p.returncode == 0, p.stderr
    doc: dict[str, Any] = json.loads(p.stdout)
    return doc


def _vulns(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for r in doc["Results"] for v in r.get("Vulnerabilities", ())]


def test_ignore_status(demo: Path, fixture_db: Path) -> None:
    base = _vulns(_json("fs", ".", "--db-path", str(fixture_db), cwd=demo))
    statuses = {v["Status"] for v in base}
    assert "fixed" in statuses
    kept = _vulns(_json("fs", ".", "--db-path", str(fixture_db), "--ignore-status", "fixed", cwd=demo))
    assert kept == [v for v in base if v["Status"] != "fixed"]


def test_ignore_policy(demo: Path, fixture_db: Path, tmp_path: Path) -> None:
    policy = tmp_path / "ignore.rego"
    policy.write_text('package trivy\n\ndefault ignore = false\n\nignore {\n  input.PkgName == "lodash"\n}\n\n'
                      'ignore {\n  input.ID == "DS-0002"\n}\n')
    args = ("fs", ".", "--db-path", str(fixture_db), "--scanners", "vuln,misconfig")
    base = _json(*args, cwd=demo)
    assert any(v["PkgName"] == "lodash" for v in _vulns(base))
    doc = _json(*args, "--ignore-policy", str(policy), cwd=demo)
    assert not any(v["PkgName"] == "lodash" for v in _vulns(doc))
    assert [v for v in _vulns(doc)] == [v for v in _vulns(base) if v["PkgName"] != "lodash"]
    misconf = [m["ID"] for r in doc["Results"] for m in r.get("Misconfigurations", ())]
    assert "DS-0002" not in misconf and misconf, misconf
    reasons = {s["Reason"] for s in doc["Metadata"]["Suppressed"]}
    assert reasons == {f"ignore policy {policy}"}
    # a policy that does not compile is the user's error: one line, exit 2
    policy.write_text("package trivy\n\nignore {\n  input.PkgName ==\n}\n")
    p = run(*args, "--ignore-policy", str(policy), cwd=demo)
    assert p.returncode == 2 and "ignore policy" in p.stderr and "Traceback" not in p.stderr


def test_misconfig_scanners(demo: Path) -> None:
    every = {r["Type"] for r in _json("config", ".", cwd=demo)["Results"]}
    assert {"dockerfile", "kubernetes"} <= every
    only = {r["Type"] for r in _json("config", ".", "--misconfig-scanners", "kubernetes,terraform",
                                     cwd=demo)["Results"]}
    assert only == {"kubernetes"}


def test_timeout_bounds_the_run(demo: Path) -> None:
    p = run("config", ".", "--timeout", "1ms", cwd=demo)
    assert p.returncode == 2 and "did not finish within --timeout 1ms" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    assert run("config", ".", "--timeout", "10m0s", cwd=demo).returncode == 0
    p = run("config", ".", "--timeout", "soon", cwd=demo)
    assert p.returncode == 2 and "--timeout" in p.stderr


def test_password_stdin_and_max_image_size(tmp_path: Path) -> None:
    p = run("image", "--input", str(IMAGE), "--password-stdin", "--password", "x", cwd=tmp_path)
    assert p.returncode == 2 and "--password-stdin" in p.stderr
    if not IMAGE.exists():
        pytest.skip(f"{IMAGE} not present")
    p = run("image", "--input", str(IMAGE), "--scanners", "secret", "--max-image-size", "1kB", cwd=tmp_path)
    assert p.returncode == 2 and "--max-image-size" in p.stderr and "Traceback" not in p.stderr
    p = run("image", "--input", str(IMAGE), "--scanners", "secret", "--max-image-size", "1GB", cwd=tmp_path)
    assert p.returncode == 0, p.stderr


def test_table_mode(demo: Path) -> None:
    summary = run("config", ".", "--table-mode", "summary", cwd=demo).stdout
    assert "Report Summary" in summary and "Tests:" not in summary
    detailed = run("config", ".", "--table-mode", "detailed", cwd=demo).stdout
    assert "Report Summary" not in detailed and "Tests:" in detailed and "DS-0002 (HIGH):" in detailed


def test_server_token_and_custom_headers(tmp_path: Path, fixture_db: Path) -> None:
    from tests.integration.test_server import start_server

    db = tmp_path / "db" / "vigil.db"
    db.parent.mkdir()
    shutil.copy2(fixture_db, db)
    server = start_server(tmp_path, db, "--token", "s3cret-token")
    try:
        assert server.get("/version").status_code == 401
        assert server.get("/version", headers={"Vigil-Token": "s3cret-token"}).status_code == 200
        p = run("fs", str(DEMO), "--server", server.url, "--token", "s3cret-token", "--custom-headers",
                "X-Team:platform", "--format", "json", cwd=tmp_path)
        assert p.returncode == 0 and _vulns(json.loads(p.stdout)), p.stderr
        p = run("fs", str(DEMO), "--server", server.url, "--token", "t", "--custom-headers", "nocolon", cwd=tmp_path)
        assert p.returncode == 2 and "NAME:VALUE" in p.stderr
    finally:
        server.stop()
    token_file = tmp_path / "tokens"
    token_file.write_text("a\n")
    p = run("server", "--token", "x", "--token-file", str(token_file), "--db-path", str(db), cwd=tmp_path)
    assert p.returncode == 2 and "give the clients' token once" in p.stderr


def test_k8s_version_judges_deprecated_apis(tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_text(
        "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: pdb\nspec:\n  minAvailable: 1\n"
        "---\napiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: hpa\nspec:\n"
        "  maxReplicas: 2\n")

    def deprecated(*extra: str) -> list[str]:
        doc = _json("config", ".", *extra, cwd=tmp_path)
        return sorted(m["Message"].split()[1] for r in doc["Results"] for m in r.get("Misconfigurations", ())
                      if m["ID"] == "KSV-0107")

    assert deprecated() == ["HorizontalPodAutoscaler", "PodDisruptionBudget"]
    assert deprecated("--k8s-version", "1.25.0") == ["PodDisruptionBudget"]  # autoscaling/v2beta2 went in 1.26
    assert deprecated("--k8s-version", "v1.24") == []
    p = run("config", ".", "--k8s-version", "latest", cwd=tmp_path)
    assert p.returncode == 2 and "--k8s-version" in p.stderr


def test_flags_that_do_not_apply_to_a_command_say_so(demo: Path) -> None:
    p = run("fs", ".", "--scanners", "secret", "--cache-backend", "redis://127.0.0.1:1", "--username", "u",
            "--tf-vars", "prod.tfvars", cwd=demo)
    assert p.returncode == 0, p.stderr
    for flag in ("--cache-backend", "--tf-vars"):
        assert sum(flag in line for line in p.stderr.splitlines()) == 1, p.stderr
    assert "--username" not in p.stderr  # on fs it serves an oci:// DB download
    p = run("config", ".", "--username", "u", cwd=demo)  # config downloads nothing
    assert p.returncode == 0 and sum("--username" in line for line in p.stderr.splitlines()) == 1, p.stderr
    # Trivy's own defaults are not worth a line
    p = run("config", ".", "--cache-backend", "memory", "--cache-ttl", "0s", cwd=demo)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr


def test_redis_tls_flags_make_the_url() -> None:
    from vigil.shells.cli.common import cache_backend_url

    assert cache_backend_url({"cache_backend": "redis://h:6379/0", "redis_tls": True}) == "rediss://h:6379/0"
    assert cache_backend_url({"cache_backend": "redis://h:6379/0", "redis_ca": Path("/c/ca.pem"),
                              "redis_cert": Path("/c/crt.pem"), "redis_key": Path("/c/k.pem")}) == (
        "rediss://h:6379/0?ssl_ca_certs=%2Fc%2Fca.pem&ssl_certfile=%2Fc%2Fcrt.pem&ssl_keyfile=%2Fc%2Fk.pem")
    assert cache_backend_url({"cache_backend": "fs", "redis_tls": True}) == "fs"


def test_distro_names_the_os(tmp_path: Path, fixture_db: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "lib" / "apk" / "db").mkdir(parents=True)
    (root / "lib" / "apk" / "db" / "installed").write_text("P:musl\nV:1.2.3-r0\nA:x86_64\n\n")
    args = ("rootfs", str(root), "--db-path", str(fixture_db), "--list-all-pkgs")
    plain = _json(*args, cwd=tmp_path)
    assert "OS" not in plain["Metadata"] and not any(r["Class"] == "os-pkgs" for r in plain["Results"])
    named = _json(*args, "--distro", "alpine/3.16", cwd=tmp_path)
    assert named["Metadata"]["OS"]["Family"] == "alpine" and named["Metadata"]["OS"]["Name"] == "3.16"
    os_pkgs = [r for r in named["Results"] if r["Class"] == "os-pkgs"]
    assert [p["Name"] for p in os_pkgs[0]["Packages"]] == ["musl"]
    p = run(*args, "--distro", "alpine", cwd=tmp_path)
    assert p.returncode == 2 and "FAMILY/VERSION" in p.stderr


def test_file_patterns(tmp_path: Path, fixture_db: Path) -> None:
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "prod-deps.txt").write_text("django==2.2.0\n")
    args = ("fs", ".", "--db-path", str(fixture_db), "--list-all-pkgs")
    assert _json(*args, cwd=tmp_path)["Results"] == []
    doc = _json(*args, "--file-patterns", r"pip:deps/prod-.*\.txt", cwd=tmp_path)
    assert [(r["Target"], r["Type"], [p["Name"] for p in r["Packages"]]) for r in doc["Results"]] == [
        ("deps/prod-deps.txt", "pip", ["django"])]
    assert _vulns(doc)
    for bad, why in (("pip:(", "invalid regular expression"), ("nosuch:x", "unknown type"), ("pip", "TYPE:REGEX")):
        p = run(*args, "--file-patterns", bad, cwd=tmp_path)
        assert p.returncode == 2 and why in p.stderr and "Traceback" not in p.stderr, p.stderr
    p = run(*args, "--file-patterns", "helm:.*\\.chart", cwd=tmp_path)  # config types: test_trivy_misconfig_selection
    assert p.returncode == 0 and "helm files are found by their names only" in p.stderr
