"""Language matching reads the DB with a query per ecosystem and chunk of 500 names, not one per package, and finds
exactly what per-package reads find (counted with SQLite's trace callback, never timed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from vigil.findings.records import Result
from vigil.findings.wire import DetectionOptions
from vigil.inventory.records import Application, Package
from vigil.pipeline.detect import Inventory, lang_results
from vigil.vulndb.store import Store


def _inventory(n: int) -> Inventory:
    pkgs = [Package(ecosystem="npm", name="lodash", version="4.17.15", id="lodash@4.17.15"),
            Package(ecosystem="npm", name="ws", version="7.4.5", id="ws@7.4.5")]
    pkgs += [Package(ecosystem="npm", name=f"filler-{i}", version="1.0.0", id=f"filler-{i}@1.0.0") for i in range(n)]
    half = len(pkgs) // 2
    return Inventory(applications=[Application(type="npm", file_path="a/package-lock.json", packages=tuple(pkgs[:half])),
                                   Application(type="npm", file_path="b/package-lock.json", packages=tuple(pkgs[half:]))])


def _scan(db: Path, inv: Inventory, *, prefetch: bool, reads: str = "advisories") -> tuple[int, bytes]:
    """(queries of the `reads` table, the results encoded) of matching `inv`; without `prefetch`, the Store's
    prefetch of that table does nothing, so each read is its own query."""
    store = Store(db)
    if not prefetch:
        setattr(store, f"prefetch_{'details' if reads == 'vulnerabilities' else reads}", lambda *_a: None)
    queries: list[str] = []
    store._conn.set_trace_callback(lambda sql: queries.append(sql) if f"FROM {reads}" in sql else None)
    try:
        results, _ = lang_results(inv, DetectionOptions(scanners=("vuln",)), store)
    finally:
        store.close()
    return len(queries), msgspec.json.encode(results)


def test_queries_do_not_grow_with_the_packages(fixture_db: Path) -> None:
    small_q, small = _scan(fixture_db, _inventory(10), prefetch=True)
    big_q, _ = _scan(fixture_db, _inventory(1_200), prefetch=True)
    assert small_q == 1  # 12 names: one chunk
    assert big_q == 3  # 1,202 names: three chunks of at most 500, and no query per package
    assert b"lodash" in small and b"CVE-" in small  # the fixture DB's lodash advisories matched


def test_prefetched_rows_match_as_per_package_reads_do(fixture_db: Path) -> None:
    inv = _inventory(50)
    per_package_q, per_package = _scan(fixture_db, inv, prefetch=False)
    batched_q, batched = _scan(fixture_db, inv, prefetch=True)
    assert per_package_q == 52 and batched_q == 1
    assert batched == per_package


def test_details_of_the_findings_are_read_in_one_query(fixture_db: Path) -> None:
    inv = _inventory(10)
    one_by_one_q, one_by_one = _scan(fixture_db, inv, prefetch=False, reads="vulnerabilities")
    batched_q, batched = _scan(fixture_db, inv, prefetch=True, reads="vulnerabilities")
    distinct = len({v.vulnerability_id for r in msgspec.json.decode(one_by_one, type=list[Result])
                    for v in r.vulnerabilities})
    assert distinct >= 3  # lodash and ws have several advisories each
    assert one_by_one_q == distinct  # a query per vulnerability without the prefetch
    assert batched_q == 1
    assert batched == one_by_one


def test_a_package_in_many_lockfiles_is_compared_with_its_advisories_once(
        fixture_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vigil.detectors.vuln import generic

    calls: list[str] = []
    real = generic.is_vulnerable

    def counting(scheme: Any, version: str, affected: Any) -> Any:
        calls.append(version)
        return real(scheme, version, affected)

    monkeypatch.setattr(generic, "is_vulnerable", counting)
    lodash = Package(ecosystem="npm", name="lodash", version="4.17.15", id="lodash@4.17.15")
    apps = [Application(type="npm", file_path=f"{i}/package-lock.json", packages=(lodash,)) for i in range(5)]
    store = Store(fixture_db)
    try:
        results, _ = lang_results(Inventory(applications=[apps[0]]), DetectionOptions(scanners=("vuln",)), store)
        once = len(calls)
        calls.clear()
        many, _ = lang_results(Inventory(applications=apps), DetectionOptions(scanners=("vuln",)), store)
    finally:
        store.close()
    assert once >= 1 and len(calls) == once
    assert all(r.vulnerabilities == results[0].vulnerabilities for r in many)  # each lockfile still has its findings


def test_a_finding_shared_by_lockfiles_keeps_each_packages_own_fields(fixture_db: Path) -> None:
    """The vulnerability's part of a finding is made once per package version; each lockfile's finding still
    names its own package entry (ID, purl, dev flag), exactly as if it had been made alone."""
    a = Package(ecosystem="npm", name="lodash", version="4.17.15", id="lodash@4.17.15", purl="pkg:npm/lodash@4.17.15")
    b = msgspec.structs.replace(a, id="node_modules/lodash", dev=True, purl="pkg:npm/lodash@4.17.15?x=1")
    apps = [Application(type="npm", file_path="a/package-lock.json", packages=(a,)),
            Application(type="npm", file_path="b/package-lock.json", packages=(b,))]
    opts = DetectionOptions(scanners=("vuln",), include_dev_deps=True)
    store = Store(fixture_db)
    try:
        together, _ = lang_results(Inventory(applications=apps), opts, store)
        alone_b, _ = lang_results(Inventory(applications=apps[1:]), opts, store)
    finally:
        store.close()
    assert together[1].vulnerabilities == alone_b[0].vulnerabilities
    assert together[1].vulnerabilities and all(v.pkg_id == "node_modules/lodash" and v.dev
                                              and v.purl.endswith("?x=1") for v in together[1].vulnerabilities)
    assert all(v.pkg_id == "lodash@4.17.15" and not v.dev for v in together[0].vulnerabilities)
