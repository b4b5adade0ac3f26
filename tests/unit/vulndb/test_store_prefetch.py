"""Language matching reads the DB with a query per ecosystem and chunk of 500 names, not one per package, and finds
exactly what per-package reads find (counted with SQLite's trace callback, never timed)."""

from __future__ import annotations

from pathlib import Path

import msgspec

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


def _scan(db: Path, inv: Inventory, *, prefetch: bool) -> tuple[int, bytes]:
    store = Store(db)
    if not prefetch:
        store.prefetch_advisories = lambda *_a: None  # type: ignore[method-assign]
    queries: list[str] = []
    store._conn.set_trace_callback(lambda sql: queries.append(sql) if "FROM advisories" in sql else None)
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
