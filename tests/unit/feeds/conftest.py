"""Fixtures for the feed ETL tests: the real advisory files from ../shared/data/advisories, parsed once per session."""

from __future__ import annotations

import glob
import gzip
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from vigil.vulndb.build.feeds import all_feeds
from vigil.vulndb.build.records import Feed
from vigil.vulndb.records import AdvisoryRecord, CveEnrichment

ADVISORIES = Path(__file__).resolve().parents[4] / "shared" / "data" / "advisories"

Item = AdvisoryRecord | CveEnrichment | str


def feed_by_name(name: str) -> Feed:
    for feed in all_feeds():
        if feed.name == name:
            return feed
    raise KeyError(name)


def feed_files(feed: Feed) -> list[str]:
    return sorted({p for pat in feed.paths for p in glob.glob(str(ADVISORIES / pat))})


def read_bytes(path: str) -> bytes:
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


@cache
def _parsed(name: str) -> tuple[Item, ...]:
    feed = feed_by_name(name)
    files = feed_files(feed)
    if not files:
        pytest.skip(f"advisory data for {name} not present under {ADVISORIES}")
    out: list[Item] = []
    for path in files:
        out.extend(feed.parse(os.path.basename(path), read_bytes(path)))
    return tuple(out)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not ADVISORIES.is_dir():
        pytest.skip("../shared advisory data not present")
    return ADVISORIES


@pytest.fixture(scope="session")
def files_of(data_dir: Path) -> Callable[[Feed], list[str]]:
    """files_of(feed) -> the real files the feed's globs match."""
    return feed_files


@pytest.fixture(scope="session")
def read_feed_file() -> Callable[[str], bytes]:
    """read_feed_file(path) -> the bytes the builder would pass to parse() (decompressed if .gz)."""
    return read_bytes


@pytest.fixture(scope="session")
def parsed() -> Callable[[str], tuple[Item, ...]]:
    """parsed(feed_name) -> every item the feed yields for the real data (skips if the data is absent)."""
    if not ADVISORIES.is_dir():
        pytest.skip("../shared advisory data not present")
    return _parsed


@pytest.fixture(scope="session")
def advisories(parsed: Callable[[str], tuple[Item, ...]]) -> Callable[[str], dict[str, AdvisoryRecord]]:
    """advisories(feed_name) -> {record id: AdvisoryRecord}."""

    def get(name: str) -> dict[str, AdvisoryRecord]:
        out: dict[str, AdvisoryRecord] = {}
        for item in parsed(name):
            assert isinstance(item, AdvisoryRecord)
            assert item.id not in out, f"duplicate id {item.id} in {name}"
            out[item.id] = item
        return out

    return get
