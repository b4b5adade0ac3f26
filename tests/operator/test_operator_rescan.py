"""Rescans without Jobs: a new DB on the server re-matches the stored packages of every scanned digest (on the
server, from the store; no image pull, no Job) and only the reports whose findings changed are written."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import FIXTURE_FEEDS, write_feeds
from tests.k8s.conftest import Images
from tests.k8s_helpers import KCluster
from tests.operator.conftest import Kubelet, kubelet_env, objects, run
from tests.operator.test_operator_scans import make, passes

NEW_CVE = "CVE-2026-31337"


def crs(kc: KCluster, plural: str) -> dict[str, dict[str, Any]]:
    return {f"{o['metadata']['namespace']}/{o['metadata']['name']}": copy.deepcopy(o) for o in objects(kc, plural)}


def vulns(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(v["VulnerabilityID"], v["PkgName"]) for r in report["Results"] for v in r.get("Vulnerabilities") or ()}


def _bump(version: str) -> str:
    """A later apk version of the same upstream release ("1.2.3-r4" → "1.2.3-r99")."""
    base, _, _ = version.rpartition("-r")
    return f"{base or version}-r99"


def db_with_advisory(tmp: Path, os_name: str, pkg: str, version: str) -> Path:
    """The fixture feeds plus one Alpine advisory for `pkg` (fixed after `version`), built as a newer DB."""
    import yaml

    from vigil.vulndb.build.builder import build

    feeds: dict[str, Any] = yaml.safe_load(FIXTURE_FEEDS.read_text(encoding="utf-8"))
    key = "alpine-secdb/alpine-secdb-2024.jsonl.gz"
    branch = "v" + ".".join(os_name.split(".")[:2])
    extra = {"_source_path": f"alpine/{branch}/community.json", "apkurl": "", "archs": ["x86_64"],
             "distroversion": branch, "reponame": "community", "urlprefix": "",
             "packages": [{"pkg": {"name": pkg, "secfixes": {_bump(version): [NEW_CVE]}}}]}
    src = write_feeds(tmp / "feeds", {key: [*feeds[key], extra]})
    return build(src, tmp / "db", now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), vigil_version="test").db_path


def test_new_db_rematches_without_jobs_and_updates_only_changed_reports(
        op_cluster: KCluster, vigil_server: Any, images: Images, tmp_path: Path) -> None:
    kubelet = Kubelet(op_cluster, "vigil-system", tmp_path, kubelet_env(tmp_path))
    rec, client = make(op_cluster, vigil_server, config_audit=False)

    found: dict[str, Any] = {}

    async def go() -> None:
        async with client:
            await passes(rec, kubelet)
            found.update(swap_in_new_db())
            await rec.reconcile_once()
            await rec.store.close()

    def swap_in_new_db() -> dict[str, Any]:
        assert len(kubelet.ran) == 2
        before = {p: crs(op_cluster, p) for p in ("vulnerabilityreports", "exposedsecretreports", "sbomreports")}
        alpine = {k: v for k, v in before["vulnerabilityreports"].items()
                  if v["report"]["artifact"]["digest"] == images.alpine_digest}
        assert alpine and len(alpine) < len(before["vulnerabilityreports"])
        stored = httpx.get(next(iter(alpine.values()))["report"]["fullReport"]).json()
        assert stored["Metadata"]["DbBuiltAt"] == "2026-01-01T00:00:00Z"
        os_pkgs = next(r for r in stored["Results"] if r["Class"] == "os-pkgs")
        pkg = next(p for p in os_pkgs["Packages"] if not any(v["PkgName"] == p["Name"]
                                                             for v in os_pkgs.get("Vulnerabilities") or ()))
        new_db = db_with_advisory(tmp_path / "new", stored["Metadata"]["OS"]["Name"], pkg["Name"], pkg["Version"])
        staged = vigil_server.db.with_name("vigil.db.new")
        shutil.copy2(new_db, staged)
        os.replace(staged, vigil_server.db)  # the server's DB swap: the next request sees the new file
        # Alpine advisories name source packages: every binary package built from it is affected
        hit = {(NEW_CVE, q["Name"]) for q in os_pkgs["Packages"] if (q.get("SrcName") or q["Name"]) == pkg["Name"]}
        return {"before": before, "alpine": alpine, "stored": stored, "hit": hit}

    run(go())
    before, alpine, stored, hit = found["before"], found["alpine"], found["stored"], found["hit"]
    assert len(kubelet.ran) == 2 and not objects(op_cluster, "jobs", "vigil-system")  # no Job, no pull
    assert rec.stats.rematches == {"changed": 1, "unchanged": 1}
    after = {p: crs(op_cluster, p) for p in before}
    for name, cr in after["vulnerabilityreports"].items():
        old = before["vulnerabilityreports"][name]
        if name in alpine:  # the new advisory is in every alpine workload's report, counted and listed
            ids = {v["vulnerabilityID"] for v in cr["report"]["vulnerabilities"]}
            assert NEW_CVE in ids, name
            assert cr["report"]["fullReport"] != old["report"]["fullReport"]
            fresh = httpx.get(cr["report"]["fullReport"]).json()
            assert hit and vulns(fresh) == vulns(stored) | hit
            total = sum(cr["report"]["summary"].values())
            assert total == sum(old["report"]["summary"].values()) + len(hit)
            assert fresh["Metadata"]["DbBuiltAt"] == "2026-06-01T00:00:00Z"
            assert [s for r in fresh["Results"] for s in r.get("Secrets") or ()] == \
                [s for r in stored["Results"] for s in r.get("Secrets") or ()]
        else:  # the rhel image's findings did not change: its CRs were not written at all
            assert cr == old, name
    # secrets and SBOMs do not depend on the DB: untouched everywhere
    assert after["exposedsecretreports"] == before["exposedsecretreports"]
    assert after["sbomreports"] == before["sbomreports"]
    # the store has the re-matched scan as the digest's newest (a restarted operator starts from it)
    targets = httpx.get(f"{vigil_server.url}/v1/targets", params={
        "label": f"vigil.dev/image-digest={images.alpine_digest}"}).json()["items"]
    assert targets and json.dumps(targets[0]).count(str(targets[0]["last_scan_id"]))
    assert str(targets[0]["last_scan_id"]) in next(iter(after["vulnerabilityreports"][n]
                                                        for n in alpine))["report"]["fullReport"]
