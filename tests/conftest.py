"""Shared test fixtures.

Golden files: `golden.check(name, obj)` compares `obj` (msgspec-encodable) as pretty JSON with
tests/golden/<name>.json. Set VIGIL_UPDATE_GOLDEN=1 to (re)write them — only deliberately, and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import settings

# Hypothesis fails an example that runs longer than its deadline (200 ms by default): a wall-clock assertion that a
# loaded machine trips. Off for the whole suite; the parsers' work is bounded by tests/work_budget.py instead.
settings.register_profile("vigil", deadline=None)
settings.load_profile("vigil")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "data" / "corpus"
LOCKFILES = CORPUS / "lockfiles"
ADVISORIES = SHARED / "data" / "advisories"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def _to_jsonable(obj: Any) -> Any:
    return json.loads(msgspec.json.encode(obj))


class Golden:
    def check(self, name: str, obj: Any) -> None:
        path = GOLDEN_DIR / f"{name}.json"
        actual = json.dumps(_to_jsonable(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        if os.environ.get("VIGIL_UPDATE_GOLDEN") == "1" or not path.exists():
            if os.environ.get("CI") and not path.exists():
                pytest.fail(f"golden file {path} is missing (run with VIGIL_UPDATE_GOLDEN=1 locally)")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"output differs from golden file {path}; rerun with VIGIL_UPDATE_GOLDEN=1 if intended"


@pytest.fixture
def golden() -> Golden:
    return Golden()


@pytest.fixture(scope="session")
def lockfiles_dir() -> Path:
    if not LOCKFILES.is_dir():
        pytest.skip("../shared corpus not present")
    return LOCKFILES


FIXTURE_FEEDS = Path(__file__).resolve().parent / "fixtures" / "advisories" / "feeds.yaml"


def write_feeds(dest: Path, overrides: dict[str, Any] | None = None) -> Path:
    """Lay out the fixture advisories (real records, see fixtures/advisories/make_fixture.py) as a feeds
    directory with the same file names as ../shared/data/advisories."""
    import gzip

    import yaml

    data: dict[str, Any] = yaml.safe_load(FIXTURE_FEEDS.read_text(encoding="utf-8"))
    data.update(overrides or {})
    for rel, content in data.items():
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, list):
            raw = "".join(json.dumps(r) + "\n" for r in content).encode()
        elif isinstance(content, (bytes, str)):
            raw = content if isinstance(content, bytes) else content.encode()
        else:
            raw = json.dumps(content).encode()
        p.write_bytes(gzip.compress(raw, mtime=0) if rel.endswith(".gz") else raw)
    return dest


@pytest.fixture(scope="session")
def feeds_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_feeds(tmp_path_factory.mktemp("feeds"))


@pytest.fixture(scope="session")
def fixture_db(feeds_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DB built by the real builder from the fixture feeds."""
    import datetime as dt

    from vigil.vulndb.build.builder import build

    out = tmp_path_factory.mktemp("db")
    res = build(feeds_dir, out, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), vigil_version="test")
    bad = [f for f in res.feeds if f.status == "failed"]
    assert not bad, f"fixture feeds failed: {bad}"
    return res.db_path


@pytest.fixture(scope="session")
def full_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DB built from every real feed in ../shared (slow-ish: built once per session)."""
    if not ADVISORIES.is_dir():
        pytest.skip("../shared advisories not present")
    from vigil.vulndb.build.builder import build

    out = tmp_path_factory.mktemp("fulldb")
    return build(ADVISORIES, out).db_path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Skips exist only for checkouts without ../shared (or without a hyperscan wheel). CI always has both, so
    under CI=true any skip is turned into a failure: a skip mark can never hide lost coverage there."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and os.environ.get("CI") and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        rep.longrepr = f"skipped under CI, which must run every test: {rep.longrepr}"
