"""The feed registry (FEED_MODULES / all_feeds), per-feed record counts on the real data, and the work parsing takes."""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable

import pytest
from tests.work_budget import call_budget

import vigil.vulndb.build.feeds as feeds_pkg
from vigil.inventory.records import LANGUAGE_ECOSYSTEMS, OS_FAMILIES
from vigil.vulndb.build.feeds import FEED_MODULES, HELPER_MODULES, all_feeds
from vigil.vulndb.build.records import Feed
from vigil.vulndb.records import AdvisoryRecord, CveEnrichment

Parsed = Callable[[str], tuple[object, ...]]
Files = Callable[[Feed], list[str]]
Reader = Callable[[str], bytes]

# (min, max) records yielded, from the folder READMEs: upstream counts minus what each module documents it skips
# (withdrawn, informational, engines, Node core) and merges (one advisory per CVE for CVE-keyed feeds).
COUNT_BANDS = {
    "pypa": (2600, 2661),  # 2,661 lines, 10 withdrawn
    "go-vulndb": (4200, 4291),  # 4,291 lines, 17 withdrawn
    "ghsa": (350, 364),  # 364 lines
    "almalinux-osv": (6400, 6800),  # 5,680 errata -> one record per CVE (ALBA/ALEA without CVE skipped)
    "rustsec": (880, 960),  # 1,225: -267 unmaintained, -6 notices, -20 toolchain, -withdrawn
    "ruby-advisory-db": (1100, 1234),  # 1,234 gem records (147 engine records skipped), CVE-merged
    "php-security-advisories": (1150, 1592),  # 1,592 files, CVE-merged
    "nodejs-security-wg": (450, 467),  # 467 npm records (171 core skipped)
    "retire.js": (350, 545),  # 545 entries; those without any CVE/GHSA/NSWG identifier are skipped
    "retire.js-jslibs": (350, 723),  # 723 entries of 76 libraries, merged per GHSA/CVE; unidentified skipped
    "victims": (200, 218),  # 218 CVEs
    "elixir-security-advisories": (12, 12),
    "alpine-secdb": (9500, 10500),  # 85,270 + 12,028 (fix, ID) pairs -> one record per CVE (or XSA/other ID)
    "debian-dsa": (14000, 15500),  # 5,329 DSAs, 18,128 CVE references -> one record per CVE
    "debian-dla": (8500, 9500),  # 3,534 DLAs, 11,002 CVE references -> one record per CVE
    "ubuntu-oval": (1250, 1400),  # 583 USNs (kernel livepatch LSNs name no package) -> one record per CVE
    "rocky-oval": (400, 450),  # 175 RLSAs, CVEs read from their descriptions -> one record per CVE
    "nvd": (17000, 17118),  # 15,454 + 1,664
    "nvd-curated": (12, 12),
    "cisa-kev": (1404, 1404),
}


def test_registry_lists_every_module() -> None:
    on_disk = {f"{feeds_pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(feeds_pkg.__path__)}
    assert on_disk == set(FEED_MODULES) | set(HELPER_MODULES), "register new feed modules in FEED_MODULES"
    assert len(FEED_MODULES) == len(set(FEED_MODULES))


def test_every_module_exposes_feeds() -> None:
    for name in FEED_MODULES:
        module = importlib.import_module(name)
        assert isinstance(module.FEEDS, tuple) and module.FEEDS, name
        assert all(isinstance(f, Feed) for f in module.FEEDS)
        if hasattr(module, "FEED"):
            assert module.FEED in module.FEEDS


def test_all_feeds() -> None:
    feeds = all_feeds()
    names = [f.name for f in feeds]
    assert names == list(COUNT_BANDS)
    for f in feeds:
        assert f.kind in ("advisories", "nvd", "kev")
        assert f.title and f.url.startswith("https://") and f.paths
        assert all(not p.startswith("/") for p in f.paths)


def test_every_feed_has_data(files_of: Files) -> None:
    for feed in all_feeds():
        assert files_of(feed), f"{feed.name}: no file matches {feed.paths}"


@pytest.mark.parametrize(("name", "band"), list(COUNT_BANDS.items()))
def test_record_counts(parsed: Parsed, name: str, band: tuple[int, int]) -> None:
    items = parsed(name)
    lo, hi = band
    assert lo <= len(items) <= hi, f"{name}: {len(items)} records, expected {lo}..{hi}"
    feed = next(f for f in all_feeds() if f.name == name)
    expected = {"advisories": AdvisoryRecord, "nvd": CveEnrichment, "kev": str}[feed.kind]
    assert all(isinstance(i, expected) for i in items)
    for item in items:
        if isinstance(item, AdvisoryRecord):
            assert item.source == name and item.id and item.affected
            assert item.severity in ("", "LOW", "MEDIUM", "HIGH", "CRITICAL")
            assert item.id not in item.aliases
            for pkg in item.affected:
                # language ecosystems, or "<OS family>:<release>" for OS advisories (os_ecosystem())
                family, _, release = pkg.ecosystem.partition(":")
                assert pkg.name and (
                    pkg.ecosystem in LANGUAGE_ECOSYSTEMS or (family in OS_FAMILIES and release)
                ), pkg.ecosystem


def test_parse_is_deterministic(files_of: Files, read_feed_file: Reader) -> None:
    for feed in all_feeds():
        if feed.name == "nvd":
            continue  # large; covered by the work-budget test
        for path in files_of(feed):
            data = read_feed_file(path)
            assert list(feed.parse(os.path.basename(path), data)) == list(
                feed.parse(os.path.basename(path), data)
            )


def test_all_feeds_parse_in_linear_work(files_of: Files, read_feed_file: Reader) -> None:
    """Each feed file costs at most 500 calls of Vigil code per KiB (today 3 to 160 per KiB, 5.5 M calls for the
    whole data set): a parser that went quadratic, or re-read its input per record, would blow it."""
    blobs = [(feed, path, read_feed_file(path)) for feed in all_feeds() for path in files_of(feed)]
    for feed, path, data in blobs:
        with call_budget(5_000 + 500 * len(data) // 1024):
            for _ in feed.parse(os.path.basename(path), data):
                pass
