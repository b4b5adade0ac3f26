"""Standalone mode: each scan Job's init container downloads the DB (from a plain-HTTP mirror here) into the
emptyDir the scan then reads, as Trivy Operator's Standalone mode does; the report still goes to the server's
store. The Jobs the operator created are valid Kubernetes objects and the kubelet stand-in runs them, init
container first."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest

from tests.k8s.conftest import Images
from tests.k8s_helpers import KCluster
from tests.operator.conftest import Kubelet, kubelet_env, objects, run
from tests.operator.test_operator_scans import make, passes, vuln_reports


@pytest.fixture
def db_mirror(feeds_dir: Path, tmp_path: Path) -> Iterator[str]:
    """The fixture DB as a DB artifact (`vigil db build` + pack) on a plain HTTP server."""
    from vigil.dbdist.artifact import pack
    from vigil.vulndb.build.builder import build

    mirror = tmp_path / "mirror"
    build(feeds_dir, mirror, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), vigil_version="test")
    pack(mirror)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(mirror)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_standalone_jobs_download_the_db_in_an_init_container(op_cluster: KCluster, vigil_server: Any,
                                                              images: Images, db_mirror: str,
                                                              tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    rec, client = make(op_cluster, vigil_server, config_audit=False, mode="Standalone", db_repository=db_mirror)

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            await rec.store.close()

    run(go())
    assert len(kubelet.ran) == 2 and all(r["returncode"] == 0 for r in kubelet.ran), kubelet.last.stderr
    for r in kubelet.ran:
        kubernetes_validate.validate(r["job"], "1.30.0", strict=True)
        pod = r["job"]["spec"]["template"]["spec"]
        (init,) = pod["initContainers"]
        assert init["args"][:2] == ["image", "--download-db-only"] and db_mirror in init["args"]
        assert init["securityContext"]["readOnlyRootFilesystem"] is True
        # the scan detects with the downloaded DB: no server for detection, no update of its own
        assert "--server" not in r["args"] and "--skip-db-update" in r["args"]
        # init and scan share the one emptyDir: the DB lands where the scan reads it
        assert init["volumeMounts"] == [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "tmp"]
    reps = vuln_reports(op_cluster)
    assert reps and all("error" not in r["report"] for r in reps.values())
    r = next(iter(reps.values()))
    assert sum(r["report"]["summary"].values()) > 0
    stored = httpx.get(r["report"]["fullReport"]).json()  # published to the server's store, as in ClientServer
    assert stored["Metadata"]["DbBuiltAt"] == "2026-01-01T00:00:00Z"
    assert not objects(op_cluster, "jobs", "vigil-system")
    assert rec.stats.rematches == {}  # the Jobs' DB is the server's: nothing to re-match
