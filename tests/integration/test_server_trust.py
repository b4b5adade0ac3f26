"""Who decides a client's results on a shared `vigil server`: the attacks of a client holding a token against the
blob cache (real servers, real CLI clients, raw PUTs for the attacker).

A fs/sbom blob is content-addressed (its key is the digest of its encoding): the server checks it and shares it. An
image layer's key hashes the layer DiffID with the client's analyzer set: the server cannot check it, so layer blobs
are kept per token, and the first upload under a key stays."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from tests.cli_helpers import run
from tests.integration.test_server import ALPINE, DEMO, TOKEN, Server, _env, _report, start_server, vulns

from vigil.findings.analysis import BlobInfo

JUNK = BlobInfo(diff_id="sha256:" + "1" * 64)  # "no packages here": any DiffID but the key or its own digest


def _plant(server: Server, key: str, token: str = TOKEN) -> int:
    r = httpx.put(f"{server.url}/v1/blobs/{key}", content=msgspec.msgpack.encode(JUNK),
                  headers={"Vigil-Token": token}, timeout=10)
    return r.status_code


def _db(tmp: Path, fixture_db: Path) -> Path:
    d = tmp / "db"
    d.mkdir()
    shutil.copy2(fixture_db, d / "vigil.db")
    return d / "vigil.db"


def _server(tmp: Path, db: Path, *tokens: str) -> Server:
    f = tmp / "tokens"
    f.write_text("".join(t + "\n" for t in tokens))
    return start_server(tmp, db, "--token-file", str(f))


def _scan(cmd: str, args: tuple[str, ...], home: Path, server: Server | None = None,
          token: str = TOKEN, db: Path | None = None) -> Any:
    where = ("--server", server.url, "--token", token) if server else ("--db-path", str(db))
    return run(cmd, *args, "--format", "json", *where, env=_env(home))


def _layer_keys(tmp: Path) -> list[str]:
    """The image layer keys the server holds (what an attacker computes from the public image)."""
    with sqlite3.connect(tmp / "server-cache" / "analysis" / "analysis.sqlite") as c:
        rows = [r[0] for r in c.execute("SELECT key FROM blobs")]
    return sorted({k.rsplit("/", 1)[-1] for k in rows if not k.startswith("ca/")})


def test_fs_blob_cannot_be_planted_or_overwritten(fixture_db: Path, tmp_path: Path) -> None:
    """Same token (the single-token default): a PUT under the key of another client's fs analysis never becomes
    that client's result. Planted before the victim's first scan, it costs the victim one failed run (never a
    passing gate); planted over the victim's blob, it changes nothing."""
    from tests.pipeline_helpers import analyze_dir as analyze_fs

    from vigil.settings import ScanOptions

    db = _db(tmp_path, fixture_db)
    demo = tmp_path / "demo"
    shutil.copytree(DEMO, demo)
    srv = _server(tmp_path, db, TOKEN)
    try:
        local = _report(_scan("fs", (str(demo),), tmp_path, db=db))
        assert vulns(local) > 0
        key = analyze_fs(ScanOptions(target=demo, db_path=db)).diff_id  # what anyone with the checkout computes
        assert _plant(srv, key) == 204
        gate = ("--exit-code", "1", "--severity", "HIGH,CRITICAL")
        first = run("fs", str(demo), *gate, "--server", srv.url, "--token", TOKEN, env=_env(tmp_path))
        assert first.returncode != 0  # the gate does not pass on the planted blob
        assert "not on the server" in first.stderr, first.stderr
        assert _report(_scan("fs", (str(demo),), tmp_path, srv)) == local  # the next run uploads its own
        # overwrite: the victim's blob is on the server; a PUT of other content under its key is not served
        assert _plant(srv, key) == 204
        assert _report(_scan("fs", (str(demo),), tmp_path, srv)) == local
        # a blob that says it is content-addressed must be stored under its own digest
        from tests.pipeline_helpers import content_addressed

        fake = content_addressed(JUNK)
        r = httpx.put(f"{srv.url}/v1/blobs/{key}", content=msgspec.msgpack.encode(fake),
                      headers={"Vigil-Token": TOKEN}, timeout=10)
        assert r.status_code == 422 and "does not match" in r.json()["Error"]
        assert _report(_scan("fs", (str(demo),), tmp_path, srv)) == local
    finally:
        srv.stop()


def test_image_layer_blob_is_never_replaced(fixture_db: Path, tmp_path: Path) -> None:
    """Same token: the first upload of a layer's analysis stays; a later PUT of other content under the key is
    answered 204 (a racing second client must not fail) and changes nothing."""
    if not ALPINE.is_file():
        pytest.skip("../shared images not present")
    db = _db(tmp_path, fixture_db)
    srv = _server(tmp_path, db, TOKEN)
    args = ("--input", str(ALPINE), "--cache-backend", "memory")
    try:
        first = _report(_scan("image", args, tmp_path, srv))
        assert vulns(first) > 0
        keys = _layer_keys(tmp_path)
        assert len(keys) == len(first["Metadata"]["Layers"])
        for k in keys:
            assert _plant(srv, k) == 204
        assert _report(_scan("image", args, tmp_path, srv)) == first
    finally:
        srv.stop()


def test_tokens_do_not_share_layer_blobs(fixture_db: Path, tmp_path: Path) -> None:
    """Several tokens (one per line of the token file): what one token uploads for image layers is never served
    to another, so a token holder cannot plant results for another team's first scan of a public base image.
    Checked fs blobs are shared: a second token uploads nothing for the same directory."""
    if not ALPINE.is_file():
        pytest.skip("../shared images not present")
    db = _db(tmp_path, fixture_db)
    alice, mallory, carol = "alice-token-0123456789", "mallory-token-0123456789", "carol-token-0123456789"
    srv = _server(tmp_path, db, alice, mallory, carol)
    args = ("--input", str(ALPINE), "--cache-backend", "memory")
    try:
        local = _report(_scan("image", args, tmp_path, db=db))
        assert _report(_scan("image", args, tmp_path, srv, token=alice)) == local
        keys = _layer_keys(tmp_path)
        for k in keys:  # mallory plants "nothing installed" under every layer key of the public image
            assert _plant(srv, k, token=mallory) == 204
        assert _report(_scan("image", args, tmp_path, srv, token=carol)) == local  # carol's first scan
        assert _report(_scan("image", args, tmp_path, srv, token=alice)) == local
        # mallory is served mallory's own uploads: one token, one trust domain
        assert vulns(_report(_scan("image", args, tmp_path, srv, token=mallory))) == 0
        uploaded = srv.metric("vigil_blobs_uploaded_total")
        assert _report(_scan("fs", (str(DEMO),), tmp_path, srv, token=alice)) == \
            _report(_scan("fs", (str(DEMO),), tmp_path, srv, token=carol))
        assert srv.metric("vigil_blobs_uploaded_total") - uploaded == 1
        r = srv.get("/version", headers={"Vigil-Token": "not-a-token"})
        assert r.status_code == 401
    finally:
        srv.stop()
