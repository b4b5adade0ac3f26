"""The collector pause around each analyzer call: no collection runs while a lockfile is parsed, the collector
comes back as it was, and pool workers leave the parent's objects out of their collections."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from vigil import gcpause
from vigil.analysis.dispatch import analyze_tree, to_blob
from vigil.analysis.parallel import fork_map
from vigil.analyzers import registry
from vigil.pipeline.analyze import analyzer_set
from vigil.settings import ScanOptions
from vigil.sources.fs import FsTree


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every collection that starts while the fixture is active."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)


def _big_lock(root: Path, n: int = 3000) -> None:
    # thousands of dicts: far past the collector's young threshold (700 allocations)
    packages = {"": {"name": "app", "dependencies": {f"p{i}": "1.0.0" for i in range(n)}}}
    packages.update({f"node_modules/p{i}": {"version": "1.0.0", "dependencies": {"x": "1"}} for i in range(n)})
    (root / "package-lock.json").write_text(json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages},
                                                       indent=2))


def test_no_collection_runs_while_an_analyzer_parses(tmp_path: Path, collections: list[int],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _big_lock(tmp_path)
    during: list[int] = []
    real = registry.run_guarded

    def counting(a: registry.Analyzer, inp: registry.AnalysisInput) -> registry.AnalysisResult:
        before = len(collections)
        try:
            return real(a, inp)
        finally:
            during.append(len(collections) - before)

    monkeypatch.setattr("vigil.analysis.dispatch.run_guarded", counting)
    aset = analyzer_set(ScanOptions(target=tmp_path, db_path=tmp_path / "none.db", scanners=("vuln",)),
                        "filesystem")
    assert gc.isenabled()
    blob = to_blob(analyze_tree(FsTree(tmp_path), aset), aset)
    assert len(blob.applications[0].packages) == 3000  # the parse did its work ...
    assert during == [0]  # ... with no collection in it
    assert gc.isenabled()  # and the collector is back on


def test_pause_nests_and_keeps_a_collector_that_was_off() -> None:
    assert gc.isenabled()
    with gcpause.paused():
        assert not gc.isenabled()
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()  # turned off by its owner: stays off
    finally:
        gc.enable()


def test_overlapping_pauses_in_threads_resume_once_the_last_ends() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with gcpause.paused():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other)
    t.start()
    try:
        inside.wait(10)
        with gcpause.paused():
            pass
        assert not gc.isenabled()  # the other thread's pause is still on
    finally:
        release.set()
        t.join()
    assert gc.isenabled()


def _freeze_count(state: None, item: int) -> int:
    return gc.get_freeze_count()


def _int(raw: bytes) -> int:
    return int(msgspec.msgpack.decode(raw))


def test_pool_workers_leave_the_parents_objects_out_of_their_collections() -> None:
    assert gc.get_freeze_count() == 0
    counts = list(fork_map(_freeze_count, [1, 2, 3], None, 2, _int))
    assert all(c > 0 for c in counts)  # inherited objects are frozen in each worker
    assert gc.get_freeze_count() == 0  # and collectable again in the parent


class _CountingBackend:
    """A backend whose detection allocates like matching does (containers kept until the report) and records the
    collections that ran meanwhile."""

    def __init__(self, collections: list[int]) -> None:
        self.collections = collections
        self.during = -1
        self.blobs: dict[str, object] = {}

    def missing(self, keys: object) -> list[str]:
        return list(keys)  # type: ignore[call-overload]

    def put(self, key: str, blob: object) -> None:
        self.blobs[key] = blob

    def scan(self, art: object, keys: object, options: object) -> object:
        from vigil.findings.records import Report

        before = len(self.collections)
        kept = [{"finding": i} for i in range(20_000)]
        self.during = len(self.collections) - before
        return Report(artifact_name=str(len(kept)), artifact_type="filesystem")

    def close(self) -> None:
        pass


def test_no_collection_runs_while_a_scan_matches(tmp_path: Path, collections: list[int]) -> None:
    from vigil.pipeline.scan import fs_source, scan

    _big_lock(tmp_path, 10)
    opts = ScanOptions(target=tmp_path, db_path=tmp_path / "none.db", scanners=("vuln",), parallel=1)
    backend = _CountingBackend(collections)
    report = scan(fs_source(opts), opts, backend)  # type: ignore[arg-type]
    assert report.artifact_name == "20000"  # the allocations happened ...
    assert backend.during == 0  # ... with no collection among them
    assert gc.isenabled()


def test_no_collection_runs_while_a_report_is_written(tmp_path: Path, collections: list[int]) -> None:
    from vigil.shells.cli.output import write_report

    during: list[int] = []

    def render(report: int, out: object) -> None:
        before = len(collections)
        doc = [{"component": i} for i in range(report)]  # a reporter builds its document whole
        during.append(len(collections) - before)
        out.write(str(len(doc)))  # type: ignore[attr-defined]

    write_report(render, 20_000, tmp_path / "out")
    assert (tmp_path / "out").read_text() == "20000"
    assert during == [0]
    assert gc.isenabled()


def test_no_collection_runs_while_an_sbom_is_decoded(collections: list[int]) -> None:
    from vigil.pipeline.scan import _parse_sbom

    comps = [{"type": "library", "name": f"pkg{i}", "version": "1.0.0", "purl": f"pkg:npm/pkg{i}@1.0.0",
              "bom-ref": f"pkg:npm/pkg{i}@1.0.0", "properties": [{"name": "x", "value": str(i)}]} for i in range(5000)]
    bom = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps}).encode()
    del comps
    gc.collect()
    before = len(collections)
    blob = _parse_sbom(bom, "big.cdx.json")
    during = len(collections) - before
    assert sum(len(a.packages) for a in blob.applications) == 5000  # tens of thousands of allocations ...
    # ... and no collection while the document is decoded: only the young collection that, once the parse is over,
    # examines what it left (with the collector on, one every 700 allocations)
    assert during <= 1
    assert gc.isenabled()
